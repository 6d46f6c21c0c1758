"""
Import and export in the admin (django-import-export, imports/resources.py), through the
front door: an Editor or a Publisher signed in, the list's Export and Import pages.

Export writes every row a filtered list selects, as CSV or XLSX, links by slug. Import
previews (a dry run that writes nothing), checks every row as the admin does (model
validation by row and field, the workflow's state rule) and then writes: in place for an
unpublished document, as a draft revision for a published one. A file exported and
imported unchanged changes nothing.
"""

import csv
import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.resources import LabResource, PersonResource, ReleaseResource, SourceResource
from profiles.models import Lab, Person, PublicationState, Release, Revision, RevisionStatus, Source
from tests.factories import make_lab, make_person, make_release, make_source
from tests.test_admin import form_data
from tests.test_documents import editor, publisher, signed_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

FORMATS = {"csv": "0", "xlsx": "1"}  # ProfileImportExportMixin.formats, in order
RESOURCES = {Lab: LabResource, Release: ReleaseResource, Person: PersonResource, Source: SourceResource}


def admin_url(model, view, *args):
    return reverse(f"admin:profiles_{model._meta.model_name}_{view}", args=args)


# --- the front door -----------------------------------------------------------------------


def export(client, model, query="", fmt="csv"):
    """The list's Export button: every field ticked, the chosen format; returns the file's bytes."""
    url = admin_url(model, "export") + (f"?{query}" if query else "")
    form = client.get(url)
    assert form.status_code == 200
    resource = RESOURCES[model]
    data = {"format": FORMATS[fmt], "resource": "0"}
    data.update({f"{resource.__name__.lower()}_{name}": "on" for name in resource().fields})
    response = client.post(url, data)
    assert response.status_code == 200, response.content[:2000]
    assert "attachment" in response["Content-Disposition"]
    return response.content


def rows_of(content, fmt="csv"):
    """The file as a list of dicts, as a spreadsheet would show it."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def csv_file(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def xlsx_file(rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def preview(client, model, content, fmt="csv"):
    """The Import page with the file chosen: the dry run's preview (a TemplateResponse)."""
    upload = SimpleUploadedFile(f"{model._meta.model_name}.{fmt}", content)
    response = client.post(admin_url(model, "import"), {"resource": "0", "format": FORMATS[fmt], "import_file": upload})
    assert response.status_code == 200
    return response


def confirm(client, preview_response):
    """The preview's Confirm import button."""
    form = preview_response.context["confirm_form"]
    assert form is not None, preview_response.context["result"].invalid_rows
    response = client.post(reverse(f"admin:profiles_{preview_response.context['opts'].model_name}_process_import"),
                           {name: value for name, value in form.initial.items()})
    assert response.status_code == 302
    return response


def import_file(client, model, content, fmt="csv"):
    return confirm(client, preview(client, model, content, fmt))


def counts(result):
    return {kind: count for kind, count in result.totals.items() if count}


def state_of_everything():
    """Every row's version and the revisions: what an import that changes nothing leaves alone."""
    return (
        {model.__name__: dict(model.objects.values_list("slug", "version")) for model in (Lab, Release, Person, Source)},
        list(Revision.objects.values_list("pk", "status")),
        {model.__name__: model.history.count() for model in (Lab, Release, Person, Source)},
    )


