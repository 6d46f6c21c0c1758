"""
The leak crawl: nothing a reader may not see reaches a reader, by any door.

One unpublished object of every kind, in every unpublished state (draft, in review,
archived, scheduled), each named with a marker that starts with "qz", next to the
published objects that point at them (a release whose family is a draft, a lab whose
parent is one, a person with a role at one, a source cited by one...). Then an anonymous
reader requests every page the URLconf lists and every GET the OpenAPI schema lists, for
every published object, as JSON and CSV, the feeds and the sitemap, and searches for each
marker and its prefixes. No marker may appear, and a search for a marker's prefix must
answer exactly as a search for a random string does (or search would be an oracle that
spells out a draft's name a letter at a time).

A staff member walks the same URLs first, so a page cached while staff looked at drafts
would be caught too. A new URL the crawl does not know fails ``test_the_crawl_covers_every_url``.
"""

import datetime
import random
import re
import string
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from imports.models import ImportedRecord
from profiles.models import (
    Citation, Codeveloper, Lab, Organization, Person, PublicationState, Release, Role, Section, Source,
)
from profiles.sitemaps import SITEMAPS
from tests.factories import (
    cite,
    make_backing,
    make_lab,
    make_person,
    make_relation,
    make_release,
    make_role,
    make_section,
    make_source,
)

pytestmark = pytest.mark.django_db

MARK = "qz"
STATES = ["draft", "review", "archived", "scheduled"]
# Pages the crawl cannot reach as a reader: a preview link is a secret by design.
# A follower's confirm, manage and unsubscribe links are secrets mailed to them (tests/test_follows.py).
NOT_CRAWLED = {"profiles:preview", "follows:confirm", "follows:manage", "follows:unsubscribe"}


def hidden(state):
    """Fields that make a row unpublished in ``state`` (scheduled: published, going live in a month)."""
    if state == "scheduled":
        return {"state": PublicationState.PUBLISHED, "published_at": timezone.now() + datetime.timedelta(days=30)}
    return {"state": {"draft": PublicationState.DRAFT, "review": PublicationState.REVIEW,
                      "archived": PublicationState.ARCHIVED}[state]}


@pytest.fixture
def world():
    """Published rows pointing at unpublished ones of every kind; returns the published ones to crawl."""
    lab = make_lab("Open Lab", summary="A published lab.")
    other = make_lab("Other Lab")
    person = make_person("Open Person")
    make_role(person, lab, title="Director")
    source = make_source("Open Source", url="https://example.org/open")
    cite(source, lab=lab, claim="A public claim.")
    release = make_release(lab, "Open Model", parameters=7e9, domains=["language"])
    cite(source, release=release)
    # Imported: its pages and API answers carry the data credit and provenance too.
    ImportedRecord.objects.create(key="Open Model", release=release, values={"parameters": 7e9})
    make_section(lab, body="Public history.")
    make_relation(lab, other, kind="competitor")
    make_backing(lab)
    published = {"labs": [lab, other], "people": [person], "releases": [release], "sources": [source]}

    for state in STATES:
        m = f"{MARK}{state}"
        # A lab in this state: its section, release, people and relations must stay unseen.
        hidden_lab = make_lab(f"{m}lab", slug=f"{m}lab", summary=f"{m}labsummary", **hidden(state))
        make_section(hidden_lab, body=f"{m}labsection")
        hidden_labs_release = make_release(hidden_lab, f"{m}labrelease", slug=f"{m}labrelease")
        # The published release was co-developed with the lab in this state; and the lab in
        # this state's release was co-developed by the published other lab.
        Codeveloper.objects.create(release=release, lab=hidden_lab, order=len(STATES))
        Codeveloper.objects.create(release=hidden_labs_release, lab=other)
        make_role(person, hidden_lab, title=f"{m}roleatlab")
        make_relation(lab, hidden_lab, kind="partner", note=f"{m}relationnote")
        cite(source, lab=hidden_lab, claim=f"{m}labclaim")
        # A published lab whose parent lab is in this state.
        child = make_lab(f"Child of {state}", parent_lab=hidden_lab)
        # A release in this state, of a published lab, cited by a published source.
        hidden_release = make_release(lab, f"{m}release", slug=f"{m}release", description=f"{m}releasetext", **hidden(state))
        cite(source, release=hidden_release, claim=f"{m}releaseclaim")
        # Co-developed by the published other lab.
        Codeveloper.objects.create(release=hidden_release, lab=other)
        # Published releases fine-tuned from the release in this state, and from the release
        # of the lab in this state (published itself, but not public).
        tuned = make_release(lab, f"Tune of {state}", base_model=hidden_release)
        tuned_elsewhere = make_release(lab, f"Tune of the lab {state}", base_model=hidden_labs_release)
        published["releases"] += [tuned, tuned_elsewhere]
        # A family in this state with a published member.
        family = make_release(lab, f"{m}family", slug=f"{m}family", kind="model_family", **hidden(state))
        member = make_release(lab, f"Member of {state}", family=family)
        # A person in this state with a role at the published lab, cited by a published source.
        hidden_person = make_person(f"{m}person", slug=f"{m}person", bio=f"{m}personbio", **hidden(state))
        make_role(hidden_person, lab, title=f"{m}role", focus=f"{m}rolefocus")
        cite(source, person=hidden_person, claim=f"{m}personclaim")
        # A source in this state cited by the published lab and release.
        hidden_source = make_source(f"{m}source", slug=f"{m}source", publisher=f"{m}publisher", **hidden(state))
        cite(hidden_source, lab=lab, claim=f"{m}sourceclaim")
        cite(hidden_source, release=release)
        published["labs"].append(child)
        published["releases"].append(member)
    # The published lab's changelog: a published revision (which also renames a draft release
    # inside the lab's document) and a pending draft naming a marker.
    from profiles import documents

    def first_edit():
        Lab.objects.filter(pk=lab.pk).update(funding_text="Published funding.")
        Release.objects.filter(slug=f"{MARK}draftrelease").update(name=f"{MARK}draftreleaserenamed")

    documents.edit(lab, first_edit, None)
    documents.publish(Lab.objects.get(pk=lab.pk), None)
    documents.edit(lab, lambda: Lab.objects.filter(pk=lab.pk).update(funding_text=f"{MARK}pendingfunding"), None)
    # Each part as the API addresses it: the ids a reader may open.
    published["roles"] = list(Role.objects.public().values_list("pk", flat=True))
    published["sections"] = list(Section.objects.filter(lab__in=Lab.objects.published()).values_list("pk", flat=True))
    published["citations"] = list(Citation.objects.public().filter(source__in=Source.objects.published())
                                  .values_list("pk", flat=True))
    published["organizations"] = list(Organization.objects.all())
    return published


