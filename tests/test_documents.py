"""
A profile is one document: edits of a published one are drafts, apart from the live page,
until a publisher publishes them; two editors' edits merge, and what both changed is a
conflict shown with both values. Through the admin's own forms and the API.
"""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings as hypothesis_settings, strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from profiles import documents
from profiles.models import Lab, PublicationState, Release, Revision, Role
from tests.factories import cite, make_lab, make_person, make_release, make_role, make_section, make_source
from tests.test_admin import add_inline_row, admin_url, form_data, inline_formset, page_text
from tests.test_leaks import no_throttle, world  # noqa: F401 (fixtures: the crawl's published and hidden rows)

pytestmark = pytest.mark.django_db


def signed_in(name, group=None):
    """A staff user's client, in ``group`` (Editor or Publisher) or in none."""
    user = User.objects.create_user(name, password="x", is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


def api_client(name, group):
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def lab():
    lab = make_lab("Quokka Institute", summary="Studies quokkas.", funding_text="Government money.")
    make_section(lab, kind="origins", body="Founded by quokkas.")
    release = make_release(lab, "QuokkaLM", license="MIT")
    make_role(make_person("Ada Quokka"), lab, title="Director")
    cite(make_source("Quokka Times"), release=release, claim="It exists.")
    return lab


@pytest.fixture
def editor():
    return signed_in("editor", "Editor")


@pytest.fixture
def publisher():
    return signed_in("publisher", "Publisher")


def reader_view(client, lab):
    """What an anonymous reader gets: the page, the API detail and its ETag, the release list."""
    page = client.get(lab.get_absolute_url())
    api = client.get(f"/api/labs/{lab.slug}/", HTTP_ACCEPT="application/json")
    releases = client.get(f"/api/releases/?lab={lab.slug}", HTTP_ACCEPT="application/json")
    feed = client.get("/feed/atom/")
    return page.content, api.content, api["ETag"], releases.content, feed.content


# --- drafts apart from live ------------------------------------------------------------------


def test_an_editors_admin_edit_of_a_published_profile_waits_for_a_publisher(lab, editor, publisher, client):
    before = reader_view(client, lab)
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["funding_text"] = "Quokka philanthropy."
    data["sections-0-body"] = "Founded by **wombats**."
    data["releases-0-name"] = "QuokkaLM 2"
    response = editor.post(admin_url(Lab, "change", lab.pk), data)

    assert response.status_code == 302
    lab.refresh_from_db()
    assert lab.funding_text == "Government money."
    assert Release.objects.get(lab=lab).name == "QuokkaLM"
    assert reader_view(client, lab) == before  # bodies and ETags byte for byte
    # The editor's form and the real URL show the draft, with a banner saying so.
    form = page_text(editor.get(admin_url(Lab, "change", lab.pk)))
    assert "Quokka philanthropy." in form and "Unpublished changes" in form
    staff_page = page_text(editor.get(lab.get_absolute_url()))
    assert "Quokka philanthropy." in staff_page and "<strong>wombats</strong>" in staff_page
    assert "unpublished changes" in staff_page

    # An editor cannot publish it; a publisher can, and then readers see all of it.
    assert editor.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/").status_code == 403
    assert publisher.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/").status_code == 302
    lab.refresh_from_db()
    assert lab.funding_text == "Quokka philanthropy."
    page = page_text(client.get(lab.get_absolute_url()))
    assert "Quokka philanthropy." in page and "<strong>wombats</strong>" in page and "QuokkaLM 2" in page
    assert reader_view(client, lab)[2] != before[2]
    assert Revision.objects.pending_for(lab) is None


def test_a_save_that_changes_nothing_stores_no_draft(lab, editor, client):
    before = reader_view(client, lab)
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    assert Revision.objects.count() == 0
    assert reader_view(client, lab) == before
    assert Release.objects.get(lab=lab).history.count() == 1  # no re-save of every release


def test_discarding_a_draft_goes_back_to_the_live_version(lab, editor):
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "A draft summary."
    editor.post(admin_url(Lab, "change", lab.pk), data)
    diff = page_text(editor.get(f"/admin/profiles/lab/{lab.pk}/draft/diff/"))
    assert "Studies quokkas." in diff and "A draft summary." in diff

    assert editor.post(f"/admin/profiles/lab/{lab.pk}/draft/discard/").status_code == 302
    assert Revision.objects.pending_for(lab) is None
    assert "A draft summary." not in page_text(editor.get(admin_url(Lab, "change", lab.pk)))


def test_a_new_release_and_its_citation_in_a_draft_get_real_rows_when_published(lab, editor, publisher, client):
    response = editor.get(admin_url(Lab, "change", lab.pk))
    data = form_data(response)
    add_inline_row(data, "releases", name="QuokkaVL", slug="quokkavl", kind="model", released_precision="day",
                   accessibility="unknown", state="draft", order="0")
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    assert not Release.objects.filter(slug="quokkavl").exists()
    draft = Revision.objects.pending_for(lab)
    new_keys = [key for key in draft.data["parts"]["releases"] if int(key) < 0]
    assert len(new_keys) == 1
    # The new release is in the form again (its own change form works on the draft too).
    assert "QuokkaVL" in page_text(editor.get(admin_url(Lab, "change", lab.pk)))
    release_form = editor.get(admin_url(Release, "change", new_keys[0]))
    assert release_form.status_code == 200 and "QuokkaVL" in page_text(release_form)

    publisher.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/")
    release = Release.objects.get(slug="quokkavl")
    assert release.pk > 0 and release.lab == lab


def test_a_role_changed_in_the_role_admin_is_a_draft_of_its_lab(lab, editor, client):
    role = Role.objects.get(lab=lab)
    data = form_data(editor.get(admin_url(Role, "change", role.pk)))
    data["title"] = "Chief Quokka"
    assert editor.post(admin_url(Role, "change", role.pk), data).status_code == 302
    role.refresh_from_db()
    assert role.title == "Director"
    assert "Chief Quokka" not in page_text(client.get(lab.get_absolute_url()))
    assert "Chief Quokka" in page_text(editor.get(lab.get_absolute_url()))


# --- two editors at once ------------------------------------------------------------------------


def test_two_editors_changing_different_fields_and_rows_both_survive(lab, publisher, client):
    alice, bob = signed_in("alice", "Editor"), signed_in("bob", "Editor")
    alice_form = form_data(alice.get(admin_url(Lab, "change", lab.pk)))
    bob_form = form_data(bob.get(admin_url(Lab, "change", lab.pk)))

    alice_form["funding_text"] = "Alice's funding."
    assert alice.post(admin_url(Lab, "change", lab.pk), alice_form).status_code == 302
    bob_form["summary"] = "Bob's summary."
    bob_form["releases-0-name"] = "QuokkaLM Pro"
    assert bob.post(admin_url(Lab, "change", lab.pk), bob_form).status_code == 302

    publisher.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/")
    lab.refresh_from_db()
    assert (lab.funding_text, lab.summary) == ("Alice's funding.", "Bob's summary.")
    assert Release.objects.get(lab=lab).name == "QuokkaLM Pro"


def test_two_editors_changing_the_same_field_see_a_conflict_with_both_values(lab):
    alice, bob = signed_in("alice", "Editor"), signed_in("bob", "Editor")
    alice_form = form_data(alice.get(admin_url(Lab, "change", lab.pk)))
    bob_form = form_data(bob.get(admin_url(Lab, "change", lab.pk)))
    alice_form["funding_text"] = "Alice's funding."
    alice_form["summary"] = "Alice's summary."
    alice.post(admin_url(Lab, "change", lab.pk), alice_form)

    bob_form["funding_text"] = "Bob's funding."
    response = bob.post(admin_url(Lab, "change", lab.pk), bob_form)

    assert response.status_code == 200
    text = page_text(response)
    assert "Alice's funding." in text and "Bob's funding." in text  # both values, in the table
    assert Revision.objects.pending_for(lab).data["root"]["funding_text"] == "Alice's funding."
    # Bob's form now shows Alice's summary (he never touched it) and keeps his funding.
    again = form_data(response)
    assert again["summary"] == "Alice's summary." and again["funding_text"] == "Bob's funding."
    # Saving it now is a decision made seeing both: it goes through, and keeps Alice's summary.
    assert bob.post(admin_url(Lab, "change", lab.pk), again).status_code == 302
    draft = Revision.objects.pending_for(lab).data["root"]
    assert (draft["funding_text"], draft["summary"]) == ("Bob's funding.", "Alice's summary.")


# --- the API --------------------------------------------------------------------------------------


def test_an_api_edit_of_a_published_lab_is_a_draft_until_published(lab, client):
    editor, publisher = api_client("apieditor", "Editor"), api_client("apipublisher", "Publisher")
    before = reader_view(client, lab)
    response = editor.patch(f"/api/labs/{lab.slug}/", {"summary": "Patched summary."}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["summary"] == "Patched summary."  # the writer sees the draft
    release = Release.objects.get(lab=lab)
    assert editor.patch(f"/api/releases/{release.slug}/", {"license": "GPL-3.0"}, format="json").status_code == 200
    assert reader_view(client, lab) == before
    assert editor.get(f"/api/labs/{lab.slug}/").json()["summary"] == "Patched summary."

    assert editor.post(f"/api/labs/{lab.slug}/publish/").status_code == 403
    assert publisher.post(f"/api/labs/{lab.slug}/publish/").status_code == 200
    assert client.get(f"/api/labs/{lab.slug}/").json()["summary"] == "Patched summary."
    assert client.get(f"/api/releases/{release.slug}/").json()["license"] == "GPL-3.0"


def test_an_api_write_cannot_unpublish_a_document_by_its_state(lab):
    publisher = api_client("apipublisher", "Publisher")
    response = publisher.patch(f"/api/labs/{lab.slug}/", {"state": "draft"}, format="json")
    assert response.status_code == 400 and "unpublish" in response.json()["error"]["fields"]["state"][0]


# --- restore ---------------------------------------------------------------------------------------


def test_restoring_a_deleted_lab_is_for_publishers_and_gives_a_draft(lab, editor, publisher, client):
    record_lab = make_lab("Gone Lab")
    admin_client = signed_in("chief", "Publisher")
    admin_client.post(admin_url(Lab, "delete", record_lab.pk), {"post": "yes"})
    assert not Lab.objects.filter(slug="gone-lab").exists()
    record = Lab.history.filter(history_type="-", slug="gone-lab").get()

    assert editor.post("/admin/profiles/lab/deleted/", {"history_id": record.history_id}).status_code == 403
    assert publisher.post("/admin/profiles/lab/deleted/", {"history_id": record.history_id}).status_code == 302
    restored = Lab.objects.get(slug="gone-lab")
    assert restored.state == PublicationState.DRAFT
    assert client.get(restored.get_absolute_url()).status_code == 404


# --- the merge itself --------------------------------------------------------------------------------


def doc(root, **parts):
    return {"root": root, "parts": parts}


def test_merge_takes_each_sides_own_changes_and_reports_shared_ones():
    base = doc({"a": 1, "b": 1}, rows={"1": {"x": 1}, "2": {"x": 2}, "3": {"x": 3}})
    theirs = doc({"a": 2, "b": 1}, rows={"1": {"x": 10}, "3": {"x": 3}, "-1": {"x": 7}})
    yours = doc({"a": 1, "b": 5}, rows={"1": {"x": 1}, "2": {"x": 2}, "-2": {"x": 8}})
    merged, conflicts = documents.merge(base, theirs, yours)
    assert merged["root"] == {"a": 2, "b": 5}
    # 1: they changed it; 2: they deleted it; 3: you deleted it; -1, -2: each side's addition.
    assert merged["parts"]["rows"] == {"1": {"x": 10}, "-1": {"x": 7}, "-2": {"x": 8}}
    assert conflicts == []

    _merged, conflicts = documents.merge(base, doc({"a": 2, "b": 1}, rows={}), doc({"a": 3, "b": 1}, rows={"1": {"x": 9}}))
    assert (None, None, "a", 2, 3) in conflicts
    assert ("rows", "1", None, None, {"x": 9}) in conflicts  # they deleted what you changed


values = st.integers(0, 3)
rows = st.dictionaries(st.sampled_from(["1", "2", "3", "-1", "-2"]), st.fixed_dictionaries({"x": values, "y": values}))
documents_strategy = st.builds(lambda root, parts: doc(root, rows=parts), st.fixed_dictionaries({"a": values, "b": values}), rows)


@hypothesis_settings(max_examples=300, deadline=None)
@given(base=documents_strategy, theirs=documents_strategy, yours=documents_strategy)
def test_a_merge_never_loses_a_change_without_reporting_a_conflict(base, theirs, yours):
    merged, conflicts = documents.merge(base, theirs, yours)
    conflicted = {(part, key, field) for part, key, field, _t, _y in conflicts}

    def check(side, other):
        for field, value in side["root"].items():
            if value != base["root"].get(field) and (None, None, field) not in conflicted:
                assert merged["root"][field] == value or other["root"][field] == merged["root"][field] != base["root"].get(field)
        before, after = base["parts"]["rows"], side["parts"]["rows"]
        for key in set(before) | set(after):
            if (("rows", key, None) in conflicted) or any(c[:2] == ("rows", key) for c in conflicted):
                continue
            if key in after and key not in before:
                assert key in merged["parts"]["rows"]  # an addition survives
            elif key in before and key not in after:
                assert key not in merged["parts"]["rows"]  # a deletion survives
            elif key in after and after[key] != before[key]:
                for field, value in after[key].items():
                    if value != before[key][field]:
                        assert merged["parts"]["rows"][key][field] in (value, other["parts"]["rows"].get(key, {}).get(field))

    check(yours, theirs)
    check(theirs, yours)
    if not conflicts and theirs == base:
        assert merged == yours


# --- scheduling, review, versions, presence ----------------------------------------------------------


def save_draft(client, lab, **changes):
    data = form_data(client.get(admin_url(Lab, "change", lab.pk)))
    data.update(changes)
    assert client.post(admin_url(Lab, "change", lab.pk), data).status_code == 302


def test_a_scheduled_draft_goes_live_on_time_without_a_cron(lab, editor, client):
    import datetime

    import time_machine
    from django.utils import timezone

    publisher = api_client("apipublisher", "Publisher")
    save_draft(editor, lab, summary="Scheduled summary.")
    go_live = timezone.now() + datetime.timedelta(hours=2)
    response = publisher.post(f"/api/labs/{lab.slug}/publish/", {"go_live": go_live.isoformat()}, format="json")
    assert response.status_code == 200
    assert "Scheduled summary." not in page_text(client.get(lab.get_absolute_url()))
    with time_machine.travel(go_live + datetime.timedelta(seconds=1)):
        assert "Scheduled summary." in page_text(client.get(lab.get_absolute_url()))
    lab.refresh_from_db()
    assert lab.summary == "Scheduled summary."


def test_a_reviewer_asks_for_changes_and_the_editor_sees_the_comment(lab, editor, publisher):
    save_draft(editor, lab, summary="Needs work.")
    review = f"/admin/profiles/lab/{lab.pk}/draft/review/"
    assert editor.post(review, {"decision": "submit"}).status_code == 302
    assert Revision.objects.pending_for(lab).status == "submitted"
    assert editor.post(review, {"decision": "approve"}).status_code == 403
    publisher.post(review, {"decision": "request_changes", "_review_comment": "Cite a source for the summary."})
    draft = Revision.objects.pending_for(lab)
    assert draft.status == "changes_requested"
    assert "Cite a source for the summary." in page_text(editor.get(admin_url(Lab, "change", lab.pk)))
    dashboard = page_text(editor.get("/admin/"))
    assert "Quokka Institute" in dashboard and "Cite a source for the summary." in dashboard


def test_compare_any_two_versions_and_revert_to_an_old_one(lab, editor, publisher, client):
    save_draft(editor, lab, summary="First summary.")
    first = Revision.objects.pending_for(lab)
    publisher.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/")
    save_draft(editor, lab, summary="Second summary.", **{"sections-0-body": "Rewritten."})
    second = Revision.objects.pending_for(lab)

    compare = page_text(editor.get(f"/admin/profiles/lab/{lab.pk}/draft/diff/?a={first.pk}&b={second.pk}"))
    assert "First summary." in compare and "Second summary." in compare and "Rewritten." in compare

    assert editor.post(f"/admin/profiles/lab/{lab.pk}/revisions/revert/", {"revision": first.pk}).status_code == 302
    reverted = Revision.objects.pending_for(lab)
    assert reverted.data["root"]["summary"] == "First summary."
    assert list(reverted.data["parts"]["sections"].values())[0]["body"] == "Founded by quokkas."
    assert "First summary." in page_text(client.get(lab.get_absolute_url()))  # live is still the first


def test_editors_see_who_else_has_a_profile_open(lab):
    alice, bob = signed_in("alice", "Editor"), signed_in("bob", "Editor")
    url = reverse("admin:profiles_presence", args=["lab", lab.pk])
    assert alice.post(url).json() == {"others": []}
    others = bob.post(url).json()["others"]
    assert [other["name"] for other in others] == ["alice"]
    assert [other["name"] for other in alice.post(url).json()["others"]] == ["bob"]
    assert Client().post(url).status_code == 302  # the admin's login first


def test_a_role_changed_in_the_role_admin_survives_another_editors_save_of_the_lab_page(lab, publisher):
    alice, bob = signed_in("alice", "Editor"), signed_in("bob", "Editor")
    lab_form = form_data(alice.get(admin_url(Lab, "change", lab.pk)))  # Alice opens the lab page
    role = Role.objects.get(lab=lab)
    role_form = form_data(bob.get(admin_url(Role, "change", role.pk)))
    role_form["title"] = "Chief Scientist"
    assert bob.post(admin_url(Role, "change", role.pk), role_form).status_code == 302

    lab_form["funding_text"] = "Alice's funding."  # her form still shows "Director"
    assert alice.post(admin_url(Lab, "change", lab.pk), lab_form).status_code == 302

    publisher.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/")
    role.refresh_from_db()
    lab.refresh_from_db()
    assert (role.title, lab.funding_text) == ("Chief Scientist", "Alice's funding.")


def test_the_admin_change_form_of_a_draft_costs_the_same_queries_however_many_releases(
    lab, editor, django_assert_max_num_queries
):
    def queries_for_form():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert editor.get(admin_url(Lab, "change", lab.pk)).status_code == 200
        return len(captured)

    save_draft(editor, lab, summary="A draft.")
    few = queries_for_form()
    for index in range(12):
        make_release(lab, f"Extra {index}")
    save_draft(editor, lab, summary="Another draft.")
    assert queries_for_form() <= few + 2  # the new releases' autocomplete choices are not one query each


def test_a_section_added_through_the_api_to_a_published_lab_waits_in_its_draft(lab, client):
    editor = api_client("apieditor", "Editor")
    response = editor.post("/api/sections/", {"lab": lab.slug, "kind": "mission", "body": "To study quokkas."},
                           format="json")
    assert response.status_code == 201, response.content
    key = response.json()["id"]
    assert key < 0 and response["X-Draft-Revision"]
    assert editor.get(f"/api/sections/{key}/").json()["body"] == "To study quokkas."
    assert client.get(f"/api/sections/{key}/").status_code == 404
    assert "To study quokkas." not in page_text(client.get(lab.get_absolute_url()))
    api_client("apipublisher", "Publisher").post(f"/api/labs/{lab.slug}/publish/")
    assert "To study quokkas." in page_text(client.get(lab.get_absolute_url()))


# --- readers see nothing of a draft, anywhere --------------------------------------------------------


def crawl(client, world):
    """Every page route and every GET of the schema (tests/test_leaks.py), with searches: {url: (status, body, ETag)}."""
    from tests.test_leaks import api_urls, page_urls, search_urls

    urls = [url for urls in page_urls(world).values() for url in urls]
    urls += [url for urls in api_urls(client, world).values() for url in urls]
    urls += search_urls("Open") + search_urls("Redrafted")
    answers = {}
    for url in urls:
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        answers[url] = (response.status_code, body, response.get("ETag"))
    return answers


def test_a_draft_changes_no_byte_and_no_etag_readers_receive_until_it_is_published(world, client):
    lab = Lab.objects.get(slug="open-lab")
    before = crawl(client, world)
    editor = signed_in("editor", "Editor")
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "Redrafted summary."
    data["sections-0-body"] = "Redrafted history."
    index = next(i for i in range(int(data["releases-TOTAL_FORMS"])) if data[f"releases-{i}-name"] == "Open Model")
    data[f"releases-{index}-name"] = "Redrafted Model"
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    person = api_client("apieditor", "Editor").patch("/api/people/open-person/", {"bio": "Redrafted bio."}, format="json")
    assert person.status_code == 200

    after = crawl(client, world)
    changed = [url for url in before if before[url] != after[url]]
    assert changed == []

    publisher = api_client("apipublisher", "Publisher")
    assert publisher.post("/api/labs/open-lab/publish/").status_code == 200
    assert publisher.post("/api/people/open-person/publish/").status_code == 200
    published = crawl(client, world)
    assert b"Redrafted summary." in published["/labs/open-lab/"][1]
    assert b"Redrafted Model" in published["/api/releases/?format=csv"][1]
    assert b"Redrafted bio." in published["/people/open-person/"][1]


# --- two editors' saves in any order -----------------------------------------------------------------

FIELDS = {"summary": "summary", "funding_text": "funding_text", "release": "releases-0-name"}
steps = st.lists(
    st.one_of(
        st.tuples(st.just("open"), st.sampled_from(["ann", "bob"])),
        st.tuples(st.just("save"), st.sampled_from(["ann", "bob"]), st.sampled_from(sorted(FIELDS)), st.sampled_from("xyz")),
        st.tuples(st.just("api"), st.sampled_from(["summary", "funding_text"]), st.sampled_from("xyz")),
    ),
    min_size=2, max_size=7,
)


def draft_value(lab, field):
    """The value the pending draft (or the live document) has for one of FIELDS."""
    pending = Revision.objects.pending_for(lab)
    live = documents.snapshot(lab)
    document = documents.effective(pending, live) if pending else live
    if field == "release":
        return next(iter(document["parts"]["releases"].values()))["name"]
    return document["root"][field]


@hypothesis_settings(max_examples=15, deadline=None)
@given(steps=steps)
def test_interleaved_saves_of_two_editors_never_lose_a_change_without_a_conflict(steps):
    lab = make_lab(summary="s0", funding_text="f0")
    make_release(lab, f"r0-{lab.pk}")
    clients = {name: signed_in(f"{name}{lab.pk}", "Editor") for name in ("ann", "bob")}
    api = api_client(f"api{lab.pk}", "Editor")
    forms = {}  # editor -> the form data they will post
    seen = {}  # editor -> the stored values their form stands on (what they saw)
    for step in steps:
        if step[0] == "open":
            forms[step[1]] = seen[step[1]] = form_data(clients[step[1]].get(admin_url(Lab, "change", lab.pk)))
            continue
        before = {field: draft_value(lab, field) for field in FIELDS}
        if step[0] == "api":
            _kind, field, letter = step
            value = f"{field}-{letter}-api"
            api_field = {"summary": "summary", "funding_text": "funding"}[field]  # the API's names
            assert api.patch(f"/api/labs/{lab.slug}/", {api_field: value}, format="json").status_code == 200
            assert draft_value(lab, field) == value
            assert all(draft_value(lab, other) == before[other] for other in FIELDS if other != field)
            continue
        _kind, editor, field, letter = step
        if editor not in forms:
            continue  # nothing open to save
        data = dict(forms[editor])
        data[FIELDS[field]] = f"{field}-{letter}-{editor}"
        mine = {name: data[key] for name, key in FIELDS.items() if data[key] != seen[editor][key]}
        response = clients[editor].post(admin_url(Lab, "change", lab.pk), data)
        if response.status_code == 200:
            # Refused: a conflict is shown, and nothing of this save is stored.
            assert "changed some of the same things" in page_text(response)
            assert {name: draft_value(lab, name) for name in FIELDS} == before
            # The merged form, based on the draft as it is now, still holds this editor's own
            # values where they conflicted: posting it again is their decision to keep them.
            forms[editor] = form_data(response)
            seen[editor] = {**forms[editor], **{key: before[name] for name, key in FIELDS.items()}}
            continue
        assert response.status_code == 302
        after = {name: draft_value(lab, name) for name in FIELDS}
        for name in FIELDS:
            if name in mine:
                assert after[name] == mine[name]  # what this editor changed is in
            else:
                assert after[name] == before[name]  # what they did not change: as it was (another's change kept)
        forms[editor] = seen[editor] = form_data(clients[editor].get(admin_url(Lab, "change", lab.pk)))


def test_a_role_moved_to_another_lab_through_the_api_is_refused_not_lost(lab):
    other = make_lab("Wombat Institute")
    role = Role.objects.get(lab=lab)
    response = api_client("apieditor", "Editor").patch(f"/api/roles/{role.pk}/", {"lab": other.slug}, format="json")
    assert response.status_code == 400 and "Wombat Institute" in response.json()["error"]["message"]
    assert Revision.objects.count() == 0


def test_the_person_page_edits_their_roles_at_organizations_and_lists_those_at_labs(lab, editor):
    from profiles.models import Person

    person = Person.objects.get(slug="ada-quokka")
    page = editor.get(admin_url(Person, "change", person.pk))
    assert inline_formset(page, "roles").total_form_count() == 0  # her lab role is the lab's
    assert "Director, " in page_text(page) and "Quokka Institute" in page_text(page)
