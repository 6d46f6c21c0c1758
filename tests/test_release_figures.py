"""
A release's figures (Epoch AI's columns: domains, parameters, compute, dataset size,
hardware, base model, confidence) and its co-developers: on pages, in the API (fields,
filters, writes validated by the model), in the admin; and the credit Epoch AI's licence
asks for wherever imported values are shown.
"""

import datetime
import html
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from imports.credit import CREDITS
from imports.models import EPOCH, ImportedRecord
from profiles.models import Codeveloper, Lab, PublicationState, Release
from profiles.templatetags.profiles_tags import flop, short_number
from tests.factories import make_lab, make_release
from tests.test_admin import add_inline_row, admin_url, form_data, inline_formset
from tests.test_api_writes import token_client, user_in

pytestmark = pytest.mark.django_db

DRAFT = PublicationState.DRAFT
CREDIT_TEXT = "Data on AI models by Epoch AI, CC BY 4.0"
LAST_MODIFIED = datetime.datetime(2025, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)


def co_develop(release, *labs):
    for order, lab in enumerate(labs):
        row = Codeveloper(release=release, lab=lab, order=order)
        row.full_clean()
        row.save()


def imported(release):
    return ImportedRecord.objects.create(
        dataset=EPOCH, key=release.name, release=release, values={"parameters": release.parameters},
        last_modified=LAST_MODIFIED,
    )


def text(response):
    assert response.status_code == 200, response.status_code
    body = re.sub(r"</(dt|dd|li|p|h[1-6])>", " ", response.content.decode())  # a term and its value apart
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", body)))


@pytest.fixture
def world():
    """A lead lab, two co-developer labs (one a draft), a base model and a fine-tune of it, imported."""
    lead = make_lab("Lead Lab")
    partner = make_lab("Partner Lab")
    hidden = make_lab("Hiddenpartner Lab", state=DRAFT)
    base = make_release(partner, "Base LM", released=datetime.date(2023, 1, 1), parameters=7e9)
    model = make_release(
        lead, "Tuned LM", released=datetime.date(2024, 5, 1), domains=["language", "vision"], parameters=7e9,
        training_compute=1.6e24, dataset_size=1.5e13, training_hardware="NVIDIA A100 SXM4 80 GB",
        base_model=base, confidence="likely",
    )
    co_develop(model, partner, hidden)
    imported(model)
    return {"lead": lead, "partner": partner, "hidden": hidden, "base": base, "model": model}


# --- helpers -----------------------------------------------------------------


@pytest.mark.parametrize("value, shown", [
    (7e9, "7B"), (1.2e12, "1.2T"), (175e9, "175B"), (6.738e9, "6.74B"), (340e6, "340M"), (999.6e6, "1B"),
    (12, "12"), (None, ""),
])
def test_counts_read_as_readers_write_them(value, shown):
    assert short_number(value) == shown


@pytest.mark.parametrize("value, shown", [
    (1.6e24, "1.6 × 10²⁴ FLOP"), (1e24, "1 × 10²⁴ FLOP"), (9.9999e23, "1 × 10²⁴ FLOP"), (3.14e21, "3.14 × 10²¹ FLOP"),
    (None, ""),
])
def test_compute_reads_in_scientific_notation(value, shown):
    assert flop(value) == shown


# --- pages ---------------------------------------------------------------------


def test_a_release_page_shows_its_figures_co_developers_and_the_credit(client, world):
    response = client.get(world["model"].get_absolute_url())
    page = text(response)
    for fact in [
        "Domains Language, Vision", "Parameters 7B", "Training compute 1.6 × 10²⁴ FLOP",
        "Training dataset size 15T datapoints", "Training hardware NVIDIA A100 SXM4 80 GB",
        "Fine-tuned from Base LM (Partner Lab)", "Confidence in these figures Likely",
        "Co-developed with Partner Lab", CREDIT_TEXT,
    ]:
        assert fact in page, fact
    body = response.content.decode()
    assert f'href="{world["base"].get_absolute_url()}"' in body
    assert f'href="{world["partner"].get_absolute_url()}"' in body
    assert 'href="https://epoch.ai/data"' in body and 'href="https://creativecommons.org/licenses/by/4.0/"' in body
    # The draft co-developer is neither linked nor named.
    assert "Hiddenpartner" not in body and world["hidden"].slug not in body


