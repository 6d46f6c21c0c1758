"""
Social cards: the 1200×630 PNG a link preview shows for a lab, a release or a comparison.

Pure drawing: a ``Card`` (plain data, which the views build from the published
querysets) in, PNG bytes out; nothing here reads the database, so a card can only show
what its caller was allowed to read. The same data always gives the same bytes.

The text is drawn with the site's own vendored fonts (static/fonts/, declared in
static/css/fonts.css), which Pillow's FreeType reads as woff2. Each character is drawn
with the first face whose ``unicode-range`` covers it, read from fonts.css as a browser
reads it: Latin from Inter and Source Serif 4, a Chinese native name from the Noto Sans
SC slices. Text that no vendored face covers is never drawn as boxes: an optional line
(a native name) is left off the card (``drawable``), and a character of a required one
is drawn with the Latin face's own fallback only as a last resort.
"""

import functools
import io
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630

STATIC = Path(settings.BASE_DIR) / "static"
FONTS_CSS = STATIC / "css" / "fonts.css"

# The site's light palette (static/css/site.css).
BACKGROUND = (251, 250, 247)
PANEL = (242, 239, 232)
TEXT = (28, 28, 33)
MUTED = (92, 92, 104)
RULE = (222, 218, 209)
ACCENT = (179, 38, 30)
QUIET_BAR = (196, 191, 182)
# One colour per lab of a comparison (its swatch and its bars), told apart without hue
# alone by their order, which the legend repeats.
SERIES = ((10, 88, 168), ACCENT, (46, 125, 50), (123, 79, 160))

SERIF = ("Source Serif 4", "Noto Sans SC")
SANS = ("Inter", "Noto Sans SC")


# --------------------------------------------------------------------------
# What a card shows
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Bars:
    """Releases per year: ``years`` along the axis, one row of counts per series (label, counts)."""

    title: str
    years: tuple
    series: tuple  # ((label, (count per year, ...)), ...)
    highlight: int | None = None  # a year drawn in the accent colour (a release's own), the others quiet


@dataclass(frozen=True)
class Entry:
    """One lab of a comparison: its name, native name and a line of facts."""

    name: str
    native_name: str = ""
    facts: str = ""


@dataclass(frozen=True)
class Card:
    kind: str  # the kicker: "Lab", "Release", "Comparison"
    title: str
    native_name: str = ""
    subtitle: str = ""
    facts: tuple = ()  # ((label, value), ...), most important first: what does not fit is left off
    chart: Bars | None = None
    entries: tuple = field(default=())  # a comparison's labs (Entry), in the order compared

    def texts(self):
        """Every string the card may draw (tests look through them for what readers may not see)."""
        strings = ["AI Lab Profiles", self.kind, self.title, self.native_name, self.subtitle]
        strings += [part for fact in self.facts for part in fact]
        strings += [part for entry in self.entries for part in (entry.name, entry.native_name, entry.facts)]
        if self.chart:
            strings += [self.chart.title, *(label for label, _counts in self.chart.series)]
        return [text for text in strings if text]


def releases_per_year(title, series, highlight=None, span=12):
    """
    ``Bars`` from ``series`` [(label, {year: count})]: every year from the first to the
    last with a release (gaps drawn as gaps, not closed up), the latest ``span`` of them.
    None when nothing is dated.
    """
    years = {year for _label, counts in series for year in counts}
    if not years:
        return None
    first, last = max(min(years), max(years) - span + 1), max(years)
    if first > min(years):
        title = f"{title}, since {first}"  # the title's counts include the years left off
    axis = tuple(range(first, last + 1))
    return Bars(title, axis, tuple((label, tuple(counts.get(year, 0) for year in axis)) for label, counts in series), highlight)


# --------------------------------------------------------------------------
# Fonts: the faces of fonts.css, picked per character by unicode-range
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Face:
    family: str
    weights: tuple  # (lowest, highest): a variable face spans a range
    path: Path
    ranges: tuple  # ((first, last) code point, ...)

    def covers(self, code):
        return any(first <= code <= last for first, last in self.ranges)

    def distance(self, weight):
        low, high = self.weights
        return 0 if low <= weight <= high else min(abs(low - weight), abs(high - weight))


_FACE_RULE = re.compile(r"@font-face\s*\{(.*?)\}", re.S)


def _declaration(body, name):
    match = re.search(rf"{name}\s*:\s*([^;]+);", body)
    return match.group(1).strip() if match else ""


