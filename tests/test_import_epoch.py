"""
The Epoch AI import (imports/epoch.py, `manage.py import_epoch`), on small CSV files
written here in both column layouts, and once on the whole snapshot (slow).
"""

import csv
import datetime
import io
import re

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from imports.epoch import LAYOUTS, read_file
from imports.models import ImportedRecord, ImportRun, LabAlias, ProposedChange
from profiles import documents
from profiles.models import Citation, Codeveloper, Lab, PublicationState, Release, Revision, Source

HEADER_2025 = list(LAYOUTS["2025"].values()) + ["Authors", "Abstract"]
HEADER_2026 = list(LAYOUTS["2026"].values()) + ["Authors", "Abstract"]


def row(**values):
    """A row of the 2025 layout, by our names (imports.epoch.LAYOUTS)."""
    base = {name: "" for name in LAYOUTS["2025"]}
    base.update(values)
    return base


def write_csv(tmp_path, rows, layout="2025", name="models.csv", header=None):
    columns = LAYOUTS[layout]
    header = header or (HEADER_2025 if layout == "2025" else HEADER_2026)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for values in rows:
        by_header = {columns[ours]: value for ours, value in values.items() if ours in columns}
        writer.writerow([by_header.get(column, "") for column in header])
    path = tmp_path / name
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def run_import(path, starting=False):
    out = io.StringIO()
    call_command("import_epoch", str(path), "--no-progress", *(["--starting-data"] if starting else []), stdout=out)
    return ImportRun.objects.latest("started"), out.getvalue()


INTERNLM25 = row(
    model="InternLM2.5", organization="Shanghai AI Lab", categories="Academia", countries="China",
    date="2024-08-01", accessibility="Open weights (restricted use)", confidence="Confident", domain="Language",
    parameters="20000000000.0", link="https://github.com/InternLM/InternLM", reference="InternLM2.5 on GitHub",
    last_modified="2025-02-07 18:56:39+00:00",
)
HGRN2 = row(
    model="HGRN2 1B", organization="Shanghai AI Lab,Massachusetts Institute of Technology (MIT),Taptap",
    categories="Academia,Academia,Industry", countries="China,United States of America,China",
    date="2024-04-11", domain="Language", parameters="1000000000.0", training_compute="1.2e+21",
    confidence="Likely", link="https://arxiv.org/abs/2404.07904", reference="HGRN2: Gated Linear RNNs",
    base_model="HGRN 1B", last_modified="2025-01-03 16:17:13+00:00",
)
HGRN1 = row(
    model="HGRN 1B", organization="Shanghai AI Lab", countries="China", categories="Academia",
    date="2023-11-01", domain="Language", accessibility="Open weights (unrestricted)",
    last_modified="2025-01-03 15:41:38+00:00",
)


def api_releases(**params):
    response = APIClient().get("/api/releases/", params)
    assert response.status_code == 200
    return {item["name"]: item for item in response.json()["results"]}


# --------------------------------------------------------------------------
# The starting set: published at once, the seed's values winning
# --------------------------------------------------------------------------


def test_starting_data_adds_releases_to_the_seed_lab_and_keeps_the_seeds_values(starting_data, tmp_path):
    run, output = run_import(write_csv(tmp_path, [INTERNLM25, HGRN2, HGRN1]), starting=True)

    assert run.status == "succeeded" and run.layout == "2025"
    assert "Imported 3 rows" in output
    lab = Lab.objects.get(slug="shanghai-ai-laboratory")
    hgrn2 = Release.objects.get(name="HGRN2 1B")
    # The first organisation is the lab; the others are co-developers, not dropped.
    assert hgrn2.lab == lab
    assert [c.lab.name for c in hgrn2.codevelopers.order_by("order")] == ["Massachusetts Institute of Technology (MIT)", "Taptap"]
    mit = Lab.objects.get(name="Massachusetts Institute of Technology (MIT)")
    assert mit.country == "US" and mit.kind == "university_lab" and mit.state == PublicationState.PUBLISHED
    assert Lab.objects.get(name="Taptap").kind == "company"
    # Figures, and the base model as a link to the release it was built from.
    assert hgrn2.parameters == 1e9 and hgrn2.training_compute == 1.2e21 and hgrn2.confidence == "likely"
    assert hgrn2.domains == ["language"] and hgrn2.base_model == Release.objects.get(name="HGRN 1B")
    # Readers see the new releases through the API at once.
    names = api_releases(lab="shanghai-ai-laboratory")
    assert {"HGRN2 1B", "HGRN 1B", "InternLM2.5"} <= set(names)

    # The seed's InternLM2.5 says July 2024 and unrestricted; Epoch says 1 August 2024
    # (a first of the month: August 2024) and restricted. Ours stays; both wait for a Publisher.
    internlm = Release.objects.get(slug="internlm2-5")
    assert internlm.released_display == "July 2024" and internlm.accessibility == "open_unrestricted"
    proposed = {p.field: p for p in ProposedChange.objects.filter(release=internlm)}
    assert set(proposed) == {"released", "accessibility"}
    assert (proposed["released"].ours, proposed["released"].theirs) == ("2024-07", "2024-08")
    assert proposed["accessibility"].theirs == "open_restricted"
    assert proposed["accessibility"].their_source.url == "https://github.com/InternLM/InternLM"
    assert "line 2" in proposed["accessibility"].their_row and proposed["accessibility"].our_sources
    # A value we lacked is filled.
    assert internlm.confidence == "confident"


