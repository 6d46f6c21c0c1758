"""
Charts drawn on the server as SVG: this module computes their geometry, and the
templates ``jinja2/profiles/_chart_*.html`` draw it (so every label is escaped by the
template engine) with a table or list beside each chart saying the same in text.

- ``build_timeline``: a lab's releases over time, a row per family (the lab page), or a
  row per lab (the release list's page of releases).
- ``figure_charts``: training compute and parameters of a lab's models over time, on a
  log scale, in front of the field's (one ``values_list`` query for the field).
- ``field_charts``: the whole field (or the release list's filtered set) by year and
  accessibility, and by country (one aggregate query).

Dates are placed as honestly as they are known: a day is a point, a month a span over
that month, a year a span over the whole year marked approximate.

Sizes are SVG user units. Text drawn at ``FONT`` units is ``FONT`` times the scale an
SVG is shown at (charts.css); each layout below says the smallest scale it is shown at,
so that labels stay at least 11 CSS px on a 390 px phone and on a wide screen.
"""

import calendar
import datetime
import math
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django_countries import countries

from .models import Accessibility, Release
from .partial_dates import DatePrecision, year_of

FONT = 13  # every label, in user units (see the module docstring for the CSS px it becomes)
PADDING = 12
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def text_width(text, size=FONT):
    """
    A generous estimate of ``text``'s width at ``size`` in a sans-serif face (the server
    cannot measure it): wide enough for DejaVu Sans, the widest common fallback, so
    labels laid out with it never run into each other.
    """
    width = 0.0
    for char in text:
        if ord(char) > 0x2E7F:  # CJK and other full-width scripts
            width += 1.0
        elif char in "il.,:;'!|" or char == " ":
            width += 0.34
        elif char in "mwMW@":
            width += 0.95
        elif char.isupper() or char.isdigit():
            width += 0.72
        else:
            width += 0.62
    return width * size


def fit_text(text, room, size=FONT):
    """``text`` cut (with an ellipsis) to fit ``room`` units, as estimated by ``text_width``."""
    if text_width(text, size) <= room:
        return text
    # The longest start of the text that fits with the ellipsis after it (measured once
    # per character: cutting one at a time and measuring again was quadratic).
    used, fits = text_width("…", size), 0
    for char in text:
        used += text_width(char, size)
        if used > room:
            break
        fits += 1
    return text[:fits].rstrip() + "…" if fits else ""

def _period(released, precision):
    """(first day, day after the last) of the period a release date names."""
    if precision == DatePrecision.YEAR:
        return released.replace(month=1, day=1), datetime.date(released.year + 1, 1, 1)
    if precision == DatePrecision.MONTH:
        last = calendar.monthrange(released.year, released.month)[1]
        return released.replace(day=1), released.replace(day=last) + datetime.timedelta(days=1)
    return released, released + datetime.timedelta(days=1)


def _midpoint(released, precision):
    first, after = _period(released, precision)
    return first + (after - first) / 2


class TimeScale:
    """Whole years ``first_year`` to ``last_year`` onto ``left``..``right``."""

    def __init__(self, first_year, last_year, left, right):
        self.first_year, self.last_year = first_year, last_year
        self.start = datetime.date(first_year, 1, 1)
        self.left, self.right = left, right
        self.per_day = (right - left) / (datetime.date(last_year + 1, 1, 1) - self.start).days

    def x(self, day):
        return round(self.left + (day - self.start).days * self.per_day, 1)

    def gridlines(self):
        """x of each 1 January, from the first year's to the one after the last."""
        return [self.x(datetime.date(year, 1, 1)) for year in range(self.first_year, self.last_year + 2)]

    def year_labels(self, min_gap=44):
        """
        (year, x of the middle of its span) for every year, or every second, fifth… year
        when the years are too narrow for a label each: a label names its year's span.
        """
        years = list(range(self.first_year, self.last_year + 1))
        year_width = (self.right - self.left) / len(years)
        step = next(step for step in (1, 2, 5, 10, 20, 25, 50, 100) if step * year_width >= min_gap or step == 100)
        return [
            (year, round(self.x(datetime.date(year, 1, 1)) + year_width / 2, 1))
            for year in years if (year - self.first_year) % step == 0
        ]