def test_a_draft_base_model_is_not_named_only_the_sources_name_is(client, world):
    base = world["base"]
    base.state = DRAFT
    base.save()
    model = world["model"]
    assert "Fine-tuned from" not in text(client.get(model.get_absolute_url()))
    model.base_model_name = "Llama 2-7B"
    model.save()
    page = text(client.get(model.get_absolute_url()))
    assert "Fine-tuned from Llama 2-7B" in page and "Base LM" not in page


def test_a_release_with_no_import_has_no_credit(client, world):
    assert CREDIT_TEXT not in text(client.get(world["base"].get_absolute_url()))
    assert CREDIT_TEXT not in text(client.get(make_lab("Plain Lab").get_absolute_url()))


def test_a_lab_page_lists_what_it_co_developed_with_the_lead_lab_and_credits_it(client, world):
    page = text(client.get(world["partner"].get_absolute_url()))
    assert "Co-developed with other labs" in page
    assert "Tuned LM, led by Lead Lab (May 2024)" in page
    assert CREDIT_TEXT in page
    # The lead lab's own page credits the import too, and does not list its own release as co-developed.
    lead = text(client.get(world["lead"].get_absolute_url()))
    assert CREDIT_TEXT in lead and "Co-developed with other labs" not in lead


def test_a_draft_release_co_developed_is_not_listed(client, world):
    hidden = make_release(world["lead"], "Secretmodel", state=DRAFT)
    co_develop(hidden, world["partner"])
    assert "Secretmodel" not in client.get(world["partner"].get_absolute_url()).content.decode()


def test_the_release_list_shows_parameters_and_credits_imports(client, world):
    page = text(client.get("/releases/"))
    assert "7B parameters" in page and CREDIT_TEXT in page
    ImportedRecord.objects.all().delete()
    cache.clear()  # (imports' rows do not advance the content generation: the importer saves the release too)
    assert CREDIT_TEXT not in text(client.get("/releases/"))


def test_pages_with_co_developers_take_no_more_queries(client, world):
    def count(url):
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    urls = [
        world["model"].get_absolute_url(), world["partner"].get_absolute_url(), world["lead"].get_absolute_url(),
        "/releases/", "/", f"/api/releases/{world['model'].slug}/", f"/api/labs/{world['partner'].slug}/",
        f"/api/labs/{world['lead'].slug}/", "/api/releases/", "/api/releases/?format=csv",
    ]
    before = [count(url) for url in urls]
    for number in range(5):
        release = make_release(world["lead"], f"More {number}", parameters=1e9)
        co_develop(release, world["partner"], make_lab(f"Partner {number}"))
        imported(release)
    assert [count(url) for url in urls] == before


# --- the API -------------------------------------------------------------------


def test_the_api_gives_the_figures_co_developers_and_provenance(world):
    client = APIClient()
    detail = client.get(f"/api/releases/{world['model'].slug}/").json()
    assert detail["domains"] == ["language", "vision"] and detail["domains_display"] == ["Language", "Vision"]
    assert (detail["parameters"], detail["training_compute"], detail["dataset_size"]) == (7e9, 1.6e24, 1.5e13)
    assert detail["training_hardware"] == "NVIDIA A100 SXM4 80 GB"
    assert detail["base_model"]["slug"] == "base-lm" and detail["base_model"]["url"].endswith("/api/releases/base-lm/")
    assert (detail["confidence"], detail["confidence_display"]) == ("likely", "Likely")
    assert [lab["slug"] for lab in detail["co_developers"]] == ["partner-lab"]
    assert detail["co_developers"][0]["url"].endswith("/api/labs/partner-lab/")
    assert detail["provenance"] == {
        "dataset": "Epoch AI, Data on AI Models", "licence": "CC BY 4.0", "url": "https://epoch.ai/data",
        "last_modified": "2025-03-04T05:06:07Z",
    }
    assert client.get(f"/api/releases/{world['base'].slug}/").json()["provenance"] is None
    # The list (its fast path) says the same.
    listed = {row["slug"]: row for row in client.get("/api/releases/").json()["results"]}
    assert {key: listed["tuned-lm"][key] for key in detail if key in listed["tuned-lm"]} == {
        key: value for key, value in detail.items() if key in listed["tuned-lm"]
    }
    # The lab's profile: its releases with the same fields, and what it co-developed.
    lead = client.get("/api/labs/lead-lab/").json()
    assert lead["releases"][0]["provenance"]["licence"] == "CC BY 4.0"
    assert lead["releases"][0]["co_developers"] == detail["co_developers"]
    partner = client.get("/api/labs/partner-lab/").json()
    assert [(row["slug"], row["lab"]["slug"]) for row in partner["codeveloped_releases"]] == [("tuned-lm", "lead-lab")]
    assert "hiddenpartner" not in str(client.get("/api/releases/?format=csv").content).lower()


