"""
Template helpers for the public pages: partial dates in <time>, footnote markers and
grouping rows by their ``kind`` choice. They only read what the view fetched, so they
never query the database.
"""

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join

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
    return format_html(
        '<time datetime="{}">{}</time>', iso_partial_date(value, precision), format_partial_date(value, precision)
    )


@register.simple_tag
def cite_marks(obj, numbers):
    """
    Footnote markers ([1], [2]) for what ``obj`` (a lab, section or release) cites, linking
    to the numbered list at the foot of the profile. ``numbers`` is ``lab.source_numbers()``;
    the citations were prefetched by ``with_profile()`` (published sources only).
    """
    seen = []
    for citation in obj.citations.all():
        number = numbers.get(citation.source_id)
        if number is not None and number not in seen:
            seen.append(number)
    if not seen:
        return ""
    return format_html(
        '<sup class="cite">{}</sup>',
        format_html_join(
            "", '<a href="#source-{0}" aria-label="Source {0}">[{0}]</a>', ((number,) for number in sorted(seen))
        ),
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


@register.filter
def iso_datetime(value):
    """
    A moment for ``<time datetime>``: ISO 8601 in the site's time zone, to the second.
    (``|date:"c"`` prints microseconds, which HTML's datetime syntax does not allow.)
    """
    if value is None:
        return ""
    return timezone.localtime(value).replace(microsecond=0).isoformat()