# --------------------------------------------------------------------------
# Releases over time
# --------------------------------------------------------------------------

DOT_RADIUS = 5
MARK_HEIGHT = 12
LANE_HEIGHT = 24  # a mark and its label, with room between lanes
MIN_SPAN = 6  # a month is never drawn thinner than this
LABEL_GAP = 5  # between a mark and its label
MARK_GAP = 8  # between two things side by side in a lane


@dataclass
class Mark:
    release: object
    row: str
    x: float  # the mark's left edge (a dot's centre minus its radius)
    width: float  # 0 for a release known to the day (a dot)
    approximate: bool  # known only to the year
    title: str = ""  # the tooltip: name, date and kind (the same in both renderings)
    label: str = ""
    label_x: float = 0
    label_anchor: str = "start"
    lane: int = 0
    y: float = 0  # the mark's vertical centre

    @property
    def is_dot(self):
        return self.width == 0

    @property
    def center(self):
        return round(self.x + (DOT_RADIUS if self.is_dot else self.width / 2), 1)

    @property
    def top(self):
        return round(self.y - MARK_HEIGHT / 2, 1)

    @property
    def label_y(self):
        return round(self.y + FONT * 0.35, 1)

    @property
    def right(self):
        return self.x + (2 * DOT_RADIUS if self.is_dot else self.width)


@dataclass
class Row:
    label: str
    top: float
    height: float = 0
    lanes: int = 1
    marks: list = field(default_factory=list)
    label_text: str = ""  # the label as drawn (cut to fit); empty when a mark's label names the row
    named_by_mark: bool = False

    @property
    def label_y(self):
        return round(self.top + FONT + 4, 1)

    @property
    def side_label_y(self):
        """Where a label left of the row stands: beside its first lane."""
        return round(self.top + 4 + LANE_HEIGHT / 2 + FONT * 0.35, 1)

    @property
    def bottom(self):
        return round(self.top + self.height, 1)


@dataclass
class TimelineLayout:
    """One rendering of a timeline: row labels on the left (wide) or above each row (narrow)."""

    width: float
    height: float
    labels_above: bool
    plot_left: float
    plot_right: float
    rows: list
    gridlines: list
    years: list  # (year, x) labels
    axis_height: float

    @property
    def marks(self):
        return [mark for row in self.rows for mark in row.marks]


@dataclass
class Timeline:
    """A timeline in its two renderings, and what it shows as data (for the text alternative)."""

    wide: TimelineLayout
    narrow: TimelineLayout
    rows: list  # [(row label, [releases, oldest first])]
    undated: list  # releases with no date: listed, not drawn
    first_year: int
    last_year: int

    @property
    def marks(self):
        return self.wide.marks


# Wide: drawn at 900 units, shown (charts.css) only where the figure is at least 820 px
# wide, so FONT is never under 13 × 820/900 ≈ 11.8 px. Narrow: drawn at 360 units with the
# row labels above the rows, shown below that width at its own size (13 px), and shrunk
# only on a screen narrower than about 390 px (a 390 px phone keeps about 358 px: 12.9 px).
WIDE, NARROW = 900, 360
WIDE_LABEL_WIDTH = 180


def _place_label(mark, scale, text):
    """Put a mark's label right of it, else left of it, else cut it to the wider side."""
    right_room = scale.right - (mark.right + LABEL_GAP)
    left_room = mark.x - LABEL_GAP - scale.left
    width = text_width(text)
    if width <= right_room or (right_room >= left_room and right_room > 0):
        mark.label, mark.label_x, mark.label_anchor = fit_text(text, right_room), round(mark.right + LABEL_GAP, 1), "start"
    else:
        mark.label, mark.label_x, mark.label_anchor = fit_text(text, left_room), round(mark.x - LABEL_GAP, 1), "end"


def _extent(mark):
    """The horizontal room a mark and its label take in its lane."""
    label = text_width(mark.label)
    if mark.label_anchor == "start":
        return mark.x, mark.right + LABEL_GAP + label
    return mark.x - LABEL_GAP - label, mark.right