@functools.cache
def faces():
    """The upright faces fonts.css declares, in its order (the CSS is the one list of our fonts)."""
    found = []
    for body in _FACE_RULE.findall(FONTS_CSS.read_text(encoding="utf-8")):
        if _declaration(body, "font-style") != "normal":
            continue
        url = re.search(r'url\("?([^")]+)"?\)', _declaration(body, "src")).group(1)
        weights = [int(weight) for weight in _declaration(body, "font-weight").split()]
        ranges = []
        for part in _declaration(body, "unicode-range").split(","):
            first, _, last = part.strip().removeprefix("U+").removeprefix("u+").partition("-")
            ranges.append((int(first, 16), int(last or first, 16)))
        found.append(_Face(
            family=_declaration(body, "font-family").strip("\"'"),
            weights=(weights[0], weights[-1]),
            path=(FONTS_CSS.parent / url).resolve(),
            ranges=tuple(ranges),
        ))
    return tuple(found)


@functools.lru_cache(maxsize=4096)
def _face_for(char, families, weight):
    """The face that draws ``char`` for a stack of ``families`` (the first that covers it), or None."""
    code = ord(char)
    for family in families:
        covering = [face for face in faces() if face.family == family and face.covers(code)]
        if covering:
            return min(covering, key=lambda face: face.distance(weight))
    return None


@functools.lru_cache(maxsize=256)
def _font(path, size, weight):
    """A FreeType font of ``path`` at ``size`` px; a variable face set to ``weight``."""
    font = ImageFont.truetype(str(path), size)
    axes = font.get_variation_axes() if path.name.find("-wght-") >= 0 else []
    if axes:
        font.set_variation_by_axes([max(axes[0]["minimum"], min(axes[0]["maximum"], weight))])
    return font


def drawable(text, families=SANS):
    """Whether every character of ``text`` has a face among ``families`` (else it would show as a box)."""
    return all(char.isspace() or _face_for(char, families, 400) is not None for char in text)


@dataclass(frozen=True)
class Style:
    families: tuple
    size: int
    weight: int = 400
    fill: tuple = TEXT


def _runs(text, style):
    """``text`` cut into (font, piece) runs, each piece drawn by one face."""
    runs = []
    fallback = next(face for face in faces() if face.family == style.families[0])
    for char in text:
        face = _face_for(char, style.families, style.weight)
        if face is None:
            # A space takes the face of the run it is in; anything else gets the first face's .notdef.
            face = runs[-1][0] if runs and char.isspace() else fallback
        if runs and runs[-1][0] == face:
            runs[-1][1] += char
        else:
            runs.append([face, char])
    return [(_font(face.path, style.size, style.weight if face.weights[0] != face.weights[1] else face.weights[0]), piece)
            for face, piece in runs]


def width(text, style):
    return sum(font.getlength(piece) for font, piece in _runs(text, style))


def _draw(draw, x, baseline, text, style, fill=None):
    """Draw ``text`` with its left end at ``x`` on ``baseline``; the x where it ends."""
    for font, piece in _runs(text, style):
        draw.text((x, baseline), piece, font=font, fill=fill or style.fill, anchor="ls")
        x += font.getlength(piece)
    return x


def _tokens(text):
    """
    Words and the spaces between them. A name in Chinese is one word, kept whole on a line
    where it fits ("(上海人工智能实验室)" moves down whole); one longer than a line is
    broken between characters (``wrap``).
    """
    return re.findall(r"\s+|\S+", text)


def _ellipsized(text, style, room):
    """``text``, cut short with an ellipsis if need be so that it fits in ``room`` px."""
    if width(text, style) <= room:
        return text
    while text and width(text + "…", style) > room:
        text = text[:-1]
    return text.rstrip(" ,·-–") + "…"


def wrap(text, style, room, max_lines):
    """(lines, whole): ``text`` wrapped to ``room`` px in at most ``max_lines`` lines; whole is False if cut."""
    lines, line = [], ""
    for token in _tokens(" ".join(text.split())):
        if token.isspace():
            line += token if line else ""
            continue
        if not line or width(line + token, style) <= room:
            line += token
        else:
            lines.append(line.rstrip())
            line = token
        # A word longer than a line (only ever alone on it): broken between characters.
        while len(line) > 1 and width(line, style) > room:
            cut = len(line) - 1
            while cut > 1 and width(line[:cut], style) > room:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    if len(lines) <= max_lines:
        return lines, True
    kept = lines[:max_lines]
    kept[-1] = _ellipsized(kept[-1] + " " + lines[max_lines], style, room)
    return kept, False


