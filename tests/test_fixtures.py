"""
The starting data (fixtures/) held to its seed, and the loader's rules.

Every name below is checked twice: it occurs in the seed article
(fixtures/seeds/shanghai-ai-laboratory.txt), and it exists in the database in the
right place after `load_profiles`. The lists are also complete: nothing else is
loaded, so nothing was invented.
"""

import io
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from profiles.models import Backing, Citation, Lab, LabRelation, Organization, Person, Release, Role, Section, Source

pytestmark = pytest.mark.django_db

SEED = (Path(settings.BASE_DIR) / "fixtures" / "seeds" / "shanghai-ai-laboratory.txt").read_text(encoding="utf-8")
LAB = "shanghai-ai-laboratory"
SEED_SOURCE = "nextomoro-shanghai-ai-laboratory"


def in_seed(text):
    assert text in SEED, f"{text!r} is not in the seed"


def seed_lines_under(heading, next_heading):
    """The non-empty lines between two headings of the seed, bullet markers removed."""
    lines = [line.strip().lstrip("•").strip() for line in SEED.splitlines()]
    return [line for line in lines[lines.index(heading) + 1 : lines.index(next_heading)] if line]


# name, title, focus, the seed's words for the role (in the seed's order)
PEOPLE = [
    ("Yu Qiao", "Director", "", "Yu Qiao, Director of Shanghai AI Laboratory"),
    ("Dahua Lin", "Lead Scientist", "", "Dahua Lin, Lead Scientist"),
    ("Wenhai Wang", "Lead Scientist", "InternVL multimodal models", "Wenhai Wang, Lead Scientist on InternVL multimodal models"),
    (
        "Jifeng Dai", "Lead Scientist", "InternImage and other computer-vision research",
        "Jifeng Dai, Lead Scientist on InternImage and other computer-vision research",
    ),
]

# name, lab, family, kind, released as shown, the seed's words for it
RELEASES = [
    ("InternLM family", LAB, None, "model_family", "2023", "The 2023 release of the InternLM family"),
    ("InternLM", LAB, "InternLM family", "model", "2023", "InternLM (initial release, 7B and 20B variants)"),
    ("InternLM2", LAB, "InternLM family", "model", "January 2024", "InternLM2 (January 2024)"),
    ("InternLM2.5", LAB, "InternLM family", "model", "July 2024", "InternLM2.5 (July 2024)"),
    ("InternLM2-Chat", LAB, "InternLM family", "model", "", "InternLM2-Chat (instruction-tuned variant)"),
    ("InternLM-XComposer", LAB, "InternLM family", "model", "", "InternLM-XComposer (multimodal variant)"),
    ("InternVL", LAB, "InternLM family", "model", "", "InternVL (vision-language multimodal variants)"),
    ("InternImage", LAB, "InternLM family", "model", "", "InternImage (computer vision foundation model)"),
    ("OpenCompass", LAB, None, "benchmark_suite", "2023", "The OpenCompass foundation-model evaluation framework, launched in 2023"),
    ("OpenMMLab", LAB, None, "toolbox", "", "OpenMMLab. Open-source computer vision toolbox ecosystem"),
    ("MMDetection", LAB, "OpenMMLab", "toolbox", "", "MMDetection (object detection)"),
    ("MMSegmentation", LAB, "OpenMMLab", "toolbox", "", "MMSegmentation (semantic segmentation)"),
    ("MMPose", LAB, "OpenMMLab", "toolbox", "", "MMPose (human pose estimation)"),
    ("MMYOLO", LAB, "OpenMMLab", "toolbox", "", "MMYOLO (YOLO-family object detection)"),
    ("MMOCR", LAB, "OpenMMLab", "toolbox", "", "MMOCR (optical character recognition)"),
    ("MMTracking", LAB, "OpenMMLab", "toolbox", "", "MMTracking (multi-object tracking)"),
    ("MMAction2", LAB, "OpenMMLab", "toolbox", "", "MMAction2 (action recognition)"),
    ("AI for science research output", LAB, None, "research", "", "AI for science research output. Published research at Nature"),
    ("Qwen", "alibaba-qwen", None, "model_family", "", "Alibaba Qwen"),
    ("Aquila", "baai", None, "model_family", "", "BAAI Aquila"),
]

