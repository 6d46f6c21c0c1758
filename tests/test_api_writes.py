"""
Writes through the API: who may do what, validation as in the admin, the workflow,
conditional requests (304, 412, 409), errors in one shape, throttling, CSV, history.
"""

import csv
import datetime
import io

from unittest import mock

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.http import http_date
from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from profiles.api.conditional import body_etag
from profiles.models import Citation, Lab, PublicationState, Release, Role, Section
from tests.factories import (
    cite, make_lab, make_organization, make_person, make_release, make_role, make_section, make_source,
)

pytestmark = pytest.mark.django_db

PUBLISHED, DRAFT = PublicationState.PUBLISHED, PublicationState.DRAFT


def user_in(group, name, staff=True):
    user = User.objects.create_user(name, password="x", is_staff=staff)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def token_client(user):
    """A program's client: token authentication, as /api/docs/ tells it."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def editor():
    return token_client(user_in("Editor", "eddie"))


@pytest.fixture
def publisher():
    return token_client(user_in("Publisher", "pat"))


def error_of(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status and error["code"] and error["message"]
    return error


NEW_LAB = {"name": "New Lab", "kind": "nonprofit_institute", "founded": "2021-05-01", "founded_precision": "month",
           "country": "CN", "summary": "A new lab."}


# --- who may write -----------------------------------------------------------


def test_anonymous_writes_are_401_with_the_error_shape(anonymous):
    lab = make_lab("Some Lab")
    for method, url in [("post", "/api/labs/"), ("patch", f"/api/labs/{lab.slug}/"),
                        ("delete", f"/api/labs/{lab.slug}/"), ("post", f"/api/labs/{lab.slug}/publish/")]:
        response = getattr(anonymous, method)(url, {}, format="json")
        assert error_of(response, 401)["code"] == "not_authenticated"
        assert response["WWW-Authenticate"] == "Token"


def test_a_user_who_is_not_staff_cannot_write():
    client = token_client(user_in("Editor", "outsider", staff=False))
    assert error_of(client.post("/api/labs/", NEW_LAB, format="json"), 403)["code"] == "permission_denied"


def test_an_editor_creates_a_draft_addressed_by_slug(editor, anonymous):
    response = editor.post("/api/labs/", NEW_LAB, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "new-lab" and body["state"] == "draft" and body["version"] == 1
    assert body["founded"] == {"date": "2021-05", "precision": "month", "display": "May 2021"}
    assert response["ETag"]
    # Staff read every state; readers do not see the draft.
    assert editor.get("/api/labs/new-lab/").status_code == 200
    assert "new-lab" in [lab["slug"] for lab in editor.get("/api/labs/").json()["results"]]
    error_of(anonymous.get("/api/labs/new-lab/"), 404)
    assert anonymous.get("/api/labs/").json()["count"] == 0


def test_an_editor_cannot_publish_but_a_publisher_can(editor, publisher, anonymous):
    editor.post("/api/labs/", NEW_LAB, format="json")
    # Not by the action...
    error = error_of(editor.post("/api/labs/new-lab/publish/"), 403)
    assert "Publisher" in error["message"]
    # ...nor by writing the state, nor by creating a published row.
    error_of(editor.patch("/api/labs/new-lab/", {"state": "published"}, format="json"), 403)
    error_of(editor.post("/api/labs/", {**NEW_LAB, "name": "Other", "state": "published"}, format="json"), 403)
    assert Lab.objects.get(slug="new-lab").state == DRAFT
    # An editor may submit for review.
    assert editor.post("/api/labs/new-lab/submit/").json()["state"] == "review"
    response = publisher.post("/api/labs/new-lab/publish/")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "published" and response.json()["published_at"]
    assert anonymous.get("/api/labs/new-lab/").status_code == 200
    assert publisher.post("/api/labs/new-lab/unpublish/").json()["state"] == "draft"
    error_of(anonymous.get("/api/labs/new-lab/"), 404)
    assert publisher.post("/api/labs/new-lab/archive/").json()["state"] == "archived"


def test_a_publisher_schedules_a_go_live(publisher, anonymous):
    lab = make_lab("Later Lab", state=DRAFT)
    go_live = timezone.now() + datetime.timedelta(days=2)
    response = publisher.post(f"/api/labs/{lab.slug}/publish/", {"go_live": go_live.isoformat()}, format="json")
    assert response.status_code == 200, response.content
    error_of(anonymous.get(f"/api/labs/{lab.slug}/"), 404)  # not live yet


def test_editors_cannot_delete_labs_but_publishers_can(editor, publisher):
    lab = make_lab("Doomed Lab")
    error_of(editor.delete(f"/api/labs/{lab.slug}/"), 403)
    assert publisher.delete(f"/api/labs/{lab.slug}/").status_code == 204
    assert not Lab.objects.filter(slug="doomed-lab").exists()


def test_release_people_sources_and_parts_are_writable_with_slugs(editor):
    # A lab being written (a draft): its parts are written in place. (Parts of a published
    # lab wait in its draft: tests/test_documents.py.)
    lab = make_lab("Maker Lab", founded=datetime.date(2015, 1, 1), state=PublicationState.DRAFT)
    org = make_organization("Some University")
    response = editor.post("/api/releases/", {
        "name": "Big Model", "lab": "maker-lab", "released": "2024-07-01", "released_precision": "month",
        "homepage": "https://example.org/big",
    }, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["lab"]["slug"] == "maker-lab" and response.json()["homepage"] == "https://example.org/big"
    person = editor.post("/api/people/", {"name": "Ada Researcher"}, format="json").json()
    source = editor.post("/api/sources/", {"title": "A Paper", "document_url": "https://example.org/p"},
                         format="json").json()
    role = editor.post("/api/roles/", {"person": person["slug"], "lab": "maker-lab", "title": "Director"},
                       format="json")
    assert role.status_code == 201, role.content
    assert role.json()["person"]["slug"] == "ada-researcher"
    other = editor.post("/api/roles/", {"person": person["slug"], "organization": org.slug, "title": "Adviser"},
                        format="json")
    assert other.status_code == 201, other.content
    section = editor.post("/api/sections/", {"lab": "maker-lab", "kind": "origins", "body": "Some *history*."},
                          format="json")
    assert section.status_code == 201, section.content
    assert "<em>history</em>" in section.json()["body_html"]
    citation = editor.post("/api/citations/", {"source": source["slug"], "section": section.json()["id"],
                                               "claim": "It began."}, format="json")
    assert citation.status_code == 201, citation.content
    assert editor.patch(f"/api/roles/{role.json()['id']}/", {"title": "Chief"}, format="json").json()["title"] == "Chief"
    assert editor.delete(f"/api/citations/{citation.json()['id']}/").status_code == 204
    assert lab.releases.count() == 1 and Role.objects.count() == 2 and Section.objects.count() == 1
    assert Citation.objects.count() == 0


def test_staff_browse_the_api_with_forms_in_a_session():
    """The browsable API, signed in with a session: pages with write forms render."""
    client = APIClient()
    client.force_login(user_in("Publisher", "browser"))
    lab = make_lab("Form Lab")
    role = make_role(make_person(), lab)
    for url in ["/api/labs/", f"/api/labs/{lab.slug}/", f"/api/roles/{role.pk}/", "/api/sections/"]:
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert b"<form" in response.content, url
    # A session write (the browsable API's forms) needs the CSRF token, as any form.
    strict = APIClient(enforce_csrf_checks=True)
    strict.force_login(User.objects.get(username="browser"))
    assert error_of(strict.post("/api/labs/", NEW_LAB, format="json"), 403)["code"] == "permission_denied"


# --- validation: the model's, with errors keyed by field ----------------------


def test_validation_is_the_models_keyed_by_field(editor):
    make_lab("Young Lab", founded=datetime.date(2020, 1, 1), founded_precision="year")
    # clean(): a release before its lab was founded.
    error = error_of(editor.post("/api/releases/", {"name": "Old", "lab": "young-lab", "released": "2010-01-01",
                                                    "released_precision": "year"}, format="json"), 400)
    assert error["code"] == "invalid" and "released" in error["fields"]
    # A field error under the API's name (the model's url is the API's homepage).
    error = error_of(editor.post("/api/releases/", {"name": "X", "lab": "young-lab", "homepage": "not a url"},
                                 format="json"), 400)
    assert "homepage" in error["fields"]
    # An unknown related slug, a wrong type, a missing field, an unknown choice.
    error = error_of(editor.post("/api/releases/", {"name": "X", "lab": "nope"}, format="json"), 400)
    assert "lab" in error["fields"]
    error = error_of(editor.post("/api/releases/", {"name": "X", "lab": "young-lab", "is_flagship": "perhaps"},
                                 format="json"), 400)
    assert "is_flagship" in error["fields"]
    assert "name" in error_of(editor.post("/api/labs/", {"kind": "company"}, format="json"), 400)["fields"]
    assert "kind" in error_of(editor.post("/api/labs/", {**NEW_LAB, "kind": "cult"}, format="json"), 400)["fields"]
    # A role at both a lab and an organization (the model's clean()).
    person = make_person()
    error = error_of(editor.post("/api/roles/", {"person": person.slug, "title": "T"}, format="json"), 400)
    assert "lab" in error["fields"]


def test_malformed_json_and_wrong_media_type(editor):
    error = error_of(editor.generic("POST", "/api/labs/", "{not json", content_type="application/json"), 400)
    assert error["code"] == "parse_error" and "JSON" in error["message"]
    error = error_of(editor.generic("POST", "/api/labs/", "name,kind", content_type="text/csv"), 415)
    assert error["code"] == "unsupported_media_type"


# --- conditional requests --------------------------------------------------------


def test_a_repeat_detail_request_is_a_304_without_serialising(anonymous, settings, django_assert_num_queries):
    """A detail's ETag is the hash of its body; a reader's repeat request is answered from the shared copy."""
    settings.PAGE_CACHE_SECONDS = 300
    lab = make_lab("Cached Lab")
    first = anonymous.get(f"/api/labs/{lab.slug}/")
    etag = first["ETag"]
    assert etag == body_etag(first.content)
    with django_assert_num_queries(1):  # the content generation: the body is the shared copy's
        again = anonymous.get(f"/api/labs/{lab.slug}/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and not again.content
    # No Last-Modified: no date proves a profile current (what it shows changes without it).
    assert not first.has_header("Last-Modified")
    later = http_date((lab.updated + datetime.timedelta(days=1)).timestamp())
    assert anonymous.get(f"/api/labs/{lab.slug}/", HTTP_IF_MODIFIED_SINCE=later).status_code == 200
    lab.summary = "Changed."
    lab.save()
    assert anonymous.get(f"/api/labs/{lab.slug}/", HTTP_IF_NONE_MATCH=etag).status_code == 200
    error_of(anonymous.get("/api/labs/no-such-lab/", HTTP_IF_NONE_MATCH=etag), 404)


@pytest.mark.parametrize("staff_first", [True, False])
def test_conditional_requests_keep_readers_and_staff_apart(anonymous, editor, staff_first):
    """A 304 is answered from what its user may open: staff's drafts, readers' published rows."""
    public, draft = make_lab("Public Lab"), make_lab("Draft Lab", state=DRAFT)

    def reader():
        reader_etag = anonymous.get(f"/api/labs/{public.slug}/")["ETag"]
        assert anonymous.get(f"/api/labs/{public.slug}/", HTTP_IF_NONE_MATCH=reader_etag).status_code == 304
        error_of(anonymous.get(f"/api/labs/{draft.slug}/", HTTP_IF_NONE_MATCH="*"), 404)  # not even its existence
        return reader_etag

    def staff():
        staff_etag = editor.get(f"/api/labs/{draft.slug}/")["ETag"]
        assert editor.get(f"/api/labs/{draft.slug}/", HTTP_IF_NONE_MATCH=staff_etag).status_code == 304
        error_of(anonymous.get(f"/api/labs/{draft.slug}/", HTTP_IF_NONE_MATCH=staff_etag), 404)

    if staff_first:
        staff()
    reader_etag = reader()
    staff()
    # A draft release: staff's profile shows it, readers' is byte for byte what it was.
    make_release(public, "Unpublished Model", state=DRAFT)
    assert editor.get(f"/api/labs/{public.slug}/")["ETag"] != reader_etag
    assert anonymous.get(f"/api/labs/{public.slug}/", HTTP_IF_NONE_MATCH=reader_etag).status_code == 304


def test_a_profile_etag_changes_when_anything_it_shows_changes(anonymous):
    """A lab's detail shows its releases, people and sources: editing one of them is a new ETag."""
    lab = make_lab("Fresh Lab")
    release = make_release(lab, "Fresh Model")
    person = make_person("Fresh Person")
    make_role(person, lab)
    source = make_source("Fresh Source")
    cite(source, lab=lab)
    section_source = make_source("Section Source")
    cite(section_source, section=make_section(lab, "origins"))
    url = f"/api/labs/{lab.slug}/"
    for number, change in enumerate([lambda: setattr(release, "name", "Renamed") or release.save(),
                   lambda: setattr(person, "name", "Renamed Person") or person.save(),
                   lambda: setattr(source, "title", "Renamed Source") or source.save(),
                   lambda: setattr(section_source, "title", "Renamed Too") or section_source.save(),
                   lambda: Role.objects.filter(lab=lab).first().delete()]):
        etag = anonymous.get(url)["ETag"]
        assert anonymous.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
        change()
        fresh = anonymous.get(url, HTTP_IF_NONE_MATCH=etag)
        assert fresh.status_code == 200 and fresh["ETag"] != etag


