"""Regressions found by a review of the drafts (profiles/documents.py): each failed before its fix."""
import datetime

import pytest
import time_machine
from django.utils import timezone

from profiles import documents
from profiles.models import Backing, Citation, Lab, LabRelation, Person, PublicationState, Revision, RevisionStatus, Role, Section
from tests.factories import make_backing, make_lab, make_person, make_relation, make_role, make_section
from tests.test_admin import add_inline_row, admin_url, form_data, page_text
from tests.test_documents import api_client, editor, lab, publisher, save_draft, signed_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def schedule_draft(editor, lab, **changes):
    """An editor's draft of ``lab`` with ``changes``, scheduled by a publisher two hours ahead; its go-live time."""
    save_draft(editor, lab, **changes)
    go_live = timezone.now() + datetime.timedelta(hours=2)
    response = api_client("apipub", "Publisher").post(
        f"/api/labs/{lab.slug}/publish/", {"go_live": go_live.isoformat()}, format="json"
    )
    assert response.status_code == 200
    return go_live


def test_an_editors_delete_selected_of_a_published_labs_role_is_a_draft(lab, editor, client):
    role = Role.objects.get(lab=lab)
    r = editor.post(admin_url(Role, "changelist"), {"action": "delete_selected", "_selected_action": [role.pk], "post": "yes"})
    assert r.status_code == 302
    assert Role.objects.filter(pk=role.pk).exists(), "role deleted live by an Editor's changelist action"


def test_a_section_moved_into_a_published_lab_waits_in_its_draft(lab, editor, client):
    draft_lab = make_lab("Draft Lab", state=PublicationState.DRAFT)
    section = make_section(draft_lab, kind="mission", body="LEAKED SECTION BODY")
    data = form_data(editor.get(admin_url(Section, "change", section.pk)))
    data["lab"] = str(lab.pk)
    r = editor.post(admin_url(Section, "change", section.pk), data)
    assert r.status_code == 302, r.content[:2000]
    assert "LEAKED SECTION BODY" not in page_text(client.get(lab.get_absolute_url()))


def test_two_editors_adding_a_row_each_keep_both_rows(lab, publisher):
    alice, bob = signed_in("alice", "Editor"), signed_in("bob", "Editor")
    a = form_data(alice.get(admin_url(Lab, "change", lab.pk)))
    b = form_data(bob.get(admin_url(Lab, "change", lab.pk)))
    add_inline_row(a, "sections", kind="mission", heading="", slug="mission", order="1", body="Alice mission")
    assert alice.post(admin_url(Lab, "change", lab.pk), a).status_code == 302
    add_inline_row(b, "sections", kind="funding", heading="", slug="funding", order="2", body="Bob funding")
    r = bob.post(admin_url(Lab, "change", lab.pk), b)
    bodies = [v["body"] for v in Revision.objects.pending_for(lab).data["parts"]["sections"].values()]
    assert r.status_code == 302, "bob got a conflict for two different new sections"
    assert "Alice mission" in bodies and "Bob funding" in bodies


def test_a_draft_whose_slug_was_taken_since_is_refused_with_a_message_not_a_500(lab, editor, publisher):
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["slug"] = "quokka-new"
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    make_lab("Other Quokka", slug="quokka-new", state=PublicationState.DRAFT)
    editor.raise_request_exception = False
    publisher.raise_request_exception = False
    form = editor.get(admin_url(Lab, "change", lab.pk))
    assert form.status_code == 200 and "cannot be shown as it stands" in page_text(form)
    published = publisher.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/", follow=True)
    assert published.status_code == 200 and "cannot be published as it stands" in page_text(published)
    assert Lab.objects.get(pk=lab.pk).slug == lab.slug


def test_an_editor_cannot_discard_a_scheduled_draft(lab, editor, publisher):
    schedule_draft(editor, lab, summary="Scheduled summary.")
    other = signed_in("mallory", "Editor")
    assert other.post(f"/admin/profiles/lab/{lab.pk}/draft/discard/").status_code == 403


