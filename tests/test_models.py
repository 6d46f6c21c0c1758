"""The data rules editors, the API and the fixture loader all rely on."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from profiles.models import Citation, Lab, LabRelation, PublicationState, Release, Role
from profiles.partial_dates import format_partial_date, is_before, iso_partial_date, parse_partial_date
from tests.html_safety import XSS_PAYLOADS, dangerous_markup
from tests.factories import (
    cite,
    make_lab,
    make_person,
    make_release,
    make_role,
    make_section,
    make_source,
)

pytestmark = pytest.mark.django_db


def errors_of(instance):
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


# --- partial dates ---------------------------------------------------------


@pytest.mark.parametrize(
    "precision, shown, iso",
    [("year", "2023", "2023"), ("month", "July 2023", "2023-07"), ("day", "19 July 2023", "2023-07-19")],
)
def test_partial_dates_print_only_what_is_known(precision, shown, iso):
    value = datetime.date(2023, 7, 19)
    assert format_partial_date(value, precision) == shown
    assert iso_partial_date(value, precision) == iso
    assert format_partial_date(None, precision) == ""


def test_partial_dates_parse_back_from_iso():
    assert parse_partial_date("2023") == (datetime.date(2023, 1, 1), "year")
    assert parse_partial_date("2020-07") == (datetime.date(2020, 7, 1), "month")
    assert parse_partial_date("2020-07-19") == (datetime.date(2020, 7, 19), "day")
    with pytest.raises(ValueError):
        parse_partial_date("July")


def test_partial_dates_compare_at_the_coarser_precision():
    july_2020 = datetime.date(2020, 7, 1)
    # "2020" may be August 2020: not certainly before July 2020.
    assert not is_before(datetime.date(2020, 1, 1), "year", july_2020, "month")
    assert is_before(datetime.date(2019, 1, 1), "year", july_2020, "month")
    assert is_before(datetime.date(2020, 6, 30), "day", july_2020, "month")


def test_saving_a_partial_date_stores_the_first_day_of_its_period():
    lab = make_lab(founded=datetime.date(2020, 7, 19), founded_precision="month")
    lab.refresh_from_db()
    assert lab.founded == datetime.date(2020, 7, 1)
    assert lab.founded_display == "July 2020"


# --- validation rules --------------------------------------------------------


def test_a_role_cannot_end_before_it_starts():
    lab = make_lab()
    role = Role(
        person=make_person(), lab=lab, title="Director",
        start=datetime.date(2022, 5, 1), end=datetime.date(2021, 1, 1),
    )
    assert errors_of(role) == {"end": ["The end date cannot be before the start date."]}
    # The database refuses it too, whoever bypasses the form.
    with pytest.raises(IntegrityError), transaction.atomic():
        role.save()


def test_a_role_is_at_a_lab_or_an_organization_not_both_nor_neither():
    role = Role(person=make_person(), title="Director")
    assert "lab" in errors_of(role)
    with pytest.raises(IntegrityError), transaction.atomic():
        role.save()


def test_a_release_cannot_predate_its_lab():
    lab = make_lab("Founded Lab", founded=datetime.date(2020, 7, 1), founded_precision="month")
    release = Release(
        lab=lab, name="Too Early", slug="too-early", released=datetime.date(2019, 3, 1), released_precision="month"
    )
    assert errors_of(release) == {"released": ["March 2019 is before Founded Lab was founded (July 2020)."]}


def test_a_year_only_release_in_the_founding_year_is_accepted():
    lab = make_lab(founded=datetime.date(2020, 7, 1), founded_precision="month")
    release = make_release(lab, released=datetime.date(2020, 1, 1), released_precision="year")
    assert release.released_display == "2020"


def test_moving_a_founding_date_after_existing_releases_is_refused():
    lab = make_lab(founded=datetime.date(2015, 1, 1), founded_precision="year")
    make_release(lab, "Early Model", released=datetime.date(2018, 5, 1), released_precision="month")
    lab.founded = datetime.date(2019, 1, 1)
    assert errors_of(lab) == {"founded": ["Releases are dated before this founding date: Early Model."]}


def test_a_lab_cannot_be_related_to_itself():
    lab = make_lab()
    relation = LabRelation(lab=lab, other_lab=lab, kind="peer")
    assert errors_of(relation) == {"other_lab": ["A lab cannot be related to itself."]}
    with pytest.raises(IntegrityError), transaction.atomic():
        relation.save()


def test_a_duplicate_slug_is_refused_on_the_slug_field():
    make_lab("Same Name")
    duplicate = Lab(name="Same Name", slug="same-name")
    assert errors_of(duplicate) == {"slug": ["Lab with this Slug already exists."]}


def test_a_release_family_must_belong_to_the_same_lab():
    family = make_release(make_lab(), "Other Family", kind="model_family")
    release = Release(lab=make_lab(), name="Member", slug="member", family=family)
    assert list(errors_of(release)) == ["family"]


def test_a_citation_has_exactly_one_target():
    source = make_source()
    citation = Citation(source=source, lab=make_lab(), person=make_person())
    assert list(errors_of(citation)) == ["lab"]
    with pytest.raises(IntegrityError), transaction.atomic():
        citation.save()


# --- behaviour ----------------------------------------------------------------


def test_markdown_is_rendered_when_saved():
    lab = make_lab(lead="**Bold** and [a link](https://example.org)")
    assert "<strong>Bold</strong>" in lab.lead_html
    assert 'href="https://example.org"' in lab.lead_html


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markdown_is_sanitised_when_saved(payload):
    lab = make_lab(lead=f"Intro {payload} outro")
    assert lab.lead_html.startswith("<p>Intro")
    assert dangerous_markup(lab.lead_html) == []


def test_published_means_published_and_live():
    live = make_lab("Live")
    make_lab("Draft", state=PublicationState.DRAFT)
    make_lab("Scheduled", published_at=timezone.now() + datetime.timedelta(days=1))
    assert list(Lab.objects.published().values_list("name", flat=True)) == ["Live"]
    assert live.published_at is not None


def test_release_groups_put_members_under_their_family_newest_first():
    lab = make_lab()
    family = make_release(lab, "Family", kind="model_family", released=None)
    make_release(lab, "Old", family=family, released=datetime.date(2023, 1, 1), released_precision="year")
    make_release(lab, "New", family=family, released=datetime.date(2024, 7, 1))
    make_release(lab, "Undated Tool", released=None, kind="toolbox")
    make_release(lab, "Benchmark", released=datetime.date(2023, 1, 1), released_precision="year")
    profile = Lab.objects.with_profile().get(pk=lab.pk)
    groups = [(head.name, [m.name for m in members]) for head, members in profile.release_groups()]
    assert groups == [("Family", ["New", "Old"]), ("Benchmark", []), ("Undated Tool", [])]


def test_sources_are_numbered_in_order_of_first_citation():
    lab = make_lab()
    first, second = make_source("First"), make_source("Second")
    section = make_section(lab)
    cite(second, lab=lab, claim="Founded in 2015.")
    cite(first, section=section)
    cite(second, section=section)
    profile = Lab.objects.with_profile().get(pk=lab.pk)
    assert [(n, s.title, claims) for n, s, claims in profile.numbered_sources] == [
        (1, "Second", ["Founded in 2015."]),
        (2, "First", []),
    ]


def test_current_and_past_roles_and_the_director():
    lab = make_lab()
    director = make_role(make_person("Ada Director"), lab, "Director")
    make_role(make_person("Former Lead"), lab, "Lead Scientist", start=datetime.date(2020, 1, 1), end=datetime.date(2022, 1, 1))
    profile = Lab.objects.with_profile().get(pk=lab.pk)
    assert profile.director() == director
    assert [r.person.name for r in profile.past_roles()] == ["Former Lead"]


def test_natural_keys_round_trip():
    lab = make_lab()
    release = make_release(lab)
    section = make_section(lab)
    citation = cite(make_source(), section=section)
    assert Release.objects.get_by_natural_key(*release.natural_key()) == release
    assert Citation.objects.get_by_natural_key(*citation.natural_key()) == citation
    assert citation.natural_key()[2:4] == (lab.slug, section.slug)
