"""
Epoch AI's "Data on AI Models" (CC BY 4.0) into our labs and releases.

    read_file(path) -> EpochFile          # the layout checked, every row parsed or reported
    import_file(epoch_file, run, user)    # one transaction: all of it or nothing

The rules, all in this module:

- **Layouts.** The live dataset renames columns between versions; ``LAYOUTS`` maps each
  known layout's headers to our names. A file is read in the first layout whose columns
  it has; otherwise it is refused, naming the columns each layout expected.
- **Bad rows** (an empty name, a number that is not one, a value outside Epoch's
  vocabulary) are reported with their line and column and skipped. A model named twice
  is imported once (the row last modified wins); the other row is counted as merged.
- **Organisations → labs.** A name maps to a lab through a ``LabAlias`` (editors keep
  them: "Shanghai AI Lab" → Shanghai AI Laboratory); failing that, to the lab with that
  name, slug or other name; failing that, a new lab is created. Each guess is saved as an
  unconfirmed alias and new names are listed on the run, for an editor to map or accept.
  The first organisation of a model is its lab; the others are its co-developers.
- **Dates.** Epoch writes the first of a month (or of January) when it knows only the
  month (or year): such a date is imported at month (or year) precision, never shown as
  a known day.
- **Nothing overwritten silently.** Each value is compared with ours and with what the
  last import gave (``ImportedRecord``): an empty value of ours is filled, a value Epoch
  changed since the last import is updated where we had kept theirs, a value we hold
  differently is a ``ProposedChange`` for a Publisher (ours stays). Importing the same
  file twice changes nothing.
- **Drafts.** In the default mode, changes to a published lab's document wait in a draft
  revision of it (documents.edit, as an admin edit would), and new labs are drafts.
  ``starting=True`` (``make run``'s starting set) publishes what it adds, dated by the
  rows' "Last modified"; the seed's values still win and disagreements wait as proposed
  changes.
- **Provenance.** Every imported release cites the dataset (with the row's "Last
  modified") and its row's ``Link`` (a source per address, titled by ``Reference``).
  New sources are published at once: a source is a reference to a public document, and
  is shown only beside what a reader may see.
"""

import csv
import dataclasses
import datetime
import functools
import hashlib
import io
from collections import Counter, defaultdict

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django_countries import countries

from profiles import documents
from profiles.caching import bump_content_generation
from profiles.models import (
    Accessibility, Citation, Codeveloper, Confidence, Domain, Lab, LabKind, Modality, PublicationState, Release,
    ReleaseKind, Source,
)
from profiles.partial_dates import DatePrecision, iso_partial_date

from .models import EPOCH, ImportedRecord, ImportStatus, LabAlias, ProposedChange, RecordKind

DATASET_URL = "https://epoch.ai/data"
DATASET_SOURCE = {
    "slug": "epoch-ai-data-on-ai-models",
    "title": "Data on AI Models",
    "publisher": "Epoch AI",
    "url": DATASET_URL,
}

# Our name -> the header in each layout. "2025": the snapshot in fixtures/; "2026": the
# live notable-models table as of 2026 (the data README lists its columns).
_LAYOUT_2025 = {
    "model": "Model", "organization": "Organization", "categories": "Organization categorization",
    "countries": "Country (from Organization)", "date": "Publication date", "domain": "Domain",
    "link": "Link", "reference": "Reference", "parameters": "Parameters",
    "training_compute": "Training compute (FLOP)", "dataset_size": "Training dataset size (datapoints)",
    "hardware": "Training hardware", "accessibility": "Model accessibility", "confidence": "Confidence",
    "base_model": "Base model", "last_modified": "Last modified",
}
LAYOUTS = {
    "2025": _LAYOUT_2025,
    # Two columns renamed, and no "Last modified".
    "2026": {
        **{ours: theirs for ours, theirs in _LAYOUT_2025.items() if ours != "last_modified"},
        "countries": "Country (of organization)", "dataset_size": "Training dataset size (total)",
    },
}

ACCESSIBILITY = {
    "open weights (unrestricted)": Accessibility.OPEN_UNRESTRICTED,
    "open weights (restricted use)": Accessibility.OPEN_RESTRICTED,
    "open weights (non-commercial)": Accessibility.OPEN_NONCOMMERCIAL,
    "api access": Accessibility.API,
    "hosted access (no api)": Accessibility.HOSTED,
    "unreleased": Accessibility.UNRELEASED,
}
CONFIDENCE = {label.lower(): value for value, label in Confidence.choices}
DOMAINS = {label.lower(): value for value, label in Domain.choices}
CATEGORIES = {
    "industry": LabKind.COMPANY,
    "academia": LabKind.UNIVERSITY_LAB,
    "research collective": LabKind.RESEARCH_COLLECTIVE,
    "government": LabKind.GOVERNMENT_LAB,
}
MULTINATIONAL = "XM"  # a user-assigned ISO 3166 code, named in settings.COUNTRIES_OVERRIDE
COUNTRY_NAMES = {"korea (republic of)": "KR", "multinational": MULTINATIONAL}
SCIENCE_DOMAINS = {
    Domain.BIOLOGY, Domain.MEDICINE, Domain.MATHEMATICS, Domain.MATERIALS_SCIENCE, Domain.EARTH_SCIENCE, Domain.ASTRONOMY,
}