# name, how Shanghai AI Laboratory is backed by it, part of
ORGANIZATIONS = [
    ("Shanghai Municipal Government", {"founder", "funder"}, None),
    ("Ministry of Science and Technology", {"funder"}, None),
    ("Shanghai Jiao Tong University", {"founding_member"}, None),
    ("Fudan University", {"founding_member"}, None),
    ("Tongji University", {"founding_member"}, None),
    ("Chinese University of Hong Kong", {"precursor"}, None),
    ("Chinese Academy of Sciences", set(), None),
    ("Shenzhen Institute of Advanced Technology", set(), "Chinese Academy of Sciences"),
]

# name, the seed's words for it, city, country, Shanghai AI Laboratory's relations to it
LABS = [
    ("Shanghai AI Laboratory", "Shanghai AI Laboratory", "Shanghai", "CN", set()),
    ("BAAI", "Beijing-based BAAI", "Beijing", "CN", {"counterpart", "competitor", "evaluates"}),
    ("Huawei Noah's Ark Lab", "Huawei Noah's Ark Lab on the industrial-research side", "", "CN", {"peer", "competitor"}),
    ("Tsinghua KEG", "Tsinghua KEG", "", "CN", {"peer"}),
    ("Tsinghua IIIS", "Tsinghua IIIS", "", "CN", {"peer"}),
    ("Alibaba (Qwen)", "Alibaba Qwen", "", "", {"evaluates"}),
    ("DeepSeek", "DeepSeek", "", "", {"evaluates"}),
    ("Z.AI", "Z.AI", "", "", {"evaluates"}),
    ("Moonshot AI", "Moonshot AI", "", "", {"evaluates"}),
    ("StepFun", "Stepfun", "", "", {"evaluates"}),  # the seed writes "Stepfun"
    ("MiniMax", "MiniMax", "", "", {"evaluates"}),
]

SECTIONS = ["origins", "mission", "models", "benchmarks", "leadership", "funding", "industry", "outlook"]


def profile():
    return Lab.objects.with_profile().get(slug=LAB)


# --- the starting data is the seed ---------------------------------------------


def test_the_lab_at_a_glance_is_the_seed(starting_data):
    lab = profile()
    in_seed("founded in July 2020")
    assert lab.founded_display == "July 2020"
    in_seed("As of April 2026")
    assert lab.as_of_display == "April 2026"
    in_seed(f"{lab.name} ({lab.native_name}, also known as {lab.other_names_list[0]})")
    assert (lab.native_name, lab.other_names_list) == ("上海人工智能实验室", ["Shanghai AI Lab"])
    assert (lab.kind, lab.headquarters, lab.open_weights) == ("nonprofit_institute", "Shanghai, China", "yes")
    for text in (lab.summary, lab.lead, lab.status_text, lab.funding_text, lab.open_weights_note):
        assert text
        in_seed(text)
    assert lab.lead_html.startswith("<p>Shanghai AI Laboratory (上海人工智能实验室")
    # What the seed does not give stays empty.
    assert (lab.website, lab.wikidata_id, lab.huggingface_org, lab.github_org) == ("", "", "", "")


@pytest.mark.parametrize("name, title, focus, seed_words", PEOPLE)
def test_each_person_holds_the_seeds_role(starting_data, name, title, focus, seed_words):
    in_seed(seed_words)
    role = Role.objects.get(person__name=name, lab__slug=LAB)
    assert (role.title, role.focus, role.is_current) == (title, focus, True)
    assert Person.objects.published().filter(name=name).exists()


