"""
Sharing: each lab, release and comparison has a 1200×630 PNG card (og:image), drawn from
published data only, kept until the next change; the vendored web fonts are served.
"""

import datetime
import html as html_lib
import io
import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from profiles import cards, documents
from profiles.models import Lab, PublicationState, Release
from tests.factories import edit_lab, make_lab, make_release

pytestmark = pytest.mark.django_db

SHANGHAI = "上海人工智能实验室"


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 300


@pytest.fixture
def drawn(monkeypatch):
    """Every card drawn during the test (``cards.Card``), in order."""
    made = []
    render = cards.render

    def recording(card):
        made.append(card)
        return render(card)

    monkeypatch.setattr(cards, "render", recording)
    return made


@pytest.fixture
def lab():
    lab = make_lab("Card Lab", native_name=SHANGHAI, kind="nonprofit_institute", country="CN", city="Shanghai",
                   open_weights="yes")
    for year, count in ((2021, 1), (2022, 3), (2024, 2)):
        for n in range(count):
            make_release(lab, f"Card Model {year}-{n}", released=datetime.date(year, 3, 1), accessibility="open_unrestricted",
                         parameters=7e9, license="Apache-2.0")
    return lab


def get(client, url, **headers):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **headers)
    return response, len(context.captured_queries)


def png(response):
    """The response's image, checked to be the card's PNG."""
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == (1200, 630)
    return image


def meta(html, prop):
    match = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)"', html)
    return html_lib.unescape(match.group(1)) if match else None




# --- the cards ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/labs/card-lab/card.png", "/releases/card-model-2024-0/card.png",
                                 "/compare/card.png?labs=card-lab,other-lab"])
def test_each_card_is_a_1200_by_630_png_kept_until_a_change(client, lab, url):
    make_lab("Other Lab")
    first, first_queries = get(client, url)
    png(first)
    second, second_queries = get(client, url)
    assert second.content == first.content and second["ETag"] == first["ETag"]
    assert second_queries == 1 < first_queries  # the content generation (the key), nothing else
    assert "no-cache" in second["Cache-Control"] and "public" in second["Cache-Control"]
    # A client holding these bytes gets a 304.
    unchanged = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert unchanged.status_code == 304 and unchanged["ETag"] == first["ETag"]


def test_the_lab_card_shows_published_facts_and_releases_per_year(client, lab, drawn):
    make_release(lab, "Card Draft Model", released=datetime.date(2024, 5, 1), state=PublicationState.DRAFT)
    png(client.get("/labs/card-lab/card.png"))
    card = drawn[-1]
    assert card.title == "Card Lab" and card.native_name == SHANGHAI
    facts = dict(card.facts)
    assert facts["Kind"] == "Nonprofit institute" and facts["Headquarters"] == "Shanghai, China"
    assert facts["Founded"] == "2015" and facts["Open weights"] == "Yes"
    assert facts["Releases"] == "6 · latest March 2024"  # the draft is not counted
    assert card.chart.years == (2021, 2022, 2023, 2024)
    assert card.chart.series == (("Card Lab", (1, 3, 0, 2)),)


def test_the_release_card_marks_its_year_and_leaves_out_a_draft_family(client, lab, drawn):
    family = make_release(lab, "qzfamily", slug="qzfamily", kind="model_family", state=PublicationState.DRAFT)
    Release.objects.filter(slug="card-model-2022-0").update(family=family)
    png(client.get("/releases/card-model-2022-0/card.png"))
    card = drawn[-1]
    assert card.title == "Card Model 2022-0" and card.subtitle == f"Model by Card Lab ({SHANGHAI})"
    facts = dict(card.facts)
    assert facts["Released"] == "March 2022" and facts["Access"] == "Open weights (unrestricted)"
    assert facts["Parameters"] == "7B" and facts["Licence"] == "Apache-2.0" and "Family" not in facts
    assert card.chart.highlight == 2022
    assert not any("qz" in text for text in card.texts())


def test_a_card_changes_after_a_publish_and_never_shows_a_draft(client, lab, drawn):
    url = "/labs/card-lab/card.png"
    first = client.get(url)
    png(first)
    before = first.content
    edit_lab(lab, name="Renamed Card Lab")  # a draft of the published profile
    assert client.get(url).content == before
    assert drawn[-1].title == "Card Lab"  # drawn again after the save, from the published row
    documents.publish(Lab.objects.get(pk=lab.pk), None)
    after = client.get(url)
    png(after)
    assert after.content != before and drawn[-1].title == "Renamed Card Lab"
    count = len(drawn)
    _response, queries = get(client, url)
    assert queries == 1 and len(drawn) == count  # kept again until the next change


def test_a_release_card_follows_a_publish_of_its_lab(client, lab, drawn):
    url = "/releases/card-model-2021-0/card.png"
    png(client.get(url))
    make_release(lab, "Card Late Model", released=datetime.date(2021, 9, 1), state=PublicationState.REVIEW)
    client.get(url)
    assert drawn[-1].chart.series[0][1][0] == 1  # the release in review is not counted
    from tests.test_workflow_pages import staff_user

    publisher = staff_user("publisher", "Publisher")
    Release.objects.get(slug="card-late-model").transition(publisher, PublicationState.PUBLISHED)
    client.get(url)
    assert drawn[-1].chart.series[0][1][0] == 2