def test_each_imported_release_cites_its_row_and_the_dataset(starting_data, tmp_path):
    run_import(write_csv(tmp_path, [HGRN2]), starting=True)
    release = Release.objects.get(name="HGRN2 1B")
    sources = {c.source.url: c for c in Citation.objects.filter(release=release).select_related("source")}
    assert set(sources) == {"https://arxiv.org/abs/2404.07904", "https://epoch.ai/data"}
    assert sources["https://arxiv.org/abs/2404.07904"].source.title == "HGRN2: Gated Linear RNNs"
    assert "last modified 2025-01-03" in sources["https://epoch.ai/data"].claim
    record = ImportedRecord.objects.get(release=release)
    assert record.values["parameters"] == 1e9 and record.last_modified.year == 2025


def test_dates_keep_the_precision_epoch_means(db, tmp_path):
    rows = [
        row(model="Day", organization="Lab A", date="2024-08-05"),
        row(model="Month", organization="Lab A", date="2024-08-01"),
        row(model="Year", organization="Lab A", date="2024-01-01"),
        row(model="Undated", organization="Lab A"),
    ]
    run_import(write_csv(tmp_path, rows), starting=True)
    shown = {r.name: r.released_display for r in Release.objects.all()}
    assert shown == {"Day": "5 August 2024", "Month": "August 2024", "Year": "2024", "Undated": ""}
    page = APIClient().get(Release.objects.get(name="Month").get_absolute_url())
    assert "August 2024" in page.content.decode() and "1 August 2024" not in page.content.decode()


def test_starting_data_is_dated_by_the_rows_last_modified(db, tmp_path):
    run_import(write_csv(tmp_path, [HGRN1]), starting=True)
    release = Release.objects.get(name="HGRN 1B")
    assert release.published_at.isoformat().startswith("2025-01-03T15:41:38")
    assert release.updated == release.published_at
    assert release.lab.published_at.date().isoformat() == "2025-01-03"


# --------------------------------------------------------------------------
# Into published profiles: drafts and proposed changes, never live by itself
# --------------------------------------------------------------------------


def test_an_import_into_a_published_lab_waits_in_its_draft(starting_data, tmp_path):
    lab = Lab.objects.get(slug="shanghai-ai-laboratory")
    page_before = APIClient().get(lab.get_absolute_url()).content

    run, _ = run_import(write_csv(tmp_path, [HGRN2, INTERNLM25]))

    # Live: nothing new, nothing changed.
    assert not Release.objects.filter(name="HGRN2 1B").exists()
    assert "HGRN2 1B" not in APIClient().get(lab.get_absolute_url()).content.decode()
    assert Release.objects.get(slug="internlm2-5").accessibility == "open_unrestricted"
    assert page_before.count(b"InternLM2.5") == APIClient().get(lab.get_absolute_url()).content.count(b"InternLM2.5")
    # The draft holds the new release, its co-developers and its citations.
    draft = Revision.objects.pending_for(lab)
    assert draft is not None and run.counts["drafts"] == 1
    releases = {values["name"]: values for values in draft.data["parts"]["releases"].values()}
    assert releases["HGRN2 1B"]["parameters"] == 1e9
    assert len(draft.data["parts"]["codevelopers"]) == 2
    # The disagreements are proposed, not in the draft.
    assert releases["InternLM2.5"]["accessibility"] == "open_unrestricted"
    assert ProposedChange.objects.filter(release__slug="internlm2-5").count() == 2
    # New organisations are draft labs, with unconfirmed aliases listed on the run.
    mit = Lab.objects.get(name="Massachusetts Institute of Technology (MIT)")
    assert mit.state == PublicationState.DRAFT
    assert "Massachusetts Institute of Technology (MIT)" in run.new_names
    assert LabAlias.objects.get(name="Massachusetts Institute of Technology (MIT)").confirmed is False
    assert LabAlias.objects.get(name="Shanghai AI Lab").lab == lab

    # Publishing the draft puts the release live, with its co-developers.
    documents.publish(lab, None)
    hgrn2 = Release.objects.get(name="HGRN2 1B")
    assert hgrn2.lab == lab and hgrn2.codevelopers.count() == 2