# The release fields an import compares with ours, in the order a report lists them.
RELEASE_FIELDS = [
    "released", "accessibility", "domains", "parameters", "training_compute", "dataset_size",
    "training_hardware", "base_model_name", "confidence",
]
EMPTY = (None, "", [], Accessibility.UNKNOWN)


class LayoutError(Exception):
    """A file whose columns match no known layout (nothing is imported)."""


@dataclasses.dataclass
class Problem:
    line: int
    column: str
    message: str
    model: str = ""

    def as_dict(self):
        return dataclasses.asdict(self)

    def __str__(self):
        where = f"line {self.line}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}{f' ({self.model})' if self.model else ''}: {self.message}"


@dataclasses.dataclass
class Row:
    """One model, parsed: values in our vocabulary."""

    line: int
    name: str
    organizations: list
    categories: dict  # organisation -> lab kind (where the row says)
    countries: dict  # organisation -> country code (where the row says)
    values: dict  # release field -> value (RELEASE_FIELDS; empty ones left out)
    links: list
    reference: str
    base_models: list
    last_modified: datetime.datetime | None

    @property
    def key(self):
        return name_key(self.name)


@dataclasses.dataclass
class EpochFile:
    layout: str
    sha256: str
    rows: list  # Row, one per model
    problems: list  # Problem
    merged: list  # (line, line of the row kept)
    total: int  # data rows in the file


def name_key(name):
    """How names are compared: spaces collapsed, case folded ("InternVL" = " InternVL")."""
    return " ".join((name or "").split()).casefold()


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def read_file(path_or_file, progress=None):
    """Parse a CSV export of the dataset (a path, an open file or its bytes): an ``EpochFile``, or ``LayoutError``."""
    if isinstance(path_or_file, (bytes, str)) and not isinstance(path_or_file, str):
        raw = path_or_file
    elif hasattr(path_or_file, "read"):
        raw = path_or_file.read()
    else:
        with open(path_or_file, "rb") as handle:
            raw = handle.read()
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LayoutError(f"The file is not UTF-8 text (byte {error.start}).") from error
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise LayoutError("The file is empty: expected a CSV export of Epoch AI's models with a header row.")
    header = [name.strip() for name in header]
    layout, columns = choose_layout(header)
    index = {ours: header.index(theirs) for ours, theirs in columns.items()}

    rows, problems, total = [], [], 0
    line = reader.line_num + 1
    for cells in reader:
        total += 1
        if any(cell.strip() for cell in cells):
            row = parse_row(cells, index, columns, line, problems)
            if row is not None:
                rows.append(row)
        line = reader.line_num + 1
        if progress:
            progress(total)
    rows, merged = merge_duplicates(rows)
    return EpochFile(layout, sha256, rows, problems, merged, total)


def choose_layout(header):
    present = set(header)
    missing = {name: [column for column in columns.values() if column not in present] for name, columns in LAYOUTS.items()}
    for name, absent in missing.items():
        if not absent:
            return name, LAYOUTS[name]
    expected = "; ".join(f"the {name} layout lacks {', '.join(repr(c) for c in absent)}" for name, absent in missing.items())
    raise LayoutError(f"Unknown column layout: {expected}. Columns found: {', '.join(repr(c) for c in header)}.")


