"""The editors' admin: every page opens, one page edits a whole lab, bad data is refused on the right field."""

import datetime
import html

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from profiles.models import (
    MARKDOWN_HELP,
    Backing,
    Citation,
    Lab,
    LabRelation,
    Organization,
    Person,
    PublicationState,
    Release,
    Role,
    Section,
    Source,
)
from tests.factories import (
    cite,
    make_backing,
    make_lab,
    make_organization,
    make_person,
    make_relation,
    make_release,
    make_role,
    make_section,
    make_source,
)

pytestmark = pytest.mark.django_db

MODELS = [Lab, Organization, Person, Role, Release, Source, Citation, Section, Backing, LabRelation]


# --- helpers ---------------------------------------------------------------


def admin_url(model, view, *args):
    return reverse(f"admin:profiles_{model._meta.model_name}_{view}", args=args)


def build_row(model, i=0):
    """One row of ``model`` with the related rows its changelist shows (so N+1 queries would show)."""
    if model is Lab:
        lab = make_lab(parent_organization=make_organization())
        make_release(lab=lab)
        make_role(lab=lab, title="Director")
        return lab
    if model is Organization:
        return make_organization(parent=make_organization())
    if model is Person:
        person = make_person()
        make_role(person=person, lab=make_lab())
        return person
    if model is Role:
        return make_role(lab=make_lab())
    if model is Release:
        family = make_release()
        return make_release(lab=family.lab, family=family)
    if model is Source:
        source = make_source()
        cite(source, lab=make_lab())
        return source
    if model is Citation:
        lab = make_lab()
        target = [
            {"lab": lab},
            {"section": make_section(lab)},
            {"release": make_release(lab=lab)},
            {"person": make_person()},
        ][i % 4]
        return cite(make_source(), **target)
    if model is Section:
        return make_section(make_lab())
    if model is Backing:
        return make_backing(make_lab())
    if model is LabRelation:
        return make_relation(make_lab(), make_lab())
    raise AssertionError(model)


def form_data(response):
    """The data the page's form posts when the editor presses Save without changing anything."""
    all_forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets") or []:  # none on a revert page
        all_forms.append(inline.formset.management_form)
        all_forms.extend(inline.formset.forms)
    data = {}
    for form in all_forms:
        for name, field in form.fields.items():
            bound = form[name]
            value = bound.value()
            if isinstance(field.widget, forms.MultiWidget):  # published_at: a date box and a time box
                for index, part in enumerate(field.widget.decompress(value)):
                    data[f"{bound.html_name}_{index}"] = "" if part is None else str(part)
            elif isinstance(field, forms.BooleanField):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(field, forms.MultipleChoiceField):  # a release's domains: a box per value
                data[bound.html_name] = [str(item) for item in value or []]
            else:
                data[bound.html_name] = "" if value is None else str(value)
    return data


