"""
Template helpers for the public pages: partial dates in <time>, footnote markers,
grouping rows by their ``kind`` choice, figures as readers write them ("7B",
"1.6 × 10²⁴ FLOP"), the data credit a page owes, and the fragment repeated for every
release on a page (its facts line). They only read what the view fetched, so they never
query the database.

The repeated fragments (a release's facts, a date) are built here with markupsafe's
``Markup`` (which escapes every value as Jinja2 does; a date 2.4 µs against Django's
``format_html`` 3.1 µs) rather than in an included template: a lab page repeats them for each
of its releases, and included templates per release were most of its rendering time.
"""

import math

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from markupsafe import Markup

from imports.credit import credits_for

from ..models import Accessibility
from ..partial_dates import format_partial_date, iso_partial_date

register = template.Library()


@register.simple_tag
def partial_time(value, precision):
    """
    ``<time datetime="2020-07">July 2020</time>``: only what is known, in words and in
    ISO 8601 reduced precision, so a month-precise date never gains a made-up day.
    """
    if value is None:
        return ""
    return Markup('<time datetime="%s">%s</time>') % (iso_partial_date(value, precision), format_partial_date(value, precision))


@register.simple_tag
def cite_marks(obj, lab):
    """
    Footnote markers ([1], [2]) for what ``obj`` (the lab, or one of its sections or
    releases) cites, linking to the numbered list at the foot of ``lab``'s profile
    (``Lab.profile_citations``: published sources only, outside a preview).
    """
    numbers = lab.source_numbers
    seen = sorted({numbers[citation.source_id] for citation in lab.citations_of(obj) if citation.source_id in numbers})
    if not seen:
        return ""
    return format_html(
        '<sup class="cite">{}</sup>',
        format_html_join("", '<a href="#source-{0}" aria-label="Source {0}">[{0}]</a>', ((number,) for number in seen)),
    )


@register.filter
def grouped_by_kind(rows):
    """
    [(kind label, [rows]), ...] in the order the ``kind`` field lists its choices (founder
    before funder, counterpart before competitor), each group in the rows' own order.
    ``{% regroup %}`` would split a kind whose rows are not next to each other.
    """
    rows = list(rows)
    if not rows:
        return []
    choices = rows[0]._meta.get_field("kind").choices
    groups = {value: [] for value, _label in choices}
    for row in rows:
        groups.setdefault(row.kind, []).append(row)
    labels = dict(choices)
    return [(labels.get(kind, kind), members) for kind, members in groups.items() if members]


def _digits(value):
    """At most three significant digits, never in exponent form: 7, 1.2, 6.74, 175, 1,000."""
    if value >= 100:
        return f"{round(value):,}"
    text = f"{value:.3g}"
    return text if "e" not in text else f"{value:f}".rstrip("0").rstrip(".")


SHORT_SCALE = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


@register.filter
def short_number(value):
    """
    A count as a reader writes it: 7000000000 → "7B", 1.2e12 → "1.2T", 340000000 → "340M"
    (short scale: B for billion, T for trillion). Empty for an unknown figure.
    """
    if value is None or value == "":
        return ""
    value = abs(float(value))
    if not math.isfinite(value):
        return ""
    for size, suffix in SHORT_SCALE:
        if value >= size * 0.9995:  # 999.6 million is "1B", not "1,000M"
            return f"{_digits(value / size)}{suffix}"
    return _digits(value)


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@register.filter
def scientific(value):
    """
    A large amount in scientific notation: 1.6e24 → "1.6 × 10²⁴" (three significant
    digits at most; under 10,000 as it is). Empty for an unknown figure.
    """
    if value is None or value == "":
        return ""
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        return ""
    if value < 1e4:
        return _digits(value)
    exponent = math.floor(math.log10(value))
    mantissa = float(f"{value / 10 ** exponent:.3g}")
    if mantissa >= 10:  # 9.999e23 rounds up to 10 × 10²³: write 1 × 10²⁴
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{_digits(mantissa)} × 10{str(exponent).translate(SUPERSCRIPTS)}"


@register.filter
def flop(value):
    """Training compute: 1.6e24 → "1.6 × 10²⁴ FLOP". Empty when unknown."""
    text = scientific(value)
    return f"{text} FLOP" if text else ""


@register.simple_tag
def data_credits(*releases):
    """
    The credits a page owes for the releases it shows (``imports.credit``): each argument a
    release or a list of them, read as fetched (``with_related()``'s imported record).
    """
    return credits_for(*releases)


@register.filter
def iso_datetime(value):
    """
    A moment for ``<time datetime>``: ISO 8601 in the site's time zone, to the second.
    (``|date:"c"`` prints microseconds, which HTML's datetime syntax does not allow.)
    """
    if value is None:
        return ""
    return timezone.localtime(value).replace(microsecond=0).isoformat()


@register.simple_tag
def release_facts(release, with_lab=False):
    """One line of facts about a release (date, kind, sizes, licence, access); ``with_lab`` adds its lab."""
    facts = []
    if with_lab:
        facts.append(Markup('<a href="%s">%s</a>') % (release.lab.get_absolute_url(), release.lab.name))
    if release.released:
        facts.append(partial_time(release.released, release.released_precision))
    facts.append(release.get_kind_display())
    if release.sizes:
        facts.append(release.sizes)
    elif release.parameters:
        facts.append(Markup("%s parameters") % short_number(release.parameters))
    if release.license:
        facts.append(Markup("Licence: %s") % release.license)
    if release.accessibility != Accessibility.UNKNOWN:
        facts.append(release.get_accessibility_display())
    return Markup('<ul class="facts"><li>%s</li></ul>') % Markup("</li><li>").join(facts)