def test_leadership_is_in_the_seeds_order_with_the_director_first(starting_data):
    lab = profile()
    assert [role.person.name for role in lab.current_roles()] == [name for name, *_ in PEOPLE]
    director = lab.director().person
    assert director.name == "Yu Qiao"
    assert director.earlier_positions_list == [
        "Deputy Director of the Shenzhen Institute of Advanced Technology of the Chinese Academy of Sciences"
    ]
    in_seed(f"previously {director.earlier_positions_list[0]}")
    assert "OpenMMLab" in Person.objects.get(name="Dahua Lin").bio
    assert "Chinese University of Hong Kong" in Person.objects.get(name="Dahua Lin").bio


@pytest.mark.parametrize("name, lab, family, kind, released, seed_words", RELEASES)
def test_each_release_is_in_its_lab_and_family_with_the_seeds_date(starting_data, name, lab, family, kind, released, seed_words):
    in_seed(name)
    in_seed(seed_words)
    release = Release.objects.published().select_related("lab", "family").get(name=name)
    assert release.lab.slug == lab
    assert (release.family.name if release.family else None) == family
    assert (release.kind, release.released_display) == (kind, released)
    # Projects carry the task the seed gives them in parentheses: "MMDetection (object detection)".
    if family == "OpenMMLab":
        assert seed_words.split("(")[1].rstrip(")") in release.description


def test_release_details_the_seed_gives(starting_data):
    assert Release.objects.get(name="InternLM").sizes == "7B, 20B"
    family = Release.objects.get(name="InternLM family")
    assert family.is_open_weights and "Apache-2.0" in family.license and family.distribution == "Hugging Face"
    assert {r.distribution for r in Release.objects.filter(name__in=["OpenCompass", "OpenMMLab"])} == {"GitHub"}
    flagships = {release.name for release in profile().flagship_releases()}
    assert flagships == {"InternLM family", "OpenCompass", "OpenMMLab", "AI for science research output"}
    flagship_line = next(line for line in SEED.splitlines() if "Flagship outputs:" in line)
    assert all(name in flagship_line for name in flagships)


@pytest.mark.parametrize("name, kinds, parent", ORGANIZATIONS)
def test_each_organization_backs_the_lab_as_the_seed_says(starting_data, name, kinds, parent):
    in_seed(name)
    organization = Organization.objects.get(name=name)
    assert {b.kind for b in Backing.objects.filter(lab__slug=LAB, organization=organization)} == kinds
    assert (organization.parent.name if organization.parent else None) == parent


def test_backing_notes_keep_the_seeds_nuances(starting_data):
    in_seed("in coordination with the Chinese Ministry of Science and Technology")
    assert "in coordination with" in Backing.objects.get(organization__name="Ministry of Science and Technology").note
    assert "OpenMMLab" in Backing.objects.get(kind="precursor").note


@pytest.mark.parametrize("name, seed_words, city, country, relation_kinds", LABS)
def test_each_lab_the_seed_names_has_a_published_profile(starting_data, name, seed_words, city, country, relation_kinds):
    in_seed(seed_words)
    lab = Lab.objects.published().get(name=name)
    assert (lab.city, lab.country.code or "") == (city, country)
    assert {r.kind for r in LabRelation.objects.filter(lab__slug=LAB, other_lab=lab)} == relation_kinds


def test_the_counterpart_relation_quotes_the_seed(starting_data):
    note = LabRelation.objects.get(lab__slug=LAB, other_lab__slug="baai", kind="counterpart").note
    assert note == "Shanghai-based counterpart to Beijing-based BAAI"
    in_seed(note)


def test_stubs_hold_nothing_the_seed_does_not_say(starting_data):
    stubs = Lab.objects.exclude(slug=LAB)
    assert stubs.count() == len(LABS) - 1
    assert not stubs.filter(founded__isnull=False).exists()
    assert {r.name for r in Release.objects.exclude(lab__slug=LAB)} == {"Qwen", "Aquila"}


def test_nothing_is_loaded_that_the_seed_does_not_name(starting_data):
    assert set(Lab.objects.values_list("name", flat=True)) == {name for name, *_ in LABS}
    assert set(Person.objects.values_list("name", flat=True)) == {name for name, *_ in PEOPLE}
    assert set(Release.objects.values_list("name", flat=True)) == {name for name, *_ in RELEASES}
    assert set(Organization.objects.values_list("name", flat=True)) == {name for name, *_ in ORGANIZATIONS}


