"""
The release timeline: releases laid out over time as an SVG drawn on the server.

Dates are placed as honestly as they are known: a day is a point, a month is a
span over that month, a year is a span over the whole year marked approximate.
This module only computes the geometry; the ``timeline_chart`` tag (profiles_tags.py)
draws it with ``format_html``, so every label is escaped, and
``templates/profiles/_timeline.html`` puts a text alternative beside it.
"""

import calendar
import datetime
from dataclasses import dataclass, field

from .partial_dates import DatePrecision

LABEL_WIDTH = 170  # room for row labels on the left
ROW_HEIGHT = 28
AXIS_HEIGHT = 26
PADDING = 12


@dataclass
class Mark:
    release: object
    x: float
    width: float  # 0 for a release known to the day
    y: float
    approximate: bool  # known only to the year

    @property
    def center(self):
        return self.x + self.width / 2


@dataclass
class Row:
    label: str
    y: float
    marks: list = field(default_factory=list)


@dataclass
class Timeline:
    width: int
    height: int
    plot_left: int
    plot_right: int
    rows: list
    years: list  # (year, x) gridlines
    undated: list  # releases with no date: listed, not drawn

    @property
    def marks(self):
        return [mark for row in self.rows for mark in row.marks]


def _period(release):
    """(first day, last day) of the period the release date names."""
    start = release.released
    if release.released_precision == DatePrecision.YEAR:
        return start.replace(month=1, day=1), start.replace(month=12, day=31)
    if release.released_precision == DatePrecision.MONTH:
        last = calendar.monthrange(start.year, start.month)[1]
        return start.replace(day=1), start.replace(day=last)
    return start, start


def build_timeline(releases, row_of, width=760):
    """
    Lay ``releases`` out on rows (``row_of(release)`` names a release's row, e.g. its
    family or its lab), oldest left. Rows keep the order in which they first appear.
    Returns None when no release has a date.
    """
    dated = [release for release in releases if release.released]
    undated = [release for release in releases if not release.released]
    if not dated:
        return None
    first_year = min(release.released.year for release in dated)
    last_year = max(release.released.year for release in dated)
    start = datetime.date(first_year, 1, 1)
    end = datetime.date(last_year + 1, 1, 1)
    plot_left, plot_right = LABEL_WIDTH, width - PADDING
    scale = (plot_right - plot_left) / (end - start).days

    def x_of(day):
        return plot_left + (day - start).days * scale

    rows = {}
    for release in sorted(dated, key=lambda r: (r.released, r.name)):
        label = row_of(release)
        row = rows.setdefault(label, Row(label=label, y=AXIS_HEIGHT + PADDING + len(rows) * ROW_HEIGHT))
        first, last = _period(release)
        x = x_of(first)
        span = 0 if first == last else x_of(last + datetime.timedelta(days=1)) - x
        row.marks.append(Mark(
            release=release, x=round(x, 1), width=round(span, 1), y=row.y,
            approximate=release.released_precision == DatePrecision.YEAR,
        ))
    years = [(year, round(x_of(datetime.date(year, 1, 1)), 1)) for year in range(first_year, last_year + 2)]
    height = AXIS_HEIGHT + PADDING * 2 + len(rows) * ROW_HEIGHT
    return Timeline(
        width=width, height=height, plot_left=plot_left, plot_right=plot_right,
        rows=list(rows.values()), years=years, undated=undated,
    )
