"""
Load the starting data (``fixtures/*.json``) through the models' own validation.

    python manage.py load_profiles                  # every fixtures/*.json, in name order
    python manage.py load_profiles a.json b.json    # just these, in this order
    python manage.py load_profiles --if-empty       # only into a database without labs (`make run`)

Why not ``loaddata``: it saves rows raw, skipping ``full_clean()`` and ``save()``. A
fixture could then hold what the admin and the API refuse (a release dated before
its lab was founded, a lab related to itself), Markdown would never be rendered and
``published_at`` never set. Here every record goes through ``full_clean()`` and a
normal ``save()``, so the rules in ``profiles/models.py`` hold for fixtures too.

The rules of loading, all in this file:

- Fixtures are Django JSON with natural keys: no ``pk``; foreign keys are natural-key
  lists (``"lab": ["shanghai-ai-laboratory"]``). Records load in file order, so a
  record may only refer to rows loaded before it (number the files accordingly).
- A record whose natural key matches an existing row updates that row; fields the
  record does not name keep their stored values (``created``, ``published_at``,
  anything an editor filled in). Loading the same files again is therefore
  idempotent.
- Two records with the same natural key in one run are an error, not a silent
  overwrite of the first by the second.
- Everything loads in ONE transaction: on the first error nothing is kept, and the
  ``CommandError`` names the file, the record (position, model, natural key), the
  field and the reason.

Dates. "Published" and "Last updated" are editorial facts, never the moment of loading:

- A record may name ``published_at``, ``updated`` and ``created`` (ISO 8601,
  ``"2026-04-01T00:00:00Z"``); what it names is saved as given (the loader sets the
  model's ``keep_given_dates``). On a new row, a date it leaves out follows from those it
  names: ``updated`` is the latest of them, ``created`` and ``published_at`` (once
  published) the earliest. On an existing row a date it leaves out keeps its stored
  value, except that a change the record makes without naming ``updated`` is dated now.
- A record naming none of them is dated like an edit in the admin: ``updated`` (and
  ``created``, ``published_at`` of a new published row) is the moment of loading. That is
  for a file an editor loads by hand, whose rows are new on the site.
- THE STARTING DATA NAMES ITS DATES. Every record in ``fixtures/*.json`` of a model that
  has them (labs, people, releases, sources; sections and organizations too) names
  ``updated``, and ``published_at`` when it is published: the seed's date, 2026-04-01 (its
  "As of April 2026", month precision: the first of the month), so an editor reading a
  fixture sees the date it gives. tests/test_honest_dates.py holds the files to this.
- The change history (which the feeds' leadership changes are read from) records a new
  row at its ``updated``; a new row without dates of its own (a role, a backing, a
  relation, a citation) at the latest date the records of this load give the rows it
  links (the role's person and lab), or now if they give none.
- Reloading is still idempotent: the dates a record names are compared like any field.
"""

import json
from collections import Counter
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from profiles.models import Lab, PublicationState, TimestampedModel

FIXTURE_DIR = Path(settings.BASE_DIR) / "fixtures"
# The editorial dates a record may name (see "Dates" above).
DATE_FIELDS = ("created", "updated", "published_at")


class RecordError(Exception):
    """A record that cannot be loaded: the field it concerns and why."""

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}" if field else reason)


