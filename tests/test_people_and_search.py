"""The people index (/people/) and the one search (/search/), as a reader uses them."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.models import Lab, PublicationState
from tests.factories import make_lab, make_person, make_release, make_role, make_source

pytestmark = pytest.mark.django_db

DRAFT = PublicationState.DRAFT


def text_of(response):
    """The page as a reader reads it: tags removed, whitespace collapsed."""
    html = re.sub(r"</?(a|span|strong|em|time|sup|cite|code)\b[^>]*>", "", response.content.decode())
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def h2s(response):
    return [" ".join(re.sub(r"<[^>]+>", "", h).split()) for h in re.findall(r"<h2\b[^>]*>(.*?)</h2>", response.content.decode(), re.S)]


def names_listed(response):
    """The people an index page lists, in order."""
    return re.findall(r'<a class="people__name" href="[^"]*">([^<]*)</a>', response.content.decode())


def options(response, select_id):
    """{value: label} of a select on the page."""
    html = response.content.decode()
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))


@pytest.fixture
def people():
    harbour = make_lab("Harbour Lab", country="CN")
    capital = make_lab("Capital Lab", country="US")
    hidden_lab = make_lab("Hushed Lab", state=DRAFT)
    wei = make_person("Wei Chen", native_name="陈伟", bio="Vision researcher.")
    make_role(wei, harbour, title="Director")
    make_role(
        wei, capital, title="Lead Scientist", start=datetime.date(2015, 1, 1), start_precision="year",
        end=datetime.date(2019, 6, 1), end_precision="month",
    )
    make_role(wei, hidden_lab, title="Hushed Adviser")
    lina = make_person("Lina Zhou")
    make_role(lina, capital, title="Director")
    tom = make_person("Tom Gray")
    make_role(
        tom, harbour, title="Chief Engineer", start=datetime.date(2020, 7, 1), start_precision="month",
        end=datetime.date(2023, 1, 1), end_precision="year",
    )
    make_role(tom, capital, title="Lead Scientist")
    secret = make_person("Wei Secret", state=DRAFT)
    make_role(secret, harbour, title="Director")
    only_hidden = make_person("Hana Hidden-Lab")
    make_role(only_hidden, hidden_lab, title="Director")
    return {"harbour": harbour, "capital": capital, "wei": wei, "lina": lina, "tom": tom}


# --- /people/ ------------------------------------------------------------------------------


def test_the_people_index_lists_published_people_with_their_current_role(client, people):
    page = client.get("/people/")
    assert page.status_code == 200
    assert names_listed(page) == ["Hana Hidden-Lab", "Lina Zhou", "Tom Gray", "Wei Chen"]
    text = text_of(page)
    assert "4 people" in text
    assert "Wei Chen 陈伟 Director, Harbour Lab" in text
    assert "Tom Gray Lead Scientist, Capital Lab" in text
    html = page.content.decode()
    assert 'href="/people/wei-chen/"' in html and 'href="/labs/harbour-lab/"' in html
    # Nothing of the draft person or the draft lab, not even a role at it.
    for hidden in ("Wei Secret", "Hushed", "hushed-lab"):
        assert hidden not in html


def test_the_people_index_filters_by_lab_and_role_on_the_same_role(client, people):
    assert names_listed(client.get("/people/?lab=harbour-lab")) == ["Tom Gray", "Wei Chen"]
    assert names_listed(client.get("/people/?lab=capital-lab")) == ["Lina Zhou", "Tom Gray", "Wei Chen"]
    # Current at Capital: Wei left it (and is current elsewhere), so Wei is not.
    assert names_listed(client.get("/people/?lab=capital-lab&role=current")) == ["Lina Zhou", "Tom Gray"]
    assert names_listed(client.get("/people/?lab=harbour-lab&role=past")) == ["Tom Gray"]
    assert names_listed(client.get("/people/?role=director")) == ["Lina Zhou", "Wei Chen"]  # any case
    assert names_listed(client.get("/people/?role=past")) == ["Tom Gray", "Wei Chen"]
    # A draft lab's people are nobody's business: as an unknown lab.
    assert names_listed(client.get("/people/?lab=hushed-lab")) == []
    assert names_listed(client.get("/people/?role=Hushed+Adviser")) == []
    # Part of a lab's name (the text box past a hundred labs).
    assert names_listed(client.get("/people/?lab=harbour")) == ["Tom Gray", "Wei Chen"]


def test_the_people_index_offers_labs_and_roles_with_counts(client, people):
    page = client.get("/people/?lab=capital-lab")
    assert options(page, "person-lab") == {"": "Any lab", "capital-lab": "Capital Lab (3)", "harbour-lab": "Harbour Lab (2)"}
    assert options(page, "person-role") == {
        "": "Any role", "current": "Current role (2)", "past": "Past role (1)",
        "Lead Scientist": "Lead Scientist (2)", "Director": "Director (1)",
    }
    assert 'value="capital-lab" selected' in page.content.decode()


def test_the_people_index_searches_by_name(client, people):
    assert names_listed(client.get("/people/?q=wei")) == ["Wei Chen"]
    assert names_listed(client.get("/people/?q=陈伟")) == ["Wei Chen"]
    assert names_listed(client.get("/people/?q=vision")) == ["Wei Chen"]
    assert names_listed(client.get("/people/?q=secret")) == []
    page = client.get("/people/?q=nobody-like-this")
    assert "Nobody matches" in text_of(page) and "0 people" in text_of(page)
    assert names_listed(client.get("/people/?q=wei&lab=capital-lab&role=past")) == ["Wei Chen"]


def test_the_people_index_is_paginated_like_the_lab_index(client, db):
    lab = make_lab("Big Lab")
    for number in range(35):
        make_role(make_person(f"Person {number:02d}"), lab, title="Researcher")
    first, second = client.get("/people/"), client.get("/people/?page=2&lab=big-lab")
    assert len(names_listed(first)) == 30 and "Page 1 of 2" in text_of(first)
    assert names_listed(second) == [f"Person {number:02d}" for number in range(30, 35)]
    assert 'href="?page=1&amp;lab=big-lab"' in second.content.decode()  # the filters are kept
    assert client.get("/people/?page=3").status_code == 404


def test_a_person_page_shows_roles_over_time_current_first(client, people):
    page = client.get("/people/tom-gray/")
    assert h2s(page)[:2] == ["Current roles", "Past roles"]
    text = text_of(page)
    assert text.index("Lead Scientist, Capital Lab") < text.index("Chief Engineer, Harbour Lab July 2020 – 2023")
    wei = client.get("/people/wei-chen/")
    assert "Lead Scientist, Capital Lab 2015 – June 2019" in text_of(wei)
    assert "Hushed" not in wei.content.decode()


def test_the_header_links_people_and_searches_the_whole_site(client, people):
    for url in ("/", "/labs/", "/people/", "/people/wei-chen/"):
        html = client.get(url).content.decode()
        assert re.search(r'<a href="/people/"[^>]*>People</a>', html), url
        assert '<form class="site-search" method="get" action="/search/" role="search"' in html, url
    assert '<a href="/people/" aria-current="page">People</a>' in client.get("/people/").content.decode()


def test_the_sitemap_lists_the_people_index(client, db):
    assert "<loc>http://testserver/people/</loc>" in client.get("/sitemap-pages.xml").content.decode()


# --- /search/ ------------------------------------------------------------------------------


def results(response, kind):
    """The names listed under one kind's heading on a search page."""
    html = response.content.decode()
    section = re.search(rf'<section class="search-group" aria-labelledby="results-{kind}">(.*?)</section>', html, re.S)
    if section is None:
        return []
    body = section.group(1)
    if kind == "lab":
        return re.findall(r'class="lab-card__name"><a href="[^"]*">([^<]*)</a>', body)
    if kind == "person":
        return re.findall(r'class="people__name" href="[^"]*">([^<]*)</a>', body)
    if kind == "release":
        return re.findall(r'class="timeline__name"><a href="[^"]*">([^<]*)</a>', body)
    return re.findall(r'class="source__title" href="[^"]*">([^<]*)</a>', body)