@pytest.fixture(autouse=True)
def no_throttle():
    # The crawl sends more requests than a reader's minute allows.
    rest = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None}}
    with override_settings(REST_FRAMEWORK=rest):
        yield


def hidden_objects():
    """(model, slug) of every unpublished object the world made."""
    return [(model, slug) for model in (Lab, Release, Person, Source)
            for slug in model.objects.filter(slug__startswith=MARK).values_list("slug", flat=True)]


# --- what to request -----------------------------------------------------------------

PAGE_KINDS = {"lab": "labs", "person": "people", "release": "releases", "source": "sources"}


def page_routes(resolver=None, prefix="", namespace=""):
    """(route name, route text) of every named public page in the URLconf."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in ("admin", "api"):
                continue
            yield from page_routes(pattern, prefix + str(pattern.pattern), pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name, prefix + str(pattern.pattern)


def page_urls(world):
    """{route name: [urls]}: each page route, for every published object it takes."""
    urls = {}
    for name, route in page_routes():
        if name in NOT_CRAWLED:
            continue
        kind = name.split(":")[-1].split("-")[0]
        if "<slug:slug>" in route:
            urls[name] = ["/" + route.replace("<slug:slug>", obj.slug) for obj in world[PAGE_KINDS[kind]]]
        elif "<section>" in route:
            urls[name] = ["/" + route.replace("<section>", section) for section in SITEMAPS]
        else:
            assert "<" not in route, f"the crawl does not know how to fill {route} ({name})"
            urls[name] = ["/" + route]
    slugs = [lab.slug for lab in world["labs"]]
    urls["profiles:compare"].append("/compare/?" + urlencode({"labs": ",".join(slugs[:4])}))
    # A comparison's card needs labs (none: a 404); the same four as the page above.
    urls["profiles:compare-card"] = ["/compare/card.png?" + urlencode({"labs": ",".join(slugs[:4])})]
    for slug in slugs:
        urls["profiles:release-list"].append(f"/releases/?lab={slug}")
        urls["profiles:person-list"].append(f"/people/?lab={slug}")
    # The people index's filters, and searches that find published rows next to unpublished
    # ones ("of": "Tune of draft", "Member of draft"...) in every kind and facet; a marker
    # itself is searched in test_searching_a_prefix_... (a page echoes the query).
    urls["profiles:person-list"] += [
        "/people/?role=current", "/people/?role=past", "/people/?role=Director", "/people/?q=open",
        f"/people/?lab={slugs[0]}&role=current",
    ]
    urls["profiles:search"] += [
        f"/search/?{urlencode({'q': q, **facets})}"
        for q in ("open", "of", "lab", "source", "person", "model")
        for facets in ({}, {"kind": "lab"}, {"kind": "person"}, {"kind": "release"}, {"kind": "source"},
                       {"year": "2024"}, {"country": "CN"})
    ]
    return urls


def api_urls(client, world):
    """{schema path: [urls]}: every GET the OpenAPI schema lists, for every published object, JSON and CSV."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    urls = {}
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        collection = path.split("/")[2]
        if "{slug}" in path:
            urls[path] = [path.replace("{slug}", obj.slug) for obj in world[collection]]
        elif "{id}" in path:
            urls[path] = [path.replace("{id}", str(pk)) for pk in world[collection]]
        else:
            urls[path] = [path, path + "?format=csv"]
    return urls