def _layout(rows, first_year, last_year, width, labels_above, titles):
    """Place the marks of ``rows`` ([(label, releases)]) in lanes so that no two touch."""
    axis_height = FONT + 12
    if labels_above:
        left, right = PADDING, width - PADDING
    else:
        left, right = WIDE_LABEL_WIDTH, width - PADDING
    scale = TimeScale(first_year, last_year, left, right)
    laid_out, top = [], axis_height
    for label, releases in rows:
        row = Row(label=label, top=top)
        # A release on a row of its own is named by the row: above it, its mark's label
        # is the row's (one line, not two); on the left, the mark goes unlabelled.
        alone = len(releases) == 1 and releases[0].name == label
        row.named_by_mark = labels_above and alone
        if not row.named_by_mark:
            row.label_text = fit_text(label, right - left if labels_above else WIDE_LABEL_WIDTH - PADDING - 8)
        # ...unless the row's label had to be cut: then the mark gives the whole name.
        unlabelled = alone and not labels_above and row.label_text == label
        for release in releases:
            first, after = _period(release.released, release.released_precision)
            if release.released_precision == DatePrecision.DAY:
                x, span = scale.x(first) - DOT_RADIUS, 0
            else:
                x = scale.x(first)
                span = max(MIN_SPAN, round(scale.x(after) - x, 1))
            mark = Mark(
                release=release, row=label, x=round(x, 1), width=span,
                approximate=release.released_precision == DatePrecision.YEAR, title=titles[release.pk],
            )
            if not unlabelled:
                _place_label(mark, scale, release.name)
            row.marks.append(mark)
        # Lanes: each mark, oldest first, goes in the first lane whose last mark (and
        # label) ends before it starts. A family's own year-long bar and its members thus
        # stack instead of being drawn over each other, and the top lane reads in order.
        lane_ends = []
        for mark in row.marks:
            start, end = _extent(mark)
            for lane, lane_end in enumerate(lane_ends):
                if lane_end + MARK_GAP <= start:
                    break
            else:
                lane = len(lane_ends)
                lane_ends.append(end)
            lane_ends[lane] = end
            mark.lane = lane
        row.lanes = max(1, len(lane_ends))
        first_lane = top + (FONT + 10 if row.label_text and labels_above else 4)
        for mark in row.marks:
            mark.y = round(first_lane + mark.lane * LANE_HEIGHT + LANE_HEIGHT / 2, 1)
        row.height = (first_lane - top) + row.lanes * LANE_HEIGHT + 4
        top += row.height
        laid_out.append(row)
    return TimelineLayout(
        width=width, height=round(top + 4, 1), labels_above=labels_above, plot_left=left, plot_right=right,
        rows=laid_out, gridlines=scale.gridlines(), years=scale.year_labels(), axis_height=axis_height,
    )


OTHERS = "Other releases"


def build_timeline(releases, row_of):
    """
    Lay ``releases`` out on rows (``row_of(release)`` names a release's row, e.g. its
    family or its lab), oldest left; rows keep the order in which they first appear.
    Releases whose row is None share a last row, "Other releases": a lab's releases
    outside any family, packed in lanes rather than a row each (a lab of sixty lone
    models was 1,600 px tall). Returns None when no release has a date.
    """
    dated = sorted((release for release in releases if release.released), key=lambda r: (r.released, r.order, r.name))
    undated = [release for release in releases if not release.released]
    if not dated:
        return None
    rows, others = {}, []
    for release in dated:
        row = row_of(release)
        if row is None:
            others.append(release)
        else:
            rows.setdefault(row, []).append(release)
    rows = list(rows.items())
    if others:
        rows.append((OTHERS if rows else "Releases", others))
    first_year, last_year = dated[0].released.year, max(release.released.year for release in dated)
    # Written once for both renderings (a tenth of a lab page's render was these, twice).
    titles = {
        release.pk: f"{release.name}: {release.released_display}"
        f"{' (year only)' if release.released_precision == DatePrecision.YEAR else ''}, {release.get_kind_display().lower()}"
        for release in dated
    }
    return Timeline(
        wide=_layout(rows, first_year, last_year, WIDE, labels_above=False, titles=titles),
        narrow=_layout(rows, first_year, last_year, NARROW, labels_above=True, titles=titles),
        rows=rows, undated=undated, first_year=first_year, last_year=last_year,
    )


