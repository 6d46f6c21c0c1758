"""The public pages, as a reader sees them: what each page shows, in what order, and what it hides."""

import datetime
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from profiles.models import PublicationState, Source
from tests.factories import (
    cite,
    make_backing,
    make_lab,
    make_organization,
    make_person,
    make_relation,
    make_release,
    make_role,
    make_section,
    make_source,
)
from tests.html_safety import dangerous_markup

pytestmark = pytest.mark.django_db

DRAFT = PublicationState.DRAFT
SEED = Path(settings.BASE_DIR) / "fixtures" / "seeds" / "shanghai-ai-laboratory.txt"

# The parts of a profile in the reference profile's order ("Other" sections go before Sources).
SEED_HEADINGS = [
    "At a glance",
    "Origins",
    "Mission and strategy",
    "Models and products",
    "Benchmarks and standing",
    "Leadership",
    "Funding and backers",
    "Industry position",
    "Competitive landscape",
    "Outlook",
    "Sources",
]


class _Page(HTMLParser):
    """Collects headings (level, text), ids, landmarks and anything a strict CSP would block."""

    def __init__(self):
        super().__init__()
        self.headings, self.ids, self.tags, self.problems = [], [], [], []
        self._heading = None
        self.html_lang = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if "style" in attrs or tag == "style":
            self.problems.append(f"inline style on <{tag}>")
        # JSON-LD is data, never run; the only scripts are the site's own, deferred, and the
        # pages work without them (the table of contents' "you are here" mark).
        own_script = (attrs.get("src") or "").startswith("/static/js/") and "defer" in attrs
        if tag == "script" and attrs.get("type") != "application/ld+json" and not own_script:
            self.problems.append("<script>")
        # Assets only: canonical and alternate (feed) links name pages, they load nothing.
        is_asset = tag in {"script", "img"} or (tag == "link" and attrs.get("rel") not in {"canonical", "alternate"})
        for name in ("href", "src"):
            if (attrs.get(name) or "").startswith(("http://", "https://", "//")) and is_asset:
                self.problems.append(f"external asset {attrs[name]}")
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [int(tag[1]), ""]

    def handle_endtag(self, tag):
        if self._heading and tag == f"h{self._heading[0]}":
            self.headings.append((self._heading[0], " ".join(self._heading[1].split())))
            self._heading = None

    def handle_data(self, data):
        if self._heading:
            self._heading[1] += data


def parse(response):
    page = _Page()
    page.feed(response.content.decode())
    return page


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, url
    return response


def h2s(response):
    """The page's parts: its second-level headings, less the sign-up box that closes every profile."""
    return [text for level, text in parse(response).headings if level == 2 and not text.startswith("Follow ")]


def text_of(response):
    """The page as a reader reads it: inline tags removed, block tags as spaces, whitespace collapsed."""
    html = re.sub(r"</?(a|span|strong|em|time|sup|cite|code)\b[^>]*>", "", response.content.decode())
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --------------------------------------------------------------------------
# A profile with every part, built the way editors would
# --------------------------------------------------------------------------


