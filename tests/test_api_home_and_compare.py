"""
The API's home at /api/ (a page of ours, or the endpoints as JSON), the weight of the docs
at /api/docs/ as a browser receives them, and the compare page's shareable address and picker.
"""

import html as html_lib
import re
import shutil

import pytest
from django.contrib.auth.models import User
from whitenoise.compress import Compressor

from imports.credit import CREDITS
from imports.models import EPOCH
from tests.factories import make_lab, make_release

API = "http://testserver/api"
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # as a browser asks
MB = 1_000_000


# --- /api/ --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_home_is_our_page_with_its_sections_and_the_credit(client):
    lab = make_lab("Sample Lab", summary="A lab for the sample.")
    make_release(lab, "Sample Model")
    response = client.get("/api/", HTTP_ACCEPT=HTML)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "The default basic root view" not in page and "Django REST framework" not in page
    assert '<link rel="stylesheet" href="/static/css/site.css">' in page  # the site's own template
    for heading in ["Endpoints", "Schema and docs", "Tokens and limits", "A sample request", "Data credit"]:
        assert f">{heading}</h2>" in page, heading
    assert f'<a href="{API}/labs/"><code>{API}/labs/</code></a>' in page
    assert "<code>released_after</code>" in page  # each list's filters, from its filterset
    assert 'href="http://testserver/api/schema/"' in page and 'href="http://testserver/api/docs/"' in page
    assert "Authorization: Token …" in page and "600/minute" in page and "429" in page
    # The sample is real: the lab's detail as the API writes it, now.
    assert f"GET {API}/labs/sample-lab/" in page
    sample = html_lib.unescape(page.split('aria-label="Sample response"><code>', 1)[1].split("</code>", 1)[0])
    assert '"name": "Sample Lab"' in sample and '"summary": "A lab for the sample."' in sample
    credit = CREDITS[EPOCH]
    assert f'<a href="{credit.url}">{credit.text}</a>' in page
    assert f'<a href="{credit.licence_url}" rel="license">{credit.licence}</a>' in page


@pytest.mark.django_db
def test_the_api_home_sample_shows_only_what_readers_see(client):
    make_lab("Public Lab")
    make_lab("Aaa Draft Lab", state="draft")  # first by name, but not public
    staff = User.objects.create_user("staffer", password="x", is_staff=True)
    client.force_login(staff)
    page = client.get("/api/", HTTP_ACCEPT=HTML).content.decode()
    assert "/api/labs/public-lab/" in page and "aaa-draft-lab" not in page


