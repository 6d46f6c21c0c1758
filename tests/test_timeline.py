"""The release timeline's geometry: honest placement of partial dates, one mark per dated release."""

import datetime

import pytest
from django.template.loader import render_to_string

from profiles.timeline import build_timeline
from tests.factories import make_lab, make_release
from tests.html_safety import dangerous_markup

pytestmark = pytest.mark.django_db


@pytest.fixture
def releases():
    lab = make_lab(founded=datetime.date(2015, 1, 1), founded_precision="year")
    return [
        make_release(lab, "Day Model", released=datetime.date(2024, 7, 19), released_precision="day"),
        make_release(lab, "Month Model", released=datetime.date(2024, 1, 1), released_precision="month"),
        make_release(lab, "Year Model", released=datetime.date(2023, 1, 1), released_precision="year", kind="benchmark_suite"),
        make_release(lab, "Undated Toolbox", released=None, kind="toolbox"),
    ]


def test_each_dated_release_gets_one_mark_in_date_order(releases):
    timeline = build_timeline(releases, row_of=lambda r: r.get_kind_display())
    assert [mark.release.name for mark in timeline.marks] == ["Year Model", "Month Model", "Day Model"]
    assert [release.name for release in timeline.undated] == ["Undated Toolbox"]
    assert [row.label for row in timeline.rows] == ["Benchmark suite", "Model"]


def test_partial_dates_are_drawn_as_spans_of_what_is_known(releases):
    timeline = build_timeline(releases, row_of=lambda r: "all")
    marks = {mark.release.name: mark for mark in timeline.marks}
    year_width = timeline.years[1][1] - timeline.years[0][1]
    assert marks["Day Model"].width == 0 and not marks["Day Model"].approximate
    assert 0 < marks["Month Model"].width < year_width / 10
    assert marks["Year Model"].approximate
    assert marks["Year Model"].width == pytest.approx(year_width, abs=0.5)
    # Chronology left to right: 2023 (whole year) < January 2024 < 19 July 2024.
    assert marks["Year Model"].x < marks["Month Model"].x < marks["Day Model"].x


def test_no_dated_release_means_no_chart(releases):
    assert build_timeline(releases[3:], row_of=lambda r: "all") is None


def test_the_chart_links_every_release_and_escapes_names(releases):
    releases[0].name = '<script>alert(1)</script>'
    timeline = build_timeline(releases, row_of=lambda r: r.lab.name)
    html = render_to_string("profiles/_timeline.html", {"timeline": timeline, "timeline_id": "t"})
    assert html.count('class="release-chart__link"') == 3
    for release in releases:
        assert release.get_absolute_url() in html
    assert dangerous_markup(html) == []
    assert "date not known" in html


def test_the_lab_page_charts_every_dated_release_oldest_first(client, starting_data):
    import re

    from profiles.models import Release

    html = client.get("/labs/shanghai-ai-laboratory/").content.decode()
    chart = html[html.index('<figure class="release-chart"'):html.index("</figure>")]
    dated = Release.objects.published().filter(lab__slug="shanghai-ai-laboratory").exclude(released=None)
    titles = re.findall(r"<title>([^<:]+): ", chart)
    assert sorted(titles) == sorted(release.name for release in dated)
    # InternLM (2023, year only) is drawn approximate and before InternLM2 (January 2024).
    assert "InternLM: 2023 (year only)" in chart
    assert chart.index("InternLM: 2023") < chart.index("InternLM2: January 2024") < chart.index("InternLM2.5: July 2024")


def test_the_release_list_has_a_chart_of_its_page(client, starting_data):
    html = client.get("/releases/").content.decode()
    assert 'class="release-chart"' in html and "Releases by lab" in html