def test_pangu_is_mentioned_but_belongs_to_no_lab(starting_data):
    # The seed lists "Pangu" among the families OpenCompass covers without saying whose it is.
    in_seed("Pangu")
    assert not Release.objects.filter(name__icontains="pangu").exists()
    assert not Lab.objects.filter(name__icontains="pangu").exists()
    assert "Pangu" in Section.objects.get(lab__slug=LAB, slug="benchmarks").body


def test_sections_are_the_seeds_paragraphs_in_its_order(starting_data):
    sections = list(profile().sections.all())
    assert [section.slug for section in sections] == SECTIONS
    for section in sections:
        assert section.body_html, section.slug
        for paragraph in section.body.split("\n"):
            if paragraph.strip():
                in_seed(paragraph.removeprefix("- "))


def test_sections_keep_the_narrative_the_structured_data_does_not(starting_data):
    bodies = {section.slug: section.body for section in Section.objects.filter(lab__slug=LAB)}
    assert bodies["models"].startswith("Distribution channels include open-source distribution through Hugging Face")
    assert "Senior research leadership across the principal research areas" in bodies["leadership"]
    assert "Departures and arrivals are continuous." in bodies["leadership"]
    assert "multi-hundred-million-yuan range comparable to BAAI" in bodies["funding"]
    outlook = Section.objects.get(lab__slug=LAB, slug="outlook")
    assert outlook.items == seed_lines_under("Outlook", "Sources")
    assert len(outlook.items) == 6


def test_the_seed_article_is_cited_by_everything_taken_from_it(starting_data):
    source = Source.objects.published().get(slug=SEED_SOURCE)
    assert (source.title, source.author, source.publisher) == ("Shanghai AI Laboratory", "Nextomoro", "AI Research Lab Intelligence")
    in_seed(source.author)
    in_seed(source.publisher)
    assert (source.url, source.published) == ("", None)
    cited = Citation.objects.filter(source=source)
    for lab in Lab.objects.all():
        assert cited.filter(lab=lab).exists(), lab
    for section in Section.objects.all():
        assert cited.filter(section=section).exists(), section
    for release in Release.objects.all():
        assert cited.filter(release=release).exists(), release
    for person in Person.objects.all():
        assert cited.filter(person=person).exists(), person
    assert [(number, src.slug) for number, src, _claims in profile().numbered_sources] == [(1, SEED_SOURCE)]


def test_everything_is_published_and_live(starting_data):
    for model in (Lab, Person, Release, Source):
        assert model.objects.count() == model.objects.published().count() > 0, model


# --- loading: idempotent, and --if-empty keeps editors' work ---------------------


def row_counts():
    # The content generation's one row is bookkeeping the migration makes, not data.
    return {model._meta.label: model._default_manager.count() for model in apps.get_app_config("profiles").get_models()
            if model._meta.model_name != "contentgeneration"}


def test_reloading_changes_nothing(starting_data):
    before = row_counts()
    first_published = Lab.objects.get(slug=LAB).published_at
    out = io.StringIO()
    call_command("load_profiles", stdout=out)
    call_command("load_profiles", stdout=out)
    assert row_counts() == before
    assert "0 created" in out.getvalue() and "11 labs" in out.getvalue()
    # Rows are updated in place: a reader's feed does not see them "published" again.
    assert Lab.objects.get(slug=LAB).published_at == first_published


def test_if_empty_loads_into_an_empty_database_only(db):
    call_command("load_profiles", "--if-empty", verbosity=0)
    assert Lab.objects.filter(slug=LAB).exists()
    Lab.objects.filter(slug=LAB).update(summary="Edited by an editor.")
    out = io.StringIO()
    call_command("load_profiles", "--if-empty", stdout=out)
    assert Lab.objects.get(slug=LAB).summary == "Edited by an editor."
    assert "not loaded" in out.getvalue()
    # A plain load resets the fields the fixtures name.
    call_command("load_profiles", verbosity=0)
    assert Lab.objects.get(slug=LAB).summary != "Edited by an editor."