# --------------------------------------------------------------------------
# Training compute and parameters on a log scale, beside the field's
# --------------------------------------------------------------------------

# Drawn at 340 × 250 and shown at 340 to 440 px (charts.css: two side by side on a wide
# screen), shrinking only below 340 px: FONT is 13 to 17 px at 390 px and at 1280 px.
SCATTER_WIDTH, SCATTER_HEIGHT = 340, 250
SCATTER_LEFT, SCATTER_BOTTOM, SCATTER_TOP = 52, FONT + 14, 10
MIN_YEARS = 5  # a lab's few years are shown in at least this much of the field's history

FIGURES = {
    "training_compute": ("Training compute", "FLOP"),
    "parameters": ("Parameters", "parameters"),
}


def power_of_ten(exponent):
    """10 to ``exponent`` as a label: "10²⁴", "10⁻³"."""
    return f"10{str(exponent).translate(SUPERSCRIPTS)}"


class LogScale:
    """Values onto ``bottom``..``top`` by their logarithm, over whole decades."""

    def __init__(self, smallest, largest, bottom, top):
        self.low = math.floor(math.log10(smallest))
        self.high = max(math.ceil(math.log10(largest)), self.low + 2)
        self.bottom, self.top = bottom, top

    def y(self, value):
        share = (math.log10(value) - self.low) / (self.high - self.low)
        return round(self.bottom - share * (self.bottom - self.top), 1)

    def ticks(self, min_gap=22):
        """(exponent, label, y) at every power of ten, or every second, third… when crowded."""
        decades = self.high - self.low
        step = next(step for step in (1, 2, 3, 4, 5, 10) if (self.bottom - self.top) / decades * step >= min_gap or step == 10)
        first = math.ceil(self.low / step) * step
        return [
            (exponent, power_of_ten(exponent), self.y(10.0 ** exponent))
            for exponent in range(first, self.high + 1, step)
        ]


@dataclass
class Point:
    release: object
    x: float
    y: float
    value: float
    approximate: bool


@dataclass
class Scatter:
    figure: str  # "training_compute" or "parameters"
    title: str
    unit: str
    points: list  # the lab's
    field_path: str  # the field's points as one path of dots (numbers only)
    field_count: int
    ticks: list
    gridlines: list
    years: list
    first_year: int
    last_year: int
    width: int = SCATTER_WIDTH
    height: int = SCATTER_HEIGHT
    left: int = SCATTER_LEFT
    right: int = SCATTER_WIDTH - PADDING
    top: int = SCATTER_TOP
    bottom: int = SCATTER_HEIGHT - SCATTER_BOTTOM


def field_figures(first_year, last_year):
    """
    The field's dated, published releases with a training compute or a parameter count
    in those years: (released, precision, training compute, parameters) tuples from one
    query, no model instances (there are thousands).
    """
    return list(
        Release.objects.published()
        .filter(released__gte=datetime.date(first_year, 1, 1), released__lt=datetime.date(last_year + 1, 1, 1))
        .filter(Q(training_compute__isnull=False) | Q(parameters__isnull=False))
        .order_by()
        .values_list("released", "released_precision", "training_compute", "parameters")
    )