# InternVL by its description ("... built on InternLM").
INTERNLM_RELEASES = {
    "InternLM family", "InternLM", "InternLM2", "InternLM2.5", "InternLM2-Chat", "InternLM-XComposer", "InternVL",
}


def test_search_finds_releases_and_the_lab_grouped_by_kind(client, starting_data):
    page = client.get("/search/?q=InternLM")
    assert page.status_code == 200
    assert h2s(page) == ["Labs (1)", "Releases (7)"]
    assert results(page, "lab") == ["Shanghai AI Laboratory"]
    shown = results(page, "release")
    assert len(shown) == 5 and set(shown) <= INTERNLM_RELEASES
    assert shown[0] == "InternLM"  # the exact name first
    assert "8 results for “InternLM”" in text_of(page)
    html = page.content.decode()
    assert 'href="?q=InternLM&amp;kind=release"' in html and "All 7 releases" in text_of(page)
    # One kind, all of it.
    releases = client.get("/search/?q=InternLM&kind=release")
    assert h2s(releases) == ["Releases (7)"] and set(results(releases, "release")) == INTERNLM_RELEASES
    assert "7 results" in text_of(releases)


def test_search_facets_narrow_the_results(client, starting_data):
    page = client.get("/search/?q=InternLM")
    assert options(page, "search-kind") == {"": "Every kind", "lab": "Labs (1)", "release": "Releases (7)"}
    assert options(page, "search-country") == {"": "Any country", "CN": "China (8)"}
    assert options(page, "search-year") == {"": "Any year", "2024": "2024 (2)", "2023": "2023 (2)"}
    in_2024 = client.get("/search/?q=InternLM&year=2024")
    assert h2s(in_2024) == ["Releases (2)"]
    assert set(results(in_2024, "release")) == {"InternLM2", "InternLM2.5"}
    assert options(in_2024, "search-country") == {"": "Any country", "CN": "China (2)"}
    assert options(in_2024, "search-year")["2024"] == "2024 (2)"
    assert h2s(client.get("/search/?q=InternLM&country=CN")) == ["Labs (1)", "Releases (7)"]
    assert h2s(client.get("/search/?q=InternLM&country=FR")) == []
    labs = client.get("/search/?q=InternLM&kind=lab")
    assert h2s(labs) == ["Labs (1)"]
    # The other kinds stay offered, with their counts.
    assert options(labs, "search-kind") == {"": "Every kind", "lab": "Labs (1)", "release": "Releases (7)"}
    # Values that are none are ignored, not errors.
    assert h2s(client.get("/search/?q=InternLM&kind=nonsense&year=last&country=XX")) == ["Labs (1)", "Releases (7)"]