# --- a bad fixture changes nothing and says where it is wrong ------------------

# Valid rows before the bad one: a new organization, a new lab and an edit to an existing lab.
VALID_RECORDS = [
    {"model": "profiles.organization", "fields": {"name": "Temporary Organization", "slug": "temporary-organization"}},
    {"model": "profiles.lab", "fields": {"name": "Temporary Lab", "slug": "temporary-lab", "state": "published"}},
    {"model": "profiles.lab", "fields": {"name": "Shanghai AI Laboratory", "slug": LAB, "summary": "Overwritten."}},
]

BAD_RECORDS = {
    "release before its lab's founding": (
        {
            "model": "profiles.release",
            "fields": {
                "lab": [LAB], "name": "InternLM0", "slug": "internlm0", "state": "published",
                "released": "2019-01-01", "released_precision": "month",
            },
        },
        'record 4 (profiles.release "internlm0"): released: January 2019 is before Shanghai AI Laboratory '
        "was founded (July 2020).",
    ),
    "relation of a lab to itself": (
        {"model": "profiles.labrelation", "fields": {"lab": ["baai"], "other_lab": ["baai"], "kind": "peer"}},
        "record 4 (profiles.labrelation",
        "): other_lab: A lab cannot be related to itself.",
    ),
    "duplicate slug": (
        {"model": "profiles.lab", "fields": {"name": "Temporary Lab Again", "slug": "temporary-lab"}},
        'record 4 (profiles.lab "temporary-lab"): slug: "temporary-lab" is already given by',
        "record 2",
    ),
    "unknown natural-key reference": (
        {"model": "profiles.role", "fields": {"person": ["nobody-known"], "lab": [LAB], "title": "Director"}},
        "record 4 (profiles.role",
        ': person: no person has the natural key "nobody-known"',
    ),
}


def database_state():
    """Every table's row count, and every value of rows a bad file tries to change."""
    return row_counts(), Lab.objects.filter(slug=LAB).values().get(), Release.objects.filter(slug="internlm2").values().get()


def write_fixture(path, records):
    path.write_text(json.dumps(records) if isinstance(records, list) else records, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", BAD_RECORDS)
def test_a_bad_record_fails_naming_file_record_and_field_and_keeps_nothing(starting_data, tmp_path, case):
    bad_record, *expected = BAD_RECORDS[case]
    path = write_fixture(tmp_path / "bad.json", [*VALID_RECORDS, bad_record])
    before = database_state()
    with pytest.raises(CommandError) as caught:
        call_command("load_profiles", str(path), verbosity=0)
    message = str(caught.value)
    assert message.startswith(f"{path}, record 4 ("), message
    for fragment in expected:
        assert fragment in message
    assert database_state() == before
    assert not Lab.objects.filter(slug="temporary-lab").exists()


def test_broken_json_fails_naming_the_file_and_line_and_keeps_the_files_before_it(starting_data, tmp_path):
    good = write_fixture(tmp_path / "01-good.json", VALID_RECORDS)
    broken = write_fixture(tmp_path / "02-broken.json", '[\n  {"model": "profiles.lab", "fields": {}}\n  {"model"')
    before = database_state()
    with pytest.raises(CommandError) as caught:
        call_command("load_profiles", str(good), str(broken), verbosity=0)
    assert str(caught.value).startswith(f"{broken}: not valid JSON at line 3, column 3")
    assert database_state() == before
    assert not Organization.objects.filter(slug="temporary-organization").exists()


def test_the_starting_data_loads_all_or_nothing_from_the_first_error(db, tmp_path):
    # Even into an empty database: a bad file after good ones leaves it empty.
    files = sorted((Path(settings.BASE_DIR) / "fixtures").glob("*.json"))
    bad = write_fixture(tmp_path / "99-bad.json", [BAD_RECORDS["unknown natural-key reference"][0]])
    with pytest.raises(CommandError, match="99-bad.json, record 1"):
        call_command("load_profiles", *map(str, files), str(bad), verbosity=0)
    assert set(row_counts().values()) == {0}