def test_a_profile_etag_changes_when_what_it_shows_goes_live(anonymous):
    """A scheduled release, person or source goes live without a save: the lab's ETag must move then."""
    lab = make_lab("Scheduled Lab")
    go_live = timezone.now() + datetime.timedelta(hours=1)
    make_release(lab, "Later Model", published_at=go_live)
    make_role(make_person("Later Person", published_at=go_live + datetime.timedelta(hours=1)), lab)
    url = f"/api/labs/{lab.slug}/"
    etag = anonymous.get(url)["ETag"]
    assert anonymous.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    for hours, shown in ((1, "Later Model"), (2, "Later Person")):
        with mock.patch("django.utils.timezone.now", return_value=go_live + datetime.timedelta(hours=hours - 1, seconds=1)):
            fresh = anonymous.get(url, HTTP_IF_NONE_MATCH=etag)
        assert fresh.status_code == 200 and shown in fresh.content.decode()
        etag = fresh["ETag"]


def test_a_person_and_a_source_etag_change_when_a_lab_they_show_goes_live(anonymous):
    go_live = timezone.now() + datetime.timedelta(hours=1)
    lab = make_lab("Later Lab", published_at=go_live)
    person, source = make_person("Lab Member"), make_source("Lab Paper")
    make_role(person, lab)
    cite(source, lab=lab)
    for url in (f"/api/people/{person.slug}/", f"/api/sources/{source.slug}/"):
        etag = anonymous.get(url)["ETag"]
        assert "later-lab" not in anonymous.get(url).content.decode()
        with mock.patch("django.utils.timezone.now", return_value=go_live + datetime.timedelta(seconds=1)):
            fresh = anonymous.get(url, HTTP_IF_NONE_MATCH=etag)
        assert fresh.status_code == 200 and "later-lab" in fresh.content.decode(), url


