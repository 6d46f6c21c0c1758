"""The live Markdown preview in a real browser (Playwright driving Debian's Chromium)."""

import shutil

import pytest
from django.contrib.auth.models import Group, User

from tests.factories import make_lab, make_section

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    # A live server needs committed rows (transactional_db); serialized_rollback keeps the
    # Editor/Publisher groups the migration made, which a flush would otherwise wipe for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django would otherwise refuse the
    # ORM calls the test makes around it. Set for this test only: left in os.environ at import
    # time, it would leak into every later subprocess (`check --deploy` flags it as async.E001).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    return browser.new_page()


def test_section_body_preview_renders_as_the_editor_types(live_server, page):
    editor = User.objects.create_user("erin", password="a long editor password", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    lab = make_lab("Preview Lab")
    make_section(lab, body="Old text.")

    page.goto(f"{live_server.url}/admin/login/?next=/admin/profiles/lab/{lab.pk}/change/")
    page.fill("#id_username", "erin")
    page.fill("#id_password", "a long editor password")
    page.click("input[type=submit]")
    page.wait_for_url(f"**/admin/profiles/lab/{lab.pk}/change/")

    body = page.locator("#id_sections-0-body")
    body.fill("Some **bold** words <script>window.pwned = 1</script>")
    preview = page.locator("#id_sections-0-body + .markdown-live-preview")
    playwright_api.expect(preview.locator("strong")).to_have_text("bold")

    html = preview.inner_html()
    assert "<strong>bold</strong>" in html
    assert "<script" not in html  # shown as text at most, never as an element
    assert page.evaluate("window.pwned") is None