# --- export ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_of_a_filtered_list_has_every_row_it_selects_not_a_page(editor, fmt):
    # More than a page of the list (100), some of them filtered out.
    for i in range(105):
        Lab.objects.create(name=f"Bulk Lab {i:03}", slug=f"bulk-lab-{i:03}", state=PublicationState.PUBLISHED)
    for i in range(3):
        Lab.objects.create(name=f"Draft Lab {i}", slug=f"draft-lab-{i}")
    content = export(editor, Lab, "state__exact=published", fmt)
    rows = rows_of(content, fmt)
    assert len(rows) == 105
    assert {row["slug"] for row in rows} == {f"bulk-lab-{i:03}" for i in range(105)}
    assert {row["state"] for row in rows} == {"published"}
    # Every field an editor keeps; no key, lock counter or rendered HTML.
    assert {"slug", "name", "lead", "founded", "founded_precision", "parent_lab", "parent_organization",
            "state", "published_at"} <= set(rows[0])
    assert not {"id", "version", "lead_html"} & set(rows[0])
    # A search narrows the export too.
    assert [row["slug"] for row in rows_of(export(editor, Lab, "q=Draft+Lab+1", fmt), fmt)] == ["draft-lab-1"]


def test_a_release_links_its_lab_family_and_base_model_by_slug(editor):
    lab = make_lab("Linked Lab")
    family = make_release(lab, "Linked Family", kind="model_family")
    base = make_release(lab, "Linked Base")
    make_release(lab, "Linked Member", family=family, base_model=base, domains=["language", "vision"],
                 parameters=7e9, training_compute=1.6e24, is_flagship=True)
    make_release(make_lab("Elsewhere Lab"), "Elsewhere Model")
    rows = rows_of(export(editor, Release, f"lab__id__exact={lab.pk}"))
    assert sorted(row["slug"] for row in rows) == ["linked-base", "linked-family", "linked-member"]
    member = next(row for row in rows if row["slug"] == "linked-member")
    assert (member["lab"], member["family"], member["base_model"]) == ("linked-lab", "linked-family", "linked-base")
    assert member["domains"] == '["language", "vision"]' and float(member["training_compute"]) == 1.6e24
    assert "description_html" not in member and "co_developers" not in member


def test_a_cell_a_spreadsheet_would_run_is_text_in_the_file_and_stored_as_it_was(editor):
    make_lab("=HYPERLINK(\"https://evil.example/\")", slug="formula-lab", state=PublicationState.DRAFT)
    for fmt in ("csv", "xlsx"):
        content = export(editor, Lab, "q=formula", fmt)
        row, = rows_of(content, fmt)
        assert row["name"] == "'=HYPERLINK(\"https://evil.example/\")"
        result = preview(editor, Lab, content, fmt).context["result"]
        assert counts(result) == {"skip": 1}


# --- import ---------------------------------------------------------------------------------


def test_the_preview_shows_the_change_and_writes_nothing(editor):
    lab = make_lab("Preview Lab", city="Shanghai", state=PublicationState.DRAFT)
    version = lab.version
    row, = rows_of(export(editor, Lab, "q=Preview"))
    row["city"] = "Hangzhou"
    response = preview(editor, Lab, csv_file([row]))
    result = response.context["result"]
    assert counts(result) == {"update": 1}
    assert response.context["confirm_form"] is not None
    # The preview's diff of the row: Shanghai struck out, Hangzhou put in (a character diff).
    city = result.diff_headers.index("city")
    change = result.rows[0].diff[city]
    assert "<del" in change and "<ins" in change and change in response.content.decode()
    assert result.rows[0].diff[result.diff_headers.index("name")] == "<span>Preview Lab</span>"
    lab.refresh_from_db()
    assert (lab.city, lab.version) == ("Shanghai", version)
    assert not Revision.objects.exists()


