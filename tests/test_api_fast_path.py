"""The release list's fast read path gives exactly what the serializer (and so the schema) says."""

import datetime
import json
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from profiles.api.conditional import body_etag
from profiles.api.serializers import ReleaseRows, ReleaseSerializer
from profiles.models import Release
from tests.factories import make_lab, make_release

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
    queryset = Release.objects.published().with_related().values(*ReleaseRows.FIELDS)[:page_size]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        else:
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    assert "release_newest_first" in plan and "TEMP B-TREE FOR ORDER BY" not in plan and " Sort " not in plan, plan