def _fitted(text, families, sizes, weight, room, max_lines):
    """(style, lines): the largest of ``sizes`` at which ``text`` fits whole, else the smallest, cut."""
    for size in sizes:
        style = Style(families, size, weight)
        lines, whole = wrap(text, style, room, max_lines)
        if whole:
            return style, lines
    return style, lines


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------

MARGIN = 72
TOP = 56
BOTTOM = 574  # nothing below this line but the footer
CHART_LEFT = 724


@functools.cache
def _logo(size):
    """The site's mark (static/img/logo.svg), drawn four times larger and scaled down so its lines are smooth."""
    scale = size * 4 / 32
    mark = Image.new("RGBA", (size * 4, size * 4), (0, 0, 0, 0))
    draw = ImageDraw.Draw(mark)
    draw.rounded_rectangle((0, 0, size * 4 - 1, size * 4 - 1), radius=6 * scale, fill=ACCENT)
    points = [(9, 22), (16, 10), (23, 22)]
    draw.line([(x * scale, y * scale) for x, y in points], fill="white", width=round(2 * scale), joint="curve")
    draw.line([(12 * scale, 17.5 * scale), (20 * scale, 17.5 * scale)], fill="white", width=round(2 * scale))
    for x, y in points:
        r = 2.6 * scale
        draw.ellipse((x * scale - r, y * scale - r, x * scale + r, y * scale + r), fill="white")
    return mark.resize((size, size), Image.Resampling.LANCZOS)


def _header(image, draw, kind):
    image.paste(_logo(40), (MARGIN, TOP), _logo(40))
    brand = Style(SANS, 26, 700)
    end = _draw(draw, MARGIN + 56, TOP + 30, "AI Lab Profiles", brand)
    _draw(draw, end + 14, TOP + 30, f"·  {kind}", Style(SANS, 26, 400, MUTED))


def _footer(draw):
    draw.line((MARGIN, BOTTOM + 8, WIDTH - MARGIN, BOTTOM + 8), fill=RULE, width=2)
    _draw(draw, MARGIN, HEIGHT - 22, "Every fact dated and sourced", Style(SANS, 20, 400, MUTED))


def _chart(draw, bars, box):
    """Bars in ``box`` (left, top, right, bottom): a title, the bars with their counts, the years below."""
    left, top, right, bottom = box
    draw.rounded_rectangle(box, radius=12, fill=PANEL)
    left, top, right, bottom = left + 28, top + 26, right - 28, bottom - 22
    title_style = Style(SANS, 21, 600, MUTED)
    for line in wrap(bars.title, title_style, right - left, 3)[0]:
        _draw(draw, left, top + 20, line, title_style)
        top += 28
    years, series = bars.years, bars.series
    label_style = Style(SANS, 17, 500, MUTED)
    count_style = Style(SANS, 17, 600, TEXT)
    base = bottom - 30  # the axis; year labels under it
    peak = max((count for _label, counts in series for count in counts), default=0) or 1
    room = base - (top + 44)  # the tallest bar leaves room for its count
    # Bars no wider than a few dozen pixels, centred: two years are not two slabs.
    slot = min((right - left) / len(years), 64 * len(series) + 24)
    left += ((right - left) - slot * len(years)) / 2
    gap = max(2, slot * 0.18)
    bar = (slot - gap) / len(series)
    step = 1 if len(years) <= 7 else 2 if len(years) <= 12 else 3
    for i, year in enumerate(years):
        x = left + i * slot + gap / 2
        for j, (_label, counts) in enumerate(series):
            count = counts[i]
            if len(series) > 1:
                colour = SERIES[j % len(SERIES)]
            elif bars.highlight is not None:
                colour = ACCENT if year == bars.highlight else QUIET_BAR
            else:
                colour = SERIES[0]
            if count:
                height = max(3, round(room * count / peak))
                x0 = round(x + j * bar)
                draw.rectangle((x0, base - height, round(x + (j + 1) * bar) - (1 if len(series) > 1 else 0), base), fill=colour)
                if len(series) == 1:
                    text = str(count)
                    _draw(draw, x0 + (bar - width(text, count_style)) / 2, base - height - 8, text, count_style)
        # The last year always, and every ``step``-th counted back from it.
        if (len(years) - 1 - i) % step == 0:
            text = str(year) if step == 1 or i == len(years) - 1 else f"’{year % 100:02d}"
            _draw(draw, left + i * slot + (slot - width(text, label_style)) / 2, base + 24, text, label_style)
    draw.line((left, base, left + slot * len(years), base), fill=MUTED, width=2)


