"""The release timeline's geometry: honest placement of partial dates, one mark per dated release."""

import datetime

import pytest
from django.template.loader import render_to_string

from profiles.charts import build_timeline
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
    assert [label for label, _releases in timeline.rows] == ["Benchmark suite", "Model"]
    for layout in (timeline.wide, timeline.narrow):
        assert [row.label for row in layout.rows] == ["Benchmark suite", "Model"]


def test_partial_dates_are_drawn_as_spans_of_what_is_known(releases):
    timeline = build_timeline(releases, row_of=lambda r: "all")
    for layout in (timeline.wide, timeline.narrow):
        marks = {mark.release.name: mark for mark in layout.marks}
        year_width = layout.gridlines[1] - layout.gridlines[0]
        assert marks["Day Model"].is_dot and not marks["Day Model"].approximate
        assert 0 < marks["Month Model"].width < year_width / 6
        assert marks["Year Model"].approximate
        assert marks["Year Model"].width == pytest.approx(year_width, abs=0.5)
        # Chronology left to right: 2023 (whole year) < January 2024 < 19 July 2024.
        assert marks["Year Model"].x < marks["Month Model"].x < marks["Day Model"].x
        # A month is drawn over its own month: January starts on the 2024 gridline.
        assert marks["Month Model"].x == layout.gridlines[1]


def test_no_dated_release_means_no_chart(releases):
    assert build_timeline(releases[3:], row_of=lambda r: "all") is None


def test_the_chart_lists_every_release_with_its_link_and_escapes_names(releases):
    releases[0].name = '<script>alert(1)</script>'
    timeline = build_timeline(releases, row_of=lambda r: r.lab.name)
    html = render_to_string(
        "profiles/_chart_timeline.html", {"timeline": timeline, "chart_id": "t", "rows_are": "lab"}
    )
    assert html.count('class="chart-timeline__mark') == 6  # three dated releases, in two renderings
    for release in releases:
        assert f'<a href="{release.get_absolute_url()}">' in html  # in the table
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert dangerous_markup(html) == []
    assert "date not known" in html


def test_the_lab_page_charts_every_dated_release_oldest_first(client, starting_data):
    import re

    from profiles.models import Release

    html = client.get("/labs/shanghai-ai-laboratory/").content.decode()
    start = html.index('<figure class="chart chart--timeline"')
    chart = html[start:html.index("</figure>", start)]
    wide = chart[:chart.index("chart__svg--narrow")]
    dated = Release.objects.published().filter(lab__slug="shanghai-ai-laboratory").exclude(released=None)
    titles = re.findall(r"<title>([^<:]+): ", wide)
    assert sorted(titles) == sorted(release.name for release in dated)
    # InternLM family (2023, year only) is drawn approximate, and in the table before
    # InternLM2 (January 2024) and InternLM2.5 (July 2024).
    assert "InternLM family: 2023 (year only)" in wide
    table = chart[chart.index("<table"):]
    assert table.index(">InternLM family<") < table.index(">InternLM2<") < table.index(">InternLM2.5<")


def test_the_release_list_has_a_chart_of_its_page(client, starting_data):
    html = client.get("/releases/").content.decode()
    assert 'class="chart chart--timeline"' in html and "Releases by lab" in html


def test_one_labs_releases_are_rowed_as_on_its_page(client, starting_data):
    """/releases/?lab= draws the lab page's rows: a family with its members, lone releases in "Other releases"."""
    import re

    def row_labels(url):
        html = client.get(url).content.decode()
        start = html.index('<figure class="chart chart--timeline"')
        chart = html[start:html.index("</figure>", start)]
        wide = chart[:chart.index("chart__svg--narrow")]
        return re.findall(r'class="chart__label chart__label--row"[^>]*>([^<]+)<', wide)

    on_page = row_labels("/labs/shanghai-ai-laboratory/")
    assert "Other releases" in on_page and "InternLM family" in on_page
    assert row_labels("/releases/?lab=shanghai-ai-laboratory") == on_page
