"""The editorial workflow in the admin, tried as an editor and a publisher would."""

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from profiles.models import Revision, EditConflict, Lab, PreviewLink, PublicationState, Release, Section
from tests.factories import make_lab, make_person, make_release, make_section, make_source
from tests.test_admin import admin_url, form_data, page_text

pytestmark = pytest.mark.django_db


def member_of(group_name, username):
    """A staff user whose permissions come only from the group migration 0003 made."""
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def editor():
    return logged_in(member_of("Editor", "erin"))


@pytest.fixture
def publisher():
    return logged_in(member_of("Publisher", "pat"))


def run_action(client, model, action, *objs):
    return client.post(
        admin_url(model, "changelist"), {"action": action, "_selected_action": [o.pk for o in objs]}, follow=True
    )


# --- states and roles ------------------------------------------------------------


def test_new_lab_starts_as_draft_and_the_add_form_offers_no_publishing(editor):
    page = editor.get(admin_url(Lab, "add"))
    assert [value for value, _ in page.context["adminform"].form.fields["state"].choices] == ["draft", "review"]
    data = form_data(page)
    data.update(name="Tsinghua KEG", slug="tsinghua-keg")

    response = editor.post(admin_url(Lab, "add"), data)

    assert response.status_code == 302
    lab = Lab.objects.get(slug="tsinghua-keg")
    assert lab.state == PublicationState.DRAFT
    assert lab.history.latest().history_user.username == "erin"


def test_editor_cannot_publish_by_action_and_gets_a_message(editor):
    draft = make_lab(state=PublicationState.DRAFT)

    response = run_action(editor, Lab, "publish", draft)

    draft.refresh_from_db()
    assert draft.state == PublicationState.DRAFT
    assert "publishing needs the Publisher role" in page_text(response)


def test_editor_can_submit_for_review_and_the_dashboard_lists_it(editor):
    draft = make_lab("Awaiting Lab", state=PublicationState.DRAFT)

    response = run_action(editor, Lab, "submit_for_review", draft)

    draft.refresh_from_db()
    assert draft.state == PublicationState.REVIEW
    assert "Submitted for review 1 of 1 selected." in page_text(response)
    dashboard = editor.get("/admin/")
    assert "Awaiting Lab" in page_text(dashboard).split("Not reviewed for over")[0]


def test_editor_is_refused_publishing_through_the_state_field(editor):
    lab = make_lab(state=PublicationState.REVIEW)
    page = editor.get(admin_url(Lab, "change", lab.pk))
    assert "published" not in [v for v, _ in page.context["adminform"].form.fields["state"].choices]
    data = form_data(page)
    data["state"] = PublicationState.PUBLISHED  # a hand-made POST

    response = editor.post(admin_url(Lab, "change", lab.pk), data)

    assert response.status_code == 200
    assert "state" in response.context["adminform"].form.errors
    lab.refresh_from_db()
    assert lab.state == PublicationState.REVIEW


def test_publisher_publishes_unpublishes_and_archives(publisher):
    lab = make_lab(state=PublicationState.REVIEW)

    response = run_action(publisher, Lab, "publish", lab)
    lab.refresh_from_db()
    assert lab.is_public
    assert "Published 1 of 1 selected." in page_text(response)

    run_action(publisher, Lab, "unpublish", lab)
    lab.refresh_from_db()
    assert lab.state == PublicationState.DRAFT and lab.published_at is None

    run_action(publisher, Lab, "archive", lab)
    lab.refresh_from_db()
    assert lab.state == PublicationState.ARCHIVED


