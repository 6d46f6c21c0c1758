"""
Public changelogs: each publication of a lab's profile and what it changed, field by field.

An entry is a lab's first publication ("Profile published", at its ``published_at``:
publishing a draft lab writes its rows in place, no revision) or a published ``Revision``
of it, compared with the document it was made against (its ``live_base``: the live
profile when the edit began, so an import's own writes are not put down to the editor;
else the published revision before it). ``documents.diff()`` finds the changes and
``documents.describe()`` words them, as in the admin's compare view.

Only what readers may see: published revisions (never a draft's, a scheduled one's before
it goes live, a discarded one's) of live labs, and of each document only the rows readers
may see now (``is_live()``): a release not live, and the rows hanging on one (its
citations, its co-developers), are taken out of both sides before comparing; a reference
to a row of another document readers may not see (a draft person's role, a link to a
draft lab) drops the row (or, for an optional link, the value). A revision that changed
nothing readers see is left out of its page.

A page costs a fixed number of queries: the entries, the revisions and labs they name, and
one query per kind of row their changes refer to.
"""

import dataclasses
import datetime
import json

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, IntegerField, OuterRef, Subquery, Value
from django.db.models.fields.json import JSONField
from django.utils import timezone

from . import documents
from .models import Citation, Lab, Person, Release, Revision, RevisionStatus, Source, is_live

PUBLISHABLE = (Lab, Person, Release, Source)


@dataclasses.dataclass
class Entry:
    lab: Lab
    when: datetime.datetime
    revision_id: int | None  # None: the first publication
    rows: list  # (what, before, after), from documents.describe()

    @property
    def first(self):
        return self.revision_id is None

    @property
    def anchor(self):
        return f"change-{self.revision_id}" if self.revision_id else "change-published"

    @property
    def title(self):
        return f"{'Profile published' if self.first else 'Profile updated'}: {self.lab.name}"

    def get_absolute_url(self):
        return f"{self.lab.get_changes_url()}#{self.anchor}"


def entry_rows(labs=None, since=None):
    """
    The entries, newest first, as one sliceable query of (when, revision_id, lab_id) rows
    (``labs``: a queryset of labs, by default every published one; ``since``: only entries
    after that time, as the followers' digests take them, follows/digests.py).
    """
    labs = Lab.objects.published() if labs is None else labs
    revisions = (
        Revision.objects.filter(
            content_type=ContentType.objects.get_for_model(Lab), status=RevisionStatus.PUBLISHED,
            decided_at__isnull=False, object_id__in=labs.values("pk"),
        )
        .order_by()
        .values_list("decided_at", "pk", "object_id")
    )
    firsts = labs.order_by().values_list("published_at", Value(None, output_field=IntegerField()), "pk")
    if since is not None:
        revisions, firsts = revisions.filter(decided_at__gt=since), firsts.filter(published_at__gt=since)
    # Positions, not names: a union orders by the columns of its first query.
    return revisions.union(firsts, all=True).order_by("-decided_at", F("pk").desc(nulls_last=True))


def build_entries(rows, now=None):
    """``Entry``s for a page of ``entry_rows()`` (one query each for revisions and labs, and for the rows changes name)."""
    now = now or timezone.now()
    rows = list(rows)
    revision_ids = [rev for _when, rev, _lab in rows if rev is not None]
    previous = Revision.objects.filter(
        content_type=OuterRef("content_type"), object_id=OuterRef("object_id"),
        status=RevisionStatus.PUBLISHED, pk__lt=OuterRef("pk"),
    ).order_by("-pk").values("data")[:1]
    revisions = {
        revision.pk: revision
        for revision in Revision.objects.filter(pk__in=revision_ids).annotate(
            previous_data=Subquery(previous, output_field=JSONField())
        )
    }
    labs = Lab.objects.in_bulk({lab for _when, _rev, lab in rows})
    pairs = []
    for when, rev, lab_id in rows:
        lab = labs.get(lab_id)
        if lab is None:
            continue
        if rev is None:
            pairs.append((lab, when, None, None, None))
            continue
        revision = revisions[rev]
        before = revision.live_base or revision.previous_data
        if isinstance(before, str):  # a JSON subquery read as text on some backends
            before = json.loads(before)
        pairs.append((lab, when, rev, before, revision.data))

    targets = Targets(now)
    public = []
    for lab, when, rev, before, after in pairs:
        if before is None:
            public.append((lab, when, rev, None, None))
            continue
        for document in (before, after):
            targets.collect(lab, document)
        public.append((lab, when, rev, before, after))
    targets.load()

    entries = []
    for lab, when, rev, before, after in public:
        if before is None:
            entries.append(Entry(lab, when, rev, []))
            continue
        old, new = targets.public_document(lab, before), targets.public_document(lab, after)
        changes = documents.diff(old, new)
        row_values = lambda part, key, new=new, old=old: new["parts"].get(part, {}).get(key) or old["parts"].get(part, {}).get(key)  # noqa: E731
        described = documents.describe(lab, changes, readable=targets.readable, row_values=row_values)
        if described:
            entries.append(Entry(lab, when, rev, described))
    return entries