class Command(BaseCommand):
    help = (
        "Load lab profiles from JSON fixtures with natural keys (default: every fixtures/*.json in name order), "
        "validating each record like the admin does, all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="Fixture files to load, in order (default: fixtures/*.json).")
        parser.add_argument(
            "--if-empty", action="store_true",
            help="Do nothing when the database already has a lab, so editors' changes survive a restart.",
        )

    def handle(self, *args, files, if_empty, verbosity, **options):
        if if_empty and Lab.objects.exists():
            if verbosity >= 1:
                self.stdout.write("Labs already exist: starting data not loaded (--if-empty).")
            return
        paths = [Path(name) for name in files] or sorted(FIXTURE_DIR.glob("*.json"))
        if not paths:
            raise CommandError(f"No fixtures to load in {display(FIXTURE_DIR)}.")

        loaded, created = Counter(), 0
        seen = {}  # (model label, natural key) -> where it was first given
        dated = {}  # (model label, pk) -> the `updated` a record of this load gave the row
        with transaction.atomic():
            for path in paths:
                for position, record in enumerate(read_records(path), start=1):
                    where = f"{display(path)}, record {position}"
                    try:
                        instance, is_new = load_record(record, seen, where, dated)
                    except RecordError as error:
                        raise CommandError(f"{where} ({record['model']} {describe(record)}): {error}") from error
                    loaded[instance._meta] += 1
                    created += is_new

        if verbosity >= 1:
            counts = ", ".join(
                f"{count} {opts.verbose_name if count == 1 else opts.verbose_name_plural}" for opts, count in loaded.items()
            )
            self.stdout.write(
                f"Loaded {sum(loaded.values())} records from {len(paths)} file{'s' if len(paths) != 1 else ''} "
                f"({created} created, {sum(loaded.values()) - created} updated): {counts}."
            )


def display(path):
    """A path as a person would type it: relative to the project when inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


def read_records(path):
    """The list of records in a fixture file, or a CommandError saying where the JSON breaks."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"{display(path)}: cannot be read ({error.strerror}).") from error
    except json.JSONDecodeError as error:
        raise CommandError(
            f"{display(path)}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}."
        ) from error
    if not isinstance(data, list):
        raise CommandError(f"{display(path)}: a fixture is a JSON list of records.")
    for position, record in enumerate(data, start=1):
        if not (isinstance(record, dict) and isinstance(record.get("model"), str) and isinstance(record.get("fields"), dict)):
            raise CommandError(
                f"{display(path)}, record {position}: a record is an object with \"model\" and \"fields\"."
            )
    return data


def load_record(record, seen, where, dated=None):
    """
    Validate and save one record; return (instance, created?). Raises RecordError.

    ``dated`` collects the dates records of this load give, for rows without dates of
    their own that link those rows (see "Dates" above).
    """
    dated = {} if dated is None else dated
    if "pk" in record:
        # Numeric ids differ between databases; natural keys are what make a reload idempotent.
        raise RecordError("pk", "fixtures use natural keys, not \"pk\"; remove it.")
    try:
        # One record at a time, so its natural-key references see the rows saved before it.
        (deserialized,) = serializers.deserialize("python", [record], handle_forward_references=False)
    except (DeserializationError, FieldDoesNotExist, ObjectDoesNotExist, ValueError, TypeError) as error:
        raise RecordError(*diagnose(record, error)) from error

    instance = deserialized.object
    model = type(instance)
    stored = keep_unnamed_fields(instance, record["fields"]) if instance.pk is not None else None

    key = (model._meta.label_lower, tuple(instance.natural_key()))
    if key in seen:
        field = "slug" if any(f.name == "slug" for f in model._meta.fields) else "natural key"
        raise RecordError(field, f"{format_key(key[1])} is already given by {seen[key]}; each row is given once.")
    seen[key] = where

    is_new = instance.pk is None
    named_dates = keep_given_dates(instance, record["fields"], is_new)
    try:
        instance.full_clean()
        if stored is not None and not differs(instance, stored):
            # Unchanged: no write, so a reload adds no history entry and bumps no version.
            if named_dates:
                dated[(model._meta.label_lower, instance.pk)] = instance.updated
            return instance, False
        if named_dates and "updated" not in named_dates and not is_new:
            instance.updated = timezone.now()  # a change the record does not date is made now
        if is_new:
            when = history_date(instance, named_dates, dated)
            if when is not None:
                instance._history_date = when  # django-simple-history's date for the "+" record
        # A normal save: Markdown is rendered and published_at is set, as in the admin.
        instance.save()
        if named_dates:
            dated[(model._meta.label_lower, instance.pk)] = instance.updated
        for name, values in deserialized.m2m_data.items():
            getattr(instance, name).set(values)
    except ValidationError as error:
        raise RecordError(*validation_message(error)) from error
    except DatabaseError as error:
        raise RecordError("", f"the database refused the row: {error}") from error
    return instance, is_new


def keep_given_dates(instance, named, is_new):
    """
    The editorial dates ``named`` gives, kept as given (see "Dates" above): returns the
    names of those it gives, after filling a new row's others from them.
    """
    given = [name for name in DATE_FIELDS if name in named and hasattr(instance, name)]
    if not given:
        return []
    instance.keep_given_dates = True
    if is_new:
        values = [getattr(instance, name) for name in given if getattr(instance, name) is not None]
        if values:
            # (Never later than now: a scheduled go-live given alone is not an edit to come.)
            latest, earliest = (min(value, timezone.now()) for value in (max(values), min(values)))
            if "updated" not in given:
                instance.updated = latest
            if "created" not in given:
                instance.created = earliest
            if "published_at" not in given and getattr(instance, "state", None) == PublicationState.PUBLISHED:
                instance.published_at = earliest
    return given


def history_date(instance, named_dates, dated):
    """
    When the change history records a new row (see "Dates" above): its ``updated`` when
    its record gave dates; for a row without dates of its own, the latest date records
    of this load gave the rows it links; otherwise None (now).
    """
    if named_dates:
        return instance.updated
    if isinstance(instance, TimestampedModel):
        return None
    linked = [
        dated.get((field.related_model._meta.label_lower, getattr(instance, field.attname)))
        for field in instance._meta.concrete_fields
        if field.many_to_one and getattr(instance, field.attname) is not None
    ]
    linked = [when for when in linked if when is not None]
    return max(linked) if linked else None


def keep_unnamed_fields(instance, named):
    """
    An update changes only the fields the record names.

    The deserializer fills every field the record leaves out with its default, which
    would wipe ``created`` (NOT NULL), reset ``published_at`` and undo editors' additions.
    Marking the instance as not new also lets full_clean() tell the row from a duplicate.
    """
    stored = type(instance)._base_manager.get(pk=instance.pk)
    for field in instance._meta.concrete_fields:
        if not field.primary_key and field.name not in named:
            setattr(instance, field.attname, getattr(stored, field.attname))
    instance._state.adding = False
    return stored


def differs(instance, stored):
    """Does the record change anything in the stored row?"""
    return any(
        getattr(instance, field.attname) != getattr(stored, field.attname)
        for field in instance._meta.concrete_fields
        if not field.primary_key
    )


def diagnose(record, error):
    """(field, reason) for a record the deserializer refused: which field, and why."""
    try:
        model = apps.get_model(record["model"])
    except (LookupError, ValueError):
        return "model", f"unknown model \"{record['model']}\" (expected e.g. \"profiles.lab\")."
    for name, value in record["fields"].items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return name, f"{model._meta.label_lower} has no field \"{name}\"."
        if not field.many_to_one:
            try:
                field.to_python(value)
            except ValidationError as invalid:
                return name, " ".join(invalid.messages)
            continue
        if not isinstance(value, list):
            if value is not None:
                return name, f"a reference is a natural-key list like [\"some-slug\"], not {json.dumps(value)}."
            continue
        target = field.related_model
        try:
            target._default_manager.get_by_natural_key(*value)
        except ObjectDoesNotExist:
            return name, (
                f"no {target._meta.verbose_name} has the natural key {format_key(value)} "
                "(it must be loaded by an earlier record or file)."
            )
        except TypeError:
            return name, f"{format_key(value)} is not a natural key of {target._meta.verbose_name}."
    return "", str(error)


def validation_message(error):
    """(field, reason) from a ValidationError: the first field's message, then any others."""
    messages = error.message_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.messages}
    # A database constraint repeats clean()'s field message as a non-field one: say it once.
    said = {message for name, field_messages in messages.items() if name != NON_FIELD_ERRORS for message in field_messages}
    parts = [
        ("" if name == NON_FIELD_ERRORS else name, message)
        for name, field_messages in messages.items()
        for message in field_messages
        if name != NON_FIELD_ERRORS or message not in said
    ]
    (field, reason), others = parts[0], parts[1:]
    reason += "".join(f" {name}: {message}" if name else f" {message}" for name, message in others)
    return field, reason


def format_key(key):
    """A natural key as written in fixtures: "baai" or ["shanghai-ai-laboratory", "origins"]."""
    key = list(key)
    return f"\"{key[0]}\"" if len(key) == 1 else json.dumps(key, ensure_ascii=False)


def describe(record):
    """How the error names a record: its natural key, as far as the raw data gives it."""
    fields = record["fields"]
    if "slug" in fields:
        # A section's slug is unique within its lab only.
        lab = fields.get("lab") if record["model"] == "profiles.section" else None
        return format_key([*lab, fields["slug"]]) if isinstance(lab, list) else f"\"{fields['slug']}\""
    # Rows of link models (roles, backings, relations, citations) are known by what they link.
    parts = [
        part
        for name, value in fields.items()
        if name in ("source", "person", "lab", "organization", "other_lab", "section", "release", "title", "kind")
        for part in (value if isinstance(value, list) else [value])
        if part
    ]
    return format_key(parts) if parts else "(no natural key)"