def test_a_draft_base_model_is_null_in_the_api(world):
    world["base"].state = DRAFT
    world["base"].save()
    client = APIClient()
    assert client.get(f"/api/releases/{world['model'].slug}/").json()["base_model"] is None
    listed = {row["slug"]: row for row in client.get("/api/releases/").json()["results"]}
    assert listed["tuned-lm"]["base_model"] is None


def test_the_csv_has_the_new_columns(world):
    response = APIClient().get("/api/releases/", {"format": "csv"})
    assert response.status_code == 200
    header = response.content.decode().splitlines()[0].split(",")
    for column in ["domains", "parameters", "training_compute", "base_model.slug", "base_model_name", "confidence",
                   "co_developers", "provenance.dataset", "provenance.licence", "provenance.url"]:
        assert column in header, column


@pytest.mark.parametrize("query, expected", [
    ("domain=vision", ["tuned-lm"]),
    ("domain=speech", []),
    ("confidence=likely", ["tuned-lm"]),
    ("confidence=confident", []),
    ("lab=lead-lab", ["tuned-lm"]),
    # Made or co-developed.
    ("lab=partner-lab", ["tuned-lm", "base-lm"]),
])
def test_filters(world, query, expected):
    response = APIClient().get(f"/api/releases/?{query}")
    assert response.status_code == 200, response.content
    assert [row["slug"] for row in response.json()["results"]] == expected


def test_the_lab_filter_finds_the_labs_releases_by_index_not_by_reading_every_release(world):
    """
    A lab's releases are found through the index of their lab, and those it co-developed by
    key: as an EXISTS per release ORed with the lab, both databases read every release
    (at 50,000 releases, SQLite 152 ms and PostgreSQL 57 ms a request, against 7 and 11).
    """
    with CaptureQueriesContext(connection) as queries:
        response = APIClient().get("/api/releases/?lab=partner-lab")
    assert [row["slug"] for row in response.json()["results"]] == ["tuned-lm", "base-lm"]
    rows_sql = next(query["sql"] for query in queries.captured_queries if '"slug" AS "slug"' in query["sql"])
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {rows_sql}")
            steps = [row[-1] for row in cursor.fetchall()]
            assert not any(step.startswith("SCAN profiles_release") for step in steps), steps
        else:  # a few rows give PostgreSQL no statistics to choose an index by: the condition says it
            cursor.execute(f"EXPLAIN {rows_sql}")
            filters = [row[0] for row in cursor.fetchall() if "Filter:" in row[0] and "lab_id = " in row[0]]
            assert filters and not any("SubPlan" in line for line in filters), filters


def test_filters_refuse_unknown_values_and_draft_labs(world):
    client = APIClient()
    for query in ["domain=cooking", "confidence=sure", f"lab={world['hidden'].slug}"]:
        response = client.get(f"/api/releases/?{query}")
        assert response.status_code == 400, query
        assert query.split("=")[0] in response.json()["error"]["fields"]


def test_the_domain_filter_matches_a_whole_value(world):
    make_release(world["lead"], "Vision Only", domains=["vision"])
    make_release(world["lead"], "Language Only", domains=["language"])
    slugs = [row["slug"] for row in APIClient().get("/api/releases/?domain=language").json()["results"]]
    assert sorted(slugs) == ["language-only", "tuned-lm"]