def test_unpublishing_writes_the_draft_to_the_rows_so_it_does_not_come_back_later(lab, editor, publisher):
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "Draft summary X."
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    # publisher unpublishes via changelist action
    publisher.post(admin_url(Lab, "changelist"), {"action": "unpublish", "_selected_action": [lab.pk]})
    lab.refresh_from_db(); assert lab.state == "draft"
    # editor now edits the unpublished lab directly
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "Fixed summary Y."
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    lab.refresh_from_db(); assert lab.summary == "Fixed summary Y."
    # publisher publishes via action
    publisher.post(admin_url(Lab, "changelist"), {"action": "publish", "_selected_action": [lab.pk]})
    lab.refresh_from_db(); assert lab.state == "published" and lab.summary == "Fixed summary Y."
    shown = form_data(editor.get(admin_url(Lab, "change", lab.pk)))["summary"]
    assert shown == "Fixed summary Y."


def test_a_draft_role_of_a_person_deleted_since_is_dropped_not_a_500(lab, editor, publisher, client):
    p = make_person("Temp Person")
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    add_inline_row(data, "roles", person=str(p.pk), title="Advisor", start_precision="year", end_precision="year", order="3")
    r = editor.post(admin_url(Lab, "change", lab.pk), data)
    assert r.status_code == 302, page_text(r)[:2000]
    chief = signed_in("chief", "Publisher")
    chief.post(admin_url(Person, "delete", p.pk), {"post": "yes"})
    for c in (editor, publisher):
        c.raise_request_exception = False
    g = editor.get(admin_url(Lab, "change", lab.pk))
    pv = editor.get(lab.get_absolute_url())
    api = api_client("apied", "Editor").get(f"/api/labs/{lab.slug}/")
    assert g.status_code == 200 and pv.status_code == 200 and api.status_code == 200


def test_a_fix_made_while_unpublished_survives_republishing(lab, editor, publisher):
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "Draft summary X."
    editor.post(admin_url(Lab, "change", lab.pk), data)
    publisher.post(admin_url(Lab, "changelist"), {"action": "unpublish", "_selected_action": [lab.pk]})
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "Fixed summary Y."
    editor.post(admin_url(Lab, "change", lab.pk), data)
    publisher.post(admin_url(Lab, "changelist"), {"action": "publish", "_selected_action": [lab.pk]})
    publisher.post(admin_url(Lab, "changelist"), {"action": "publish", "_selected_action": [lab.pk]})
    lab.refresh_from_db()
    assert lab.summary == "Fixed summary Y."


def test_every_outside_write_to_the_live_rows_survives_publishing_a_draft(lab, editor, publisher):
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "Editor summary."
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    # import 1 changes funding live
    l = Lab.objects.get(pk=lab.pk); l.funding_text = "Import one."; l.save()
    # editor saves another change (form shows the draft with the import merged in)
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    assert data["funding_text"] == "Import one."
    data["city"] = "Quokkaville"
    assert editor.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    # import 2 changes funding live again
    l = Lab.objects.get(pk=lab.pk); l.funding_text = "Import two."; l.save()
    publisher.post(f"/admin/profiles/lab/{lab.pk}/draft/publish/")
    lab.refresh_from_db()
    assert lab.funding_text == "Import two."


def test_a_scheduled_draft_that_cannot_go_live_is_sent_back_and_readers_get_no_500(lab, editor, client):
    go_live = schedule_draft(editor, lab, slug="quokka-new")
    make_lab("Other Quokka", slug="quokka-new", state=PublicationState.DRAFT)
    client.raise_request_exception = False
    with time_machine.travel(go_live + datetime.timedelta(seconds=1)):
        assert client.get("/").status_code == 200
        assert client.get("/labs/").status_code == 200
    revision = Revision.objects.get()
    assert revision.status == RevisionStatus.CHANGES_REQUESTED and "Could not go live" in revision.comment
    assert Lab.objects.get(pk=lab.pk).slug == lab.slug  # readers keep the live version


