"""
Fill the database with synthetic lab profiles, to measure the site at scale.

    python manage.py generate_synthetic --labs 2000 --people 20000 --releases 50000 --sources 20000
    python manage.py generate_synthetic --clear     # remove what it made, nothing else

Every row it makes is marked: slugs start with ``synthetic-`` and names with
"Synthetic", so a reader can never mistake them for real profiles and ``--clear``
can find exactly them. Rows are written with ``bulk_create`` (no per-row save, no
history entries): the Markdown of the few body templates is rendered once, up front,
with the same renderer ``save()`` uses, so pages show what they would after a save.
The numbers come from a seeded random generator: the same options give the same data.
"""

import datetime
import random

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone
from tqdm import tqdm

from profiles.caching import bump_content_generation
from profiles.markup import render_markdown
from profiles.models import (
    Accessibility,
    Backing,
    BackingKind,
    Citation,
    Lab,
    LabKind,
    LabRelation,
    Modality,
    OpenWeightsPolicy,
    Organization,
    OrganizationKind,
    Person,
    PublicationState,
    RelationKind,
    Release,
    ReleaseKind,
    Role,
    Section,
    SectionKind,
    Source,
)

PREFIX = "synthetic-"
COUNTRIES = ["CN", "US", "GB", "FR", "DE", "JP", "KR", "CA", "IL", "SG", "IN", "AE"]
SECTION_KINDS = [SectionKind.ORIGINS, SectionKind.MISSION, SectionKind.BENCHMARKS, SectionKind.FUNDING, SectionKind.OUTLOOK]
SECTION_BODIES = [
    "Synthetic narrative for benchmarking. **Not a real lab.**\n\nA second paragraph with a [link](https://example.org).",
    "- A synthetic outlook item\n- Another synthetic outlook item\n- A third one",
    "Synthetic text: the lab was *generated* to measure the site at scale.",
]
TITLES = ["Director", "Chief Scientist", "Lead Scientist", "Head of Research", "Research Lead"]
BATCH = 2000