@pytest.fixture
def publisher():
    return token_client(user_in("Publisher", "pat"))


def test_staff_write_the_figures_and_co_developers(world, publisher):
    draft_lab = make_lab("Draft Writer Lab", state=DRAFT)  # unpublished: written in place
    other = make_lab("Other Writer Lab", state=DRAFT)
    response = publisher.post("/api/releases/", {
        "name": "Written LM", "lab": draft_lab.slug, "domains": ["language"], "parameters": 1.3e9,
        "training_compute": 2e22, "dataset_size": 3e11, "training_hardware": "TPU v4",
        "base_model": world["base"].slug, "base_model_name": "", "confidence": "speculative",
        "co_developers": [world["partner"].slug, other.slug],
    }, format="json")
    assert response.status_code == 201, response.content
    release = Release.objects.get(slug="written-lm")
    assert (release.domains, release.parameters, release.base_model, release.confidence) == (
        ["language"], 1.3e9, world["base"], "speculative",
    )
    assert list(release.codevelopers.values_list("lab__slug", "order")) == [
        ("partner-lab", 0), ("other-writer-lab", 1),
    ]
    # A change of the list replaces it.
    response = publisher.patch("/api/releases/written-lm/", {"co_developers": [other.slug]}, format="json")
    assert response.status_code == 200, response.content
    assert list(release.codevelopers.values_list("lab__slug", flat=True)) == ["other-writer-lab"]


@pytest.mark.parametrize("body, field, message", [
    ({"parameters": -7}, "parameters", "The number of parameters must be a positive number."),
    ({"training_compute": 0}, "training_compute", "The training compute must be a positive number."),
    ({"dataset_size": -1}, "dataset_size", "The training dataset size must be a positive number."),
    ({"domains": ["language", "cooking"]}, "domains", "A list of domains"),
    ({"domains": ["vision", "vision"]}, "domains", "Each domain once."),
    ({"confidence": "sure"}, "confidence", "not a valid choice"),
    ({"base_model": "tuned-lm"}, "base_model", "A release cannot be fine-tuned from itself."),
    ({"co_developers": ["lead-lab"]}, "co_developers", "Lead Lab made this release; a co-developer is another lab."),
    ({"co_developers": ["partner-lab", "partner-lab"]}, "co_developers", "Each co-developer once."),
])
def test_writes_are_validated_by_the_model_with_the_field_named(world, publisher, body, field, message):
    lab = world["lead"]
    lab.state = DRAFT  # edited in place: the answer is the model's verdict on the row
    lab.save()
    response = publisher.patch("/api/releases/tuned-lm/", body, format="json")
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert field in fields, fields
    assert any(message in str(error) for error in fields[field]), fields


def test_a_write_to_a_published_release_is_a_draft_with_its_co_developers(world, publisher):
    other = make_lab("Third Lab")
    response = publisher.patch("/api/releases/tuned-lm/", {"co_developers": ["third-lab"], "parameters": 8e9},
                               format="json")
    assert response.status_code == 200, response.content
    assert response["X-Draft-Revision"]
    assert [lab["slug"] for lab in response.json()["co_developers"]] == ["third-lab"]
    # Readers still see the live release.
    live = APIClient().get("/api/releases/tuned-lm/").json()
    assert live["parameters"] == 7e9 and [lab["slug"] for lab in live["co_developers"]] == ["partner-lab"]
    assert list(Codeveloper.objects.filter(release=world["model"]).values_list("lab", flat=True)) == [
        world["partner"].pk, world["hidden"].pk,
    ]
    assert other.pk  # published only when a publisher publishes the draft
    assert publisher.post("/api/labs/lead-lab/publish/", {}, format="json").status_code == 200
    assert [lab["slug"] for lab in APIClient().get("/api/releases/tuned-lm/").json()["co_developers"]] == ["third-lab"]


# --- the admin -----------------------------------------------------------------