def test_importing_a_change_to_an_unpublished_lab_writes_it(editor, client):
    lab = make_lab("Unpublished Lab", city="Shanghai", state=PublicationState.DRAFT)
    row, = rows_of(export(editor, Lab, "q=Unpublished"))
    row["city"] = "Hangzhou"
    response = import_file(editor, Lab, csv_file([row]))
    assert response["Location"] == admin_url(Lab, "changelist")
    lab.refresh_from_db()
    assert lab.city == "Hangzhou" and lab.version == 2
    assert lab.history.first().history_user.username == "editor"
    assert not Revision.objects.exists()
    messages = [str(m) for m in editor.get(admin_url(Lab, "changelist")).context["messages"]]
    assert any("1 updated" in message for message in messages)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_importing_a_change_to_a_published_lab_makes_a_draft_and_leaves_the_live_page(editor, client, fmt):
    lab = make_lab("Live Lab", summary="The live summary.")
    version = lab.version
    assert "The live summary." in client.get(lab.get_absolute_url()).content.decode()
    row, = rows_of(export(editor, Lab, "q=Live+Lab", fmt), fmt)
    row["summary"] = "The imported summary."
    content = csv_file([row]) if fmt == "csv" else xlsx_file([row])
    shown = preview(editor, Lab, content, fmt)
    assert "will be saved as drafts" in shown.content.decode()
    assert not Revision.objects.exists()  # the preview wrote no draft either
    confirm(editor, shown)

    lab.refresh_from_db()
    assert (lab.summary, lab.version) == ("The live summary.", version)
    page = client.get(lab.get_absolute_url()).content.decode()
    assert "The live summary." in page and "The imported summary." not in page
    draft = Revision.objects.pending_for(lab)
    assert draft.status == RevisionStatus.DRAFT and draft.data["root"]["summary"] == "The imported summary."
    assert draft.created_by.username == "editor"
    # The admin's form opens the draft, as after a save in the admin.
    form = editor.get(admin_url(Lab, "change", lab.pk))
    assert "The imported summary." in form.content.decode()
    assert form.context["document_draft"] == draft


def test_a_release_of_a_published_lab_goes_into_the_labs_draft_and_a_new_one_too(editor):
    lab = make_lab("Drafted Lab")
    release = make_release(lab, "Drafted Model", license="MIT")
    rows = rows_of(export(editor, Release, f"lab__id__exact={lab.pk}"))
    rows[0]["license"] = "Apache-2.0"
    rows.append({**rows[0], "slug": "brand-new-model", "name": "Brand New Model", "state": "draft", "published_at": ""})
    import_file(editor, Release, csv_file(rows))
    release.refresh_from_db()
    assert release.license == "MIT"
    assert not Release.objects.filter(slug="brand-new-model").exists()
    draft = Revision.objects.get(status=RevisionStatus.DRAFT)
    assert draft.object_id == lab.pk
    by_slug = {values["slug"]: (key, values) for key, values in draft.data["parts"]["releases"].items()}
    assert by_slug["drafted-model"][1]["license"] == "Apache-2.0"
    assert int(by_slug["brand-new-model"][0]) < 0  # a new row of the draft, until it is published


def test_a_bad_row_is_reported_with_its_row_and_field_and_nothing_is_written(editor):
    lab = make_lab("Strict Lab", founded=datetime.date(2020, 1, 1), founded_precision="year", state=PublicationState.DRAFT)
    make_release(lab, "Good Model", state=PublicationState.DRAFT)
    make_release(lab, "Odd Model", state=PublicationState.DRAFT)
    make_release(lab, "Early Model", state=PublicationState.DRAFT)
    rows = sorted(rows_of(export(editor, Release, f"lab__id__exact={lab.pk}")), key=lambda row: row["slug"])
    assert [row["slug"] for row in rows] == ["early-model", "good-model", "odd-model"]
    rows[0]["released"], rows[0]["released_precision"] = "2019-05-01", "month"  # before the founding
    rows[1]["license"] = "Apache-2.0"  # a good change, in the same file
    rows[2]["accessibility"] = "sort_of_open"  # not a choice
    response = preview(editor, Release, csv_file(rows))
    result = response.context["result"]
    assert response.context.get("confirm_form") is None  # no Confirm button: nothing can be imported
    errors = {row.number: row.field_specific_errors for row in result.invalid_rows}
    assert set(errors) == {1, 3}
    assert "released" in errors[1] and "before Strict Lab was founded" in errors[1]["released"][0]
    assert "accessibility" in errors[3] and "not a valid choice" in errors[3]["accessibility"][0]
    page = response.content.decode()
    assert "before Strict Lab was founded" in page and "sort_of_open" in page
    assert set(Release.objects.values_list("license", flat=True)) == {""}
    assert not Revision.objects.exists()