@pytest.mark.django_db
def test_the_api_home_answers_programs_with_the_endpoints(client):
    for accept in ["application/json", "*/*"]:
        response = client.get("/api/", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        endpoints = response.json()
        assert list(endpoints) == ["labs", "people", "releases", "sources", "organizations", "roles", "sections", "citations"]
        assert endpoints["labs"] == f"{API}/labs/" and endpoints["citations"] == f"{API}/citations/"
    assert client.get("/api/?format=json", HTTP_ACCEPT=HTML).json()["labs"].startswith(f"{API}/labs/")


@pytest.mark.django_db
def test_the_api_home_is_not_an_operation_of_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/" not in schema["paths"]


# --- /api/docs/: what a browser downloads --------------------------------------

COMPRESSOR = Compressor(use_brotli=False, quiet=True)


def as_whitenoise_serves(path, body):
    """The bytes WhiteNoise sends for a static file (production: CompressedManifestStaticFilesStorage):
    its gzip when compression pays (brotli's, smaller, when the brotli package is installed; it is not)."""
    if not COMPRESSOR.should_compress(path):
        return len(body)
    compressed = COMPRESSOR.compress_gzip(body)
    return len(compressed) if COMPRESSOR.is_compressed_effectively("gzip", path, len(body), compressed) else len(body)


def docs_weight(client):
    """{url: bytes transferred} for /api/docs/ and everything it loads, the schema included."""
    page = client.get("/api/docs/", HTTP_ACCEPT=HTML, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert page.status_code == 200
    text = page.content.decode()
    weights = {"/api/docs/": len(page.content)}
    assets = re.findall(r'<(?:link[^>]*href|script[^>]*src)="([^"]+)"', text)
    assert assets, text
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        weights[url] = as_whitenoise_serves(url, body)
    # Swagger UI then fetches the schema (as JSON: the bigger of its two forms).
    schema_url = re.search(r'url: "([^"]+)"', text).group(1).encode().decode("unicode_escape")
    schema = client.get(schema_url, HTTP_ACCEPT="application/json", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert schema.status_code == 200 and schema["Content-Encoding"] == "gzip"
    weights[schema_url] = len(schema.content)
    return weights


@pytest.mark.django_db
def test_the_docs_weigh_under_a_megabyte(client):
    weights = docs_weight(client)
    total = sum(weights.values())
    print(f"/api/docs/ first load: {total:,} bytes", weights)
    assert total < MB, weights
    assert not any("standalone-preset" in url for url in weights)  # loaded, never used (BaseLayout)


# --- /compare/ ------------------------------------------------------------------


def head_links(page):
    canonical = re.search(r'<link rel="canonical" href="([^"]+)">', page).group(1)
    og_url = re.search(r'<meta property="og:url" content="([^"]+)">', page).group(1)
    return html_lib.unescape(canonical), html_lib.unescape(og_url)


@pytest.mark.django_db
def test_a_shared_comparison_keeps_its_labs_in_canonical_and_og_url(client):
    make_lab("One Lab")
    make_lab("Two Lab")
    make_lab("Hidden Lab", state="draft")
    page = client.get("/compare/?labs=two-lab,hidden-lab,one-lab,two-lab,nope").content.decode()
    expected = "http://testserver/compare/?labs=two-lab,one-lab"  # in order, once, public only
    assert head_links(page) == (expected, expected)
    assert "hidden-lab" not in head_links(page)[0]
    # ?labs=a&labs=b (the form's way) has the same canonical address.
    page = client.get("/compare/?labs=two-lab&labs=one-lab").content.decode()
    assert head_links(page) == (expected, expected)
    # Nothing chosen: the picker's own address.
    assert head_links(client.get("/compare/").content.decode()) == ("http://testserver/compare/",) * 2


@pytest.mark.django_db
def test_the_picker_needs_no_ctrl_and_every_control_is_labelled(client):
    make_lab("One Lab")
    make_lab("Two Lab")
    page = client.get("/compare/?labs=one-lab,two-lab").content.decode()
    form = page.split('<form class="filters compare-picker"', 1)[1].split("</form>", 1)[0]
    assert "ctrl" not in page.lower() and "⌘" not in page
    assert "<select" not in form and "multiple" not in form
    assert "<fieldset>" in form and "<legend>Labs compared (2 to 4)</legend>" in form
    for control in re.findall(r"<input[^>]*>", form):
        if 'type="hidden"' in control:
            continue
        control_id = re.search(r'id="([^"]+)"', control).group(1)
        assert f'<label for="{control_id}">' in form, control
    assert '<button type="submit">Add</button>' in form
    # Each chosen lab can be removed, by a link that names it to a screen reader.
    assert '<a href="/compare/?labs=two-lab">Remove<span class="visually-hidden"> One Lab</span></a>' in form
    assert '<a href="/compare/?labs=one-lab">Remove<span class="visually-hidden"> Two Lab</span></a>' in form


@pytest.mark.django_db
def test_add_appends_a_lab_by_name_or_slug_without_javascript(client):
    make_lab("One Lab")
    make_lab("Two Lab", native_name="二号实验室")
    make_lab("Hidden Lab", state="draft")
    response = client.get("/compare/", {"labs": "one-lab", "add": "two lab"})
    assert response.status_code == 302 and response["Location"] == "/compare/?labs=one-lab,two-lab"
    assert client.get("/compare/", {"add": "二号实验室"})["Location"] == "/compare/?labs=two-lab"
    assert client.get("/compare/", {"labs": "two-lab", "add": "one-lab"})["Location"] == "/compare/?labs=two-lab,one-lab"
    # A draft lab is no lab to a reader: said as for any unknown name.
    for name in ["Hidden Lab", "hidden-lab", "Nowhere"]:
        response = client.get("/compare/", {"labs": "one-lab", "add": name})
        assert response.status_code == 200
        assert f"No published lab is called “{name}”." in response.content.decode()
    # The datalist offers published labs not yet chosen.
    page = client.get("/compare/?labs=one-lab").content.decode()
    datalist = page.split('<datalist id="compare-lab-names">', 1)[1].split("</datalist>", 1)[0]
    assert '<option value="Two Lab">' in datalist and "One Lab" not in datalist and "Hidden" not in datalist


@pytest.mark.django_db
def test_four_labs_leave_no_add_control(client):
    for n in range(4):
        make_lab(f"Lab {n}")
    page = client.get("/compare/?labs=lab-0,lab-1,lab-2,lab-3").content.decode()
    assert 'name="add"' not in page and "remove one to add another" in page


# --- in a browser -----------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def page(monkeypatch):
    """A Chromium page, as tests/test_browser_admin.py opens one."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    from tests.test_browser_admin import CHROMIUM_ARGS

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed")
def test_the_docs_render_the_schema_in_a_browser(live_server, page):
    loaded = []
    page.on("response", lambda response: loaded.append(response.url))
    page.goto(f"{live_server.url}/api/docs/")
    # An operation of the schema, rendered by Swagger UI from /api/schema/.
    page.locator(".opblock-summary-path", has_text="/api/labs/{slug}/").first.wait_for(timeout=20_000)
    assert page.locator(".opblock-tag", has_text="labs").count() >= 1
    assert not any("standalone-preset" in url for url in loaded)
    assert any("/api/schema/" in url for url in loaded)