def test_search_finds_people_and_sources(client, starting_data):
    page = client.get("/search/?q=Qiao")
    assert results(page, "person") == ["Yu Qiao"]
    assert "Director, Shanghai AI Laboratory" in text_of(page)
    assert results(page, "lab") == ["Shanghai AI Laboratory"]  # a person at the lab
    make_source("Scaling InternLM", publisher="Harbour Press")
    assert results(client.get("/search/?q=harbour+press"), "source") == ["Scaling InternLM"]
    # Without a query: the form, no results.
    empty = client.get("/search/")
    assert empty.status_code == 200 and h2s(empty) == [] and "result" not in text_of(empty)


def test_no_draft_appears_in_search_results_or_counts(client, starting_data):
    before = client.get("/search/?q=InternLM").content.decode()
    hidden_lab = make_lab("InternLM Shadow Lab", country="FR", state=DRAFT)
    make_release(hidden_lab, "InternLM Shadow", released=datetime.date(2021, 1, 1))  # published, of a draft lab
    seed_lab = Lab.objects.get(slug="shanghai-ai-laboratory")
    make_release(seed_lab, "InternLM Secret", state=DRAFT, released=datetime.date(2022, 1, 1))
    scheduled = {"state": PublicationState.PUBLISHED, "published_at": datetime.datetime(2999, 1, 1, tzinfo=datetime.UTC)}
    make_release(seed_lab, "InternLM Future", released=datetime.date(2022, 1, 1), **scheduled)
    make_person("InternLM Fan", state=DRAFT)
    make_source("InternLM Leaks", state=PublicationState.REVIEW)
    after = client.get("/search/?q=InternLM").content.decode()
    assert after == before
    for url in ("/search/?q=InternLM&kind=release", "/search/?q=InternLM&year=2022", "/search/?q=shadow",
                "/search/?q=InternLM&country=FR", "/people/?q=fan"):
        html = client.get(url).content.decode().replace("shadow", "")  # the query, echoed
        for hidden in ("Shadow", "Secret", "Future", "Fan", "Leaks"):
            assert hidden not in html, (url, hidden)
    # The draft rows' country and years are not counted: a chosen one is echoed with none.
    assert "France" not in after and "2021" not in after and "2022" not in after
    assert "2022 (0)" in text_of(client.get("/search/?q=InternLM&year=2022"))
    france = client.get("/search/?q=InternLM&country=FR")
    assert "France (0)" in text_of(france) and "0 results" in text_of(france)


