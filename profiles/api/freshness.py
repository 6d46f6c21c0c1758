"""
What a detail's ETag depends on besides its own row.

A lab's profile shows its releases, sections, people, backers, relations and sources:
editing a release changes the lab's detail without saving the lab. Every save and
delete is in the history (django-simple-history), so the latest history entry of each
related kind, taken as subqueries of the one cheap ETag query, says whether anything
the detail shows has changed.
"""

from django.db.models import OuterRef, Q, Subquery

from ..models import Backing, Citation, LabRelation, Person, Release, Role, Section, Source


def _latest(model, *conditions, **filters):
    return Subquery(
        model.history.model.objects.filter(*conditions, **filters).order_by("-history_date").values("history_date")[:1]
    )


def _cited_sources(**filters):
    return Citation.objects.filter(**filters).values("source")


def _ids(model, **filters):
    return model.objects.filter(**filters).values("pk")


def lab_freshness():
    lab = OuterRef("pk")
    # One level deeper (a subquery inside the history subquery), the lab is two levels out.
    outer_lab = OuterRef(OuterRef("pk"))
    return {
        "releases_changed": _latest(Release, lab=lab),
        "sections_changed": _latest(Section, lab=lab),
        "roles_changed": _latest(Role, lab=lab),
        "backings_changed": _latest(Backing, lab=lab),
        "relations_changed": _latest(LabRelation, lab=lab),
        "citations_changed": _latest(Citation, lab=lab),
        "section_citations_changed": _latest(Citation, section__in=_ids(Section, lab=outer_lab)),
        "release_citations_changed": _latest(Citation, release__in=_ids(Release, lab=outer_lab)),
        "people_changed": _latest(Person, id__in=Role.objects.filter(lab=outer_lab).values("person")),
        # Three subqueries rather than one with OR across two joins, which the database
        # can only answer by reading every citation (28 ms at 50,000 releases).
        "sources_changed": _latest(
            Source,
            Q(id__in=_cited_sources(lab=outer_lab))
            | Q(id__in=_cited_sources(section__lab=outer_lab))
            | Q(id__in=_cited_sources(release__lab=outer_lab)),
        ),
    }


def person_freshness():
    return {"roles_changed": _latest(Role, person=OuterRef("pk"))}


def source_freshness():
    return {"citations_changed": _latest(Citation, source=OuterRef("pk"))}


def release_freshness():
    return {"citations_changed": _latest(Citation, release=OuterRef("pk"))}