def _profile(image, draw, card):
    """A lab's or a release's card: title, native name, subtitle and facts on the left, the chart on the right."""
    right = (CHART_LEFT - 48) if card.chart else WIDTH - MARGIN
    room = right - MARGIN
    style, lines = _fitted(card.title, SERIF, (68, 60, 52, 46, 40), 700, room, 2)
    # ``y`` is the baseline of the line last drawn; each next line says how far below it goes.
    y = TOP + 30 + 40 + round(style.size * 0.8)
    for i, line in enumerate(lines):
        y += round(style.size * 1.1) if i else 0
        _draw(draw, MARGIN, y, line, style)
    if card.native_name and drawable(card.native_name, SANS):
        native = Style(SANS, 40, 700, TEXT)
        y += 60
        _draw(draw, MARGIN, y, _ellipsized(card.native_name, native, room), native)
    if card.subtitle:
        subtitle = Style(SANS, 27, 500, MUTED)
        for i, line in enumerate(wrap(card.subtitle, subtitle, room, 2)[0]):
            y += 36 if i else 48
            _draw(draw, MARGIN, y, line, subtitle)
    y += 12
    label, value = Style(SANS, 21, 500, MUTED), Style(SANS, 25, 600, TEXT)
    label_room = min(max((width(name, label) for name, _value in card.facts), default=0) + 20, 210)
    for name, text in card.facts:
        if y + 38 > BOTTOM - 8:
            break  # what does not fit is left off: the facts come most important first
        y += 38
        _draw(draw, MARGIN, y, _ellipsized(name, label, label_room - 12), label)
        _draw(draw, MARGIN + label_room, y, _ellipsized(text, value, room - label_room), value)
    if card.chart:
        _chart(draw, card.chart, (CHART_LEFT, TOP + 76, WIDTH - MARGIN, BOTTOM - 14))


def _comparison(image, draw, card):
    """A comparison's card: each lab with its colour, native name and facts; their bars side by side."""
    right = (CHART_LEFT - 48) if card.chart else WIDTH - MARGIN
    room = right - MARGIN
    heading = Style(SERIF, 44, 700)
    y = TOP + 118
    _draw(draw, MARGIN, y, _ellipsized(card.title, heading, room), heading)
    count = len(card.entries)
    slot = (BOTTOM - 10 - (y + 16)) / max(count, 1)
    name_size = 34 if count <= 2 else 30 if count == 3 else 27
    for i, entry in enumerate(card.entries):
        top = y + 16 + i * slot
        swatch = SERIES[i % len(SERIES)]
        name, lines = _fitted(entry.name, SERIF, tuple(range(name_size, 21, -3)), 700, room - 32, 1)
        line_y = round(top + name_size + 10)
        draw.rounded_rectangle((MARGIN, line_y - name_size * 0.72, MARGIN + 18, line_y), radius=4, fill=swatch)
        _draw(draw, MARGIN + 32, line_y, lines[0], name)
        detail = Style(SANS, 22 if count <= 3 else 20, 500, MUTED)
        parts = [entry.native_name] if entry.native_name and drawable(entry.native_name, SANS) else []
        parts += [entry.facts] if entry.facts else []
        # Up to three labs have room for the native name and the facts on lines of their own.
        lines = [_ellipsized(part, detail, room - 32) for part in (parts if count <= 3 else [" · ".join(parts)][: bool(parts)])]
        for j, line in enumerate(lines):
            _draw(draw, MARGIN + 32, line_y + (34 if count <= 3 else 30) + j * 28, line, detail)
    if card.chart:
        _chart(draw, card.chart, (CHART_LEFT, TOP + 76, WIDTH - MARGIN, BOTTOM - 14))


# One card at a time per process: FreeType faces are shared between calls (cached above).
_drawing = threading.Lock()


def render(card):
    """The card as PNG bytes, 1200×630."""
    with _drawing:
        image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, 11, HEIGHT), fill=ACCENT)
        _header(image, draw, card.kind)
        (_comparison if card.entries else _profile)(image, draw, card)
        _footer(draw)
        out = io.BytesIO()
        image.save(out, "PNG", optimize=False, compress_level=6)
        return out.getvalue()