def test_publisher_schedules_a_go_live_and_the_list_and_dashboard_show_it(publisher):
    lab = make_lab("Future Lab", state=PublicationState.REVIEW)
    go_live = timezone.now() + datetime.timedelta(days=3)
    data = form_data(publisher.get(admin_url(Lab, "change", lab.pk)))
    local = timezone.localtime(go_live)
    data.update(state="published", published_at_0=f"{local:%Y-%m-%d}", published_at_1=f"{local:%H:%M:%S}")

    response = publisher.post(admin_url(Lab, "change", lab.pk), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    lab.refresh_from_db()
    assert lab.state == PublicationState.PUBLISHED and not lab.is_public
    assert "Scheduled for" in page_text(publisher.get(admin_url(Lab, "changelist")))
    assert "Future Lab" in page_text(publisher.get("/admin/")).split("Scheduled to go live")[1]


def test_publisher_creates_and_revokes_a_preview_link(publisher):
    lab = make_lab(state=PublicationState.DRAFT)

    response = run_action(publisher, Lab, "create_preview_link", lab)

    link = PreviewLink.objects.get()
    assert link.target == lab and link.created_by.username == "pat"
    # The full address to hand over (its signature carries the second it was made, so the
    # address is read back from the page rather than made again here).
    import re

    address = re.search(r"http://testserver/preview/([^/\s<]+)/", page_text(response))
    assert address and PreviewLink.resolve(address.group(1)) == link
    publisher.post(admin_url(PreviewLink, "changelist"), {"action": "revoke", "_selected_action": [link.pk]})
    link.refresh_from_db()
    assert not link.is_active


def test_editor_is_not_offered_preview_links(editor):
    make_lab(state=PublicationState.DRAFT)
    page = editor.get(admin_url(Lab, "changelist"))
    assert "create_preview_link" not in page.content.decode()


# --- no lost edits -----------------------------------------------------------------


def test_second_of_two_editors_is_refused_with_what_changed_and_keeps_input():
    # A published profile: both edits are drafts, merged; the same field is a conflict.
    lab = make_lab("Shanghai AI Laboratory", summary="Original summary.", city="Shanghai")
    first, second = logged_in(member_of("Editor", "ann")), logged_in(member_of("Editor", "bob"))
    first_data = form_data(first.get(admin_url(Lab, "change", lab.pk)))
    second_data = form_data(second.get(admin_url(Lab, "change", lab.pk)))

    first_data["summary"] = "Ann's summary."
    assert first.post(admin_url(Lab, "change", lab.pk), first_data).status_code == 302
    second_data["summary"] = "Bob's summary."
    refused = second.post(admin_url(Lab, "change", lab.pk), second_data)

    assert refused.status_code == 200
    text = page_text(refused)
    assert "changed some of the same things" in text
    assert "<td>Summary</td><td>Bob&#x27;s summary.</td><td>Ann&#x27;s summary.</td>" in refused.content.decode()
    assert "<td>City</td>" not in text  # only what both changed is listed
    form = refused.context["adminform"].form
    assert form["summary"].value() == "Bob's summary."  # his input is kept to merge
    assert Revision.objects.pending_for(lab).data["root"]["summary"] == "Ann's summary."  # the first survives
    lab.refresh_from_db()
    assert lab.summary == "Original summary."  # and readers saw neither

    # Having seen the table, a deliberate second save goes through.
    merged = form_data(refused)
    assert second.post(admin_url(Lab, "change", lab.pk), merged).status_code == 302
    assert Revision.objects.pending_for(lab).data["root"]["summary"] == "Bob's summary."


def test_a_stale_save_of_an_inline_is_a_conflict_not_an_overwrite(editor):
    lab = make_lab()
    make_section(lab, body="Old.")
    stale = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    fresh = dict(stale)
    fresh["sections-0-body"] = "Changed by the first editor."

    assert editor.post(admin_url(Lab, "change", lab.pk), fresh).status_code == 302
    stale["sections-0-body"] = "Changed by the second editor."
    refused = editor.post(admin_url(Lab, "change", lab.pk), stale)

    assert refused.status_code == 200 and "changed some of the same things" in page_text(refused)
    draft = Revision.objects.pending_for(lab).data["parts"]["sections"]
    assert [row["body"] for row in draft.values()] == ["Changed by the first editor."]


def test_release_changed_elsewhere_is_refused_in_the_lab_page_inline():
    lab = make_lab()
    release = make_release(lab=lab, name="InternLM")
    first, second = logged_in(member_of("Editor", "ann")), logged_in(member_of("Editor", "bob"))
    lab_page = form_data(second.get(admin_url(Lab, "change", lab.pk)))
    release_page = form_data(first.get(admin_url(Release, "change", release.pk)))

    release_page["name"] = "InternLM 1"
    assert first.post(admin_url(Release, "change", release.pk), release_page).status_code == 302
    lab_page["releases-0-name"] = "InternLM One"
    refused = second.post(admin_url(Lab, "change", lab.pk), lab_page)

    assert refused.status_code == 200
    text = page_text(refused)
    assert "<td>Release “InternLM”: name</td><td>InternLM One</td><td>InternLM 1</td>" in text
    assert Revision.objects.pending_for(lab).data["parts"]["releases"][str(release.pk)]["name"] == "InternLM 1"


def test_a_write_racing_in_after_the_check_is_refused_not_overwritten(editor, monkeypatch):
    lab = make_lab(summary="Original.")
    data = form_data(editor.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "Mine."
    save = Lab.save

    def lose_the_race(instance, *args, **kwargs):
        # What the lock in Lab.save() does when another editor's save lands after the form's check.
        raise EditConflict(instance, instance.version + 1)

    monkeypatch.setattr(Lab, "save", lose_the_race)
    response = editor.post(admin_url(Lab, "change", lab.pk), data)
    monkeypatch.setattr(Lab, "save", save)

    assert response.status_code == 200
    text = page_text(response)
    assert "nothing of yours was saved" in text and "was changed by someone else" in text
    assert response.context["adminform"].form["summary"].value() == "Mine."
    lab.refresh_from_db()
    assert lab.summary == "Original."


# --- history and undo ----------------------------------------------------------------


def test_history_diff_and_revert_are_recorded_with_the_user(publisher):
    # A lab being written (a draft) is edited and reverted in place, in the audit log.
    lab = make_lab(summary="First summary.", state=PublicationState.DRAFT)
    data = form_data(publisher.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "Second summary."
    publisher.post(admin_url(Lab, "change", lab.pk), data)
    first_record, second_record = lab.history.order_by("history_date")

    history = publisher.get(admin_url(Lab, "history", lab.pk))
    assert "pat" in page_text(history)
    assert second_record.history_user.username == "pat"

    compare = publisher.get(admin_url(Lab, "compare", lab.pk), {"a": first_record.history_id, "b": "current"})
    assert compare.context["rows"] == [("summary", "First summary.", "Second summary.")]

    revert_url = admin_url(Lab, "simple_history", lab.pk, first_record.history_id)
    revert = publisher.post(revert_url, form_data(publisher.get(revert_url)))
    assert revert.status_code == 302, revert.context["adminform"].form.errors
    lab.refresh_from_db()
    assert lab.summary == "First summary."
    latest = lab.history.latest()
    assert latest.summary == "First summary." and latest.history_user.username == "pat"
    assert lab.history.count() == 3


def test_the_audit_log_does_not_revert_a_published_profile_behind_the_drafts(publisher, client):
    lab = make_lab(summary="Live summary.")
    lab.summary = "Older summary."  # an earlier live state in the audit log
    lab.save()
    lab.summary = "Live summary."
    lab.save()
    older = lab.history.filter(summary="Older summary.").get()
    revert_url = admin_url(Lab, "simple_history", lab.pk, older.history_id)
    response = publisher.post(revert_url, form_data(publisher.get(revert_url)))
    assert response.status_code == 302 and "/draft/diff/" in response["Location"]
    lab.refresh_from_db()
    assert lab.summary == "Live summary."


def test_changes_since_last_published(publisher):
    lab = make_lab(summary="As published.")
    lab.transition(User.objects.get(username="pat"), PublicationState.DRAFT)
    lab.summary = "Draft rewrite."
    lab.save()

    compare = publisher.get(admin_url(Lab, "compare", lab.pk))
    url = compare.context["since_published_url"]
    diff = publisher.get(admin_url(Lab, "compare", lab.pk) + url)

    labels = [label for label, _, _ in diff.context["rows"]]
    assert "summary" in labels and "publication state" in labels


def test_deleted_lab_is_restored_with_its_sections_and_releases(admin_client):
    lab = make_lab("Gone Lab")
    make_section(lab, body="Its *history*.")
    make_release(lab=lab, name="Gone Model")
    admin_client.post(admin_url(Lab, "delete", lab.pk), {"post": "yes"})
    assert not Lab.objects.filter(slug="gone-lab").exists()

    listing = admin_client.get("/admin/profiles/lab/deleted/")
    assert "Gone Lab" in page_text(listing)
    assert "Deleted labs" in page_text(admin_client.get(admin_url(Lab, "changelist")))
    record = listing.context["records"][0]
    admin_client.post("/admin/profiles/lab/deleted/", {"history_id": record.history_id})

    restored = Lab.objects.get(slug="gone-lab")
    assert restored.sections.get().body == "Its *history*."
    assert restored.releases.get().name == "Gone Model"
    assert restored.history.latest().history_type == "+"
    assert admin_client.get("/admin/profiles/lab/deleted/").context["records"] == []


# --- the dashboard and the Markdown preview ----------------------------------------------


def test_dashboard_lists_a_stale_profile_in_constant_queries(editor, django_assert_max_num_queries):
    make_lab("Stale Lab", last_reviewed=datetime.date(2020, 1, 1))
    make_lab("Fresh Lab", last_reviewed=timezone.localdate())
    with django_assert_max_num_queries(30):
        page = editor.get("/admin/")
    stale = page_text(page).split("Not reviewed for over")[1].split("Scheduled to go live")[0]
    assert "Stale Lab" in stale and "Fresh Lab" not in stale
    for i in range(5):
        make_lab(state=PublicationState.REVIEW)
        make_release(state=PublicationState.REVIEW)
    with django_assert_max_num_queries(30):
        editor.get("/admin/")


def test_markdown_preview_endpoint_renders_and_sanitises(editor, client):
    url = "/admin/profiles/lab/markdown-preview/"
    response = editor.post(url, {"text": "**bold** <script>alert(1)</script> [x](javascript:alert(1))"})
    body = response.content.decode()
    assert "<strong>bold</strong>" in body
    assert "<script>" not in body and "&lt;script&gt;" in body  # shown as text, never run
    assert "href" not in body  # a javascript: link is not made a link
    assert editor.get(url).status_code == 405
    assert client.post(url, {"text": "x"}).status_code == 302  # anonymous: to the login page
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(User.objects.get(username="erin"))
    assert csrf_client.post(url, {"text": "x"}).status_code == 403


def test_markdown_boxes_carry_the_preview_script(editor):
    lab = make_lab()
    page = editor.get(admin_url(Lab, "change", lab.pk)).content.decode()
    assert "admin-extra/markdown-preview.js" in page
    assert 'data-preview-url="/admin/profiles/lab/markdown-preview/"' in page


@pytest.mark.parametrize("factory", [make_lab, make_release, make_person, make_source])
def test_history_compare_and_revert_pages_open_for_every_publishable_model(admin_client, factory):
    obj = factory()
    obj.save()  # a second version to compare
    model = type(obj)
    record = obj.history.earliest()
    history = admin_client.get(admin_url(model, "history", obj.pk))
    assert history.status_code == 200 and "Compare any two versions" in page_text(history)
    assert admin_client.get(admin_url(model, "compare", obj.pk)).status_code == 200
    assert admin_client.get(admin_url(model, "simple_history", obj.pk, record.history_id)).status_code == 200
    assert "Compare versions" in page_text(admin_client.get(admin_url(model, "change", obj.pk)))


def test_preview_link_list_and_dashboard_open(admin_client):
    lab = make_lab(state=PublicationState.REVIEW)
    run_action(admin_client, Lab, "create_preview_link", lab)
    listing = admin_client.get(admin_url(PreviewLink, "changelist"))
    assert listing.status_code == 200 and str(lab) in page_text(listing)
    assert admin_client.get(admin_url(PreviewLink, "change", PreviewLink.objects.get().pk)).status_code == 200
    assert "Awaiting review" in page_text(admin_client.get("/admin/"))