def search_urls(query):
    """Every search and text filter a reader can type into, for ``query``."""
    q = quote(query)
    return [
        f"/labs/?q={q}", f"/releases/?lab={q}", f"/compare/?labs={q}",
        f"/api/labs/?search={q}", f"/api/people/?search={q}", f"/api/releases/?search={q}",
        f"/api/sources/?search={q}", f"/api/organizations/?search={q}",
        f"/api/releases/?lab={q}", f"/api/releases/?family={q}", f"/api/people/?lab={q}",
        f"/api/releases/?search={q}&format=csv",
        f"/people/?q={q}", f"/people/?lab={q}", f"/people/?role={q}",
        f"/search/?q={q}", f"/search/?q={q}&kind=person", f"/search/?q={q}&kind=release",
        f"/search/?q={q}&kind=source", f"/compare/card.png?labs={q}",
    ]


def without(body, query):
    """The body with the query a client sent taken out (pages echo it back)."""
    return re.sub(re.escape(query), "QUERY", body, flags=re.IGNORECASE)


def random_word(length, rng):
    while True:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(length))
        if MARK not in word:
            return word


# --- the crawl -------------------------------------------------------------------------


def test_no_unpublished_object_reaches_a_reader(world, monkeypatch):
    # A social card is pixels: what it shows is checked as the text it was drawn from.
    from profiles import cards

    drawn, render = [], cards.render
    monkeypatch.setattr(cards, "render", lambda card: drawn.append(card) or render(card))
    staff = Client()
    staff.force_login(User.objects.create_superuser("staff", "staff@example.org", "x"))
    reader = Client()
    pages = [url for urls in page_urls(world).values() for url in urls]
    api = [url for urls in api_urls(reader, world).values() for url in urls]
    api += ["/api/", "/api/?format=html"]  # the API's home (no operation of the schema) and its sample

    for url in pages + api:
        staff.get(url)  # whatever staff see must not be kept for readers

    answered = 0
    for url in pages + api:
        response = reader.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if response["Content-Type"] == "image/png":
            assert body.startswith(b"\x89PNG"), url  # its text is checked below, as drawn
            answered += 1
            continue
        text = body.decode().lower()
        assert MARK not in text, f"{url} shows an unpublished object: …{text[max(0, text.index(MARK) - 200):text.index(MARK) + 60]}…"
        assert MARK not in response.get("Link", "").lower()
        answered += 1
    assert answered > 60
    texts = [text.lower() for card in drawn for text in card.texts()]
    assert len(drawn) >= len(world["labs"]) and all(MARK not in text for text in texts), texts

    # An unpublished object's own addresses are not found, as if it did not exist.
    for model, slug in hidden_objects():
        kind = {Lab: "labs", Release: "releases", Person: "people", Source: "sources"}[model]
        page_kind = kind if model is not Person else "people"
        assert reader.get(f"/{page_kind}/{slug}/").status_code == 404, slug
        assert reader.get(f"/api/{kind}/{slug}/").status_code == 404, slug
        if model in (Lab, Release):
            assert reader.get(f"/{kind}/{slug}/card.png").status_code == 404, slug


def test_searching_a_prefix_of_an_unpublished_name_answers_as_a_random_string_does(world):
    reader = Client()
    rng = random.Random(13)
    markers = sorted({slug for _model, slug in hidden_objects()})
    queries = sorted({*markers, *(marker[:6] for marker in markers), MARK + "s"})
    for query in queries:
        other = random_word(len(query), rng)
        for url in search_urls(query):
            response = reader.get(url)
            control = reader.get(url.replace(quote(query), other))
            assert response.status_code == control.status_code, url
            mine, theirs = without(response.content.decode(), query), without(control.content.decode(), other)
            assert MARK not in mine.lower(), url
            assert mine == theirs, f"{url} answers differently from a search for a random string"


def test_the_crawl_covers_every_url(world):
    """Every page route and every GET of the schema is crawled (a new one must be added here)."""
    pages = page_urls(world)
    names = {name for name, _route in page_routes()} - NOT_CRAWLED
    assert set(pages) == names
    assert all(pages.values())
    api = api_urls(Client(), world)
    assert {"/api/labs/{slug}/", "/api/releases/", "/api/citations/{id}/"} <= set(api)
    assert all(api.values()), [path for path, urls in api.items() if not urls]