class Command(BaseCommand):
    help = "Generate clearly marked synthetic profiles in bulk (for benchmarks), or --clear them."

    def add_arguments(self, parser):
        parser.add_argument("--labs", type=int, default=2000)
        parser.add_argument("--people", type=int, default=20000)
        parser.add_argument("--releases", type=int, default=50000)
        parser.add_argument("--sources", type=int, default=20000)
        parser.add_argument("--seed", type=int, default=2026, help="Random seed: the same seed gives the same data.")
        parser.add_argument("--clear", action="store_true", help="Remove the synthetic rows (and only them), then stop.")

    def handle(self, *args, labs, people, releases, sources, seed, clear, verbosity, **options):
        self.show_progress = verbosity >= 1
        if clear:
            self.clear()
            return
        if Lab.objects.filter(slug__startswith=PREFIX).exists():
            raise CommandError("Synthetic data is already there: run with --clear first.")
        if min(labs, people, releases, sources) < 1:
            raise CommandError("--labs, --people, --releases and --sources must each be at least 1.")
        self.random = random.Random(seed)
        self.now = timezone.now()
        self.rendered = {body: render_markdown(body) for body in SECTION_BODIES}
        with transaction.atomic():
            organizations = self.make_organizations(max(10, labs // 20))
            lab_rows = self.make_labs(labs, organizations)
            people_rows = self.make_people(people)
            release_rows = self.make_releases(releases, lab_rows)
            source_rows = self.make_sources(sources)
            section_rows = self.make_sections(lab_rows)
            self.make_roles(people_rows, lab_rows)
            self.make_relations(lab_rows)
            self.make_citations(source_rows, lab_rows, section_rows, release_rows, people_rows)
            # bulk_create sends no signal: retire every process's cached pages and totals.
            bump_content_generation()
        # Fresh statistics for the query planner: without them SQLite drives the profile's
        # citation queries from the 20,000 sources instead of the lab's few rows.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        if self.show_progress:
            self.stdout.write(self.style.SUCCESS(
                f"Made {labs} labs, {people} people, {releases} releases and {sources} sources (synthetic)."
            ))

    # -- writing ---------------------------------------------------------------

    def bulk(self, model, rows, label):
        """bulk_create in batches, with a progress bar; returns the rows with their ids."""
        made = []
        with tqdm(total=len(rows), desc=label, unit="rows", disable=not self.show_progress, file=self.stdout) as bar:
            for start in range(0, len(rows), BATCH):
                chunk = rows[start:start + BATCH]
                made.extend(model.objects.bulk_create(chunk, batch_size=BATCH))
                bar.update(len(chunk))
        return made

    def published(self):
        return {"state": PublicationState.PUBLISHED, "published_at": self.now, "created": self.now, "updated": self.now}

    def date(self, start_year=1995, end_year=2026):
        return datetime.date(self.random.randint(start_year, end_year), self.random.randint(1, 12), 1)

    # -- the rows ----------------------------------------------------------------

    def make_organizations(self, count):
        rows = [
            Organization(
                name=f"Synthetic Organization {n}", slug=f"{PREFIX}org-{n}",
                kind=self.random.choice(OrganizationKind.values), country=self.random.choice(COUNTRIES),
                created=self.now, updated=self.now,
            )
            for n in range(1, count + 1)
        ]
        return self.bulk(Organization, rows, "organizations")

    def make_labs(self, count, organizations):
        labs = self.bulk(Lab, [
            Lab(
                name=f"Synthetic Lab {n}", slug=f"{PREFIX}lab-{n}", native_name=f"合成实验室 {n}",
                other_names=f"SL{n}", summary=f"Synthetic lab number {n}, generated for benchmarks.",
                lead=SECTION_BODIES[0], lead_html=self.rendered[SECTION_BODIES[0]],
                kind=self.random.choice(LabKind.values), founded=self.date(1990, 2015), founded_precision="month",
                city="Synthetic City", country=self.random.choice(COUNTRIES),
                status_text="Synthetic.", funding_text="Synthetic.",
                open_weights=self.random.choice(OpenWeightsPolicy.values),
                as_of=datetime.date(2026, 4, 1), as_of_precision="month", **self.published(),
            )
            for n in range(1, count + 1)
        ], "labs")
        self.bulk(Backing, [
            Backing(lab=lab, organization=self.random.choice(organizations), kind=BackingKind.FUNDER)
            for lab in labs
        ], "backings")
        return labs

    def make_people(self, count):
        return self.bulk(Person, [
            Person(
                name=f"Synthetic Person {n}", slug=f"{PREFIX}person-{n}",
                bio="A synthetic person, generated for benchmarks.", **self.published(),
            )
            for n in range(1, count + 1)
        ], "people")

    def make_releases(self, count, labs):
        # One family per lab first, then members spread over the labs.
        families = self.bulk(Release, [
            Release(
                lab=lab, name=f"Synthetic Family {lab.pk}", slug=f"{PREFIX}family-{lab.slug[len(PREFIX):]}",
                kind=ReleaseKind.MODEL_FAMILY, released=None, accessibility=Accessibility.UNKNOWN, **self.published(),
            )
            for lab in labs[: min(len(labs), count)]
        ], "release families")
        members = []
        for n in range(1, count - len(families) + 1):
            family = families[n % len(families)]
            members.append(Release(
                lab_id=family.lab_id, family=family, name=f"Synthetic Model {n}", slug=f"{PREFIX}release-{n}",
                kind=ReleaseKind.MODEL, released=self.date(2016, 2026), released_precision="month",
                sizes=f"{self.random.choice([1, 3, 7, 13, 34, 70])}B",
                modality=self.random.choice(Modality.values), license="Apache-2.0",
                accessibility=self.random.choice(Accessibility.values), distribution="Hugging Face",
                description=SECTION_BODIES[2], description_html=self.rendered[SECTION_BODIES[2]], **self.published(),
            ))
        return families + self.bulk(Release, members, "releases")

    def make_sources(self, count):
        return self.bulk(Source, [
            Source(
                title=f"Synthetic Source {n}", slug=f"{PREFIX}source-{n}", url=f"https://example.org/synthetic/{n}",
                publisher="Synthetic Press", published=self.date(2016, 2026), published_precision="month",
                **self.published(),
            )
            for n in range(1, count + 1)
        ], "sources")

    def make_sections(self, labs):
        rows = []
        for lab in labs:
            for order, kind in enumerate(SECTION_KINDS, start=1):
                body = SECTION_BODIES[1] if kind == SectionKind.OUTLOOK else SECTION_BODIES[0]
                rows.append(Section(
                    lab=lab, kind=kind, slug=kind, order=order * 10, body=body, body_html=self.rendered[body],
                    created=self.now, updated=self.now,
                ))
        return self.bulk(Section, rows, "sections")

    def make_roles(self, people, labs):
        rows = []
        for index, person in enumerate(people):
            lab = labs[index % len(labs)]
            title = TITLES[(index // len(labs)) % len(TITLES)]
            rows.append(Role(person=person, lab=lab, title=title, focus="Synthetic research", order=index // len(labs)))
        # Every tenth person also left an earlier post at another lab (a past role, with dates).
        for index, person in enumerate(people[::10]):
            lab = labs[(index * 7 + 1) % len(labs)]
            rows.append(Role(
                person=person, lab=lab, title="Former Researcher", start=datetime.date(2012, 1, 1), start_precision="year",
                end=datetime.date(2018, 6, 1), end_precision="month", order=99,
            ))
        # A (person, lab, title) is unique: drop the rare collision of the two passes.
        seen, unique = set(), []
        for role in rows:
            key = (role.person_id, role.lab_id, role.title)
            if key not in seen:
                seen.add(key)
                unique.append(role)
        self.bulk(Role, unique, "roles")

    def make_relations(self, labs):
        if len(labs) < 2:
            return
        rows = [
            LabRelation(lab=lab, other_lab=labs[(index + 1) % len(labs)], kind=RelationKind.COMPETITOR, note="Synthetic.")
            for index, lab in enumerate(labs)
        ]
        self.bulk(LabRelation, rows, "relations")

    def make_citations(self, sources, labs, sections, releases, people):
        pick = self.random.choice
        rows = [Citation(source=pick(sources), lab=lab) for lab in labs]
        rows += [Citation(source=pick(sources), section=section) for section in sections[::2]]
        rows += [Citation(source=pick(sources), release=release) for release in releases[::2]]
        rows += [Citation(source=pick(sources), person=person) for person in people[::4]]
        self.bulk(Citation, rows, "citations")

    # -- clearing ------------------------------------------------------------------

    def clear(self):
        # Synthetic rows were made without history; deleting them needs none either (and
        # a history row per deleted object would make --clear take minutes).
        with override_settings(SIMPLE_HISTORY_ENABLED=False), transaction.atomic():
            counts = {}
            # Children first, so the cascade has little left to collect; a source is
            # protected while citations point at it.
            counts["citations"] = Citation.objects.filter(source__slug__startswith=PREFIX).delete()[0]
            for model in (Role, Section, Backing, LabRelation):
                counts[model._meta.verbose_name_plural] = model.objects.filter(lab__slug__startswith=PREFIX).delete()[0]
            counts["releases"] = Release.objects.filter(slug__startswith=PREFIX).delete()[0]
            counts["labs"] = Lab.objects.filter(slug__startswith=PREFIX).delete()[0]
            counts["people"] = Person.objects.filter(slug__startswith=PREFIX).delete()[0]
            counts["sources"] = Source.objects.filter(slug__startswith=PREFIX).delete()[0]
            counts["organizations"] = Organization.objects.filter(slug__startswith=PREFIX).delete()[0]
        if self.show_progress:
            self.stdout.write(f"Removed synthetic rows: {counts}.")