def parse_row(cells, index, columns, line, problems):
    """A ``Row``, or None with the row's first problem added to ``problems``."""

    def cell(name):
        position = index.get(name)
        return (cells[position] if position is not None and position < len(cells) else "").strip()

    name = " ".join(cell("model").split())

    def bad(column, message):
        problems.append(Problem(line, columns[column], message, name))
        return None

    if not name:
        return bad("model", "the model has no name.")
    if len(name) > 200:
        return bad("model", f"the name is {len(name)} characters long (200 at most).")
    organizations = split_organizations(cell("organization"))
    if not organizations:
        return bad("organization", "no organisation is named.")

    values = {}
    date = cell("date")
    if date:
        try:
            day = datetime.date.fromisoformat(date)
        except ValueError:
            return bad("date", f"{date!r} is not a date (YYYY-MM-DD).")
        values["released"] = iso_partial_date(day, date_precision(day))
    for field in ("parameters", "training_compute", "dataset_size"):
        text = cell(field)
        if text:
            try:
                number = float(text.replace(",", ""))
            except ValueError:
                return bad(field, f"{text!r} is not a number.")
            if not number > 0 or number == float("inf"):
                return bad(field, f"{text!r} is not a positive number.")
            values[field] = number
    text = cell("accessibility")
    if text:
        if text.lower() not in ACCESSIBILITY:
            return bad("accessibility", f"{text!r} is not in Epoch's vocabulary ({', '.join(Accessibility(v).label for v in ACCESSIBILITY.values())}).")
        values["accessibility"] = ACCESSIBILITY[text.lower()].value
    text = cell("confidence")
    if text:
        if text.lower() not in CONFIDENCE:
            return bad("confidence", f"{text!r} is not in Epoch's vocabulary ({', '.join(Confidence.labels)}).")
        values["confidence"] = CONFIDENCE[text.lower()]
    domains = []
    for label in filter(None, (part.strip() for part in cell("domain").split(","))):
        if label.lower() not in DOMAINS:
            return bad("domain", f"{label!r} is not in Epoch's vocabulary of domains.")
        if DOMAINS[label.lower()] not in domains:
            domains.append(DOMAINS[label.lower()])
    if domains:
        values["domains"] = domains
    hardware = " ".join(cell("hardware").split())
    if hardware:
        values["training_hardware"] = hardware[:200]
    base_models = [" ".join(part.split()) for part in cell("base_model").split(",") if part.strip()]
    if base_models:
        values["base_model_name"] = ", ".join(base_models)[:200]

    categories, country_of = {}, {}
    kinds = [part.strip() for part in cell("categories").split(",")]
    places = [part.strip() for part in cell("countries").split(",")]
    # The lists run parallel to the organisations; where their lengths differ (an
    # organisation with a comma in its name), they cannot be paired and say nothing.
    if len(kinds) == len(organizations):
        for organization, kind in zip(organizations, kinds):
            if kind:
                if kind.lower() not in CATEGORIES:
                    return bad("categories", f"{kind!r} is not one of Industry, Academia, Research collective, Government.")
                categories[organization] = CATEGORIES[kind.lower()].value
    if len(places) == len(organizations):
        for organization, place in zip(organizations, places):
            if place:
                code = country_code(place)
                if not code:
                    return bad("countries", f"{place!r} is not a country we know.")
                country_of[organization] = code

    last_modified = None
    text = cell("last_modified")
    if text:
        try:
            last_modified = datetime.datetime.fromisoformat(text)
        except ValueError:
            return bad("last_modified", f"{text!r} is not a date and time.")
        if timezone.is_naive(last_modified):
            last_modified = timezone.make_aware(last_modified, datetime.timezone.utc)

    links = []
    validate = URLValidator(schemes=["http", "https"])
    for address in cell("link").split():
        try:
            validate(address)
        except ValidationError:
            continue  # prose in the Link column ("see paper"): not an address to cite
        if len(address) <= 500 and address not in links:
            links.append(address)
    return Row(
        line=line, name=name, organizations=organizations, categories=categories, countries=country_of,
        values=values, links=links, reference=" ".join(cell("reference").split())[:300],
        base_models=base_models, last_modified=last_modified,
    )


def split_organizations(text):
    """Epoch separates organisations with "," alone; a part after ", " belongs to the name before it."""
    names = []
    for part in text.split(","):
        if part.startswith(" ") and names:
            names[-1] = f"{names[-1]},{part}"
        elif part.strip():
            names.append(part.strip())
    return [" ".join(name.split())[:200] for name in names]


def date_precision(day):
    """The precision Epoch's date stands for: the 1st of January is a year, any other 1st a month."""
    if day.day == 1:
        return DatePrecision.YEAR if day.month == 1 else DatePrecision.MONTH
    return DatePrecision.DAY


@functools.lru_cache(maxsize=512)
def country_code(name):
    # Cached: django-countries looks a name up in 9 ms (27 of the 33 s the snapshot took).
    return COUNTRY_NAMES.get(name.lower()) or countries.by_name(name) or ""


def merge_duplicates(rows):
    """One row per model name: the one last modified (the later line on a tie); the others are merged into it."""
    kept, merged = {}, []
    for row in rows:
        other = kept.get(row.key)
        if other is None:
            kept[row.key] = row
            continue
        newer, older = (row, other) if (row.last_modified or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)) >= (
            other.last_modified or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)) else (other, row)
        kept[row.key] = newer
        merged.append((older.line, newer.line))
    return list(kept.values()), merged


# --------------------------------------------------------------------------
# Importing
# --------------------------------------------------------------------------


def values_of(release):
    """Our release's values, in the terms an import compares (RELEASE_FIELDS)."""
    return {
        "released": iso_partial_date(release.released, release.released_precision) or None,
        "accessibility": release.accessibility,
        "domains": list(release.domains or []),
        "parameters": release.parameters,
        "training_compute": release.training_compute,
        "dataset_size": release.dataset_size,
        "training_hardware": release.training_hardware,
        "base_model_name": release.base_model_name,
        "confidence": release.confidence,
    }


def set_value(release, field, value):
    if field == "released":
        day, precision = parse_partial(value)
        release.released, release.released_precision = day, precision
    else:
        setattr(release, field, value)


def parse_partial(value):
    """ "2024" / "2024-08" / "2024-08-05" -> (first day, precision)."""
    parts = [int(part) for part in value.split("-")]
    precision = [DatePrecision.YEAR, DatePrecision.MONTH, DatePrecision.DAY][len(parts) - 1]
    return datetime.date(parts[0], *(parts[1:] + [1] * (3 - len(parts)))), precision


def is_refinement(field, ours, theirs):
    """Theirs says the same as ours, more precisely ("2024" -> "2024-03")."""
    return field == "released" and isinstance(ours, str) and isinstance(theirs, str) and theirs.startswith(ours + "-")


