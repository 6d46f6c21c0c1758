"""The charts drawn from the data: a lab's releases, its compute and parameters beside the field's, the field by year and country."""

import datetime
import itertools
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.charts import FONT, LogScale, build_timeline, field_charts, figure_charts, text_width
from profiles.models import PublicationState, Release
from tests.factories import make_lab, make_release
from tests.html_safety import dangerous_markup

pytestmark = pytest.mark.django_db

DRAFT = PublicationState.DRAFT
SHANGHAI = "/labs/shanghai-ai-laboratory/"


def day(text):
    return datetime.date.fromisoformat(text)


def make_busy_lab():
    """
    A lab like Shanghai AI Laboratory after the Epoch import: about forty dated releases
    in several families, each family a release of its own in the same months as its
    members (the case drawn as one muddy bar), some with training compute and parameters.
    Returns the lab.
    """
    lab = make_lab(
        "Shanghai AI Laboratory", slug="shanghai-ai-laboratory", country="CN",
        founded=day("2020-07-01"), founded_precision="month",
    )
    families = {
        "InternLM family": ("2023-01-01", "year", [
            ("InternLM", "2023-07-06", "day", 1e11, 6e23),
            ("InternLM-XComposer", "2023-09-26", "day", 7e9, 5.28e21),
            ("InternLM2", "2024-01-01", "month", 2e10, 3.12e23),
            ("InternLM2-Chat", "2024-01-01", "month", 2e10, None),
            ("InternLM2-Math", "2024-01-01", "month", 7e9, None),
            ("InternLM2.5", "2024-07-01", "month", 2e10, None),
            ("InternLM2.5-Chat", "2024-07-03", "day", 7e9, None),
            ("InternLM3", "2025-01-01", "month", 8e9, 4e23),
        ]),
        "InternVL family": ("2024-01-01", "year", [
            ("InternVL", "2024-01-15", "day", 1.4e10, 1.74e23),
            ("InternViT-6B", "2024-01-15", "day", 6e9, None),
            ("InternVL1.5", "2024-04-29", "day", 2.55e10, None),
            ("InternVL2 26B", "2024-07-04", "day", 2.55e10, None),
            ("InternVL2.5", "2024-12-01", "month", 7.8e10, 2e24),
            ("InternVL3", "2025-04-01", "month", 7.8e10, None),
        ]),
        "OpenMMLab": ("2020-01-01", "year", [
            ("MMDetection", "2020-07-01", "month", None, None),
            ("MMSegmentation", "2020-07-01", "month", None, None),
            ("MMPose", "2020-08-01", "month", None, None),
            ("MMOCR", "2021-04-01", "month", None, None),
            ("MMTracking", "2021-01-01", "month", None, None),
            ("MMAction2", "2020-07-01", "month", None, None),
            ("MMYOLO", "2022-09-01", "month", None, None),
        ]),
    }
    for family_name, (released, precision, members) in families.items():
        family = make_release(
            lab, family_name, kind="model_family" if family_name.startswith("Intern") else "toolbox",
            released=day(released), released_precision=precision,
        )
        for name, released, precision, parameters, compute in members:
            make_release(
                lab, name, family=family, released=day(released), released_precision=precision,
                parameters=parameters, training_compute=compute,
                kind="toolbox" if family_name == "OpenMMLab" else "model",
            )
    standalone = [
        ("InternImage", "2022-11-10", 1.08e9, 2.4e21), ("HGRN 1B (WT 103)", "2023-11-08", 1e9, 1.97e19),
        ("SPHINX (Llama 2 13B)", "2023-11-13", 1.99e10, 3.04e22), ("InternLM2-20B", "2024-01-12", 2e10, 3.12e23),
        ("CrossBind", "2024-03-24", None, None), ("HGRN2 1B", "2024-04-11", 1e9, 6e21),
        ("HGRN2 3B", "2024-04-11", 2.9e9, 1.74e21), ("Intern-S1", "2025-07-26", 2.4e11, None),
        ("OpenCompass", "2023-01-01", None, None), ("Lumina-T2X", "2024-05-01", 5e9, None),
        ("Aurora", "2024-06-01", None, None), ("InternVideo2", "2024-03-22", 6e9, 1e23),
        ("DeepLink", "2023-06-01", None, None), ("LLaMA-Adapter", "2023-03-28", 1.2e6, None),
        ("Vchitect-2.0", "2024-09-01", 2e9, None), ("InternEmbodied", "2025-03-01", None, None),
    ]
    for name, released, parameters, compute in standalone:
        make_release(
            lab, name, released=day(released), released_precision="year" if name == "OpenCompass" else "day",
            parameters=parameters, training_compute=compute,
            kind="benchmark_suite" if name == "OpenCompass" else "model",
        )
    return lab