@pytest.fixture
def profile():
    lab = make_lab(
        "Harbour AI Laboratory",
        native_name="港湾人工智能实验室",
        other_names="Harbour AI Lab\nHAIL",
        summary="A government-backed AI research institute.",
        lead="Harbour AI Laboratory is a **nonprofit** institute.",
        kind="nonprofit_institute",
        founded=datetime.date(2020, 7, 19),
        founded_precision="month",
        city="Shanghai",
        country="CN",
        status_text="Nonprofit research institute.",
        funding_text="Municipal funding; budgets undisclosed.",
        open_weights="yes",
        open_weights_note="Released through Hugging Face under Apache-2.0.",
        as_of=datetime.date(2026, 4, 1),
        as_of_precision="month",
    )
    rival = make_lab("Capital AI Academy", summary="The Beijing counterpart.")
    director = make_person(
        "Wei Chen", native_name="陈伟", bio="Computer-vision researcher.",
        earlier_positions="Deputy Director of the Coastal Institute",
    )
    make_role(director, lab, title="Director", order=1)
    scientist = make_person("Lina Zhou")
    make_role(scientist, lab, title="Lead Scientist", focus="multimodal models", order=2)
    departed = make_person("Tom Gray")
    make_role(
        departed, lab, title="Chief Engineer",
        start=datetime.date(2020, 7, 1), start_precision="month", end=datetime.date(2023, 1, 1), end_precision="year",
    )
    family = make_release(
        lab, "Harbour family", kind="model_family", is_flagship=True,
        released=datetime.date(2023, 1, 1), released_precision="year",
    )
    member = make_release(
        lab, "Harbour-2", family=family, released=datetime.date(2024, 7, 1), released_precision="month",
        sizes="7B, 20B", license="Apache-2.0", accessibility="open_unrestricted",
        description="The second *generation*.",
    )
    toolbox = make_release(lab, "HarbourBench", kind="benchmark_suite", released=None)
    # Created out of page order: the page places each part by its kind, not by creation.
    sections = {
        kind: make_section(lab, kind=kind, body=f"The {kind} narrative.", order=order)
        for order, kind in enumerate(
            ["outlook", "industry", "origins", "landscape", "funding", "leadership", "benchmarks", "models", "mission"]
        )
    }
    sections["outlook"].body = "- More models in 2027.\n- A bigger benchmark."
    sections["outlook"].save()
    make_section(lab, kind="other", slug="awards", heading="Awards", body="Prizes won.", order=99)
    make_backing(lab, make_organization("Harbour City Government"), kind="funder", note="Main funder.")
    make_relation(lab, rival, kind="counterpart", note="Shanghai-based counterpart to Beijing-based Capital AI Academy")
    source = make_source("Harbour AI Laboratory profile", publisher="Lab Intelligence", url="https://example.org/harbour")
    cite(source, lab=lab, claim="Founded in July 2020.")
    cite(source, section=sections["origins"])
    cite(source, release=member, claim="Harbour-2 (July 2024)")
    return {
        "lab": lab, "rival": rival, "director": director, "scientist": scientist, "departed": departed,
        "family": family, "member": member, "toolbox": toolbox, "source": source,
    }


# --------------------------------------------------------------------------
# The lab page
# --------------------------------------------------------------------------


def test_lab_page_shows_every_part_in_the_seed_order(client, profile):
    page = get(client, profile["lab"].get_absolute_url())
    expected = SEED_HEADINGS[:-1] + ["Awards", "Sources"]
    assert h2s(page) == expected
    assert "Follow Harbour AI Laboratory" in [text for level, text in parse(page).headings if level == 2]
    headings = parse(page).headings
    assert headings[0] == (1, "Harbour AI Laboratory 港湾人工智能实验室")
    assert (3, "Departures and arrivals") in headings


def test_lab_page_title_glance_and_names_link_to_their_pages(client, profile):
    page = get(client, profile["lab"].get_absolute_url())
    text = text_of(page)
    assert "Also known as Harbour AI Lab, HAIL" in text
    assert "A government-backed AI research institute." in text
    assert "<strong>nonprofit</strong>" in page.content.decode()
    assert "Founded July 2020 in Shanghai, China" in text
    assert "Status Nonprofit research institute." in text
    assert "Funding Municipal funding; budgets undisclosed." in text
    assert "Director Wei Chen, Director. Previously Deputy Director of the Coastal Institute." in text
    assert "Lina Zhou, Lead Scientist on multimodal models" in text
    assert "Open weights Yes. Released through Hugging Face under Apache-2.0." in text
    assert "Flagship outputs Harbour family (Harbour-2)" in text
    for linked in ("director", "scientist", "departed", "family", "member", "toolbox", "rival"):
        assert f'href="{profile[linked].get_absolute_url()}"' in page.content.decode(), linked
    assert "As of April 2026." in text


def test_lab_page_groups_releases_by_family_with_their_facts(client, profile):
    page = get(client, profile["lab"].get_absolute_url())
    text = text_of(page)
    assert (3, "Harbour family") in parse(page).headings
    assert "Harbour-2[1] July 2024 Model 7B, 20B Licence: Apache-2.0 Open weights (unrestricted)" in text
    assert "The models narrative." in text
    # Families newest first: the 2024 family before the undated benchmark.
    assert text.index("Harbour family") < text.index("HarbourBench")


def test_lab_page_backers_relations_outlook_and_numbered_sources(client, profile):
    page = get(client, profile["lab"].get_absolute_url())
    text = text_of(page)
    assert "Funder Harbour City Government — Main funder." in text
    assert "Counterpart Capital AI Academy — Shanghai-based counterpart to Beijing-based Capital AI Academy" in text
    html = page.content.decode()
    assert re.search(r'<ul class="outlook">\s*<li>More models in 2027\.</li><li>A bigger benchmark\.</li>', html)
    assert '<li id="source-1" value="1">' in html
    assert '<a href="#source-1" aria-label="Source 1">[1]</a>' in html
    assert 'href="https://example.org/harbour"' in html