@pytest.mark.parametrize("state", ["draft", "review", "archived"])
def test_an_unpublished_lab_or_release_has_no_card(client, lab, state):
    hidden = make_lab("Hidden Card Lab", state=state)
    make_release(hidden, "Hidden Lab Model")
    make_release(lab, "Hidden Model", state=state)
    scheduled = make_lab("Scheduled Card Lab", published_at=datetime.datetime(2999, 1, 1, tzinfo=datetime.UTC))
    for url in ["/labs/hidden-card-lab/card.png", "/releases/hidden-lab-model/card.png",
                "/releases/hidden-model/card.png", f"/labs/{scheduled.slug}/card.png",
                "/compare/card.png?labs=hidden-card-lab", "/compare/card.png", "/labs/no-such-lab/card.png"]:
        assert client.get(url).status_code == 404, url


def test_staff_get_the_published_card_too(client, lab, drawn):
    from tests.test_documents import signed_in

    edit_lab(lab, name="qzdraftname")
    staff = signed_in("publisher", "Publisher")
    png(staff.get("/labs/card-lab/card.png"))
    assert drawn[-1].title == "Card Lab"
    assert staff.get(f"/labs/{make_lab('Draft Only', state='draft').slug}/card.png").status_code == 404


def test_a_comparison_card_shows_the_labs_the_page_shows(client, lab, drawn):
    make_lab("Other Lab", country="FR")
    make_lab("Draft Card Lab", state="draft")
    # Slugs readers can't see are dropped by a redirect to the card of those they can: a
    # made-up slug costs no drawing of its own.
    response = client.get("/compare/card.png?labs=other-lab,draft-card-lab,card-lab,other-lab,nope")
    assert response.status_code == 301 and response["Location"] == "/compare/card.png?labs=other-lab,card-lab"
    assert drawn == []
    png(client.get(response["Location"]))
    card = drawn[-1]
    assert [entry.name for entry in card.entries] == ["Other Lab", "Card Lab"]
    assert card.entries[1].native_name == SHANGHAI
    assert card.entries[0].facts == "France · founded 2015 · 0 releases"
    assert [label for label, _counts in card.chart.series] == ["Other Lab", "Card Lab"]


def test_a_renamed_labs_old_card_address_follows_it(client, lab):
    row = Lab.objects.get(pk=lab.pk)
    row.slug = "card-lab-renamed"
    row.save()
    response = client.get("/labs/card-lab/card.png")
    assert response.status_code == 301 and response["Location"] == "/labs/card-lab-renamed/card.png"


# --- the pages name their cards ---------------------------------------------------------


def test_the_lab_page_names_its_card_and_the_card_answers(client, lab):
    html = client.get("/labs/card-lab/").content.decode()
    image = meta(html, "og:image")
    assert image == "http://testserver/labs/card-lab/card.png"
    assert meta(html, "og:image:width") == "1200" and meta(html, "og:image:height") == "630"
    assert meta(html, "og:image:alt").startswith("Card Lab: ")
    assert meta(html, "twitter:card") == "summary_large_image"
    png(client.get(urlsplit(image).path))


def test_the_release_page_names_its_card(client, lab):
    html = client.get("/releases/card-model-2022-0/").content.decode()
    image = meta(html, "og:image")
    assert image == "http://testserver/releases/card-model-2022-0/card.png"
    assert meta(html, "twitter:card") == "summary_large_image"
    png(client.get(urlsplit(image).path))


def test_the_compare_pages_card_keeps_its_labs(client, lab, drawn):
    make_lab("Other Lab")
    html = client.get("/compare/?labs=other-lab,nope,card-lab").content.decode()
    image = meta(html, "og:image")
    assert image == "http://testserver/compare/card.png?labs=other-lab,card-lab"
    assert image.split("?")[1] == meta(html, "og:url").split("?")[1]  # the labs of the canonical address
    assert meta(html, "og:image:alt") == "Comparison of Other Lab, Card Lab: releases per year"
    split = urlsplit(image)
    png(client.get(split.path, {"labs": split.query.removeprefix("labs=")}))
    assert [entry.name for entry in drawn[-1].entries] == ["Other Lab", "Card Lab"]
    # The empty picker has no card: a summary card.
    empty = client.get("/compare/").content.decode()
    assert meta(empty, "og:image") is None and meta(empty, "twitter:card") == "summary"


def test_pages_without_a_card_keep_the_summary_card(client, lab):
    html = client.get("/labs/").content.decode()
    assert meta(html, "og:image") is None and meta(html, "twitter:card") == "summary"


def test_a_preview_of_a_draft_lab_names_no_card(lab):
    from tests.test_documents import signed_in

    draft = make_lab("Draft Preview Lab", state="draft")
    html = signed_in("editor", "Editor").get(draft.get_absolute_url()).content.decode()
    assert "Draft Preview Lab" in html and meta(html, "og:image") is None