def boxes_overlap(a, b):
    """Whether two (left, top, right, bottom) boxes share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def mark_boxes(layout):
    """Each mark's box and its label's (as the layout estimates it), by row."""
    from profiles.charts import LABEL_GAP

    boxes = []
    for mark in layout.marks:
        boxes.append((mark.release.name, (mark.x, mark.top, mark.right, mark.top + 12)))
        if mark.label:
            width = text_width(mark.label)
            left = mark.label_x if mark.label_anchor == "start" else mark.label_x - width
            boxes.append((f"label of {mark.release.name}", (left, mark.y - FONT / 2, left + width, mark.y + FONT / 2)))
            assert left >= layout.plot_left - 0.5 and left + width <= layout.plot_right + LABEL_GAP + 0.5, mark.release.name
    return boxes


# --------------------------------------------------------------------------
# The timeline's layout
# --------------------------------------------------------------------------


def test_no_two_marks_or_labels_overlap_a_family_stacks_above_its_members():
    lab = make_busy_lab()
    lab = type(lab).objects.with_profile().get(pk=lab.pk)
    family_of = {member.pk: family.name for family, members in lab.release_groups() for member in [family, *members]}
    timeline = build_timeline(lab.releases.all(), row_of=lambda release: family_of[release.pk])
    assert len(timeline.marks) == 40
    for layout in (timeline.wide, timeline.narrow):
        for (first, a), (second, b) in itertools.combinations(mark_boxes(layout), 2):
            assert not boxes_overlap(a, b), (layout.width, first, second)
        row = next(row for row in layout.rows if row.label == "InternLM family")
        lanes = {mark.release.name: mark.lane for mark in row.marks}
        # The family's own year-long bar and InternLM (July of that year) are on different lanes.
        assert lanes["InternLM family"] != lanes["InternLM"]
        assert layout.height == max(row.bottom for row in layout.rows) + 4


def test_every_year_has_its_label_through_the_last_one():
    lab = make_lab(founded=day("2015-01-01"))
    releases = [
        make_release(lab, released=day("2022-03-01"), released_precision="month"),
        make_release(lab, released=day("2025-02-10"), released_precision="day"),
    ]
    timeline = build_timeline(releases, row_of=lambda release: "all")
    for layout in (timeline.wide, timeline.narrow):
        assert [year for year, _x in layout.years] == [2022, 2023, 2024, 2025]
        # Each label stands in the middle of its year, between that year's gridlines.
        for (year, x), left, right in zip(layout.years, layout.gridlines, layout.gridlines[1:]):
            assert left < x < right
    # Many years: every other label (or fewer), the latest span still ends the axis.
    old = make_release(lab, released=day("2015-06-01"), released_precision="month")
    narrow = build_timeline([old, *releases], row_of=lambda release: "all").narrow
    labelled = [year for year, _x in narrow.years]
    assert labelled[0] == 2015 and len(labelled) < 11
    assert all(later - earlier == labelled[1] - labelled[0] for earlier, later in zip(labelled, labelled[1:]))


# --------------------------------------------------------------------------
# Log scale
# --------------------------------------------------------------------------


def test_log_scale_ticks_are_whole_powers_of_ten_evenly_spaced():
    scale = LogScale(3e21, 2e25, bottom=200, top=20)
    ticks = scale.ticks(min_gap=20)
    assert [exponent for exponent, _label, _y in ticks] == [21, 22, 23, 24, 25, 26]
    assert [label for _exponent, label, _y in ticks] == ["10²¹", "10²²", "10²³", "10²⁴", "10²⁵", "10²⁶"]
    ys = [y for _exponent, _label, y in ticks]
    assert ys[0] == 200 and ys[-1] == 20
    assert len({round(earlier - later, 1) for earlier, later in zip(ys, ys[1:])}) == 1  # one decade, one distance
    # A value sits where its logarithm says: 10²³ on its tick, 3 × 10²³ about half a decade above.
    assert scale.y(1e23) == ys[2]
    assert ys[3] < scale.y(3e23) < ys[2]
    assert scale.y(3e23) == pytest.approx(ys[2] - 0.477 * (ys[2] - ys[3]), abs=0.2)
    # Crowded: every other power of ten, still powers of ten and still in place.
    crowded = LogScale(1e4, 1e26, bottom=200, top=20)
    assert [exponent for exponent, _label, _y in crowded.ticks(min_gap=15)] == list(range(4, 27, 2))
    assert [exponent for exponent, _label, _y in crowded.ticks(min_gap=20)] == list(range(6, 25, 3))
    assert all(y == crowded.y(10.0 ** exponent) for exponent, _label, y in crowded.ticks(min_gap=20))
    assert [label for _e, label, _y in LogScale(2e-3, 5e-1, 100, 0).ticks()] == ["10⁻³", "10⁻²", "10⁻¹", "10⁰"]


# --------------------------------------------------------------------------
# The lab page
# --------------------------------------------------------------------------


def figure_of(html, caption_id):
    """The <figure> whose caption has this id."""
    begin = html.rindex("<figure", 0, html.index(f'aria-labelledby="{caption_id}"'))
    return html[begin:html.index("</figure>", begin)]


def test_the_lab_page_draws_its_timeline_and_figures_with_their_tables(client):
    make_busy_lab()
    html = client.get(SHANGHAI).content.decode()
    timeline = figure_of(html, "lab-releases-chart-caption")
    # Two renderings (one shown at a time by charts.css), each an image named by its title.
    for variant in ("wide", "narrow"):
        assert re.search(
            rf'<svg class="chart__svg chart__svg--{variant}" role="img" aria-labelledby="lab-releases-chart-{variant}-title lab-releases-chart-caption"',
            timeline,
        )
        assert f'<title id="lab-releases-chart-{variant}-title">Releases over time by family, 2020 to 2025</title>' in timeline
    assert timeline.count('class="chart-timeline__mark') == 80  # 40 releases, twice
    # The table: every release, linked, with its date as known.
    table = timeline[timeline.index("<table"):]
    assert table.count('<a href="/releases/') == 40
    assert '<a href="/releases/internlm/">InternLM</a></td><td><time datetime="2023-07-06">6 July 2023</time>' in table
    assert '<time datetime="2023">2023</time> (year only)' in table

    compute = figure_of(html, "lab-figures-chart-training_compute-caption")
    parameters = figure_of(html, "lab-figures-chart-parameters-caption")
    assert 'role="img" aria-labelledby="lab-figures-chart-training_compute-title lab-figures-chart-training_compute-caption"' in compute
    assert "Shanghai AI Laboratory's 13 models" in compute and "Shanghai AI Laboratory's 25 models" in parameters
    assert '<td><a href="/releases/internlm/">InternLM</a></td><td><time datetime="2023-07-06">6 July 2023</time></td><td>6 × 10²³ FLOP</td>' in compute
    assert "<td>100B</td>" in parameters
    assert 'class="chart-scatter__field" d="M' in compute


def test_the_field_behind_a_lab_counts_published_releases_only(client):
    lab = make_busy_lab()
    make_release(lab, "Secret Draft Model", state=DRAFT, released=day("2024-02-01"), training_compute=1e29, parameters=1e15)
    hidden = make_lab("Hidden Lab", state=DRAFT)
    make_release(hidden, "Hidden Lab Model", released=day("2024-02-01"), training_compute=1e30, parameters=1e16)
    other = make_lab("Other Lab", founded=day("1990-01-01"))
    make_release(other, "Other Model", released=day("2024-02-01"), training_compute=1e18, parameters=1e5)
    make_release(other, "Ancient Model", released=day("2001-02-01"), training_compute=1e12)  # before the years shown
    html = client.get(SHANGHAI).content.decode()
    assert "Secret Draft Model" not in html and "Hidden Lab Model" not in html
    # The field: the lab's own 13 and the other lab's one in those years; no draft's figure
    # stretches the scale (10²⁹, 10³⁰).
    compute = figure_of(html, "lab-figures-chart-training_compute-caption")
    assert "in front of" in compute and "the field's 14" in compute
    assert "10²⁹" not in compute and "10³⁰" not in compute and "10¹⁸" in compute


def test_names_are_escaped_in_every_chart(client):
    lab = make_busy_lab()
    evil = '<script>alert(1)</script> & "x"'
    make_release(lab, evil, slug="evil", released=day("2024-03-01"), training_compute=1e22, parameters=1e9)
    lab.name = '<img src=x onerror=alert(1)> Lab'
    lab.save()
    html = client.get(SHANGHAI).content.decode()
    timeline = figure_of(html, "lab-releases-chart-caption")
    compute = figure_of(html, "lab-figures-chart-training_compute-caption")
    for chart in (timeline, compute):
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;x&#34;" in chart
        assert "&lt;img src=x onerror=alert(1)&gt; Lab" in chart or chart is timeline
        assert dangerous_markup(chart) == []
    # The release list's charts are labelled with years, countries and our own words only.
    html = client.get("/releases/").content.decode()
    for caption in ("field-chart-years-caption", "field-chart-countries-caption"):
        assert dangerous_markup(figure_of(html, caption)) == []


def test_a_lab_without_figures_has_no_figure_chart_and_no_field_query(client):
    lab = make_lab("Plain Lab")
    make_release(lab, "Plain Model", released=day("2024-01-01"))
    make_release(lab, "Undated Figures", released=None, training_compute=1e22)  # no date: nothing to place
    other = make_lab("Other Lab")
    make_release(other, "Other Model", released=day("2024-02-01"), training_compute=1e22)
    html = client.get("/labs/plain-lab/").content.decode()
    assert "chart--timeline" in html
    assert "chart--scatter" not in html and "chart-group" not in html
    assert figure_charts(Release.objects.filter(lab=lab)) == []


def test_the_seed_profile_draws_internlm_and_its_family_apart(client, starting_data):
    html = client.get(SHANGHAI).content.decode()
    timeline = figure_of(html, "lab-releases-chart-caption")
    wide = timeline[:timeline.index("chart__svg--narrow")]
    # One row for the family; the family's year-long bar and InternLM's own mark in two lanes.
    marks = re.findall(r'<title>([^<:]+): [^<]*</title>\s*<(?:circle|rect) class="chart-timeline__mark[^"]*" (?:cx="[^"]*" cy|x="[^"]*" y)="([\d.]+)"', wide)
    y = dict(marks)
    assert "InternLM family" in y and "InternLM" in y
    assert y["InternLM family"] != y["InternLM"]


def count_queries(client, url):
    cache.clear()  # each request alike: none finds the next go-live (or a page) kept by another
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_the_charts_cost_one_query_each_however_many_rows(client):
    lab = make_lab("Grown Lab")
    other = make_lab("Other Lab")
    plain = make_lab("Plain Lab")
    make_release(plain, released=day("2024-01-01"))
    make_release(lab, released=day("2024-01-01"), training_compute=1e22, parameters=1e9)
    make_release(other, released=day("2024-01-01"), training_compute=1e22, parameters=1e9)
    small_lab, small_list = count_queries(client, "/labs/grown-lab/"), count_queries(client, "/releases/")
    for number in range(40):
        released = day("2023-01-01") + datetime.timedelta(days=number * 9)
        make_release(lab, released=released, training_compute=1e20 * (number + 1), parameters=1e8 * (number + 1))
        make_release(other, released=released, training_compute=1e21, parameters=2e9)
    # The field's figures: one query, and none for a lab without figures (no chart).
    assert count_queries(client, "/labs/grown-lab/") == small_lab == count_queries(client, "/labs/plain-lab/") + 1
    # The field by year, access and country: one grouped query (test_pages counts the rest).
    assert count_queries(client, "/releases/") == small_list


# --------------------------------------------------------------------------
# The release list: the field by year, accessibility and country
# --------------------------------------------------------------------------


def test_the_release_list_charts_the_field_by_year_access_and_country(client):
    us, cn, nowhere = make_lab("US Lab", country="US"), make_lab("CN Lab", country="CN"), make_lab("Nowhere Lab")
    for number in range(3):
        make_release(us, released=day(f"202{number + 2}-05-01"), accessibility="api")
    make_release(us, released=day("2024-06-01"), accessibility="open_unrestricted", kind="dataset")
    make_release(cn, released=day("2024-06-01"), accessibility="open_unrestricted")
    make_release(cn, released=None, accessibility="unreleased")
    make_release(nowhere, released=day("2023-01-01"), released_precision="year")
    make_release(cn, "Draft Release", state=DRAFT, released=day("2024-02-01"), accessibility="hosted")
    make_release(make_lab("Draft Lab", state=DRAFT, country="FR"), released=day("2024-02-01"))

    html = client.get("/releases/").content.decode()
    years = figure_of(html, "field-chart-years-caption")
    assert 'role="img" aria-labelledby="field-chart-years-title field-chart-years-caption"' in years
    assert "Releases per year by accessibility, 2022 to 2024" in years
    assert "of the 7 releases listed here" in years and "1 release without a date is left out" in years
    # The table: a column per accessibility present, a row per year.
    assert re.search(r"<th scope=\"col\">Open weights \(unrestricted\)</th><th scope=\"col\">API access</th>"
                     r"<th scope=\"col\">Unknown</th><th scope=\"col\">All</th>", years)
    assert '<tr><th scope="row">2024</th><td>2</td><td>1</td><td>0</td><td>3</td></tr>' in years
    assert "chart-access--hosted" not in years  # the draft's
    countries = figure_of(html, "field-chart-countries-caption")
    table = countries[countries.index("<table"):]
    assert re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', table) == [
        ("United States of America", "4"), ("China", "2"), ("No country given", "1"),
    ]
    assert "France" not in countries

    # The filters apply: datasets only.
    html = client.get("/releases/?kind=dataset").content.decode()
    years = figure_of(html, "field-chart-years-caption")
    assert "of the 1 release listed here (these filters)" in years
    assert "Releases per year by accessibility, 2024 to 2024" in years


def test_the_field_chart_is_counted_once_per_change_and_follows_every_publish(client):
    lab = make_lab("US Lab", country="US")
    make_release(lab, released=day("2024-05-01"), accessibility="api")
    first = client.get("/releases/").content.decode()
    assert "of the 1 release listed here" in figure_of(first, "field-chart-years-caption")
    # Another page of the same list reuses the counts (no grouped query of its own).
    with CaptureQueriesContext(connection) as captured:
        client.get("/releases/?page=1")
    assert not any("GROUP BY" in query["sql"] and "accessibility" in query["sql"] for query in captured.captured_queries)
    make_release(lab, released=day("2024-06-01"), accessibility="api")  # a save: the counts are retired
    again = client.get("/releases/").content.decode()
    assert "of the 2 releases listed here" in figure_of(again, "field-chart-years-caption")


def test_field_charts_keep_the_latest_years_and_count_the_earlier_ones():
    lab = make_lab(founded=day("1950-01-01"))
    for year in range(1990, 2025, 2):
        make_release(lab, released=day(f"{year}-01-01"), released_precision="year")
    charts = field_charts(Release.objects.published())
    assert [bar.year for bar in charts.bars] == list(range(2013, 2025))
    assert charts.earlier == 12 and charts.earlier_before == 2013  # 1990, 1992, … 2012
    assert charts.year_labels[-1][0] == 2024
    assert [value for value, _y in charts.ticks] == [0, 1]