def _scatter(figure, releases, field_rows, first_year, last_year):
    index = 2 if figure == "training_compute" else 3
    mine = [release for release in releases if getattr(release, figure)]
    theirs = [(_midpoint(row[0], row[1]), row[index]) for row in field_rows if row[index]]
    values = [getattr(release, figure) for release in mine] + [value for _day, value in theirs]
    bottom = SCATTER_HEIGHT - SCATTER_BOTTOM
    scale = LogScale(min(values), max(values), bottom, SCATTER_TOP + 4)
    time = TimeScale(first_year, last_year, SCATTER_LEFT + 4, SCATTER_WIDTH - PADDING)
    # Each of the field's points a zero-length segment drawn with a round cap: one element
    # for a thousand dots, and two points on the same spot are drawn once.
    dots = dict.fromkeys(f"M{time.x(day):g} {scale.y(value):g}h0" for day, value in theirs)
    points = [
        Point(
            release=release, x=time.x(_midpoint(release.released, release.released_precision)),
            y=scale.y(getattr(release, figure)), value=getattr(release, figure),
            approximate=release.released_precision == DatePrecision.YEAR,
        )
        for release in mine
    ]
    title, unit = FIGURES[figure]
    return Scatter(
        figure=figure, title=title, unit=unit, points=points, field_path="".join(dots), field_count=len(theirs),
        ticks=scale.ticks(), gridlines=time.gridlines(), years=time.year_labels(min_gap=40),
        first_year=first_year, last_year=last_year,
    )


def figure_charts(releases):
    """
    Training compute and parameters of ``releases`` (a lab's) over time, each beside the
    field's in the same years: a list of one ``Scatter`` per figure the lab has, empty
    (and no query) when none of its dated releases has either figure.
    """
    dated = [
        release for release in releases
        if release.released and (release.training_compute or release.parameters)
    ]
    if not dated:
        return []
    dated.sort(key=lambda release: (release.released, release.name))
    first_year, last_year = dated[0].released.year, dated[-1].released.year
    # A lab with a year or two of releases is shown against a few years of the field, so
    # the field's trend can be seen behind it.
    first_year = min(first_year, last_year - MIN_YEARS + 1)
    field_rows = field_figures(first_year, last_year)
    return [
        _scatter(figure, dated, field_rows, first_year, last_year)
        for figure in FIGURES if any(getattr(release, figure) for release in dated)
    ]


# --------------------------------------------------------------------------
# The field by year, accessibility and country
# --------------------------------------------------------------------------

# Stacking order: open to closed, unknown last. Each has a colour in charts.css.
ACCESS_ORDER = [
    Accessibility.OPEN_UNRESTRICTED, Accessibility.OPEN_RESTRICTED, Accessibility.OPEN_NONCOMMERCIAL,
    Accessibility.OPEN_SOURCE, Accessibility.API, Accessibility.HOSTED, Accessibility.UNRELEASED,
    Accessibility.UNKNOWN,
]
BARS_WIDTH, BARS_HEIGHT = 340, 240  # shown as the scatter charts are
BARS_LEFT, BARS_BOTTOM = 44, FONT + 14
MAX_YEARS = 12  # years drawn; earlier ones are counted in the table and the caption
TOP_COUNTRIES = 10
COUNTRY_ROW = FONT + 22  # a label line above a bar


def nice_step(largest, steps=4):
    """A round step (1, 2 or 5 × 10ⁿ) dividing 0..``largest`` into about ``steps`` parts."""
    raw = max(largest / steps, 1)  # counts: never a step under one
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(magnitude * factor for factor in (1, 2, 5, 10) if magnitude * factor >= raw)


@dataclass
class Segment:
    access: str
    label: str
    count: int
    y: float
    height: float


@dataclass
class YearBar:
    year: int
    x: float
    width: float
    total: int
    segments: list
    counts: dict  # {accessibility: count}
    legend_counts: list = field(default_factory=list)  # a count per legend entry, for the table


@dataclass
class CountryBar:
    name: str
    count: int
    width: float
    y: float
    label: str = ""  # the name as drawn (cut to leave room for the count)

    @property
    def label_y(self):
        return round(self.y - 6, 1)


@dataclass
class FieldCharts:
    bars: list  # YearBar, oldest first
    ticks: list  # (count, y)
    legend: list  # (accessibility value, label) in stacking order, those present
    earlier: int  # releases before the years drawn
    earlier_before: int
    undated: int
    total: int
    countries: list  # CountryBar, most first
    country_height: float
    year_labels: list  # (year, x)
    width: int = BARS_WIDTH
    height: int = BARS_HEIGHT
    left: int = BARS_LEFT
    right: int = BARS_WIDTH - PADDING
    bottom: int = BARS_HEIGHT - BARS_BOTTOM