@pytest.mark.parametrize("page_cache", [0, 300])
def test_renaming_a_lab_is_a_new_etag_for_its_releases(anonymous, settings, page_cache):
    """A release's detail names its lab: a rename (the release itself unsaved) is another body, so another ETag."""
    settings.PAGE_CACHE_SECONDS = page_cache
    lab = make_lab("Old Name Lab")
    release = make_release(lab, "Named Model")
    url = f"/api/releases/{release.slug}/"
    etag = anonymous.get(url)["ETag"]
    assert anonymous.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    lab = Lab.objects.get(pk=lab.pk)
    lab.name = "New Name Lab"
    lab.save()
    fresh = anonymous.get(url, HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh.json()["lab"]["name"] == "New Name Lab"
    assert fresh["ETag"] == body_etag(fresh.content) != etag


@pytest.mark.parametrize("page_cache", [0, 300])
def test_editing_a_draft_release_leaves_the_readers_profile_and_its_etag_alone(anonymous, settings, page_cache):
    """Readers' profile of a published lab does not show its draft release: editing that changes no byte, nor the ETag."""
    settings.PAGE_CACHE_SECONDS = page_cache
    lab = make_lab("Steady Lab")
    make_release(lab, "Shown Model")
    draft = make_release(lab, "Unfinished Model", state=DRAFT)
    url = f"/api/labs/{lab.slug}/"
    first = anonymous.get(url)
    assert "Unfinished Model" not in first.content.decode()
    draft = Release.objects.get(pk=draft.pk)
    draft.name, draft.description = "Unfinished Model 2", "Edited."
    draft.save()
    again = anonymous.get(url)
    assert again.content == first.content and again["ETag"] == first["ETag"]
    assert anonymous.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


@pytest.mark.parametrize("who, page_cache", [("reader", 0), ("reader", 300), ("staff", 300)])
def test_a_conditional_profile_request_costs_the_same_queries_however_many_releases(
    anonymous, editor, settings, who, page_cache
):
    settings.PAGE_CACHE_SECONDS = page_cache
    client = anonymous if who == "reader" else editor
    lab = make_lab("Growing Lab")
    url = f"/api/labs/{lab.slug}/"
    counts = []
    for _ in range(2):
        for _ in range(10):
            make_release(lab)
            make_role(make_person(), lab)
        etag = client.get(url)["ETag"]
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts
    if who == "reader" and page_cache:
        assert counts == [1, 1]  # the content generation; the body hashed is the shared copy's


def test_if_match_takes_the_etag_of_the_detail_as_its_user_reads_it(editor):
    """A write's answer carries the ETag a GET gives; that ETag (not a reader's, nor a stale one) lets the next write through."""
    lab = make_lab("Matched Lab", state=DRAFT)
    url = f"/api/labs/{lab.slug}/"
    read = editor.get(url)
    written = editor.patch(url, {"summary": "One."}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert written.status_code == 200, written.content
    assert written["ETag"] == body_etag(written.content) == editor.get(url)["ETag"] != read["ETag"]
    # Something the detail shows changed (a release of the lab): the lab's ETag is stale.
    make_release(Lab.objects.get(pk=lab.pk), "Added Model", state=DRAFT)
    error_of(editor.patch(url, {"summary": "Two."}, format="json", HTTP_IF_MATCH=written["ETag"]), 412)
    current = editor.get(url)["ETag"]
    assert editor.patch(url, {"summary": "Two."}, format="json", HTTP_IF_MATCH=f'W/{current}').status_code == 200


def test_a_repeat_list_request_is_a_304(anonymous):
    make_lab("Listed Lab")
    first = anonymous.get("/api/labs/")
    assert first["ETag"] == body_etag(first.content)
    assert anonymous.get("/api/labs/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    make_lab("Another Lab")
    assert anonymous.get("/api/labs/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_staff_previews_in_constant_queries(editor, django_assert_max_num_queries):
    """Staff see drafts too (with_profile(preview=True)); the query count still does not grow."""
    lab = make_lab("Preview Lab", state=DRAFT)
    counts = []
    for _ in range(2):
        for _ in range(10):
            make_release(lab, state=DRAFT)
            make_role(make_person(state=DRAFT), lab)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert editor.get(f"/api/labs/{lab.slug}/").status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_staff_and_readers_get_different_etags(editor, anonymous):
    """Staff's detail shows what readers' does not (a draft release): another body, another ETag."""
    lab = make_lab("Seen Lab")
    make_release(lab, "Draft Model", state=DRAFT)
    staff, reader = editor.get(f"/api/labs/{lab.slug}/"), anonymous.get(f"/api/labs/{lab.slug}/")
    assert "Draft Model" in staff.content.decode() and "Draft Model" not in reader.content.decode()
    assert staff["ETag"] != reader["ETag"]
    assert "Authorization" in staff["Vary"] and "Cookie" in reader["Vary"]


def test_a_stale_if_match_is_a_412_and_a_current_one_saves(editor, publisher):
    lab = make_lab("Edited Lab", state=DRAFT)
    etag = editor.get(f"/api/labs/{lab.slug}/")["ETag"]
    first = editor.patch(f"/api/labs/{lab.slug}/", {"summary": "One."}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200, first.content
    # The same (now stale) ETag again: refused, nothing overwritten.
    error = error_of(editor.patch(f"/api/labs/{lab.slug}/", {"summary": "Two."}, format="json", HTTP_IF_MATCH=etag),
                     412)
    assert error["code"] == "precondition_failed"
    assert Lab.objects.get(pk=lab.pk).summary == "One."
    # The bare version number works too.
    version = first.json()["version"]
    assert editor.patch(f"/api/labs/{lab.slug}/", {"summary": "Three."}, format="json",
                        HTTP_IF_MATCH=f'"{version}"').status_code == 200
    error_of(publisher.delete(f"/api/labs/{lab.slug}/", HTTP_IF_MATCH='"1"'), 412)
    error_of(editor.post(f"/api/labs/{lab.slug}/submit/", HTTP_IF_MATCH='"1"'), 412)


def test_a_concurrent_save_without_if_match_is_a_409(editor, monkeypatch):
    """Two clients load version 1; the other one saves first: this write is refused, not merged."""
    lab = make_lab("Raced Lab", state=DRAFT)
    from profiles.api import views

    original = views.LabViewSet.get_object

    def get_object_then_someone_saves(self):
        instance = original(self)
        other = Lab.objects.get(pk=instance.pk)
        other.summary = "Theirs."
        other.save()
        return instance

    monkeypatch.setattr(views.LabViewSet, "get_object", get_object_then_someone_saves)
    error = error_of(editor.patch(f"/api/labs/{lab.slug}/", {"summary": "Mine."}, format="json"), 409)
    assert error["code"] == "conflict" and "changed by someone else" in error["message"]
    assert Lab.objects.get(pk=lab.pk).summary == "Theirs."


# --- history ---------------------------------------------------------------------


def test_every_write_is_recorded_with_its_user(editor, publisher):
    editor.post("/api/labs/", NEW_LAB, format="json")
    editor.patch("/api/labs/new-lab/", {"summary": "Edited."}, format="json")
    publisher.post("/api/labs/new-lab/publish/")
    lab = Lab.objects.get(slug="new-lab")
    records = list(lab.history.order_by("history_date"))
    assert [(r.history_type, r.history_user.username) for r in records] == [
        ("+", "eddie"), ("~", "eddie"), ("~", "pat")
    ]
    publisher.delete("/api/labs/new-lab/")
    assert Lab.history.filter(slug="new-lab", history_type="-").get().history_user.username == "pat"


# --- errors: one shape -------------------------------------------------------------


def test_errors_have_one_shape(anonymous, editor, publisher):
    make_lab("Shaped Lab")
    error = error_of(anonymous.get("/api/labs/", {"colour": "red"}), 400)
    assert error["code"] == "invalid" and "Unknown parameter" in error["message"]
    assert list(error["fields"]) == ["colour"] and "search" in error["fields"]["colour"][0]
    assert error_of(anonymous.get("/api/labs/nope/"), 404)["code"] == "not_found"
    for url in ["/api/nothing-here/", "/api/labs/a/b/c/", "/api/labs", "/api/labs/a%0Ab/"]:
        assert error_of(anonymous.get(url), 404)["code"] == "not_found", url
    assert error_of(publisher.delete("/api/organizations/x/"), 405)["code"] == "method_not_allowed"
    assert error_of(editor.put("/api/labs/", {}, format="json"), 405)["code"] == "method_not_allowed"
    # An unknown format is DRF's 404 (the format names a representation that does not exist).
    assert error_of(anonymous.get("/api/labs/", {"format": "xml"}), 404)["code"] == "not_found"


# --- throttling --------------------------------------------------------------------


@pytest.fixture
def low_rates():
    rates = {"anon": "3/minute", "user": "5/minute"}
    with override_settings(REST_FRAMEWORK={**_rest_framework(), "DEFAULT_THROTTLE_RATES": rates}):
        yield


def _rest_framework():
    from django.conf import settings

    return dict(settings.REST_FRAMEWORK)


def test_anonymous_clients_are_throttled_with_retry_after(anonymous, low_rates):
    assert api_settings.DEFAULT_THROTTLE_RATES["anon"] == "3/minute"
    for _ in range(3):
        assert anonymous.get("/api/labs/").status_code == 200
    response = anonymous.get("/api/labs/")
    error = error_of(response, 429)
    assert error["code"] == "throttled" and int(response["Retry-After"]) > 0


def test_a_throttled_client_may_come_back_when_its_window_closes(anonymous, low_rates):
    from profiles.api.throttling import AnonRateThrottle

    clock = [999_960.0]  # a minute's window opens (windows are aligned to the clock)
    with mock.patch.object(AnonRateThrottle, "timer", lambda self: clock[0]):
        assert [anonymous.get("/api/labs/").status_code for _ in range(3)] == [200, 200, 200]
        clock[0] += 20
        refused = anonymous.get("/api/labs/")
        assert refused.status_code == 429 and int(refused["Retry-After"]) == 40
        clock[0] += 40
        assert anonymous.get("/api/labs/").status_code == 200


def test_authenticated_clients_have_their_own_rate(editor, low_rates):
    for _ in range(5):
        assert editor.get("/api/labs/").status_code == 200
    assert error_of(editor.get("/api/labs/"), 429)
    assert APIClient().get("/api/labs/").status_code == 200  # a reader is not limited by the editor


def test_a_forged_x_forwarded_for_is_not_a_new_client(anonymous, low_rates, settings):
    # No proxy in front (TRUSTED_PROXY_COUNT=0): X-Forwarded-For is whatever the client wrote.
    settings.TRUSTED_PROXY_COUNT = 0
    for _ in range(3):
        assert anonymous.get("/api/labs/").status_code == 200
    statuses = [anonymous.get("/api/labs/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(50)]
    assert statuses == [429] * 50


def test_behind_one_proxy_each_client_address_has_its_own_limit(anonymous, low_rates, settings):
    # The proxy appends the address it saw; whatever the client wrote before it is not trusted.
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(3):
        response = anonymous.get("/api/labs/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.7", **proxy)
        assert response.status_code == 200
    assert anonymous.get("/api/labs/", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.7", **proxy).status_code == 429
    assert anonymous.get("/api/labs/", HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy).status_code == 200


# --- bulk reads ------------------------------------------------------------------


def test_lists_as_csv_with_flat_columns(anonymous):
    lab = make_lab("Csv Lab", country="CN")
    make_release(lab, "Csv Model")
    response = anonymous.get("/api/releases/", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    header = lines[0].split(",")
    assert {"slug", "name", "lab.slug", "released.date", "released.precision"} <= set(header)
    assert len(lines) == 2 and "csv-model" in lines[1] and "csv-lab" in lines[1]
    labs = anonymous.get("/api/labs/", {"format": "csv"}).content.decode().splitlines()
    assert "country" in labs[0].split(",") and "csv-lab" in labs[1]


def csv_rows(response):
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_text(publisher, anonymous):
    # CSV injection: a spreadsheet opening the export runs a cell starting with "=" (and
    # + - @, a tab or a carriage return) as a formula; a leading quote makes it text.
    name = '=HYPERLINK("https://evil.example/","Click for details")'
    created = publisher.post("/api/labs/", {**NEW_LAB, "name": name, "slug": "formula-lab"}, format="json")
    assert created.status_code == 201, created.content
    assert publisher.post("/api/labs/formula-lab/publish/", {}, format="json").status_code == 200
    make_release(Lab.objects.get(slug="formula-lab"), "@SUM(1+1)*cmd|' /C calc'!A0", slug="at-model")
    assert [row["name"] for row in csv_rows(anonymous.get("/api/labs/", {"format": "csv"}))] == ["'" + name]
    release, = csv_rows(anonymous.get("/api/releases/", {"format": "csv"}))
    assert release["name"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert release["lab.name"] == "'" + name  # nested objects' cells too


@pytest.mark.parametrize("start", ["+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_neutralised_and_other_text_is_kept(anonymous, start):
    make_lab(start + "1+1 Lab", slug="formula-lab")
    make_lab("A=B Lab")  # "=" inside a cell is no formula
    names = {row["name"] for row in csv_rows(anonymous.get("/api/labs/", {"format": "csv"}))}
    assert names == {"A=B Lab", "'" + start + "1+1 Lab"}


def test_a_whole_profile_in_one_request(anonymous):
    lab = make_lab("Whole Lab")
    release = make_release(lab, "Whole Model")
    make_role(make_person("Whole Person"), lab, title="Director")
    cite(make_source("Whole Source"), lab=lab, claim="A claim.")
    profile = anonymous.get(f"/api/labs/{lab.slug}/").json()
    assert [r["slug"] for r in profile["releases"]] == [release.slug]
    assert profile["director"]["person"]["slug"] == "whole-person"
    assert profile["sources"][0]["source"]["slug"] == "whole-source"


def test_requests_at_once_are_all_counted(low_rates):
    """
    A client's requests sent at once (eight connections) are each counted: the window's
    count is added to atomically, so no two requests read the same count and the limit
    holds exactly (a read and a write of the count let concurrent requests through).
    """
    import secrets
    import sys
    import threading

    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    from profiles.api.throttling import AnonRateThrottle

    # A client of its own: a shared Redis keeps earlier runs' counts for the rest of the hour.
    address = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}:{secrets.token_hex(2)}"
    start, answers = threading.Barrier(8), []

    def request():
        request = RequestFactory().get("/api/labs/", REMOTE_ADDR=address)
        request.user = AnonymousUser()
        return request

    def client():
        start.wait()
        for _ in range(5):
            answers.append(AnonRateThrottle().allow_request(request(), None))

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can: as on a busy server's cores
    try:
        with override_settings(REST_FRAMEWORK={**_rest_framework(), "DEFAULT_THROTTLE_RATES": {"anon": "20/hour"}}):
            threads = [threading.Thread(target=client) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        sys.setswitchinterval(switch_interval)
    assert len(answers) == 40 and answers.count(True) == 20