def test_partial_dates_print_only_what_is_known(client, profile):
    html = get(client, profile["lab"].get_absolute_url()).content.decode()
    assert '<time datetime="2020-07">July 2020</time>' in html
    assert '<time datetime="2023">2023</time>' in html
    assert '<time datetime="2024-07">July 2024</time>' in html
    assert '<time datetime="2020-07">July 2020</time> – <time datetime="2023">2023</time>' in html
    assert "19 July 2020" not in html and "1 July 2020" not in html


def test_a_lab_without_narrative_leaves_the_empty_headings_out(client):
    lab = make_lab("Stub Lab", founded=None)
    assert h2s(get(client, lab.get_absolute_url())) == []
    make_release(lab, "Stub Model")
    assert h2s(get(client, lab.get_absolute_url())) == ["Models and products"]


def test_markdown_is_rendered_and_script_is_never_output(client):
    lab = make_lab("Markup Lab", summary="<script>alert('summary')</script>", lead="A *lead*.<script>alert(1)</script>")
    make_section(lab, kind="origins", body="Some **history**.\n\n<script>alert(2)</script><img src=x onerror=alert(3)>")
    make_release(lab, "Markup Model", description="[click](javascript:alert(4))")
    html = get(client, lab.get_absolute_url()).content.decode()
    assert "<em>lead</em>" in html and "<strong>history</strong>" in html
    assert "&lt;script&gt;alert(&#39;summary&#39;)" in html  # plain text fields are escaped
    assert dangerous_markup(html) == []


# --------------------------------------------------------------------------
# What anonymous readers must not see
# --------------------------------------------------------------------------


def test_drafts_are_not_shown_to_readers(client, profile):
    lab = profile["lab"]
    draft_lab = make_lab("Secret Lab", state=DRAFT)
    hidden_release = make_release(lab, "Unannounced Model", state=DRAFT)
    hidden_person = make_person("Unannounced Hire", state=DRAFT)
    make_role(hidden_person, lab, title="Chief Scientist")
    released_by_draft_lab = make_release(draft_lab, "Secret Lab Model")

    get(client, draft_lab.get_absolute_url(), status=404)
    get(client, hidden_release.get_absolute_url(), status=404)
    get(client, hidden_person.get_absolute_url(), status=404)
    get(client, released_by_draft_lab.get_absolute_url(), status=404)

    for url in [lab.get_absolute_url(), "/", "/labs/", "/releases/"]:
        text = text_of(get(client, url))
        for secret in ("Secret Lab", "Unannounced Model", "Unannounced Hire"):
            assert secret not in text, (url, secret)


def test_a_draft_family_is_not_linked_from_its_published_member(client):
    lab = make_lab("Family Lab")
    family = make_release(lab, "Hidden Family", state=DRAFT)
    member = make_release(lab, "Public Member", family=family)
    for url in [member.get_absolute_url(), "/releases/", lab.get_absolute_url()]:
        assert "Hidden Family" not in text_of(get(client, url)), url


# Known gaps in the shared querysets (the API tests mark the same): each test fails loudly
# ("XPASS(strict)") once Person.with_roles() / Source.with_citations() leave out draft rows.


def test_a_person_page_does_not_reveal_a_role_at_a_draft_lab(client):
    person = make_person("Public Person")
    make_role(person, make_lab("Secret Lab", state=DRAFT), title="Director")
    assert "Secret Lab" not in text_of(get(client, person.get_absolute_url()))


def test_the_sources_page_does_not_reveal_a_draft_citer(client):
    cite(make_source("Public Source"), lab=make_lab("Secret Lab", state=DRAFT))
    assert "Secret Lab" not in text_of(get(client, "/sources/"))


@pytest.mark.parametrize(
    "url", ["/labs/no-such-lab/", "/people/no-such-person/", "/releases/no-such-release/", "/no/such/page/"]
)
def test_unknown_addresses_get_the_sites_404_page(client, url):
    response = get(client, url, status=404)
    # The site's own 404 page (404.html) in the site's layout, not Django's bare one.
    html = response.content.decode()
    assert '<p class="kicker">Error 404</p>' in html and 'id="notfound-q"' in html and 'class="site-header"' in html
    assert "Page not found" in text_of(response)
    assert parse(response).headings[0] == (1, "Page not found")