def field_counts(releases):
    """
    (year, accessibility, country, count) for ``releases`` (a queryset: the field, or the
    release list's filtered set): one grouped query, no model instances.
    """
    return list(
        releases.order_by().annotate(year=year_of("released"))
        .values_list("year", "accessibility", "lab__country").annotate(count=Count("pk"))
    )


def field_charts(releases, rows=None):
    """
    Releases per year by accessibility and per country, from ``field_counts`` (or ``rows``
    of it already counted: the release list keeps them per content generation); None when
    there are none.
    """
    rows = field_counts(releases) if rows is None else rows
    if not rows:
        return None
    total = sum(row[3] for row in rows)
    by_year, by_country, undated = {}, {}, 0
    for year, access, country, count in rows:
        by_country[country or ""] = by_country.get(country or "", 0) + count
        if year is None:
            undated += count
            continue
        year_counts = by_year.setdefault(year, {})
        year_counts[access] = year_counts.get(access, 0) + count

    bars, ticks, legend, earlier, earlier_before, year_labels = [], [], [], 0, None, []
    if by_year:
        last = max(by_year)
        first = max(min(by_year), last - MAX_YEARS + 1)
        earlier = sum(sum(counts.values()) for year, counts in by_year.items() if year < first)
        earlier_before = first
        bottom, top = BARS_HEIGHT - BARS_BOTTOM, 14
        largest = max(sum(by_year.get(year, {}).values()) for year in range(first, last + 1))
        step = nice_step(largest)
        ceiling = step * math.ceil(largest / step)
        per = (bottom - top) / ceiling
        slot = (BARS_WIDTH - PADDING - BARS_LEFT) / (last - first + 1)
        present = set()
        for number, year in enumerate(range(first, last + 1)):
            counts = by_year.get(year, {})
            x = BARS_LEFT + number * slot
            y, segments = bottom, []
            for access in ACCESS_ORDER:
                count = counts.get(access, 0)
                if count:
                    present.add(access)
                    height = count * per
                    y -= height
                    segments.append(Segment(access, Accessibility(access).label, count, round(y, 1), round(height, 1)))
            bars.append(YearBar(
                year=year, x=round(x + slot * 0.15, 1), width=round(slot * 0.7, 1), total=sum(counts.values()),
                segments=segments, counts=counts,
            ))
        ticks = [(value, round(bottom - value * per, 1)) for value in range(0, int(ceiling) + 1, int(step))]
        legend = [(access.value, access.label) for access in ACCESS_ORDER if access in present]
        for bar in bars:
            bar.legend_counts = [bar.counts.get(access, 0) for access, _label in legend]
        label_step = next(step for step in (1, 2, 3, 5, 10) if slot * step >= 40 or step == 10)
        year_labels = [
            (bar.year, round(bar.x + bar.width / 2, 1)) for number, bar in enumerate(bars)
            if (last - bar.year) % label_step == 0  # the latest year always has its label
        ]

    named = sorted(((code, count) for code, count in by_country.items() if code), key=lambda item: (-item[1], item[0]))
    shown = [(countries.name(code) or code, count) for code, count in named[:TOP_COUNTRIES]]
    others = sum(count for _code, count in named[TOP_COUNTRIES:])
    if others:
        shown.append((f"{len(named) - TOP_COUNTRIES} other countries", others))
    if by_country.get(""):
        shown.append(("No country given", by_country[""]))
    most = max((count for _name, count in shown), default=1)
    room = BARS_WIDTH - 2 * PADDING - 8
    country_bars = [
        CountryBar(
            name=name, count=count, width=round(max(2, count / most * room), 1), y=round(FONT + 12 + n * COUNTRY_ROW, 1),
            label=fit_text(name, room - text_width(f"{count:,}") - 12),
        )
        for n, (name, count) in enumerate(shown)
    ]
    return FieldCharts(
        bars=bars, ticks=ticks, legend=legend, earlier=earlier, earlier_before=earlier_before, undated=undated,
        total=total, countries=country_bars,
        country_height=round(country_bars[-1].y + 12 + 4, 1) if country_bars else FONT + 12,
        year_labels=year_labels,
    )