def test_odd_ids_in_admin_urls_are_no_500(lab, editor):
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    add_inline_row(data, "sections", kind="mission", heading="", slug="mission", order="1", body="New")
    editor.post(admin_url(Lab, "change", lab.pk), data)
    key = [k for k in Revision.objects.pending_for(lab).data["parts"]["sections"] if int(k) < 0][0]
    editor.raise_request_exception = False
    out = {}
    for url in [f"/admin/profiles/section/{key}/change/", f"/admin/profiles/section/{key}/history/",
                f"/admin/profiles/section/{key}/delete/", f"/admin/profiles/section/{key}/history/compare/",
                "/admin/profiles/section/-999/change/", "/admin/profiles/section/-999/delete/",
                "/admin/profiles/section/-999/history/", "/admin/profiles/lab/-1/change/",
                "/admin/profiles/lab/-1/draft/diff/", "/admin/profiles/citation/-1/change/",
                "/admin/profiles/section/add/?lab=-1", "/admin/profiles/section/abc/change/",
                f"/admin/profiles/section/{key}/history/1/"]:
        out[url] = editor.get(url).status_code
    assert 500 not in out.values()


def test_a_part_moved_through_the_api_into_a_published_lab_waits_in_its_draft(lab, client):
    ed = api_client("apied", "Editor")
    draft_lab = make_lab("Draft Lab", state=PublicationState.DRAFT)
    section = make_section(draft_lab, kind="mission", body="API LEAK BODY")
    assert ed.patch(f"/api/sections/{section.pk}/", {"lab": lab.slug}, format="json").status_code == 200
    assert Revision.objects.pending_for(lab) is not None
    assert "API LEAK BODY" not in page_text(client.get(lab.get_absolute_url()))


# Committed rows: the foreign-key check runs at commit. serialized_rollback keeps the
# Editor and Publisher groups the migration made for the tests after this one.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_publishing_a_draft_whose_person_was_deleted_drops_that_role():
    lab = make_lab("Quokka Institute")
    p = make_person("Temp Person")
    role = make_role(p, lab, title="Advisor")
    # a draft that changes the role's title (through documents.edit, as the admin does)
    def run():
        Role.objects.filter(pk=role.pk).update(title="Senior Advisor")
    documents.edit(lab, run, None)
    assert Revision.objects.pending_for(lab) is not None
    p.delete()  # a publisher deletes the person (cascades the live role)
    documents.publish(Lab.objects.get(pk=lab.pk), None)
    assert not Role.objects.filter(lab=lab).exists()


@pytest.mark.parametrize("model", [Section, Citation, Backing, LabRelation, Role])
def test_delete_selected_of_any_part_of_a_published_lab_is_a_draft(lab, editor, model):
    make_backing(lab); make_relation(lab, make_lab("Other"))
    obj = model.objects.order_by("pk").first()
    response = editor.post(admin_url(model, "changelist"), {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert response.status_code == 302
    assert model.objects.filter(pk=obj.pk).exists()  # live, until a publisher publishes the draft
    part = next(name for name, queryset in documents.document_parts(lab).items() if queryset.model is model)
    assert str(obj.pk) not in Revision.objects.pending_for(lab).data["parts"][part]


def test_an_api_client_edits_and_deletes_the_rows_its_draft_added(lab, client):
    editor = api_client("apied", "Editor")
    key = editor.post("/api/sections/", {"lab": lab.slug, "kind": "mission", "body": "First words."}, format="json").json()["id"]
    assert key < 0
    changed = editor.patch(f"/api/sections/{key}/", {"body": "Second words."}, format="json")
    assert changed.status_code == 200 and changed.json()["body"] == "Second words."
    assert editor.get(f"/api/sections/{key}/").json()["body"] == "Second words."
    assert client.patch(f"/api/sections/{key}/", {"body": "x"}, content_type="application/json").status_code in (401, 403, 404)
    assert editor.delete(f"/api/sections/{key}/").status_code == 204
    assert str(key) not in Revision.objects.pending_for(lab).data["parts"]["sections"]