def test_the_500_page_renders_without_a_request():
    # Django renders 500.html with an empty context after a failure; it must not need one.
    html = render_to_string("500.html")
    assert "Something went wrong" in html and "/static/css/site.css" in html


# --------------------------------------------------------------------------
# The other pages
# --------------------------------------------------------------------------


def test_home_shows_recently_updated_labs_and_recent_releases(client, profile):
    page = get(client, "/")
    assert h2s(page) == ["Recently updated labs", "Recent releases"]
    text = text_of(page)
    assert "Harbour AI Laboratory" in text and "Capital AI Academy" in text
    # Newest release first.
    assert text.index("Harbour-2") < text.index("Harbour family") < text.index("HarbourBench")


def test_lab_index_lists_labs_with_summary_country_kind_and_releases(client, profile):
    page = get(client, "/labs/")
    text = text_of(page)
    assert "Harbour AI Laboratory 港湾人工智能实验室 A government-backed AI research institute." in text
    assert "Country China Kind Nonprofit institute Releases 3 Latest release July 2024" in text
    assert "Capital AI Academy" in text


def test_lab_index_searches_names(client, profile):
    assert [text for level, text in parse(get(client, "/labs/?q=hail")).headings if level == 2] == [
        "Harbour AI Laboratory 港湾人工智能实验室"
    ]
    assert "Capital AI Academy" in text_of(get(client, "/labs/?q=capital"))
    assert "Harbour AI Laboratory" not in text_of(get(client, "/labs/?q=capital"))
    assert "0 labs" in text_of(get(client, "/labs/?q=nothing-like-this"))


def test_person_page_shows_bio_and_roles_across_labs(client, profile):
    person = profile["departed"]
    other_lab = make_lab("Second Lab")
    make_role(person, other_lab, title="Director", start=datetime.date(2023, 3, 1), start_precision="month")
    person.native_name, person.bio, person.earlier_positions = "格雷", "An engineer.", "Engineer at Port Robotics"
    person.save()
    page = get(client, person.get_absolute_url())
    assert h2s(page) == ["Current roles", "Past roles", "Earlier positions"]
    text = text_of(page)
    assert "Tom Gray 格雷" in text and "An engineer." in text
    assert "Director, Second Lab since March 2023" in text
    assert "Chief Engineer, Harbour AI Laboratory July 2020 – 2023" in text
    assert "Engineer at Port Robotics" in text
    assert f'href="{other_lab.get_absolute_url()}"' in page.content.decode()


def test_release_list_is_newest_first_paginated_and_filtered(client, profile):
    other = make_lab("Busy Lab")
    for month in range(1, 13):
        for day in (1, 10, 20):
            make_release(other, f"Busy {month}-{day}", released=datetime.date(2022, month, day), released_precision="day")
    first = get(client, "/releases/")
    text = text_of(first)
    assert "39 releases" in text
    assert h2s(first)[:2] == ["2024", "2023"]
    html = first.content.decode()
    listing = html[html.index('<section class="year"'):]  # after the charts, whose order is by date
    assert listing.index("Harbour-2") < listing.index("Harbour family") < listing.index("Busy 12-20")
    last = text_of(get(client, "/releases/?page=2"))
    assert "HarbourBench" in last and "Undated" in last and "Busy 1-1" in last

    only_harbour = text_of(get(client, f"/releases/?lab={profile['lab'].slug}"))
    assert "3 releases" in only_harbour and "Busy 1-1" not in only_harbour
    only_benchmarks = text_of(get(client, "/releases/?kind=benchmark_suite"))
    assert "1 release" in only_benchmarks and "HarbourBench" in only_benchmarks
    # Paging keeps the filters.
    assert 'href="?lab=busy-lab&amp;page=2"' in get(client, "/releases/?lab=busy-lab").content.decode()


def test_with_many_labs_the_release_filter_takes_a_typed_name(client, profile, monkeypatch):
    from profiles.views import ReleaseListView

    # A list of two labs is already "many" here; at scale it is a hundred.
    monkeypatch.setattr(ReleaseListView, "lab_select_limit", 1)
    page = get(client, "/releases/").content.decode()
    assert '<input type="search" id="release-lab" name="lab"' in page and '<select id="release-lab"' not in page
    typed = get(client, "/releases/?lab=harbour+ai")  # part of the name, any case
    assert "3 releases" in text_of(typed)
    assert 'value="harbour ai"' in typed.content.decode()  # what the reader typed stays in the field
    assert "3 releases" in text_of(get(client, f"/releases/?lab={profile['lab'].slug}"))  # links still use the slug
    assert "0 releases" in text_of(get(client, "/releases/?lab=no+such+lab"))