def test_the_header_search_goes_to_the_search_page(client, starting_data):
    html = client.get("/labs/").content.decode()
    form = re.search(r'<form class="site-search"[^>]*action="([^"]*)"[^>]*>(.*?)</form>', html, re.S)
    assert form.group(1) == "/search/" and 'name="q"' in form.group(2)


# --- a constant number of queries ----------------------------------------------------------


def grow(count, start=0):
    """``count`` more published labs, people (with roles), releases and sources, all matching "Grown"."""
    for number in range(start, start + count):
        lab = make_lab(f"Grown Lab {number}", country="CN" if number % 2 else "US")
        make_role(make_person(f"Grown Person {number}"), lab, title="Director")
        make_release(lab, f"Grown Model {number}", released=datetime.date(2020 + number % 5, 1, 1))
        make_source(f"Grown Source {number}")


@pytest.mark.parametrize(
    "url",
    [
        "/search/?q=grown", "/search/?q=grown&kind=person", "/search/?q=grown&kind=release&country=CN",
        "/search/?q=grown&year=2021", "/people/", "/people/?q=grown&role=director", "/people/?lab=grown-lab-1",
    ],
)
def test_query_counts_do_not_grow_with_the_results(client, django_assert_max_num_queries, settings, url):
    settings.PAGE_CACHE_SECONDS = 0
    grow(5)
    with CaptureQueriesContext(connection) as five:
        assert client.get(url).status_code == 200
    grow(25, start=5)
    with django_assert_max_num_queries(len(five.captured_queries)):
        page = client.get(url)
    assert page.status_code == 200
    assert len(five.captured_queries) <= 20  # search: 4 counts, 4 × (keys, rows), roles, 3 facets; the page cache's few


def test_a_role_at_a_draft_lab_does_not_make_someone_current_in_the_api(db):
    from rest_framework.test import APIClient

    from tests.factories import make_lab, make_person, make_role

    person = make_person("Quinn Draftrole", state="published")
    make_role(person=person, lab=make_lab("Hidden Lab", state="draft"), title="Director")
    names = [p["name"] for p in APIClient().get("/api/people/", {"current": "true"}).json()["results"]]
    assert "Quinn Draftrole" not in names
    names = [p["name"] for p in APIClient().get("/api/people/", {"current": "false"}).json()["results"]]
    assert "Quinn Draftrole" in names