def test_importing_the_same_file_twice_changes_nothing(starting_data, tmp_path):
    path = write_csv(tmp_path, [HGRN2, INTERNLM25, HGRN1])
    run_import(path)
    lab = Lab.objects.get(slug="shanghai-ai-laboratory")
    counts = {
        model: model.objects.count()
        for model in (Lab, Release, Source, Citation, Codeveloper, LabAlias, ProposedChange, Revision, ImportedRecord)
    }
    history = Release.history.count(), Lab.history.count()
    draft = Revision.objects.pending_for(lab)

    run, output = run_import(path)

    assert {model: model.objects.count() for model in counts} == counts
    assert (Release.history.count(), Lab.history.count()) == history
    assert Revision.objects.pending_for(lab) == draft
    assert run.counts.get("releases created", 0) == 0 and run.counts.get("proposed changes", 0) == 0
    assert run.counts["rows unchanged"] == 3


def test_a_newer_file_proposes_only_what_changed(db, tmp_path):
    run_import(write_csv(tmp_path, [HGRN1, HGRN2]), starting=True)
    hgrn1 = Release.objects.get(name="HGRN 1B")
    # An editor corrects one value of their own.
    hgrn1.parameters = 1.1e9
    hgrn1.save()

    newer = [
        {**HGRN1, "parameters": "1200000000.0", "hardware": "NVIDIA A100", "last_modified": "2025-03-01 10:00:00+00:00"},
        {**HGRN2, "training_compute": "1.5e+21"},
    ]
    run, _ = run_import(write_csv(tmp_path, newer, name="newer.csv"))

    hgrn1.refresh_from_db()
    hgrn2 = Release.objects.get(name="HGRN2 1B")
    # Ours differs from what we imported: a proposal, not an overwrite.
    assert hgrn1.parameters == 1.1e9
    assert ProposedChange.objects.get(release=hgrn1, field="parameters").theirs == 1.2e9
    # A value we lacked, and one we had kept as Epoch gave it, follow the new file: the lab
    # is published, so they wait in its draft.
    lab = hgrn1.lab
    draft = Revision.objects.pending_for(lab)
    rows = {values["name"]: values for values in draft.data["parts"]["releases"].values()}
    assert rows["HGRN 1B"]["training_hardware"] == "NVIDIA A100"
    assert rows["HGRN2 1B"]["training_compute"] == 1.5e21
    assert hgrn2.training_compute == 1.2e21  # live until a Publisher publishes
    assert ProposedChange.objects.count() == 1


# --------------------------------------------------------------------------
# Bad input: reported with line and column, nothing half-imported
# --------------------------------------------------------------------------


def test_bad_rows_are_reported_with_line_and_column_and_skipped(db, tmp_path):
    rows = [
        row(model="Good", organization="Lab A", parameters="7e9"),
        row(model="Bad number", organization="Lab A", parameters="seven billion"),
        row(model="Bad access", organization="Lab A", accessibility="Open-ish"),
        row(model="", organization="Lab A"),
        row(model="Bad domain", organization="Lab A", domain="Telepathy"),
    ]
    # A multi-line quoted cell moves later rows down the file: lines are the file's.
    rows[0]["reference"] = "A title\nover two lines"
    run, output = run_import(write_csv(tmp_path, rows), starting=True)

    problems = {(p["line"], p["column"]) for p in run.problems}
    assert problems == {(4, "Parameters"), (5, "Model accessibility"), (6, "Model"), (7, "Domain")}
    assert "line 4, column 'Parameters' (Bad number): 'seven billion' is not a number." in output
    assert list(Release.objects.values_list("name", flat=True)) == ["Good"]