def test_release_page_shows_lab_family_members_facts_and_description(client, profile):
    member = get(client, profile["member"].get_absolute_url())
    text = text_of(member)
    assert parse(member).headings[0] == (1, "Harbour-2")
    assert "Part of Harbour family" in text
    assert "Released July 2024" in text and "Sizes and variants 7B, 20B" in text
    assert "Licence Apache-2.0" in text and "Accessibility Open weights (unrestricted)" in text
    assert "<em>generation</em>" in member.content.decode()
    assert "Harbour AI Laboratory profile" in text  # its source
    family = get(client, profile["family"].get_absolute_url())
    assert "In this family" in h2s(family)
    assert f'href="{profile["member"].get_absolute_url()}"' in family.content.decode()


def test_sources_page_links_each_source_to_its_own_page_with_what_cites_it(client, profile):
    source = profile["source"]
    listing = get(client, "/sources/")
    assert source.slug in parse(listing).ids  # old /sources/#slug links still land on the entry
    assert f'href="{source.get_absolute_url()}"' in listing.content.decode()
    assert "Harbour AI Laboratory (lab) — Founded in July 2020." in text_of(listing)
    assert source.get_absolute_url() == f"/sources/{source.slug}/"
    page = get(client, source.get_absolute_url())
    assert parse(page).headings[0] == (1, source.title)
    html, text = page.content.decode(), text_of(page)
    assert "Harbour AI Laboratory (lab) — Founded in July 2020." in text
    assert "Harbour AI Laboratory: Origins (profile section)" in text
    assert "Harbour-2 (release) — Harbour-2 (July 2024)" in text
    assert f'href="{profile["lab"].get_absolute_url()}#origins"' in html
    assert f'href="{profile["member"].get_absolute_url()}"' in html
    assert f'<link rel="canonical" href="http://testserver{source.get_absolute_url()}">' in html


def test_the_sources_page_comes_a_page_at_a_time(client):
    titles = [f"Source {number:03d}" for number in range(1, 121)]
    for title in titles:
        make_source(title)
    first, third = get(client, "/sources/"), get(client, "/sources/?page=3")
    assert "120 in all" in text_of(first) and "Page 1 of 3" in text_of(first)
    assert [h for level, h in parse(first).headings if level == 2] == titles[:50]
    assert [h for level, h in parse(third).headings if level == 2] == titles[100:]
    assert client.get("/sources/?page=4").status_code == 404


# --------------------------------------------------------------------------
# Every page: accessible structure, nothing a strict Content-Security-Policy would block
# --------------------------------------------------------------------------


def test_every_page_has_landmarks_one_h1_and_headings_in_order(client, profile):
    urls = [
        "/", "/labs/", profile["lab"].get_absolute_url(), profile["director"].get_absolute_url(), "/releases/",
        profile["member"].get_absolute_url(), "/sources/", "/labs/missing/",
    ]
    for url in urls:
        page = parse(client.get(url))
        assert page.html_lang == "en", url
        for landmark in ("header", "nav", "main", "footer"):
            assert landmark in page.tags, (url, landmark)
        levels = [level for level, _text in page.headings]
        assert levels.count(1) == 1 and levels[0] == 1, url
        assert all(later <= earlier + 1 for earlier, later in zip(levels, levels[1:])), (url, page.headings)
        assert page.problems == [], url
        assert len(page.ids) == len(set(page.ids)), url
        assert "skip-link" in client.get(url).content.decode(), url


# --------------------------------------------------------------------------
# A constant number of queries, however much a lab holds
# --------------------------------------------------------------------------


def grow(lab, count):
    """Give ``lab`` ``count`` releases (each cited) and ``count`` people with roles, and ``count`` more sources."""
    source = Source.objects.filter(slug="grown-source").first() or make_source("Grown Source")
    for _ in range(count):
        cite(make_source(), lab=lab)
    family = make_release(lab, kind="model_family")
    for _ in range(count):
        # With figures, so the lab page draws its compute chart beside the field's.
        release = make_release(lab, family=family, parameters=7e9, training_compute=1e23)
        cite(source, release=release)
        make_role(make_person(), lab, title="Lead Scientist")


def queries(client, url):
    with CaptureQueriesContext(connection) as context:
        get(client, url)
    return len(context.captured_queries)


