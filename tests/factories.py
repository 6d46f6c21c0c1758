"""
Small builders for test data: each makes a valid, published row through the model's
own validation (``full_clean``), with sensible defaults that a test overrides.
"""

import datetime
import itertools

from django.utils.text import slugify

from profiles.models import (
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

_counter = itertools.count(1)


def _unique(prefix):
    return f"{prefix} {next(_counter)}"


def _save(instance):
    instance.full_clean()
    instance.save()
    return instance


def published(**fields):
    fields.setdefault("state", PublicationState.PUBLISHED)
    return fields


def make_lab(name=None, **fields):
    name = name or _unique("Test Lab")
    fields = published(**fields)
    fields.setdefault("slug", slugify(name))
    fields.setdefault("founded", datetime.date(2015, 1, 1))
    fields.setdefault("founded_precision", "year")
    return _save(Lab(name=name, **fields))


def make_organization(name=None, **fields):
    name = name or _unique("Test Organization")
    fields.setdefault("slug", slugify(name))
    return _save(Organization(name=name, **fields))


def make_person(name=None, **fields):
    name = name or _unique("Test Person")
    fields = published(**fields)
    fields.setdefault("slug", slugify(name))
    return _save(Person(name=name, **fields))


def make_role(person=None, lab=None, title="Lead Scientist", **fields):
    person = person or make_person()
    return _save(Role(person=person, lab=lab, title=title, **fields))


def make_release(lab=None, name=None, **fields):
    lab = lab or make_lab()
    name = name or _unique("Test Model")
    fields = published(**fields)
    fields.setdefault("slug", slugify(name))
    fields.setdefault("released", datetime.date(2024, 1, 1))
    fields.setdefault("released_precision", "month")
    return _save(Release(lab=lab, name=name, **fields))


def make_source(title=None, **fields):
    title = title or _unique("Test Source")
    fields = published(**fields)
    fields.setdefault("slug", slugify(title))
    return _save(Source(title=title, **fields))


def make_section(lab, kind="origins", body="Some *history*.", **fields):
    return _save(Section(lab=lab, kind=kind, body=body, slug=fields.pop("slug", kind), **fields))


def make_backing(lab, organization=None, kind="funder", **fields):
    return _save(Backing(lab=lab, organization=organization or make_organization(), kind=kind, **fields))


def make_relation(lab, other_lab, kind="counterpart", **fields):
    return _save(LabRelation(lab=lab, other_lab=other_lab, kind=kind, **fields))


def cite(source, **target_and_fields):
    return _save(Citation(source=source, **target_and_fields))


def edit_lab(lab, **changes):
    """An editor's save of a published lab's fields, as the admin's form makes it: a draft revision readers never see."""
    from profiles import documents

    def run():
        row = Lab.objects.get(pk=lab.pk)
        for name, value in changes.items():
            setattr(row, name, value)
        row.save()

    documents.edit(lab, run, None)
