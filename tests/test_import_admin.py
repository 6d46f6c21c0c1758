"""The Epoch AI import in the admin: upload, follow the run, map names, decide proposed changes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.models import ImportRun, LabAlias, ProposedChange
from profiles.models import Lab, Release, Revision
from tests.test_import_epoch import HGRN2, INTERNLM25, row, run_import, write_csv
from tests.test_workflow_admin import editor, publisher  # noqa: F401 (fixtures: erin the Editor, pat the Publisher)

pytestmark = pytest.mark.django_db


def upload(client, path, django_capture_on_commit_callbacks):
    """Upload ``path``; the task runs once the request's transaction commits. Returns the page it redirects to."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:imports_importrun_add"),
            {"file": SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")},
        )
    assert response.status_code == 302
    return client.get(response["Location"])


def test_a_publisher_uploads_a_file_and_the_run_page_shows_what_it_did(
    starting_data, publisher, tmp_path, django_capture_on_commit_callbacks
):
    bad = row(model="Broken", organization="Lab A", parameters="lots")
    response = upload(publisher, write_csv(tmp_path, [HGRN2, INTERNLM25, bad]), django_capture_on_commit_callbacks)

    run = ImportRun.objects.get()
    assert response.request["PATH_INFO"] == reverse("admin:imports_importrun_change", args=[run.pk])
    assert run.status == "succeeded" and run.created_by.username == "pat" and run.file_name == "models.csv"
    page = response.content.decode()
    assert "1 drafts" in page and "2 proposed changes" in page
    # The bad row, with its line and column.
    assert "<td>4</td><td>Parameters</td><td>Broken</td>" in page and "is not a number" in page
    assert "Massachusetts Institute of Technology (MIT)" in page  # a name new to us
    # Nothing went live: the lab's new release waits in its draft, submitted for review.
    assert not Release.objects.filter(name="HGRN2 1B").exists()
    draft = Revision.objects.pending_for(Lab.objects.get(slug="shanghai-ai-laboratory"))
    assert draft.status == "submitted" and draft.created_by.username == "pat"
    dashboard = publisher.get(reverse("admin:index")).content.decode()
    assert "Proposed changes from imports" in dashboard and "InternLM2.5: accessibility" in dashboard


def test_a_file_in_no_known_layout_fails_with_the_reason_on_its_page(
    db, publisher, tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "wrong.csv"
    path.write_text("Name,Org\nX,Y\n", encoding="utf-8")
    response = upload(publisher, path, django_capture_on_commit_callbacks)
    run = ImportRun.objects.get()
    assert run.status == "failed" and "Unknown column layout" in run.error
    assert "Unknown column layout" in response.content.decode()
    assert not Lab.objects.exists()


def test_the_run_page_follows_a_running_import(db, publisher):
    run = ImportRun.objects.create(file_name="models.csv", status="running", rows_total=2000, rows_done=500)
    page = publisher.get(reverse("admin:imports_importrun_change", args=[run.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page
    assert '<progress max="2000" value="500">' in page
    run.status = "succeeded"
    run.save()
    page = publisher.get(reverse("admin:imports_importrun_change", args=[run.pk])).content.decode()
    assert 'http-equiv="refresh"' not in page


def test_editors_see_runs_but_cannot_start_one(db, editor):
    assert editor.get(reverse("admin:imports_importrun_add")).status_code == 403
    assert editor.get(reverse("admin:imports_importrun_changelist")).status_code == 200


def test_a_publisher_takes_their_value_into_the_draft_or_keeps_ours(starting_data, publisher, tmp_path):
    run_import(write_csv(tmp_path, [INTERNLM25]), starting=True)
    release = Release.objects.get(slug="internlm2-5")
    dates = ProposedChange.objects.get(release=release, field="released")
    access = ProposedChange.objects.get(release=release, field="accessibility")
    changelist = reverse("admin:imports_proposedchange_changelist")

    response = publisher.post(changelist, {"action": "take_theirs", "_selected_action": [access.pk]}, follow=True)
    assert "Took their value for 1 proposal" in response.content.decode()
    access.refresh_from_db()
    assert access.status == "taken" and access.decided_by.username == "pat"
    # The published page keeps ours until the draft is published.
    release.refresh_from_db()
    assert release.accessibility == "open_unrestricted"
    draft = Revision.objects.pending_for(release.lab)
    assert draft.data["parts"]["releases"][str(release.pk)]["accessibility"] == "open_restricted"

    publisher.post(changelist, {"action": "keep_ours", "_selected_action": [dates.pk]}, follow=True)
    dates.refresh_from_db()
    assert dates.status == "kept"
    # Importing the same row again does not ask again.
    run_import(write_csv(tmp_path, [INTERNLM25], name="again.csv"))
    assert not ProposedChange.objects.open().exists()


def test_editors_cannot_decide_proposed_changes(starting_data, editor, tmp_path):
    run_import(write_csv(tmp_path, [INTERNLM25]), starting=True)
    proposal = ProposedChange.objects.first()
    response = editor.post(
        reverse("admin:imports_proposedchange_changelist"), {"action": "take_theirs", "_selected_action": [proposal.pk]},
    )
    proposal.refresh_from_db()
    assert proposal.status == "open"
    assert response.status_code in (200, 302)


def test_an_alias_editors_remap_is_followed_by_the_next_import(db, tmp_path, editor):
    run_import(write_csv(tmp_path, [row(model="M1", organization="Deepmind")]), starting=True)
    guessed = LabAlias.objects.get(name="Deepmind")
    assert not guessed.confirmed
    target = Lab.objects.create(name="Google DeepMind", slug="google-deepmind", state="published")
    response = editor.post(
        reverse("admin:imports_labalias_change", args=[guessed.pk]),
        {"dataset": "epoch-ai-models", "name": "Deepmind", "lab": target.pk, "confirmed": "on"},
    )
    assert response.status_code == 302
    run_import(write_csv(tmp_path, [row(model="M2", organization="Deepmind")], name="later.csv"), starting=True)
    assert Release.objects.get(name="M2").lab == target