def add_inline_row(data, prefix, **fields):
    """Press "Add another" in the inline ``prefix`` and fill the new row."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = value
    return index


def inline_formset(response, prefix):
    inlines = response.context["inline_admin_formsets"]
    return next(inline.formset for inline in inlines if inline.formset.prefix == prefix)


def page_text(response):
    return html.unescape(response.content.decode())


# --- every page opens --------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_changelist_add_and_change_pages_open(admin_client, model):
    row = build_row(model)
    changelist = admin_client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert row in changelist.context["cl"].result_list
    assert admin_client.get(admin_url(model, "add")).status_code == 200
    change = admin_client.get(admin_url(model, "change", row.pk))
    assert change.status_code == 200
    assert change.context["original"] == row


def test_admin_index_carries_the_editors_branding(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "<title>Lab profiles | labsite editors</title>" in response.content.decode()
    assert "labsite editors" in response.context["site_header"]


# --- lists -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, query, expected",
    [
        (Lab, "上海人工智能", "Shanghai AI Laboratory"),  # native name
        (Lab, "Shanghai AI Lab", "Shanghai AI Laboratory"),  # other names
        (Release, "Shanghai", "InternLM2.5"),  # by its lab's name
        (Person, "乔宇", "Yu Qiao"),
        (Role, "Yu Qiao", "Yu Qiao: Director, Shanghai AI Laboratory"),
        (Source, "nextomoro", "Shanghai AI Laboratory profile"),  # by publisher
    ],
)
def test_changelist_search_finds_the_row_and_only_it(admin_client, model, query, expected):
    lab = make_lab("Shanghai AI Laboratory", native_name="上海人工智能实验室", other_names="Shanghai AI Lab")
    other = make_lab("Beijing Academy of Artificial Intelligence")
    make_release(lab=lab, name="InternLM2.5")
    make_release(lab=other, name="Aquila")
    make_role(person=make_person("Yu Qiao", native_name="乔宇"), lab=lab, title="Director")
    make_role(person=make_person("Someone Else"), lab=other, title="Director")
    make_source("Shanghai AI Laboratory profile", publisher="Nextomoro")
    make_source("Another article", publisher="Elsewhere")

    response = admin_client.get(admin_url(model, "changelist"), {"q": query})

    assert response.status_code == 200
    assert [str(row) for row in response.context["cl"].result_list] == [expected]


def test_lab_list_shows_founding_as_written_counts_and_schedule(admin_client):
    lab = make_lab("Shanghai AI Laboratory", founded=datetime.date(2020, 7, 1), founded_precision="month")
    make_release(lab=lab)
    make_release(lab=lab)
    make_role(person=make_person("Yu Qiao"), lab=lab, title="Director")
    make_lab("Scheduled Lab", published_at=datetime.datetime(2999, 1, 1, 9, 0, tzinfo=datetime.timezone.utc))

    text = page_text(admin_client.get(admin_url(Lab, "changelist")))

    assert '<td class="field-founded_column">July 2020</td>' in text
    assert '<td class="field-release_count">2</td>' in text
    assert '<td class="field-director_column">Yu Qiao</td>' in text
    assert '<td class="field-publication">Scheduled for 01 Jan 2999 09:00</td>' in text


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_changelist_queries_do_not_grow_with_rows(admin_client, django_assert_max_num_queries, model):
    build_row(model, 0)
    url = admin_url(model, "changelist")
    admin_client.get(url)  # warm caches (content types, session) so both counts are like for like
    with CaptureQueriesContext(connection) as one_row:
        assert admin_client.get(url).status_code == 200
    for i in range(1, 30):
        build_row(model, i)

    with django_assert_max_num_queries(len(one_row.captured_queries)):
        response = admin_client.get(url)

    assert len(response.context["cl"].result_list) == model.objects.count() >= 30


def test_publish_action_puts_drafts_live(admin_client):
    draft = make_lab(state=PublicationState.DRAFT)

    response = admin_client.post(
        admin_url(Lab, "changelist"), {"action": "publish", "_selected_action": [draft.pk]}, follow=True
    )

    draft.refresh_from_db()
    assert draft.is_public
    assert "Published 1 of 1 selected." in page_text(response)


# --- the lab page edits the whole profile --------------------------------------


def test_lab_change_page_shows_every_part_of_the_profile(admin_client):
    lab = make_lab("Shanghai AI Laboratory")
    make_section(lab, kind="origins", body="Founded in July 2020 by the municipal government.")
    make_role(person=make_person("Yu Qiao"), lab=lab, title="Director")
    make_release(lab=lab, name="InternLM2.5")
    make_backing(lab, make_organization("Shanghai Municipal Government"))
    make_relation(lab, make_lab("Beijing Academy of Artificial Intelligence"))
    cite(make_source("Shanghai AI Laboratory profile"), lab=lab)

    response = admin_client.get(admin_url(Lab, "change", lab.pk))

    inlines = {inline.formset.prefix: inline.formset for inline in response.context["inline_admin_formsets"]}
    assert list(inlines) == ["sections", "roles", "releases", "backings", "relations", "citations"]
    assert all(len(formset.forms) == 1 for formset in inlines.values())
    text = page_text(response)
    for shown in [
        "Founded in July 2020 by the municipal government.",
        "Yu Qiao",
        "InternLM2.5",
        "Shanghai Municipal Government",
        "Beijing Academy of Artificial Intelligence",
        "Shanghai AI Laboratory profile",
    ]:
        assert shown in text
    for heading in ["Identity", "At a glance", "Profile text", "Cross-links", "Publication"]:
        assert f">{heading}</h2>" in text


def test_markdown_fields_are_monospace_boxes_with_their_help(admin_client):
    lab = make_lab()
    make_section(lab)

    response = admin_client.get(admin_url(Lab, "change", lab.pk))

    assert "markdown" in response.context["adminform"].form["lead"].field.widget.attrs["class"]
    assert "markdown" in inline_formset(response, "sections").forms[0]["body"].field.widget.attrs["class"]
    assert "admin-extra/admin.css" in response.content.decode()
    assert MARKDOWN_HELP in page_text(response)


def test_view_on_site_is_offered_for_drafts_too_since_staff_see_a_draft_banner(admin_client):
    # Staff open a draft or scheduled row at its real URL (the public page shows it with a
    # "draft" banner), so the link is offered whatever the state.
    live = make_lab()
    draft = make_lab(state=PublicationState.DRAFT)
    scheduled = make_lab(published_at=datetime.datetime(2999, 1, 1, tzinfo=datetime.timezone.utc))
    for lab in [live, draft, scheduled]:
        assert "View on site" in admin_client.get(admin_url(Lab, "change", lab.pk)).content.decode()


def test_new_lab_is_saved_with_its_sections_in_one_go(admin_client):
    add_page = admin_client.get(admin_url(Lab, "add"))
    # Rows checked against the saved lab wait for the first save, and the form says so.
    assert [inline.formset.prefix for inline in add_page.context["inline_admin_formsets"]] == [
        "sections", "backings", "relations",
    ]
    assert "can be added after the first save" in page_text(add_page)
    data = form_data(add_page)
    data.update(name="Tsinghua KEG", slug="tsinghua-keg", state=PublicationState.DRAFT)
    add_inline_row(data, "sections", kind="origins", heading="", slug="", order="0", body="Knowledge *engineering*.")

    response = admin_client.post(admin_url(Lab, "add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    lab = Lab.objects.get(slug="tsinghua-keg")
    section = lab.sections.get()
    assert section.slug == "origins"  # an empty slug is made from the kind
    assert section.body_html == "<p>Knowledge <em>engineering</em>.</p>\n"


def test_edit_through_the_admin_reaches_the_public_page_and_the_api(admin_client, client):
    lab = make_lab("Shanghai AI Laboratory", summary="An old summary.")
    make_section(lab, kind="origins", body="An old history.")
    data = form_data(admin_client.get(admin_url(Lab, "change", lab.pk)))
    data["summary"] = "A Shanghai research institute, freshly summarised."
    data["sections-0-body"] = "Founded by **quokkas** in July 2020."

    response = admin_client.post(admin_url(Lab, "change", lab.pk), data)

    assert response.status_code == 302
    # A published profile's edit is a draft: it reaches readers when it is published.
    assert admin_client.post(admin_url(Lab, "draft_publish", lab.pk)).status_code == 302
    lab.refresh_from_db()
    assert lab.summary == "A Shanghai research institute, freshly summarised."
    assert "<strong>quokkas</strong>" in lab.sections.get().body_html
    page = client.get(f"/labs/{lab.slug}/")
    assert page.status_code == 200
    assert "A Shanghai research institute, freshly summarised." in page_text(page)
    assert "<strong>quokkas</strong>" in page.content.decode()
    api = client.get(f"/api/labs/{lab.slug}/", HTTP_ACCEPT="application/json")
    assert api.status_code == 200
    profile = api.json()
    assert profile["summary"] == "A Shanghai research institute, freshly summarised."
    assert [section["body_html"] for section in profile["sections"]] == [
        "<p>Founded by <strong>quokkas</strong> in July 2020.</p>\n"
    ]


# --- bad data is refused, with the message on the field it concerns ---------------


def test_role_ending_before_it_starts_is_refused_on_the_end_field(admin_client):
    person, lab = make_person(), make_lab()
    data = form_data(admin_client.get(admin_url(Role, "add")))
    data.update(
        person=person.pk, lab=lab.pk, title="Director",
        start="2022-03-01", start_precision="day", end="2021-01-01", end_precision="day",
    )

    response = admin_client.post(admin_url(Role, "add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["end"] == ["The end date cannot be before the start date."]
    assert not Role.objects.exists()


def test_role_ending_before_it_starts_is_refused_in_the_lab_page(admin_client):
    lab, person = make_lab(), make_person()
    data = form_data(admin_client.get(admin_url(Lab, "change", lab.pk)))
    row = add_inline_row(
        data, "roles", person=str(person.pk), title="Director", order="0",
        start="2022", start_precision="year", end="2021-06-01", end_precision="month",
    )
    data["roles-0-start"] = "2022-01-01"

    response = admin_client.post(admin_url(Lab, "change", lab.pk), data)

    assert response.status_code == 200
    errors = inline_formset(response, "roles").forms[row].errors
    assert errors["end"] == ["The end date cannot be before the start date."]
    assert not Role.objects.exists()


def test_release_before_the_lab_was_founded_is_refused_on_the_released_field(admin_client):
    lab = make_lab("Shanghai AI Laboratory", founded=datetime.date(2020, 7, 1), founded_precision="month")
    data = form_data(admin_client.get(admin_url(Release, "add")))
    data.update(
        lab=lab.pk, name="InternLM0", slug="internlm0", kind="model",
        released="2019-05-01", released_precision="month", accessibility="unknown", state="draft",
    )

    response = admin_client.post(admin_url(Release, "add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["released"] == [
        "May 2019 is before Shanghai AI Laboratory was founded (July 2020)."
    ]
    assert not Release.objects.exists()


def test_release_before_the_lab_was_founded_is_refused_in_the_lab_page(admin_client):
    lab = make_lab("Shanghai AI Laboratory", founded=datetime.date(2020, 7, 1), founded_precision="month")
    data = form_data(admin_client.get(admin_url(Lab, "change", lab.pk)))
    row = add_inline_row(
        data, "releases", name="InternLM0", slug="internlm0", kind="model",
        released="2019-01-01", released_precision="year", accessibility="unknown", state="draft",
    )

    response = admin_client.post(admin_url(Lab, "change", lab.pk), data)

    assert response.status_code == 200
    assert inline_formset(response, "releases").forms[row].errors["released"] == [
        "2019 is before Shanghai AI Laboratory was founded (July 2020)."
    ]
    assert "2019 is before Shanghai AI Laboratory was founded (July 2020)." in page_text(response)
    assert not Release.objects.exists()


def test_relation_from_a_lab_to_itself_is_refused_on_the_other_lab_field(admin_client):
    lab = make_lab()
    data = form_data(admin_client.get(admin_url(Lab, "change", lab.pk)))
    row = add_inline_row(data, "relations", other_lab=str(lab.pk), kind="peer", note="", order="0")

    response = admin_client.post(admin_url(Lab, "change", lab.pk), data)

    assert response.status_code == 200
    errors = inline_formset(response, "relations").forms[row].errors
    assert errors["other_lab"] == ["A lab cannot be related to itself."]
    assert not LabRelation.objects.exists()


@pytest.mark.parametrize(
    "model, factory, name_field",
    [(Lab, make_lab, "name"), (Person, make_person, "name"), (Source, make_source, "title"),
     (Organization, make_organization, "name")],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_duplicate_slug_is_refused_on_the_slug_field(admin_client, model, factory, name_field):
    existing = factory()
    data = form_data(admin_client.get(admin_url(model, "add")))
    data.update({name_field: "A different name", "slug": existing.slug})

    response = admin_client.post(admin_url(model, "add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["slug"]
    assert "already exists" in errors["slug"][0]
    assert model.objects.count() == 1


def test_two_sections_with_the_same_slug_in_one_lab_are_refused(admin_client):
    lab = make_lab()
    make_section(lab, kind="origins")
    data = form_data(admin_client.get(admin_url(Lab, "change", lab.pk)))
    # Heading and slug left empty: the slug would be made from the kind, "origins", again.
    add_inline_row(data, "sections", kind="origins", heading="", slug="", order="1", body="More history.")

    response = admin_client.post(admin_url(Lab, "change", lab.pk), data)

    assert response.status_code == 200
    assert "Please correct the duplicate data for slug" in page_text(response)
    assert lab.sections.count() == 1


def test_citation_without_anything_citing_it_is_refused(admin_client):
    source = make_source()
    data = form_data(admin_client.get(admin_url(Citation, "add")))
    data.update(source=source.pk, claim="Founded in July 2020.", order="0")

    response = admin_client.post(admin_url(Citation, "add"), data)

    assert response.status_code == 200
    assert "exactly one lab, section, release or person" in response.context["adminform"].form.errors["lab"][0]
    assert not Citation.objects.exists()