def decide(field, ours, theirs, baseline, has_record):
    """
    What an import does with one value: None (nothing), "set" (write theirs) or
    "propose" (a ProposedChange; ours stays).
    """
    if theirs in EMPTY or theirs == ours:
        return None
    if has_record and theirs == baseline:
        return None  # the same as last time: whatever we did with it stands
    if ours in EMPTY or is_refinement(field, ours, theirs):
        return "set"
    if has_record and ours == baseline:
        return "set"  # Epoch changed a value we had taken from it and kept
    return "propose"


def modality_of(domains):
    found = set(domains)
    if Domain.MULTIMODAL in found or {Domain.LANGUAGE, Domain.VISION} <= found:
        return Modality.MULTIMODAL if Domain.MULTIMODAL in found else Modality.VISION_LANGUAGE
    if Domain.LANGUAGE in found:
        return Modality.LANGUAGE
    if Domain.VISION in found or Domain.IMAGE_GENERATION in found or Domain.VIDEO in found:
        return Modality.VISION
    if found & SCIENCE_DOMAINS:
        return Modality.SCIENCE
    return Modality.OTHER if found else ""


# BULK_VALIDATION: rows the import creates in bulk run their model's rules (``clean()``)
# but not ``clean_fields()``: every value was checked by ``parse_row`` (vocabularies, lengths,
# addresses, numbers) and the database's constraints hold the rest. clean_fields() took 16 s
# of the snapshot's import. Rows changed one by one (updates, drafts) get ``full_clean()``.

# A row whose lab needed no change (Importer.may_change): its release stays as it is.
UNCHANGED = object()


class UniqueSlugs:
    """Slugs not yet taken by a model's rows (read once, then kept in memory)."""

    def __init__(self, model):
        self.taken = set(model._base_manager.values_list("slug", flat=True))

    def make(self, *candidates, fallback="item"):
        max_length = 120
        for candidate in candidates:
            slug = slugify(candidate)[:max_length].strip("-")
            if slug and slug not in self.taken:
                self.taken.add(slug)
                return slug
        base = (slugify(candidates[0])[:max_length - 6].strip("-") if candidates else "") or fallback
        number = 2
        while f"{base}-{number}" in self.taken:
            number += 1
        self.taken.add(f"{base}-{number}")
        return f"{base}-{number}"


def claim_for(row):
    fields = [
        label for field, label in (
            ("released", "release date"), ("accessibility", "accessibility"), ("domains", "domains"),
            ("parameters", "parameters"), ("training_compute", "training compute"), ("dataset_size", "dataset size"),
            ("training_hardware", "training hardware"), ("base_model_name", "base model"), ("confidence", "confidence"),
        ) if field in row.values
    ]
    when = f", row last modified {row.last_modified:%Y-%m-%d}" if row.last_modified else ""
    organisations = ", ".join(row.organizations)
    facts = f"{', '.join(fields)}; " if fields else ""
    return f"Epoch AI's row for {row.name}: {facts}made by {organisations}{when}."[:2000]