@pytest.mark.parametrize(
    "url, limit",
    # Each page also reads the content generation once (the page cache's keys, caching.py).
    [
        ("/", 4),  # recent labs; recent releases; the page cache's next scheduled go-live
        # count for the paginator; labs with release counts and latest release; one count per
        # filter facet (4); the page cache's next scheduled go-live (once per save)
        ("/labs/", 8),
        ("/labs/grown-lab/", 13),  # the lab; then sections, roles, releases (and their
        # co-developers), backings, relations both ways, co-developed releases (with_profile's
        # prefetches); every citation of the profile (one query); the field's figures for the
        # compute and parameters charts (charts.py); the page cache's next scheduled go-live
        # count; one page of releases with lab and family; the labs for the filter; the
        # releases by year, access and country for the charts (one grouped query); the next
        # scheduled go-live (how long the count and the page may be kept)
        ("/releases/", 6),
        # count; one page of sources; their citations with what each cites; the next go-live
        ("/sources/", 5),
        # the source; its citations with what each cites; the next go-live
        ("/sources/grown-source/", 4),
    ],
)
def test_pages_take_the_same_number_of_queries_with_1_or_50_rows(client, url, limit):
    lab = make_lab("Grown Lab")
    make_section(lab, kind="origins")
    grow(lab, 1)
    small = queries(client, url)
    grow(lab, 49)
    assert queries(client, url) == small <= limit


# --------------------------------------------------------------------------
# The real starting data
# --------------------------------------------------------------------------


def test_the_reference_profile_reads_like_the_seed(client, starting_data):
    seed_lines = [line.strip() for line in SEED.read_text().splitlines()]
    # The parts, in the order the seed itself gives them.
    assert sorted(SEED_HEADINGS, key=seed_lines.index) == SEED_HEADINGS
    page = get(client, "/labs/shanghai-ai-laboratory/")
    assert h2s(page) == SEED_HEADINGS
    text = text_of(page)
    for fact in [
        "Shanghai AI Laboratory 上海人工智能实验室",
        "Also known as Shanghai AI Lab",
        "Founded July 2020 in Shanghai, China",
        "Yu Qiao, Director",
        "Deputy Director of the Shenzhen Institute of Advanced Technology",
        "Wenhai Wang, Lead Scientist on InternVL multimodal models",
        "Jifeng Dai, Lead Scientist on InternImage and other computer-vision research",
        "InternLM2.5",
        "MMDetection",
        "OpenCompass",
        "Shanghai-based counterpart to Beijing-based BAAI",
        "As of April 2026.",
    ]:
        assert fact in text, fact
    assert '<time datetime="2024-01">January 2024</time>' in page.content.decode()
    for url in ["/", "/labs/", "/people/yu-qiao/", "/releases/", "/releases/internlm2-5/", "/sources/"]:
        get(client, url)


def test_a_relation_shows_on_both_labs_pages_with_the_right_wording(client):
    """A relation recorded on one profile is named on the other lab's page too, from its side."""
    shanghai = make_lab("Shanghai Lab")
    beijing = make_lab("Beijing Lab")
    rival = make_lab("Rival Lab")
    make_relation(shanghai, beijing, kind="counterpart", note="Shanghai-based counterpart to Beijing-based Beijing Lab")
    make_relation(shanghai, rival, kind="evaluates")
    beijing_page = text_of(get(client, beijing.get_absolute_url()))
    assert "Counterpart Shanghai Lab — Shanghai-based counterpart to Beijing-based Beijing Lab" in beijing_page
    rival_page = text_of(get(client, rival.get_absolute_url()))
    assert "Evaluated by Shanghai Lab" in rival_page
    assert "Evaluates" not in rival_page
    assert "Evaluates Rival Lab" in text_of(get(client, shanghai.get_absolute_url()))


def test_a_relation_from_an_unpublished_lab_is_not_shown_on_the_other_side(client):
    hidden = make_lab("Hidden Lab", state=DRAFT)
    shown = make_lab("Shown Lab")
    make_relation(hidden, shown, kind="evaluates")
    assert "Hidden Lab" not in client.get(shown.get_absolute_url()).content.decode()


def test_every_lab_page_has_a_table_of_contents_naming_only_the_parts_it_has(client):
    lab = make_lab("Sparse Lab", founded=None)
    make_release(lab, "Sparse Model")
    html = get(client, lab.get_absolute_url()).content.decode()
    toc = html.split('<nav class="toc toc--aside"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'<a href="#([^"]+)">', toc) == ["h-models", "follow"]
    assert f'href="{lab.get_changes_url()}"' in toc