# --- CJK: the native name is drawn, never as boxes ---------------------------------------


def test_every_character_of_a_chinese_name_has_a_noto_glyph_not_a_box():
    faces = [cards._face_for(char, cards.SANS, 700) for char in SHANGHAI]
    assert all(face is not None and face.family == "Noto Sans SC" for face in faces)
    # A character no face has is drawn as the font's .notdef box: every glyph must differ
    # from that box and from each other (boxes would all be alike).
    masks = []
    for char, face in zip(SHANGHAI, faces):
        font = cards._font(face.path, 48, 700)
        masks.append(bytes(font.getmask(char)))
        assert bytes(font.getmask(char)) != bytes(font.getmask("\ue000")), char
    assert len(set(masks)) == len(SHANGHAI)
    assert cards.drawable(SHANGHAI) and not cards.drawable("\ue000")


def test_a_lab_named_only_in_chinese_gets_its_glyphs_on_the_card(client):
    make_lab(SHANGHAI, slug="shanghai-only")
    image = png(client.get("/labs/shanghai-only/card.png"))
    boxes = cards.render(cards.Card(kind="Lab", title="\ue000" * len(SHANGHAI)))
    blank = cards.render(cards.Card(kind="Lab", title=" "))
    title = (60, 120, 680, 220)  # where the title is drawn
    drawn = image.crop(title).convert("L")
    assert drawn.tobytes() != Image.open(io.BytesIO(boxes)).crop(title).convert("L").tobytes()
    assert drawn.tobytes() != Image.open(io.BytesIO(blank)).crop(title).convert("L").tobytes()


def test_a_native_name_no_vendored_font_has_is_left_off_rather_than_boxed(drawn):
    with_name = cards.render(cards.Card(kind="Lab", title="Lab", native_name="\U0001e900\U0001e901"))
    without = cards.render(cards.Card(kind="Lab", title="Lab"))
    assert with_name == without


def test_a_card_is_drawn_the_same_every_time():
    card = cards.Card(kind="Lab", title="Same Lab", native_name=SHANGHAI, facts=(("Kind", "Company"),),
                      chart=cards.releases_per_year("Releases per year", [("Same Lab", {2020: 1, 2023: 4})]))
    assert cards.render(card) == cards.render(card)
    assert card.chart.years == (2020, 2021, 2022, 2023) and card.chart.series[0][1] == (1, 0, 0, 4)


# --- the vendored fonts -----------------------------------------------------------------


def test_the_font_stylesheet_and_its_fonts_are_served(client, settings):
    # Through the finders, as in development (the tests never run collectstatic).
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = True
    css = client.get("/static/css/fonts.css")
    assert css.status_code == 200 and css["Content-Type"].startswith("text/css")
    text = b"".join(css.streaming_content).decode() if css.streaming else css.content.decode()
    families = set(re.findall(r'font-family: "([^"]+)"', text))
    assert families == {"Inter", "Source Serif 4", "Noto Sans SC"}
    assert text.count("font-display: swap;") == text.count("@font-face {") == 105
    urls = re.findall(r'url\("\.\./fonts/([^"]+)"\)', text)
    font = client.get(f"/static/fonts/{urls[0]}")
    assert font.status_code == 200 and font["Content-Type"] == "font/woff2"
    body = b"".join(font.streaming_content) if font.streaming else font.content
    assert body[:4] == b"wOF2"
    # Every file it names is there, and they stay a reasonable weight.
    fonts = settings.BASE_DIR / "static" / "fonts"
    assert all((fonts / url).is_file() for url in urls)
    assert sum((fonts / url).stat().st_size for url in set(urls)) < 12 * 2**20
    # The Noto Sans SC slices carry a unicode-range: a page fetches only those it needs.
    noto = [rule for rule in text.split("@font-face")[1:] if '"Noto Sans SC"' in rule]
    assert len(noto) > 90 and all("unicode-range" in rule for rule in noto)
    # One weight of CJK only (bold is synthesised): the stylesheet blocks every page's first paint.
    assert len(text.encode()) < 110_000
    assert set(re.findall(r"font-weight: (\d+);", "".join(noto))) == {"400"}


def test_pages_link_the_font_stylesheet_and_the_csp_allows_our_fonts(client, lab):
    response = client.get("/labs/card-lab/")
    html = response.content.decode()
    assert html.index("css/fonts.css") < html.index("css/site.css")
    assert "font-src 'self'" in response["Content-Security-Policy"]


def test_a_chart_cut_to_its_last_years_says_so():
    bars = cards.releases_per_year("Releases per year (30 of 31 dated)", [("Old Lab", {2001: 2, 2024: 28})])
    assert bars.years[0] == 2013 and bars.title == "Releases per year (30 of 31 dated), since 2013"
    assert cards.releases_per_year("Releases per year", [("New Lab", {2023: 1, 2024: 2})]).title == "Releases per year"
