"""
A list's CSV (``?format=csv`` or ``Accept: text/csv``) is every row its filters select,
streamed in chunks, with the page's columns, readers' rule (published rows only) and
neutralised formula cells; its queries do not grow with the rows. JSON stays paginated.
"""

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Group, User
from django.http import StreamingHttpResponse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from profiles.models import Lab, PublicationState, Release, Source
from tests.factories import make_lab, make_release

pytestmark = pytest.mark.django_db

LIVE = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)  # a go-live time passed


@pytest.fixture
def reader():
    return APIClient()


@pytest.fixture
def staff():
    user = User.objects.create_user("csv-editor", is_staff=True)
    user.groups.add(Group.objects.get(name="Editor"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def many_releases(lab, count, prefix="Bulk Model", **fields):
    """``count`` releases of ``lab`` in one insert (their validity is not what is tested here)."""
    fields.setdefault("state", PublicationState.PUBLISHED)
    if fields["state"] == PublicationState.PUBLISHED:
        fields.setdefault("published_at", LIVE)
    Release.objects.bulk_create(
        Release(lab=lab, name=f"{prefix} {i:04}", slug=f"{prefix.lower().replace(' ', '-')}-{i:04}",
                released=datetime.date(2024, 1, 1) + datetime.timedelta(days=i), **fields)
        for i in range(count)
    )


def body_of(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def rows_of(response):
    return list(csv.DictReader(io.StringIO(body_of(response), newline="")))


def test_every_row_of_a_list_not_a_page(reader):
    lab = make_lab("Big Lab")
    many_releases(lab, 150)
    many_releases(lab, 7, prefix="Hidden Model", state=PublicationState.DRAFT)
    rows = rows_of(reader.get("/api/releases/", {"format": "csv"}))
    assert len(rows) == 150
    assert {row["slug"] for row in rows} == {f"bulk-model-{i:04}" for i in range(150)}
    # The same through the Accept header; a page size or number changes nothing.
    assert len(rows_of(reader.get("/api/releases/", HTTP_ACCEPT="text/csv"))) == 150
    assert len(rows_of(reader.get("/api/releases/", {"format": "csv", "page_size": 10, "page": 2}))) == 150
    # JSON stays a page.
    page = reader.get("/api/releases/").json()
    assert page["count"] == 150 and len(page["results"]) == 20 and page["next"]


def test_readers_never_get_unpublished_rows_and_staff_get_theirs(reader, staff):
    lab = make_lab("Open Lab")
    draft_lab = make_lab("Draft Lab", state=PublicationState.DRAFT)
    many_releases(lab, 120)
    many_releases(lab, 3, prefix="Unpublished Model", state=PublicationState.REVIEW)
    many_releases(lab, 2, prefix="Scheduled Model", published_at=datetime.datetime(2999, 1, 1, tzinfo=datetime.timezone.utc))
    many_releases(draft_lab, 4, prefix="Draft Lab Model")
    body = body_of(reader.get("/api/releases/", {"format": "csv"}))
    assert body.count("\r\n") == 121  # the header and the 120 published releases of the published lab
    for hidden in ("unpublished-model", "scheduled-model", "draft-lab-model", "Draft Lab"):
        assert hidden not in body
    labs = rows_of(reader.get("/api/labs/", {"format": "csv"}))
    assert [row["slug"] for row in labs] == ["open-lab"]
    # Staff with a token list every row, as their JSON does.
    assert len(rows_of(staff.get("/api/releases/", {"format": "csv"}))) == 129
    assert {row["slug"] for row in rows_of(staff.get("/api/labs/", {"format": "csv"}))} == {"open-lab", "draft-lab"}


def test_filters_search_and_ordering_choose_the_rows(reader):
    first, second = make_lab("First Lab"), make_lab("Second Lab")
    many_releases(first, 110)
    many_releases(second, 5, prefix="Second Model")
    rows = rows_of(reader.get("/api/releases/", {"format": "csv", "lab": "first-lab"}))
    assert len(rows) == 110 and {row["lab.slug"] for row in rows} == {"first-lab"}
    rows = rows_of(reader.get("/api/releases/", {"format": "csv", "search": "Second", "ordering": "name"}))
    assert [row["slug"] for row in rows] == [f"second-model-{i:04}" for i in range(5)]
    # An unknown parameter is still refused, as JSON (errors are always JSON).
    refused = reader.get("/api/releases/", {"format": "csv", "colour": "red"})
    assert refused.status_code == 400 and refused["Content-Type"].startswith("application/json")


def test_the_columns_and_cells_are_the_pages(reader):
    lab = make_lab('=HYPERLINK("https://evil.example/")', slug="formula-lab", country="CN")
    make_release(lab, "@SUM(1+1)", slug="at-model", domains=["language"])
    release, = rows_of(reader.get("/api/releases/", {"format": "csv"}))
    assert release["name"] == "'@SUM(1+1)" and release["lab.name"] == "'" + lab.name
    assert {"slug", "name", "lab.slug", "released.date", "released.precision", "family"} <= set(release)
    # Byte for byte what the renderer makes of the same rows as one page (asked for by the
    # Accept header: with ?format=csv the API's links keep that parameter, as DRF's do).
    streamed = body_of(reader.get("/api/labs/", HTTP_ACCEPT="text/csv"))
    from profiles.api.renderers import CSVRenderer

    page = reader.get("/api/labs/").json()
    assert streamed == CSVRenderer().render(page).decode()


@pytest.mark.parametrize("path, make", [
    ("/api/releases/", lambda lab: many_releases(lab, 250)),
    ("/api/labs/", lambda lab: Lab.objects.bulk_create(
        Lab(name=f"Many Lab {i:03}", slug=f"many-lab-{i:03}", state=PublicationState.PUBLISHED, published_at=LIVE) for i in range(250))),
    ("/api/sources/", lambda lab: Source.objects.bulk_create(
        Source(title=f"Source {i:03}", slug=f"source-{i:03}", state=PublicationState.PUBLISHED, published_at=LIVE) for i in range(250))),
])
def test_queries_do_not_grow_with_the_rows(reader, django_assert_max_num_queries, path, make):
    make(make_lab("Counted Lab"))
    with django_assert_max_num_queries(6):  # two passes of one query each, and the request's own few
        response = reader.get(path, {"format": "csv"})
        body = b"".join(response.streaming_content)
    assert body.count(b"\r\n") >= 251


def test_the_etag_names_the_body_and_a_repeat_is_a_304(reader):
    lab = make_lab("Tagged Lab")
    many_releases(lab, 105)
    first = reader.get("/api/releases/", {"format": "csv"})
    body = body_of(first)
    again = reader.get("/api/releases/", {"format": "csv"})
    assert again["ETag"] == first["ETag"] and body_of(again) == body
    assert reader.get("/api/releases/", {"format": "csv"}, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert "Authorization" in first["Vary"]
    Release.objects.filter(slug="bulk-model-0000").update(name="Renamed Model")
    changed = reader.get("/api/releases/", {"format": "csv"})
    assert changed["ETag"] != first["ETag"] and "Renamed Model" in body_of(changed)
    assert reader.get("/api/releases/", {"format": "csv"}, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