def test_the_admin_edits_domains_as_boxes_and_co_developers_inline(admin_client, world):
    model = world["model"]
    model.lab.state = DRAFT  # edited in place
    model.lab.save()
    url = admin_url(Release, "change", model.pk)
    page = admin_client.get(url)
    body = page.content.decode()
    assert 'type="checkbox" name="domains" value="language"' in body and "Figures" in body
    data = form_data(page)
    assert data["domains"] == ["language", "vision"]
    data["domains"] = ["vision", "speech"]
    data["parameters"] = "8000000000"
    add_inline_row(data, "codevelopers", lab=str(make_lab("Admin Partner").pk), order="5")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    model.refresh_from_db()
    assert model.domains == ["vision", "speech"] and model.parameters == 8e9
    assert "admin-partner" in model.codevelopers.values_list("lab__slug", flat=True)


def test_the_admin_keeps_the_stored_order_of_domains_when_nothing_changed(admin_client, world):
    model = world["model"]
    model.domains = ["vision", "language"]
    model.lab.state = DRAFT
    model.lab.save()
    model.save()
    url = admin_url(Release, "change", model.pk)
    data = form_data(admin_client.get(url))
    data["domains"] = ["language", "vision"]  # as the boxes post them: in the choices' order
    assert admin_client.post(url, data).status_code == 302
    model.refresh_from_db()
    assert model.domains == ["vision", "language"]


def test_the_admin_refuses_a_negative_count_and_the_lead_lab_as_co_developer(admin_client, world):
    model = world["model"]
    model.lab.state = DRAFT
    model.lab.save()
    url = admin_url(Release, "change", model.pk)
    data = form_data(admin_client.get(url))
    data["parameters"] = "-3"
    row = add_inline_row(data, "codevelopers", lab=str(model.lab.pk), order="9")
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parameters"] == [
        "The number of parameters must be a positive number."
    ]
    assert inline_formset(response, "codevelopers").forms[row].errors["lab"] == [
        "Lead Lab made this release; a co-developer is another lab."
    ]


def test_the_lab_page_inline_has_the_figures(admin_client, world):
    lab = world["lead"]
    lab.state = DRAFT
    lab.save()
    url = admin_url(Lab, "change", lab.pk)
    page = admin_client.get(url)
    prefix = inline_formset(page, "releases").prefix
    assert f'name="{prefix}-0-domains"' in page.content.decode()
    data = form_data(page)
    data[f"{prefix}-0-parameters"] = "9000000000"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Release.objects.get(slug="tuned-lm").parameters == 9e9


def test_the_credit_is_said_once():
    credit = CREDITS[EPOCH]
    assert f"{credit.text}, {credit.licence}" == CREDIT_TEXT
    assert (credit.url, credit.licence_url) == ("https://epoch.ai/data", "https://creativecommons.org/licenses/by/4.0/")


def test_an_admin_edit_of_a_published_release_and_its_co_developers_is_a_draft(admin_client, client, world):
    from profiles.models import Revision

    model = world["model"]
    url = admin_url(Release, "change", model.pk)
    data = form_data(admin_client.get(url))
    data["domains"] = ["speech"]
    add_inline_row(data, "codevelopers", lab=str(make_lab("Drafted Partner").pk), order="7")
    assert admin_client.post(url, data).status_code == 302
    # The live rows are as readers saw them; the draft holds the change, co-developer included.
    model.refresh_from_db()
    assert model.domains == ["language", "vision"]
    assert "Drafted Partner" not in text(client.get(model.get_absolute_url()))
    draft = Revision.objects.pending_for(world["lead"]).data
    assert any(row["lab_id"] == Lab.objects.get(slug="drafted-partner").pk for row in draft["parts"]["codevelopers"].values())
    assert any(row["domains"] == ["speech"] for row in draft["parts"]["releases"].values())


def test_an_error_in_one_co_developer_names_the_item_in_a_flat_list(db):
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from tests.factories import make_lab

    lab = make_lab("Errand Lab", state="published")
    user = User.objects.create_user("apiuser", is_staff=True)
    user.groups.add(Group.objects.get(name="Editor"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = client.post("/api/releases/", {"name": "X", "slug": "x-model", "lab": lab.slug, "co_developers": [None]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["co_developers"] == ["item 1: This field may not be null."]
