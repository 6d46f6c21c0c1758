"""The lab page's charts in a real browser at 1280 and 390 px: no mark over another, labels readable, nothing off the screen."""

import itertools

import pytest

from tests.test_browser_admin import browser, pytestmark  # noqa: F401 (the fixture, the marks)
from tests.test_charts import SHANGHAI, boxes_overlap, make_busy_lab

# Every visible timeline's marks and labels, each with its rendered box, and the text's
# size in CSS px: its font size times the scale the SVG is drawn at.
MEASURE = """() => [...document.querySelectorAll('.chart svg')].filter(svg => svg.getClientRects().length).map(svg => {
  const frame = svg.getBoundingClientRect();
  const scale = frame.width / svg.viewBox.baseVal.width;
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {
    timeline: !!svg.closest('.chart--timeline'),
    frame: box(svg),
    marks: [...svg.querySelectorAll('.chart-timeline__release')].map(g => ({
      name: g.querySelector('title').textContent,
      mark: box(g.querySelector('.chart-timeline__mark')),
      label: g.querySelector('text') ? box(g.querySelector('text')) : null,
    })),
    text: [...svg.querySelectorAll('text')].map(t => [t.textContent, parseFloat(getComputedStyle(t).fontSize) * scale]),
  };
})"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_timeline_marks_never_overlap_and_the_labels_are_readable(live_server, browser, width):
    make_busy_lab()
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{live_server.url}{SHANGHAI}")
    charts = page.evaluate(MEASURE)
    timelines = [chart for chart in charts if chart["timeline"]]
    assert len(timelines) == 1  # one of the two renderings shows
    marks = timelines[0]["marks"]
    assert len(marks) == 40
    for first, second in itertools.combinations(marks, 2):
        assert not boxes_overlap(first["mark"], second["mark"]), (width, first["name"], second["name"])
        # A label runs into no other mark nor label either.
        for a, b in [(first["label"], second["mark"]), (first["mark"], second["label"]), (first["label"], second["label"])]:
            if a and b:
                assert not boxes_overlap(a, b), (width, first["name"], second["name"])
    assert len(charts) == 3  # the timeline, training compute, parameters
    for chart in charts:
        left, _top, right, _bottom = chart["frame"]
        assert 0 <= left and right <= width, (width, chart["frame"])
        for text, size in chart["text"]:
            assert size >= 11, (width, text, size)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.close()