def _foreign_keys(model):
    return [field for field in model._meta.concrete_fields if field.is_relation and field.many_to_one]


class Targets:
    """The rows documents point at, fetched once per page (one query per model), with whether readers may see them."""

    def __init__(self, now):
        self.now = now
        self.wanted = {}  # model -> ids
        self.names = {}  # (model, id) -> name
        self.visible = {}  # (model, id) -> bool

    def _models(self, lab):
        return {name: queryset.model for name, queryset in documents.document_parts(lab).items()}

    def collect(self, lab, document):
        models = {None: Lab, **self._models(lab)}
        for part, rows in [(None, {"root": document["root"]}), *document["parts"].items()]:
            model = models.get(part)
            if model is None:
                continue
            for values in rows.values():
                for field in _foreign_keys(model):
                    value = values.get(field.attname)
                    if value is not None and int(value) > 0:
                        self.wanted.setdefault(field.related_model, set()).add(int(value))

    def load(self):
        for model, ids in self.wanted.items():
            queryset = model._base_manager.filter(pk__in=ids)
            if model is Release:
                queryset = queryset.select_related("lab")
            for obj in queryset:
                self.names[(model, obj.pk)] = str(obj)
                if model in PUBLISHABLE:
                    live = is_live(obj.state, obj.published_at, self.now)
                    if model is Release:
                        live = live and is_live(obj.lab.state, obj.lab.published_at, self.now)
                    self.visible[(model, obj.pk)] = live
                else:
                    self.visible[(model, obj.pk)] = True

    def _row_live(self, values):
        if "state" in values and "published_at" in values:
            published_at = values["published_at"]
            if isinstance(published_at, str):
                published_at = datetime.datetime.fromisoformat(published_at)
            return is_live(values["state"], published_at, self.now)
        return True

    def public_document(self, lab, document):
        """``document`` as a reader may see it (see the module's docstring)."""
        models = self._models(lab)
        internal = {}  # part -> {key: live}
        parts = {}
        # Releases first: other parts hang on them.
        order = sorted(document["parts"], key=lambda name: name != "releases")
        for part in order:
            model = models.get(part)
            if model is None:
                continue
            references = documents.INTERNAL_REFERENCES.get(part, {})
            kept = {}
            for key, values in document["parts"][part].items():
                values = dict(values)
                keep = self._row_live(values)
                for field in _foreign_keys(model):
                    value = values.get(field.attname)
                    if not keep or value is None or field.related_model is Lab and int(value) == lab.pk:
                        continue
                    if field.attname in references:
                        seen = internal.get(references[field.attname], {}).get(str(value))
                        visible = bool(seen) if seen is not None else self.visible.get((field.related_model, int(value)), False)
                    else:
                        visible = self.visible.get((field.related_model, int(value)), False)
                    if visible:
                        continue
                    if field.null and model is not Citation:
                        values[field.attname] = None
                    else:
                        keep = False
                internal.setdefault(part, {})[key] = keep
                if keep:
                    kept[key] = values
            parts[part] = kept
        root = dict(document["root"])
        for field in _foreign_keys(Lab):
            value = root.get(field.attname)
            if value is not None and not self.visible.get((field.related_model, int(value)), False):
                root[field.attname] = None
        return {"root": root, "parts": parts}

    def readable(self, model, attname, value):
        if value is None or value == "":
            return ""
        for field in model._meta.concrete_fields:
            if field.attname == attname and field.is_relation:
                if int(value) < 0:
                    # A row the same publication added: named from the document.
                    return ""
                if not self.visible.get((field.related_model, int(value)), False):
                    return ""
                return self.names.get((field.related_model, int(value)), "")
        return documents._readable(model, attname, value)

