"""The synthetic data generator used by the benchmark: marked rows, valid profiles, a clean --clear."""

import pytest
from django.core.management import CommandError, call_command

from profiles.models import Citation, Lab, LabRelation, Organization, Person, Release, Role, Section, Source

pytestmark = pytest.mark.django_db


def generate(**counts):
    options = {"labs": 5, "people": 20, "releases": 40, "sources": 10, "verbosity": 0}
    call_command("generate_synthetic", **{**options, **counts})


def test_generated_rows_are_marked_and_complete(starting_data):
    real_labs = set(Lab.objects.values_list("slug", flat=True))
    generate()
    synthetic = Lab.objects.exclude(slug__in=real_labs)
    assert synthetic.count() == 5
    assert all(lab.slug.startswith("synthetic-") and lab.name.startswith("Synthetic") for lab in synthetic)
    assert Release.objects.filter(slug__startswith="synthetic-").count() == 40
    assert Person.objects.filter(slug__startswith="synthetic-").count() == 20
    assert Source.objects.filter(slug__startswith="synthetic-").count() == 10
    lab = synthetic.first()
    # Profiles come with every part a real one has.
    assert Section.objects.filter(lab=lab).exists()
    assert Role.objects.filter(lab=lab).exists()
    assert LabRelation.objects.filter(lab=lab).exists()
    assert Citation.objects.filter(lab=lab).exists()


def test_a_synthetic_profile_renders_like_a_real_one(client):
    generate()
    response = client.get("/labs/synthetic-lab-1/")
    assert response.status_code == 200
    assert "Synthetic Lab 1" in response.content.decode()
    assert "<strong>Not a real lab.</strong>" in response.content.decode()


def test_clear_removes_only_what_it_made(starting_data):
    before = {model: model.objects.count() for model in (Lab, Person, Release, Source, Organization, Citation)}
    generate()
    call_command("generate_synthetic", clear=True, verbosity=0)
    assert {model: model.objects.count() for model in before} == before


def test_generating_twice_asks_for_clear_first():
    generate()
    with pytest.raises(CommandError, match="--clear"):
        generate()