class Importer:
    """
    One import of an ``EpochFile`` (``import_file`` runs it in one transaction).

    ``counts`` and ``run`` fields are filled as it goes; ``new_names`` lists the
    organisations that became new labs.
    """

    def __init__(self, epoch_file, run, user=None, starting=False, progress=None):
        self.file = epoch_file
        self.run = run
        self.user = user
        self.starting = starting
        self.progress = progress or (lambda done, total: None)
        self.counts = Counter()
        self.new_names = []
        self.problems = list(epoch_file.problems)
        self.proposals = []
        self.now = timezone.now()
        self.in_drafts = set()  # id() of releases written inside a draft's capture (their keys were undone)

    # -- organisations --------------------------------------------------------

    def organization_facts(self):
        """Each organisation's lab kind and country, by majority over the rows that pair them."""
        kinds, places = defaultdict(Counter), defaultdict(Counter)
        first_seen, latest = {}, {}
        for row in self.file.rows:
            for organization in row.organizations:
                first_seen.setdefault(organization, row.line)
                if row.last_modified and (organization not in latest or row.last_modified > latest[organization]):
                    latest[organization] = row.last_modified
            for organization, kind in row.categories.items():
                kinds[organization][kind] += 1
            for organization, code in row.countries.items():
                places[organization][code] += 1
        return {
            name: {
                "kind": kinds[name].most_common(1)[0][0] if kinds[name] else "",
                "country": places[name].most_common(1)[0][0] if places[name] else "",
                "last_modified": latest.get(name),
            }
            for name in sorted(first_seen, key=first_seen.get)
        }

    def resolve_labs(self, facts):
        """{organisation name: Lab}, creating aliases for guesses and labs for names new to us."""
        aliases = {name_key(alias.name): alias for alias in LabAlias.objects.filter(dataset=EPOCH).select_related("lab")}
        labs = list(Lab.objects.all())
        by_name = {}
        for lab in labs:
            for name in (lab.name, lab.slug, *lab.other_names.splitlines()):
                by_name.setdefault(name_key(name), lab)
        slugs = UniqueSlugs(Lab)
        resolved, new_aliases, new_labs = {}, [], []
        for name, fact in facts.items():
            key = name_key(name)
            alias = aliases.get(key)
            if alias is not None:
                resolved[name] = alias.lab
                continue
            lab = by_name.get(key) or by_name.get(slugify(name))
            if lab is None:
                when = fact["last_modified"] or self.now
                lab = Lab(
                    name=name, slug=slugs.make(name, fallback="lab"), kind=fact["kind"], country=fact["country"],
                    state=PublicationState.PUBLISHED if self.starting else PublicationState.DRAFT,
                    published_at=when if self.starting else None, created=when, updated=when,
                )
                lab.keep_given_dates = True
                lab.clean()  # (see BULK_VALIDATION)
                new_labs.append(lab)
                by_name[key] = lab
                self.new_names.append(name)
            alias = LabAlias(dataset=EPOCH, name=name, lab=lab, confirmed=False)
            aliases[key] = alias  # "ByteDance" and "Bytedance" are one alias (names compare without case)
            new_aliases.append(alias)
            resolved[name] = lab
        if new_labs:
            Lab.objects.bulk_create(new_labs)
            Lab.history.bulk_history_create(new_labs, default_user=self.user, default_change_reason="Epoch AI import")
            self.counts["labs created"] += len(new_labs)
        if new_aliases:
            LabAlias.objects.bulk_create(new_aliases)
        return resolved

    def lab_facts(self, facts, labs):
        """Country and kind of labs from the dataset: new labs have them; ours are filled or proposed."""
        records = {r.key: r for r in ImportedRecord.objects.filter(dataset=EPOCH, kind=RecordKind.ORGANIZATION)}
        fresh, changed = [], []
        for name, fact in facts.items():
            lab = labs[name]
            theirs = {"country": fact["country"] or None, "kind": fact["kind"] or None}
            record = records.get(name_key(name))
            baseline = record.values if record else {}
            if not lab._state.adding and lab.pk not in self.created_labs:
                for field in ("country", "kind"):
                    ours = str(getattr(lab, field) or "") or None
                    action = decide(field, ours, theirs[field], baseline.get(field), record is not None)
                    if action == "propose" and field == "country":
                        self.propose(field, ours, theirs[field], lab=lab, row=f"{name} (organisation)")
                    elif action == "set":
                        # Written with the lab's releases (import_rows): in place, or in its draft.
                        self.lab_edits[lab.pk][field] = theirs[field]
                        if fact["last_modified"]:
                            self.lab_dates[lab.pk] = max(fact["last_modified"], self.lab_dates.get(lab.pk, fact["last_modified"]))
            if record is None:
                fresh.append(ImportedRecord(
                    dataset=EPOCH, kind=RecordKind.ORGANIZATION, key=name_key(name)[:300], lab=lab, values=theirs,
                    last_modified=fact["last_modified"], run=self.run,
                ))
            elif record.values != theirs or record.lab_id != lab.pk:
                record.values, record.lab, record.run, record.last_modified = theirs, lab, self.run, fact["last_modified"]
                changed.append(record)
        ImportedRecord.objects.bulk_create(fresh)
        ImportedRecord.objects.bulk_update(changed, ["values", "lab", "run", "last_modified"])

    # -- proposed changes -----------------------------------------------------

    def propose(self, field, ours, theirs, release=None, lab=None, source=None, row="", our_sources=""):
        """Note a disagreement; written by ``save_proposals`` (outside any draft's capture, which is undone)."""
        self.proposals.append(dict(
            field=field, ours=ours, theirs=theirs, their_source=source, their_row=row, our_sources=our_sources,
            **({"release": release} if release is not None else {"lab": lab}),
        ))

    def save_proposals(self):
        for proposal in self.proposals:
            target = {"release": proposal["release"]} if "release" in proposal else {"lab": proposal["lab"]}
            existing = ProposedChange.objects.open().filter(field=proposal["field"], **target).first()
            if existing is not None:
                if (existing.theirs, existing.ours) == (proposal["theirs"], proposal["ours"]):
                    continue
                for name, value in proposal.items():
                    setattr(existing, name, value)
                existing.run = self.run
                existing.save()
            else:
                ProposedChange.objects.create(run=self.run, dataset=EPOCH, created=self.now, **proposal)
            self.counts["proposed changes"] += 1

    # -- sources --------------------------------------------------------------

    def dataset_source(self):
        latest = max((row.last_modified for row in self.file.rows if row.last_modified), default=None)
        source = Source.objects.filter(url=DATASET_URL).first() or Source.objects.filter(slug=DATASET_SOURCE["slug"]).first()
        if source is None:
            when = latest or self.now
            source = Source(
                **DATASET_SOURCE, author="Epoch AI", state=PublicationState.PUBLISHED, published_at=when,
                accessed=(latest or self.now).date(), created=when, updated=when,
            )
            source.keep_given_dates = True
            source.full_clean()
            source.save()
        elif latest and (source.accessed is None or source.accessed < latest.date()):
            source.accessed = latest.date()
            source.save()
        return source

    def link_sources(self):
        """{address: Source} for every row's links, creating the ones we lack (published)."""
        wanted = {}
        for row in self.file.rows:
            for position, address in enumerate(row.links):
                wanted.setdefault(address, (row, position))
        existing = {source.url: source for source in Source.objects.filter(url__in=list(wanted))}
        slugs = UniqueSlugs(Source)
        new = []
        for address, (row, position) in wanted.items():
            if address in existing:
                continue
            title = (row.reference if position == 0 and row.reference else address)[:300]
            when = row.last_modified or self.now
            source = Source(
                title=title, url=address, slug=slugs.make(title, fallback="source"), state=PublicationState.PUBLISHED,
                published_at=when, created=when, updated=when,
            )
            source.clean()  # (see BULK_VALIDATION)
            new.append(source)
            existing[address] = source
        Source.objects.bulk_create(new, batch_size=500)
        Source.history.bulk_history_create(new, default_user=self.user, default_change_reason="Epoch AI import")
        self.counts["sources created"] += len(new)
        return existing

    # -- releases -------------------------------------------------------------

    def run_import(self):
        facts = self.organization_facts()
        self.created_labs = set()
        self.lab_edits = defaultdict(dict)
        self.lab_dates = {}
        before = set(Lab.objects.values_list("pk", flat=True))
        labs = self.resolve_labs(facts)
        self.created_labs = {lab.pk for lab in labs.values() if lab.pk not in before}
        self.lab_facts(facts, labs)
        self.epoch_source = self.dataset_source()
        self.sources = self.link_sources()

        records = {r.key: r for r in ImportedRecord.objects.filter(dataset=EPOCH, kind=RecordKind.MODEL)}
        self.live_release_ids = set(Release.objects.values_list("pk", flat=True))
        by_lab = defaultdict(list)
        for row in self.file.rows:
            by_lab[labs[row.organizations[0]].pk].append(row)
        lab_by_pk = {lab.pk: lab for lab in labs.values()}
        lab_by_pk.update({lab.pk: lab for lab in Lab.objects.filter(pk__in=list(self.lab_edits))})
        self.labs = labs
        self.records = records
        self.record_updates = {}  # key -> (row, release or None)
        self.release_names = {}  # name key -> release (for base models)
        slugs = UniqueSlugs(Release)
        self.release_slugs = slugs

        self.known = {
            "release_lab": dict(Release.objects.values_list("pk", "lab_id")),
            "codevelopers": set(Codeveloper.objects.values_list("release_id", "lab_id")),
            "citations": set(Citation.objects.filter(release__isnull=False).values_list("release_id", "source_id")),
        }
        self.bulk = defaultdict(list)
        self.releases_by_lab = defaultdict(dict)
        for release in Release.objects.select_related("lab").order_by("pk"):
            self.releases_by_lab[release.lab_id].setdefault(name_key(release.name), release)
        done = 0
        for lab_pk in sorted(set(by_lab) | set(self.lab_edits)):
            lab = lab_by_pk[lab_pk]
            rows = by_lab.get(lab_pk, [])
            if not self.may_change(lab, rows):
                for row in rows:  # as imported last time: only the record's line may move
                    self.record_updates[row.key] = (row, UNCHANGED)
            elif lab.state == PublicationState.PUBLISHED and not self.starting and lab.pk not in self.created_labs:
                self.import_into_draft(lab, rows)
            else:
                self.import_rows(lab, rows, direct=True)
            done += len(rows)
            self.progress(done, len(self.file.rows))
        self.flush_bulk()
        self.link_base_models()
        self.save_records()
        self.save_proposals()
        self.counts["rows reported"] = len(self.problems)
        self.counts["rows merged"] = len(self.file.merged)
        bump_content_generation()

    def may_change(self, lab, rows):
        """
        Whether importing ``rows`` into ``lab`` could change anything, judged from what was
        imported last time (cheap, and erring towards yes): a lab whose rows are all as last
        imported, with their co-developers and citations in place, is not opened at all.
        (Opening a published lab's draft costs ~0.1 s: a re-import of the whole dataset
        took 85 s before this check.)
        """
        if lab.pk in self.lab_edits:
            return True
        known = self.known
        for row in rows:
            record = self.records.get(row.key)
            if record is None or record.release_id is None or record.values != row.values:
                return True
            if known["release_lab"].get(record.release_id) != lab.pk:
                return True
            for organization in row.organizations[1:]:
                other = self.labs[organization].pk
                if other != lab.pk and (record.release_id, other) not in known["codevelopers"]:
                    return True
            for source in [self.epoch_source, *(self.sources[address] for address in row.links)]:
                if (record.release_id, source.pk) not in known["citations"]:
                    return True
        return False

    def import_into_draft(self, lab, rows):
        """A published lab: what the rows change waits in a draft revision of its document."""

        def run():
            return self.import_rows(lab, rows, direct=False)

        try:
            written, result = documents.edit(lab, run, self.user)
        except documents.DraftConflict:
            self.problems.append(Problem(rows[0].line if rows else 0, "", f"{lab.name}: a draft saved meanwhile disagrees; not proposed.", ""))
            written = []
        for release in written or []:
            self.in_drafts.add(id(release))
        if result.revision is not None:
            # Up for review at once: it waits on the editors' dashboard, under "Awaiting review".
            documents.submit(lab, self.user)
            self.counts["drafts"] += 1

    def import_rows(self, lab, rows, direct):
        """
        Write ``rows`` into ``lab``: new releases, filled values, co-developers and citations.
        ``direct``: new rows in bulk (the starting set, an unpublished lab); otherwise one
        by one, inside a draft's capture. Returns the releases written.
        """
        lab_changes = self.lab_edits.get(lab.pk)
        if lab_changes:
            for field, value in lab_changes.items():
                setattr(lab, field, value)
            if self.starting and lab.pk in self.lab_dates:
                # Starting data is dated by its sources: the later of ours and Epoch's rows.
                lab.keep_given_dates = True
                lab.updated = max(lab.updated, self.lab_dates[lab.pk])
            try:
                lab.full_clean()
            except ValidationError as error:
                lab.refresh_from_db()
                for field, messages in error.message_dict.items():
                    self.problems.append(Problem(rows[0].line if rows else 0, field, " ".join(messages), lab.name))
            else:
                lab.save()
                self.counts["labs updated"] += 1
        if direct:
            existing = self.releases_by_lab.get(lab.pk, {})  # read once for every lab (run_import)
        else:  # inside the draft's capture: the rows as the draft has them
            existing = {}
            for release in Release.objects.filter(lab=lab).select_related("lab").order_by("pk"):
                existing.setdefault(name_key(release.name), release)
        new_releases, updated, placed = [], [], []
        for row in rows:
            record = self.records.get(row.key)
            release = None
            if record is not None and record.release_id:
                release = Release.objects.filter(pk=record.release_id).select_related("lab").first()
            if release is None:
                release = existing.get(row.key)
            if release is None:
                release = self.new_release(lab, row)
                if release is None:
                    continue
                new_releases.append(release)
            elif release.lab_id != lab.pk:
                # The alias now points elsewhere: moving a release is an editor's decision.
                self.problems.append(Problem(row.line, "Organization", f"already a release of {release.lab.name} here; not moved.", row.name))
                self.record_updates[row.key] = (row, release)
                continue
            elif self.update_release(release, row, record):
                if self.starting and row.last_modified:
                    # Starting data is dated by its sources: the later of ours and Epoch's row.
                    release.keep_given_dates = True
                    release.updated = max(release.updated, row.last_modified)
                try:
                    release.full_clean()
                except ValidationError as error:
                    self.report(row, error)
                    continue
                updated.append(release)
            self.record_updates[row.key] = (row, release)
            placed.append((row, release))
        if direct:
            self.bulk[Release] += new_releases  # written by flush_bulk(), with every lab's
        for release in (updated if direct else updated + new_releases):
            release.save()
        self.counts["releases created"] += len(new_releases)
        self.counts["releases updated"] += len(updated)

        # Co-developers and citations: added where missing, never removed.
        if direct:
            have_codevelopers, have_citations = self.known["codevelopers"], self.known["citations"]
        else:
            have_codevelopers = set(Codeveloper.objects.filter(release__lab=lab).values_list("release_id", "lab_id"))
            have_citations = set(Citation.objects.filter(release__lab=lab).values_list("release_id", "source_id"))
        new_codevelopers, new_citations = [], []
        for row, release in placed:
            ref = release.pk if release.pk is not None else id(release)  # a release still to be written: itself
            for order, organization in enumerate(row.organizations[1:], start=1):
                other = self.labs[organization]
                if other.pk != lab.pk and (ref, other.pk) not in have_codevelopers:
                    have_codevelopers.add((ref, other.pk))
                    new_codevelopers.append(Codeveloper(release=release, lab=other, order=order))
            cited = [(self.epoch_source, claim_for(row))] + [
                (self.sources[address], "The primary source Epoch AI gives for this model.") for address in row.links
            ]
            for order, (source, claim) in enumerate(cited):
                if (ref, source.pk) not in have_citations:
                    have_citations.add((ref, source.pk))
                    new_citations.append(Citation(source=source, release=release, claim=claim, order=50 + order))
        if direct:
            self.bulk[Codeveloper] += new_codevelopers
            self.bulk[Citation] += new_citations
        else:
            for obj in [*new_codevelopers, *new_citations]:
                obj.save()
        self.counts["co-developers added"] += len(new_codevelopers)
        self.counts["citations added"] += len(new_citations)
        return [release for _, release in placed]

    def flush_bulk(self):
        """Write the rows gathered for writing in place, a few statements for all labs (releases before their parts)."""
        for model in (Release, Codeveloper, Citation):
            rows = self.bulk.pop(model, [])
            model.objects.bulk_create(rows, batch_size=500)
            model.history.bulk_history_create(rows, default_user=self.user, default_change_reason="Epoch AI import")

    def report(self, row, error):
        """A row the models' validation refused: reported by field, and skipped."""
        for field, messages in error.message_dict.items():
            self.problems.append(Problem(row.line, field, " ".join(messages), row.name))

    def new_release(self, lab, row):
        when = row.last_modified or self.now
        release = Release(
            lab=lab, name=row.name, slug=self.release_slugs.make(row.name, f"{row.name} {lab.slug}", fallback="model"),
            kind=ReleaseKind.MODEL, state=PublicationState.PUBLISHED,
            published_at=when if self.starting or lab.state != PublicationState.PUBLISHED else None,
            created=when, updated=when,
        )
        release.keep_given_dates = True
        for field, value in row.values.items():
            set_value(release, field, value)
        release.modality = modality_of(release.domains)
        try:
            release.clean()  # (see BULK_VALIDATION)
        except ValidationError as error:
            self.release_slugs.taken.discard(release.slug)
            self.report(row, error)
            return None
        return release

    def update_release(self, release, row, record):
        """Fill, update or propose each value; returns whether ``release`` changed."""
        ours = values_of(release)
        baseline = record.values if record is not None else {}
        changed = False
        for field in RELEASE_FIELDS:
            theirs = row.values.get(field)
            action = decide(field, ours[field], theirs, baseline.get(field), record is not None)
            if action == "set":
                set_value(release, field, theirs)
                changed = True
            elif action == "propose":
                if release.pk is None or release.pk < 0:
                    continue  # a release still in a draft: nothing published to disagree with
                self.propose(
                    field, ours[field], theirs, release=release, source=self.sources.get(row.links[0]) if row.links else None,
                    row=f"{row.name}, line {row.line}" + (f", last modified {row.last_modified:%Y-%m-%d}" if row.last_modified else ""),
                    our_sources=self.our_sources(release),
                )
        if changed and not release.modality:
            release.modality = modality_of(release.domains)
        return changed

    def our_sources(self, release):
        citations = (
            Citation.objects.filter(Q(release=release) | Q(lab_id=release.lab_id))
            .exclude(source__url=DATASET_URL).select_related("source")
        )
        described = dict.fromkeys(f"{c.source.title} ({c.source.url})" if c.source.url else c.source.title for c in citations)
        return "; ".join(described)[:2000]

    def link_base_models(self):
        """
        Each model's base, linked to its release where we have one. Only releases written in
        place (the starting set, unpublished labs): a published lab's release changes in its
        draft, and a draft's new row has no key another release could point at.
        """
        names = {}
        for pk, name in Release.objects.values_list("pk", "name"):
            names.setdefault(name_key(name), pk)
        linked = []
        for row, release in self.record_updates.values():
            if release is UNCHANGED or not row.base_models or id(release) in self.in_drafts or release.base_model_id or not release.pk:
                continue
            target = names.get(name_key(row.base_models[0]))
            if target and target != release.pk:
                release.base_model_id = target
                if len(row.base_models) == 1:
                    release.base_model_name = ""  # the link says it all
                linked.append(release)
        Release.objects.bulk_update(linked, ["base_model", "base_model_name"], batch_size=500)
        self.counts["base models linked"] += len(linked)

    def save_records(self):
        fresh, changed, new_values = [], [], 0
        for key, (row, release) in self.record_updates.items():
            record = self.records.get(key)
            if release is UNCHANGED:
                release_id = record.release_id
            else:
                # A release first written in a draft has no key yet (the capture's was undone).
                release_id = release.pk if id(release) not in self.in_drafts or release.pk in self.live_release_ids else None
            if record is None:
                fresh.append(ImportedRecord(
                    dataset=EPOCH, kind=RecordKind.MODEL, key=key[:300], release_id=release_id, values=row.values,
                    last_modified=row.last_modified, line=row.line, run=self.run,
                ))
                continue
            new_values += record.values != row.values
            if (record.values, record.release_id, record.line, record.last_modified) != (
                row.values, release_id, row.line, row.last_modified
            ):
                record.values, record.release_id, record.line, record.last_modified = (
                    row.values, release_id, row.line, row.last_modified
                )
                record.run = self.run
                changed.append(record)
        ImportedRecord.objects.bulk_create(fresh, batch_size=500)
        ImportedRecord.objects.bulk_update(changed, ["values", "release", "line", "run", "last_modified"], batch_size=500)
        self.counts["rows unchanged"] = len(self.file.rows) - len(fresh) - new_values


