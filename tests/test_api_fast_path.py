"""
The fast read paths (the release list's rows, the lab detail written out) give exactly
what the serializers (and so the schema) say.
"""

import datetime
import json
from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from profiles.api.conditional import body_etag
from imports.models import EPOCH, ImportedRecord
from profiles.api.serializers import LabDetailSerializer, ReleaseSerializer
from profiles.api.views import ReleaseViewSet
from profiles.models import Codeveloper, PublicationState, Release
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

pytestmark = pytest.mark.django_db


@pytest.fixture
def releases():
    lab = make_lab("Fast Lab", founded=datetime.date(2010, 1, 1), founded_precision="year")
    family = make_release(lab, "Fast Family", kind="model_family", released=None, accessibility="open_unrestricted")
    make_release(lab, "Fast 7B", family=family, released=datetime.date(2024, 7, 19), released_precision="day",
                 sizes="7B", modality="language", license="Apache-2.0", accessibility="open_restricted", is_flagship=True)
    make_release(lab, "Fast Vision", family=family, released=datetime.date(2023, 1, 1), released_precision="year",
                 modality="vision_language", accessibility="api")
    make_release(make_lab("Other Fast Lab"), "Elsewhere", released=datetime.date(2022, 3, 1), kind="dataset")


@pytest.mark.parametrize("query", ["", "&format=json"])
def test_the_fast_list_equals_the_serializer(releases, query):
    # "?format=json" included: DRF's links keep it, and so must the fast path's.
    response = APIClient().get(f"/api/releases/?page_size=100{query}", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    request = Request(APIRequestFactory().get(f"/api/releases/?page_size=100{query}"))
    expected = ReleaseSerializer(Release.objects.published().with_related(), many=True, context={"request": request}).data
    assert response.json()["results"] == json.loads(json.dumps(expected))
    assert [row["name"] for row in response.json()["results"]] == ["Fast 7B", "Fast Vision", "Elsewhere", "Fast Family"]
    assert response.json()["results"][0]["url"].endswith(f"/api/releases/fast-7b/{query.replace('&', '?')}")


@pytest.mark.parametrize("staff", [False, True], ids=["reader", "staff"])
def test_the_fast_list_equals_the_serializer_for_every_link(staff):
    """Co-developers (one a draft lab), base models (one of a draft lab), a draft family, a credit."""
    draft = PublicationState.DRAFT
    lab, partner, hidden = make_lab("Linking Lab"), make_lab("Partner Lab"), make_lab("Hidden Partner", state=draft)
    shown_base = make_release(make_lab("Base Maker"), "Shown Base", released=datetime.date(2020, 5, 1))
    hidden_base = make_release(make_lab("Draft Maker", state=draft), "Hidden Base")
    member = make_release(
        lab, "Linked 7B", family=make_release(lab, "Draft Family", kind="model_family", state=draft),
        base_model=hidden_base, domains=["language", "mathematics"], parameters=7e9, training_compute=1e23,
        dataset_size=2e12, confidence="likely", base_model_name="Hidden Base", training_hardware="TPU",
    )
    derived = make_release(lab, "Derived", base_model=shown_base, released=datetime.date(2021, 2, 3), released_precision="day")
    for order, other in enumerate([hidden, partner]):
        Codeveloper.objects.create(release=member, lab=other, order=order)
    Codeveloper.objects.create(release=derived, lab=partner, order=0)
    ImportedRecord.objects.create(
        dataset=EPOCH, key="Linked 7B", release=member,
        last_modified=datetime.datetime(2025, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc),
    )
    client, user = APIClient(), None
    if staff:  # staff see drafts, and every link
        user = User.objects.create_user("eddie", is_staff=True)
        user.groups.add(Group.objects.get(name="Editor"))
        client.force_authenticate(user)
    response = client.get("/api/releases/?page_size=100", HTTP_ACCEPT="application/json")
    request = Request(APIRequestFactory().get("/api/releases/?page_size=100"))
    request.user = user or AnonymousUser()
    releases = Release.objects.all() if staff else Release.objects.published()
    expected = ReleaseSerializer(releases.with_related().with_co_developers(), many=True, context={"request": request}).data
    assert response.json()["results"] == json.loads(json.dumps(expected))
    rows = {row["slug"]: row for row in response.json()["results"]}
    assert [lab["slug"] for lab in rows["linked-7b"]["co_developers"]] == ["partner-lab"]  # a draft lab never, staff or not
    assert (rows["linked-7b"]["base_model"] is None, rows["linked-7b"]["family"] is None) == (not staff, not staff)
    assert rows["derived"]["base_model"]["slug"] == "shown-base" and rows["linked-7b"]["provenance"]["dataset"]


def test_a_page_with_no_co_developer_asks_no_more(releases, settings, django_assert_num_queries):
    settings.PAGE_CACHE_SECONDS = 0
    client = APIClient()
    client.get("/api/releases/")  # the total, kept for readers
    # The content generation (the kept total and the next go-live under it), the rows.
    with django_assert_num_queries(2):
        assert client.get("/api/releases/").status_code == 200
    Codeveloper.objects.create(release=Release.objects.get(slug="fast-7b"), lab=make_lab("Partner"), order=0)
    client.get("/api/releases/")
    with django_assert_num_queries(3):  # and the co-developers of the page's rows that have some
        assert client.get("/api/releases/").json()["results"][0]["co_developers"][0]["slug"] == "partner"


def test_a_scheduled_release_joins_the_list_when_its_time_comes(releases):
    # The list's query is built once per process: it must read the clock each time it runs.
    go_live = timezone.now() + datetime.timedelta(hours=1)
    make_release(Release.objects.get(slug="fast-7b").lab, "Fast Later", published_at=go_live)
    client = APIClient()
    assert "Fast Later" not in [row["name"] for row in client.get("/api/releases/").json()["results"]]
    cache.clear()  # what the hour passing does: nothing was kept past the go-live (test_page_cache.py)
    with mock.patch("django.utils.timezone.now", return_value=go_live + datetime.timedelta(seconds=1)):
        names = [row["name"] for row in client.get("/api/releases/").json()["results"]]
    assert "Fast Later" in names


def test_the_fast_list_keeps_filters_search_ordering_and_validators(releases):
    client = APIClient()
    assert [r["name"] for r in client.get("/api/releases/?lab=fast-lab&open_weights=true").json()["results"]] == ["Fast 7B", "Fast Family"]
    assert [r["name"] for r in client.get("/api/releases/?search=vision").json()["results"]] == ["Fast Vision"]
    assert [r["name"] for r in client.get("/api/releases/?ordering=name").json()["results"]][:2] == ["Elsewhere", "Fast 7B"]
    first = client.get("/api/releases/")
    # The ETag hashes the page as sent; no Last-Modified (no one time says when a page of
    # rows last changed: a deletion or a go-live moves no row's ``updated``).
    assert first["ETag"] == body_etag(first.content) and not first.has_header("Last-Modified")
    repeat = client.get("/api/releases/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert repeat.status_code == 304 and repeat.content == b""
    assert repeat["ETag"] == first["ETag"] and repeat["Vary"] == first["Vary"]


def test_each_format_of_a_list_has_its_own_etag(releases):
    """The ETag hashes the page as sent: the CSV of a page is another representation than its JSON."""
    client = APIClient()
    as_json = client.get("/api/releases/", HTTP_ACCEPT="application/json")
    as_csv = client.get("/api/releases/", HTTP_ACCEPT="text/csv")
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    assert as_json["ETag"] != as_csv["ETag"]
    assert client.get("/api/releases/", HTTP_ACCEPT="text/csv", HTTP_IF_NONE_MATCH=as_csv["ETag"]).status_code == 304
    assert client.get("/api/releases/", HTTP_ACCEPT="text/csv", HTTP_IF_NONE_MATCH=as_json["ETag"]).status_code == 200


@pytest.mark.parametrize("page_size", [1, 10, 100])
def test_a_page_of_releases_walks_the_index_of_their_order(releases, page_size):
    """
    The list is read from ``release_newest_first`` and stops after a page, rather than
    sorting every live release (30 ms at 50,000). Without statistics SQLite guessed that
    ``state = 'published'`` or ``published_at <= now`` picks out few rows and, for pages of
    up to ten, searched those indexes and sorted; ``LikelyLookup`` keeps it on the order's index.
    PostgreSQL plans from statistics, which four rows do not give: there the test checks
    that the index serves the order at all (NULLS LAST included) when sorting is off.
    """
    queryset = ReleaseViewSet.reader_rows[:page_size]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        else:
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    assert "release_newest_first" in plan and "TEMP B-TREE FOR ORDER BY" not in plan and " Sort " not in plan, plan


# --- the lab detail, written out (serializers.LabProfileData) ---------------------


@pytest.fixture
def whole_lab():
    """A lab with every part its detail shows, some of them hidden from readers (drafts)."""
    draft = PublicationState.DRAFT
    lab = make_lab(
        "Whole Lab", native_name="全实验室", other_names="WL\nWhole", summary="One line.", lead="The *lead*.",
        kind="nonprofit_institute", founded=datetime.date(2020, 7, 1), founded_precision="month", city="Beijing",
        country="CN", open_weights="partial", parent_lab=make_lab("Draft Parent", state=draft),
        parent_organization=make_organization("Parent Organization", country="CN"),
        as_of=datetime.date(2025, 1, 1), as_of_precision="year", last_reviewed=datetime.date(2025, 2, 3),
        wikidata_id="Q42", website="https://example.org/",
    )
    make_role(make_person("Dee Director"), lab, title="Director",
              start=datetime.date(2020, 7, 1), start_precision="month")
    make_role(make_person("Pat Past"), lab, title="Founder", end=datetime.date(2022, 1, 1), end_precision="year")
    make_role(make_person("Hidden Person", state=draft), lab, title="Lead Engineer")
    family = make_release(lab, "Whole Family", kind="model_family", is_flagship=True, state=draft)
    partner, hidden_partner = make_lab("Partner Lab"), make_lab("Hidden Partner", state=draft)
    base = make_release(make_lab("Base Maker", state=draft), "Base LM")
    member = make_release(
        lab, "Whole 7B", family=family, base_model=base, is_flagship=True, accessibility="open_restricted",
        modality="language", sizes="7B", license="Apache-2.0", domains=["language", "mathematics"],
        parameters=7e9, training_compute=1e23, confidence="likely", base_model_name="Base LM",
    )
    make_release(lab, "Whole Undated", released=None, domains=[])
    for order, other in enumerate([partner, hidden_partner]):
        Codeveloper.objects.create(release=member, lab=other, order=order)
    ImportedRecord.objects.create(
        dataset=EPOCH, key="Whole 7B", release=member,
        last_modified=datetime.datetime(2025, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc),
    )
    theirs = make_release(partner, "Partner Model", released=datetime.date(2024, 5, 6), released_precision="day")
    Codeveloper.objects.create(release=theirs, lab=lab, order=0)
    origins = make_section(lab, "origins", body="Founded in *2020*.", order=1)
    make_section(lab, "other", heading="Odds and ends", order=2)
    make_backing(lab, make_organization("Funder"), kind="funder", note="Main funder")
    make_relation(lab, partner, kind="peer", note="A peer")
    make_relation(lab, hidden_partner, kind="competitor")
    make_relation(make_lab("Evaluator Lab"), lab, kind="evaluates", note="Evaluates it")
    article = make_source("The Article", url="https://example.org/a", publisher="Example", author="A. Writer",
                          published=datetime.date(2024, 3, 1), published_precision="month",
                          accessed=datetime.date(2025, 1, 2))
    cite(article, lab=lab, claim="Founded July 2020")
    cite(make_source("The Paper"), release=member, claim="7B parameters")
    cite(article, section=origins, claim="Founding members")
    cite(make_source("Draft Source", state=draft), lab=lab, claim="Hidden")
    return lab


@pytest.mark.parametrize("query", ["", "?format=json"])
@pytest.mark.parametrize("staff", [False, True], ids=["reader", "staff"])
def test_the_written_out_lab_detail_equals_the_serializers(whole_lab, staff, query):
    # Byte for byte: the same keys in the same order, the same values and types (7.0, not 7).
    client = APIClient()
    if staff:  # staff preview every state: hidden links, drafts and all
        editor = User.objects.create_user("eddie", is_staff=True)
        editor.groups.add(Group.objects.get(name="Editor"))
        client.force_authenticate(editor)
    url = f"/api/labs/{whole_lab.slug}/{query}"
    written_out = client.get(url)
    cache.clear()
    with mock.patch.object(LabDetailSerializer, "to_representation", serializers.ModelSerializer.to_representation):
        by_drf = client.get(url)
    assert written_out.status_code == by_drf.status_code == 200
    assert written_out.content == by_drf.content
    profile = written_out.json()
    # The fixture reaches what it is meant to: a hidden link is null (or left out) for readers only.
    assert (profile["parent_lab"] is None) is not staff
    member = next(release for release in profile["releases"] if release["slug"] == "whole-7b")
    assert [lab["slug"] for lab in member["co_developers"]] == ["partner-lab"]  # a draft lab is never named
    assert (member["family"] is None, member["base_model"] is None) == (not staff, not staff)
    assert member["parameters"] == 7e9 and member["provenance"]["last_modified"] == "2025-03-04T05:06:07Z"
    assert profile["codeveloped_releases"][0]["lab"]["slug"] == "partner-lab"
    assert profile["incoming_relations"][0]["lab"]["slug"] == "evaluator-lab"
    assert profile["sources"][0]["source"]["accessed"] == "2025-01-02"


def test_every_reference_profile_comes_out_as_the_serializers_write_it(starting_data):
    client = APIClient()
    slugs = [lab["slug"] for lab in client.get("/api/labs/?page_size=100").json()["results"]]
    assert slugs
    for slug in slugs:
        written_out = client.get(f"/api/labs/{slug}/")
        cache.clear()
        with mock.patch.object(LabDetailSerializer, "to_representation", serializers.ModelSerializer.to_representation):
            by_drf = client.get(f"/api/labs/{slug}/")
        assert written_out.status_code == 200 and written_out.content == by_drf.content, slug