def test_an_unknown_slug_in_a_link_is_an_error_on_that_field(editor):
    make_release(make_lab("Link Lab", state=PublicationState.DRAFT), "Link Model", state=PublicationState.DRAFT)
    row, = rows_of(export(editor, Release, "q=Link+Model"))
    row["family"] = "no-such-release"
    result = preview(editor, Release, csv_file([row])).context["result"]
    (invalid,) = result.invalid_rows
    assert "There is no release with the slug “no-such-release”." in invalid.field_specific_errors["family"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exporting_a_filtered_list_and_importing_it_again_changes_nothing(editor, fmt):
    lab = make_lab("Round Lab", summary="=1+1 is not a formula", other_names="Round\nTrip", country="CN",
                   founded=datetime.date(2018, 7, 1), founded_precision="month", website="https://round.example")
    draft_lab = make_lab("Round Draft Lab", parent_lab=lab, state=PublicationState.DRAFT, lead="Some *markdown*\n\nParagraph.")
    family = make_release(lab, "Round Family", kind="model_family")
    make_release(lab, "Round Member", family=family, base_model=family, domains=["language"], parameters=7e9,
                 training_compute=1.6e24, is_flagship=True, description="Line one.\nLine two.")
    make_release(draft_lab, "Round Draft Model", state=PublicationState.DRAFT, released=None)
    make_person("Round Person", bio="-starts with a dash")
    make_source("Round Source", published=datetime.date(2024, 3, 5), accessed=datetime.date(2025, 1, 2))
    # A published lab with a pending draft: the file holds the live version, which is unchanged.
    Revision.objects.create(content_type_id=_content_type(Lab), object_id=lab.pk, data={"root": {}, "parts": {}})
    before = state_of_everything()
    for model, query in ((Lab, "q=Round"), (Release, "q=Round"), (Person, ""), (Source, "")):
        content = export(editor, model, query, fmt)
        assert len(rows_of(content, fmt)) >= 1
        result = preview(editor, model, content, fmt).context["result"]
        assert set(counts(result)) == {"skip"}, (model, [(r.import_type, r.diff) for r in result.rows])
        import_file(editor, model, content, fmt)
    assert state_of_everything() == before


def _content_type(model):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(model).pk


def test_an_editor_cannot_publish_through_an_import(editor, publisher):
    lab = make_lab("Waiting Lab", state=PublicationState.REVIEW)
    row, = rows_of(export(editor, Lab, "q=Waiting"))
    row["state"] = "published"
    response = preview(editor, Lab, csv_file([row]))
    (invalid,) = response.context["result"].invalid_rows
    assert "publishing needs the Publisher role" in invalid.field_specific_errors["state"][0]
    assert response.context.get("confirm_form") is None
    # Nor by adding a published row.
    new = {**row, "slug": "sneaky-lab", "name": "Sneaky Lab"}
    (invalid,) = preview(editor, Lab, csv_file([new])).context["result"].invalid_rows
    assert "state" in invalid.field_specific_errors
    # Nor by setting a go-live time.
    row["state"], row["published_at"] = "review", "2030-01-01T00:00:00+00:00"
    (invalid,) = preview(editor, Lab, csv_file([row])).context["result"].invalid_rows
    assert "published_at" in invalid.field_specific_errors
    lab.refresh_from_db()
    assert lab.state == PublicationState.REVIEW and not Lab.objects.filter(slug="sneaky-lab").exists()
    # Moving it between draft and review is an editor's to do; publishing, a publisher's.
    row["state"], row["published_at"] = "draft", ""
    import_file(editor, Lab, csv_file([row]))
    assert Lab.objects.get(pk=lab.pk).state == PublicationState.DRAFT
    row["state"] = "published"
    import_file(publisher, Lab, csv_file([row]))
    assert Lab.objects.get(pk=lab.pk).state == PublicationState.PUBLISHED


def test_a_published_profile_does_not_change_state_by_import(publisher):
    lab = make_lab("Settled Lab")
    row, = rows_of(export(publisher, Lab, "q=Settled"))
    row["state"] = "archived"
    (invalid,) = preview(publisher, Lab, csv_file([row])).context["result"].invalid_rows
    assert "not by an import" in invalid.field_specific_errors["state"][0]
    assert Lab.objects.get(pk=lab.pk).state == PublicationState.PUBLISHED


def test_import_and_export_need_the_editors_permissions(editor):
    nobody = signed_in("nobody")  # staff, in no group
    for view in ("import", "export"):
        assert nobody.get(admin_url(Lab, view)).status_code == 403
        assert editor.get(admin_url(Lab, view)).status_code == 200
    page = editor.get(admin_url(Lab, "changelist")).content.decode()
    assert admin_url(Lab, "import") in page and admin_url(Lab, "export") in page
    assert "Deleted labs" in page  # the lab list's own tool is still there


def test_a_draft_saved_meanwhile_is_merged_and_a_conflict_refuses_the_row(editor):
    lab = make_lab("Merged Lab", summary="Live summary.", city="Shanghai")
    row, = rows_of(export(editor, Lab, "q=Merged"))
    # Someone saves a draft of the published lab after the export, with a new summary (the
    # admin's own form, posted as a browser would).
    other = signed_in("other", "Editor")
    form = other.get(admin_url(Lab, "change", lab.pk))
    data = form_data(form)
    data["summary"] = "Their summary."
    assert other.post(admin_url(Lab, "change", lab.pk), data).status_code == 302
    assert Lab.objects.get(pk=lab.pk).summary == "Live summary."
    # The file changes another field: both changes end up in the draft.
    row["city"] = "Hangzhou"
    import_file(editor, Lab, csv_file([row]))
    draft = Revision.objects.pending_for(lab)
    assert (draft.data["root"]["summary"], draft.data["root"]["city"]) == ("Their summary.", "Hangzhou")
    # The file changes the summary they changed, differently: refused, with the reason, on that row.
    row["summary"] = "My summary."
    response = preview(editor, Lab, csv_file([row]))
    (invalid,) = response.context["result"].invalid_rows
    assert "changes the same things differently (Summary)" in invalid.non_field_specific_errors[0]
    assert response.context.get("confirm_form") is None
    assert Revision.objects.pending_for(lab) == draft and Lab.objects.get(pk=lab.pk).summary == "Live summary."


def test_a_row_refused_at_the_confirmation_undoes_the_whole_file(editor):
    lab = make_lab("Moving Lab", founded=datetime.date(2010, 1, 1), state=PublicationState.DRAFT)
    make_release(lab, "First Model", state=PublicationState.DRAFT)
    make_release(lab, "Second Model", state=PublicationState.DRAFT)
    rows = sorted(rows_of(export(editor, Release, f"lab__id__exact={lab.pk}")), key=lambda row: row["slug"])
    rows[0]["license"] = "MIT"
    rows[1]["released"], rows[1]["released_precision"] = "2016-01-01", "year"
    shown = preview(editor, Release, csv_file(rows))
    assert counts(shown.context["result"]) == {"update": 2}
    # Meanwhile the lab's founding moves after the second release's new date.
    Lab.objects.filter(pk=lab.pk).update(founded=datetime.date(2018, 1, 1))
    form = shown.context["confirm_form"]
    response = editor.post(reverse("admin:profiles_release_process_import"), dict(form.initial), follow=True)
    assert "Nothing was imported" in response.content.decode()
    assert set(Release.objects.values_list("license", flat=True)) == {""}