def test_a_failure_midway_leaves_nothing_behind(starting_data, tmp_path, monkeypatch):
    before = {model: model.objects.count() for model in (Lab, Release, Source, Citation, LabAlias, ImportedRecord)}

    def explode(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr("imports.epoch.Importer.save_records", explode)
    with pytest.raises(RuntimeError):
        run_import(write_csv(tmp_path, [HGRN2, HGRN1]), starting=True)
    assert {model: model.objects.count() for model in before} == before
    assert ImportRun.objects.get().status == "failed"


def test_an_unknown_layout_is_refused_with_the_columns_expected(db, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("Name,Org,Date\nX,Y,2024-01-01\n", encoding="utf-8")
    with pytest.raises(CommandError) as error:
        run_import(path)
    message = str(error.value)
    assert "Unknown column layout" in message and "'Country (from Organization)'" in message
    assert "'Country (of organization)'" in message
    assert not Lab.objects.exists()


# --------------------------------------------------------------------------
# The 2026 layout
# --------------------------------------------------------------------------


def test_the_2026_layout_imports_the_same(db, tmp_path):
    modern = {key: value for key, value in HGRN2.items() if key != "last_modified"}
    run, _ = run_import(write_csv(tmp_path, [modern], layout="2026"), starting=True)
    assert run.layout == "2026"
    release = Release.objects.get(name="HGRN2 1B")
    assert release.lab.name == "Shanghai AI Lab" and release.lab.country == "CN"
    assert release.codevelopers.count() == 2


def test_a_model_named_twice_is_imported_once(db, tmp_path):
    older = row(model="SigLIP", organization="Google DeepMind", parameters="4e8", last_modified="2025-01-03 17:38:06+00:00")
    newer = row(model="SigLIP", organization="Google DeepMind", parameters="4.5e8", last_modified="2025-02-18 19:21:03+00:00")
    run, _ = run_import(write_csv(tmp_path, [older, newer]), starting=True)
    assert Release.objects.get(name="SigLIP").parameters == 4.5e8
    assert run.counts["rows merged"] == 1


def test_multinational_is_kept_and_unknown_countries_are_reported(db, tmp_path):
    rows = [
        row(model="M1", organization="Global Lab", countries="Multinational"),
        row(model="M2", organization="Nowhere Lab", countries="Atlantis"),
    ]
    run, _ = run_import(write_csv(tmp_path, rows), starting=True)
    lab = Lab.objects.get(name="Global Lab")
    assert lab.country == "XM" and lab.country.name == "Multinational"
    assert [(p["line"], p["column"]) for p in run.problems] == [(3, "Country (from Organization)")]


# --------------------------------------------------------------------------
# The whole snapshot
# --------------------------------------------------------------------------


@pytest.mark.slow
def test_the_whole_snapshot_imports_and_every_row_is_accounted_for(starting_data):
    run, output = run_import("fixtures/datasets/epoch-ai-models-2025-03-11.csv", starting=True)
    epoch_file = read_file("fixtures/datasets/epoch-ai-models-2025-03-11.csv")
    assert run.rows_total == 2228
    # Every row: imported (a record), merged into another, or reported.
    assert ImportedRecord.objects.filter(kind="model").count() + run.counts["rows merged"] + run.counts["rows reported"] == 2228
    assert len(epoch_file.rows) == ImportedRecord.objects.filter(kind="model").count()
    assert Lab.objects.published().count() >= 800
    assert Release.objects.published().count() >= 2000
    assert len(api_releases(lab="shanghai-ai-laboratory", page_size=100)) >= 25
    assert ProposedChange.objects.filter(release__slug="internlm2-5", status="open").count() == 2
    assert re.search(r"in \d+\.\d s", output)


def test_a_seed_lab_gets_the_country_it_lacked_dated_by_the_rows(starting_data, tmp_path):
    lab = Lab.objects.get(slug="deepseek")
    assert not lab.country
    deepseek = row(model="DeepSeek-V3", organization="DeepSeek", countries="China", categories="Industry",
                   last_modified="2025-01-20 10:00:00+00:00")
    run_import(write_csv(tmp_path, [deepseek]), starting=True)
    lab.refresh_from_db()
    assert lab.country == "CN"
    # "Last updated" is the later of the seed's date and the row's, not the moment of loading.
    assert lab.updated.date().isoformat() == "2026-04-01"


@pytest.mark.slow
def test_every_fact_of_the_seed_survives_the_whole_snapshot(starting_data):
    """The seed's values win: after the import each one is unchanged, or (a date) told more precisely."""
    from profiles.models import Person
    from profiles.partial_dates import iso_partial_date

    def facts():
        found = {}
        for root in [*Lab.objects.filter(state="published"), *Person.objects.all(), *Source.objects.all()]:
            document = documents.snapshot(root)
            rows = {("root", ""): document["root"]}
            rows.update({(part, key): values for part, entries in document["parts"].items() for key, values in entries.items()})
            for (part, key), values in rows.items():
                if "released" in values:
                    day = datetime.date.fromisoformat(values["released"]) if values["released"] else None
                    values = dict(values, released=iso_partial_date(day, values["released_precision"]))
                    values.pop("released_precision")
                for field, value in values.items():
                    found[(type(root).__name__, root.pk, part, key, field)] = value
        return found

    seed = {where: value for where, value in facts().items() if value not in (None, "", [], "unknown")}
    run_import("fixtures/datasets/epoch-ai-models-2025-03-11.csv", starting=True)
    after = facts()
    changed = {
        where: (value, after.get(where)) for where, value in seed.items()
        if after.get(where) != value and not (where[-1] == "released" and str(after.get(where)).startswith(value + "-"))
    }
    assert changed == {}
    assert len(seed) > 300  # the seed's facts: every non-empty field of its labs, people, releases and sources