def import_file(epoch_file, run, user=None, starting=False, progress=None):
    """Import ``epoch_file`` in one transaction; fills ``run``'s counts, problems and new names."""
    importer = Importer(epoch_file, run, user=user, starting=starting, progress=progress)
    with transaction.atomic():
        importer.run_import()
    run.counts = dict(importer.counts)
    run.problems = [problem.as_dict() for problem in importer.problems]
    run.new_names = importer.new_names
    return importer


def execute(run, data, user=None, starting=False, read_progress=None, write_progress=None):
    """
    Carry out ``run`` on ``data`` (the file's bytes): read, import in one transaction, and
    record the outcome on the run (succeeded, or failed with why: nothing was kept).
    Used by `manage.py import_epoch` and by the admin's upload (imports/tasks.py).
    Raises ``LayoutError`` for a file it cannot read; other errors propagate after the
    run is marked failed.
    """
    run.status, run.started = ImportStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started"])
    try:
        epoch_file = read_file(data, progress=read_progress)
        run.layout, run.sha256, run.rows_total = epoch_file.layout, epoch_file.sha256, epoch_file.total
        run.rows_done = 0
        run.save(update_fields=["layout", "sha256", "rows_total", "rows_done"])
        import_file(epoch_file, run, user=user, starting=starting, progress=write_progress)
    except Exception as error:
        run.status, run.finished = ImportStatus.FAILED, timezone.now()
        run.error = str(error) if isinstance(error, LayoutError) else f"{type(error).__name__}: {error}"
        run.save()
        raise
    run.status, run.finished, run.rows_done = ImportStatus.SUCCEEDED, timezone.now(), run.rows_total
    run.save()
    return run
