"""
Profiles as documents: drafts kept apart from the live rows, merged three ways.

A *document* is what editors write and readers read as one unit: a lab with its
sections, roles, releases, backings, relations and citations; a person with their
citations and roles outside any lab; a source. ``snapshot()`` reads one into plain JSON
(``{"root": {field: value}, "parts": {part: {key: {field: value}}}}``, each value as
Django's JSON encoder writes it), ``apply()`` writes one back to the rows (only the rows
and fields that differ), ``diff()`` compares two and ``merge()`` merges two edits of one
base field by field and row by row.

The live rows always hold the published document. An edit of a published document runs
the ordinary machinery (the admin's forms and inlines, the API's serializers, every
``clean()``) on the rows inside a transaction that is rolled back (``capture()``): what
it would have written is snapshotted and stored as a draft ``Revision`` instead, so no
rule is written twice and readers, feeds, caches and ETags never see it. Staff previews
and the admin's form read the draft the same way (``draft_applied()``): applied inside
a transaction that is rolled back after the page is rendered. Rows a draft adds get
negative keys until it is published: no live row ever has one, so they cannot collide.

This is a different design from django-modelcluster's in-memory child managers (the
issue's reference): those need ``ParentalKey`` on every part and a form layer of their
own, while a rolled-back transaction lets the admin's stock inlines, the API and the
public templates run unchanged on a draft, byte for byte what publishing would show.
"""

import contextlib
import datetime
import contextvars
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

# Fields that are bookkeeping, not content: never part of a draft or a diff.
SKIPPED = {"id", "created", "updated", "version"}
# The root's publication is the workflow's business (publish, unpublish, archive), not the draft's.
ROOT_SKIPPED = SKIPPED | {"state", "published_at"}


class Rollback(Exception):
    """Raised inside a capture to undo its writes."""


def _models():
    from . import models as m

    return m


def document_parts(root):
    """{part name: queryset of the rows of that part} of ``root``'s document, in the order they are applied."""
    m = _models()
    if isinstance(root, m.Lab):
        return {
            "sections": m.Section.objects.filter(lab=root),
            "releases": m.Release.objects.filter(lab=root),
            "roles": m.Role.objects.filter(lab=root),
            "backings": m.Backing.objects.filter(lab=root),
            "relations": m.LabRelation.objects.filter(lab=root),
            "codevelopers": m.Codeveloper.objects.filter(release__lab=root),
            "citations": m.Citation.objects.filter(
                Q(lab=root) | Q(section__lab=root) | Q(release__lab=root)
            ),
        }
    if isinstance(root, m.Person):
        return {
            "roles": m.Role.objects.filter(person=root, lab__isnull=True),
            "citations": m.Citation.objects.filter(person=root),
        }
    return {}


def part_model(root, part):
    """The model of ``part`` ("sections") of ``root``'s document, or None."""
    queryset = document_parts(root).get(part)
    return queryset.model if queryset is not None else None


def document_root(obj):
    """The document ``obj`` belongs to (a lab, person or source), or None (an organization)."""
    m = _models()
    if isinstance(obj, (m.Lab, m.Person, m.Source)):
        return obj
    if isinstance(obj, (m.Section, m.Release, m.Backing, m.LabRelation)):
        return obj.lab
    if isinstance(obj, m.Codeveloper):
        return obj.release.lab
    if isinstance(obj, m.Role):
        return obj.lab if obj.lab_id else obj.person
    if isinstance(obj, m.Citation):
        if obj.lab_id:
            return obj.lab
        if obj.section_id:
            return obj.section.lab
        if obj.release_id:
            return obj.release.lab
        return obj.person
    return None


def _fields(model, skipped):
    return [field for field in model._meta.concrete_fields if field.name not in skipped and not field.name.endswith("_html")]


def _value(field, obj):
    value = field.value_from_object(obj)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        # In full: DjangoJSONEncoder cuts microseconds to milliseconds, so a value written
        # back would differ from the stored one and every row would look changed.
        return value.isoformat()
    try:
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    except TypeError:  # a value object of a third-party field (a Country): its stored text
        return field.value_to_string(obj)


def _row(obj, skipped=SKIPPED):
    return {field.attname: _value(field, obj) for field in _fields(type(obj), skipped)}


def snapshot(root):
    """``root``'s document as it stands in the database (inside a capture: as the edit left it)."""
    return {
        "root": _row(root, ROOT_SKIPPED),
        "parts": {
            name: {str(obj.pk): _row(obj) for obj in queryset.order_by("pk")}
            for name, queryset in document_parts(root).items()
        },
    }


# --------------------------------------------------------------------------
# Applying a document to the rows
# --------------------------------------------------------------------------

# Which fields of a part point at rows of another part of the same document (a draft's new
# rows are referred to by their negative keys until publishing gives them real ones).
INTERNAL_REFERENCES = {
    "releases": {"family_id": "releases", "base_model_id": "releases"},
    "codevelopers": {"release_id": "releases"},
    "citations": {"section_id": "sections", "release_id": "releases"},
}


def _set_fields(obj, values, model):
    changed = False
    for field in model._meta.concrete_fields:
        if field.attname not in values:
            continue
        new = field.to_python(values[field.attname])
        if field.is_relation and new is not None:
            new = int(new) if str(new).lstrip("-").isdigit() else new
        if getattr(obj, field.attname) != new:
            setattr(obj, field.attname, new)
            changed = True
    return changed


def apply(root, document, user=None, keep_new_keys=True):
    """
    Write ``document`` to ``root``'s rows: the root's fields, then each part's rows, saving
    only rows that differ, deleting rows it no longer has and inserting the new ones.

    ``keep_new_keys``: new rows keep their negative keys (a draft applied for a preview or
    an edit, inside a transaction that is rolled back); otherwise (publishing) they get
    real keys and the document's references to them follow.
    """
    model = type(root)
    document = _without_dangling_rows(root, document)
    if _set_fields(root, document["root"], model):
        root._history_user = user
        root.save()
    keys = {}  # (part, negative key) -> real key, when publishing
    parts = document_parts(root)
    deferred = []  # (obj, attname, part, key): references to new rows, set once those exist
    # Deletions first, so a row replaced by a new one with the same unique fields can go in.
    for name in reversed(list(parts)):
        wanted = set(document["parts"].get(name, {}))
        for obj in parts[name]:
            if str(obj.pk) not in wanted:
                obj._history_user = user
                obj.delete()
    for name, queryset in parts.items():
        rows = document["parts"].get(name, {})
        existing = {str(obj.pk): obj for obj in queryset.model._base_manager.filter(pk__in=[int(key) for key in rows])}
        # Rows that exist first, then new ones: a row renamed in the draft frees its slug for a
        # new row before that row goes in.
        for key, values in sorted(rows.items(), key=lambda item: (item[0] not in existing, int(item[0]))):
            obj = existing.get(key)
            new = obj is None
            if new:
                obj = queryset.model(pk=int(key) if keep_new_keys or int(key) > 0 else None)
            values = dict(values)
            for attname, part in INTERNAL_REFERENCES.get(name, {}).items():
                target = values.get(attname)
                if target is not None and int(target) < 0 and not keep_new_keys:
                    if (part, str(target)) in keys:
                        values[attname] = keys[(part, str(target))]
                    else:  # a new row of this same part not inserted yet: set afterwards
                        values[attname] = None
                        deferred.append((obj, attname, part, str(target)))
            if _set_fields(obj, values, queryset.model) or new:
                obj._history_user = user
                if new and keep_new_keys:
                    obj.save(force_insert=True)
                else:
                    obj.save()
            if new and not keep_new_keys:
                keys[(name, key)] = obj.pk
    for obj, attname, part, target in deferred:
        setattr(obj, attname, keys[(part, target)])
        obj._history_user = user
        obj.save()
    return keys


def _without_dangling_rows(root, document):
    """
    The document without the part rows that point at something outside it that is gone
    (a role of a person deleted since the draft was saved, a citation of a deleted
    source): they cannot be written, and the deletion was a decision made meanwhile.
    """
    parts = document_parts(root)
    kept = {}
    for name, rows in document["parts"].items():
        queryset = parts.get(name)
        if queryset is None or not rows:
            kept[name] = rows
            continue
        internal = INTERNAL_REFERENCES.get(name, {})
        missing = {}  # attname -> keys of the rows it points at that are gone
        for field in queryset.model._meta.concrete_fields:
            if not field.is_relation or field.attname in internal:
                continue
            wanted = {int(values[field.attname]) for values in rows.values() if values.get(field.attname) is not None}
            if wanted:
                found = set(field.related_model._base_manager.filter(pk__in=wanted).values_list("pk", flat=True))
                if wanted - found:
                    missing[field.attname] = wanted - found
        kept[name] = {
            key: values for key, values in rows.items()
            if not any(values.get(attname) is not None and int(values[attname]) in gone for attname, gone in missing.items())
        }
    return {"root": document["root"], "parts": kept}


class PublishFailed(Exception):
    """A draft that can no longer be written to the rows (a slug taken meanwhile): nothing was published."""


def renumber_new_rows(document, live, *previous):
    """
    Give rows that neither the live document nor a previous draft has a negative key
    (a capture inserted them with real keys, which the rollback hands out again), below
    every key in use, and point the document's references at the new keys. Returns the
    document and ``{(part, key in it): its new key}``.
    """
    known = {name: set(rows) for name, rows in live["parts"].items()}
    for earlier in previous:
        for name, rows in ((earlier or {}).get("parts") or {}).items():
            known.setdefault(name, set()).update(rows)
    lowest = min([0, *(int(key) for rows in known.values() for key in rows)])
    renamed = {}
    parts = {}
    for name, rows in document["parts"].items():
        parts[name] = {}
        for key, values in rows.items():
            if key not in known.get(name, set()) and int(key) > 0:
                lowest -= 1
                renamed[(name, key)] = str(lowest)
                key = str(lowest)
            parts[name][key] = values
    for name, rows in parts.items():
        for values in rows.values():
            for attname, part in INTERNAL_REFERENCES.get(name, {}).items():
                target = values.get(attname)
                if target is not None and (part, str(target)) in renamed:
                    values[attname] = int(renamed[(part, str(target))])
    return {"root": document["root"], "parts": parts}, renamed


# --------------------------------------------------------------------------
# Comparing and merging
# --------------------------------------------------------------------------


def diff(old, new):
    """
    What changed from ``old`` to ``new``: a list of ``(part, key, field, before, after)``;
    part None is the root; a row added or removed is one entry with field None and the
    whole row as ``after`` or ``before``.
    """
    changes = [(None, None, name, old["root"].get(name), value)
               for name, value in new["root"].items() if old["root"].get(name) != value]
    for name in sorted(set(old["parts"]) | set(new["parts"])):
        before, after = old["parts"].get(name, {}), new["parts"].get(name, {})
        for key in sorted(set(before) | set(after), key=int):
            if key not in after:
                changes.append((name, key, None, before[key], None))
            elif key not in before:
                changes.append((name, key, None, None, after[key]))
            else:
                changes += [(name, key, field, before[key].get(field), value)
                            for field, value in after[key].items() if before[key].get(field) != value]
    return changes


def _merge_fields(base, theirs, yours, where, conflicts):
    merged = {}
    for field in sorted(set(base) | set(theirs) | set(yours)):
        b, t, y = base.get(field), theirs.get(field), yours.get(field)
        if y == b or t == y:
            merged[field] = t
        elif t == b:
            merged[field] = y
        else:
            conflicts.append((*where, field, t, y))
            merged[field] = y
    return merged


def merge(base, theirs, yours):
    """
    Three-way merge of two edits (``theirs``, ``yours``) of one ``base`` document: what only
    you changed takes your value, what only they changed keeps theirs, what both changed
    alike is taken, and what both changed differently is a conflict ``(part, key, field,
    theirs, yours)`` (field None: a row one side deleted and the other changed). Rows are
    matched by key; additions and deletions on either side are kept.
    Returns ``(merged, conflicts)``; with conflicts, ``merged`` holds your values there.
    """
    conflicts = []
    root = _merge_fields(base["root"], theirs["root"], yours["root"], (None, None), conflicts)
    parts = {}
    for name in sorted(set(base["parts"]) | set(theirs["parts"]) | set(yours["parts"])):
        b, t, y = (doc["parts"].get(name, {}) for doc in (base, theirs, yours))
        rows = {}
        for key in sorted(set(b) | set(t) | set(y), key=int):
            if key in b:
                if key in t and key in y:
                    rows[key] = _merge_fields(b[key], t[key], y[key], (name, key), conflicts)
                elif key in t:  # you deleted it
                    if t[key] != b[key]:
                        conflicts.append((name, key, None, t[key], None))
                elif key in y:  # they deleted it
                    if y[key] != b[key]:
                        conflicts.append((name, key, None, None, y[key]))
                        rows[key] = y[key]  # yours stands where there is a conflict
                # deleted on both sides: gone
            elif key in t and key in y:
                rows[key] = _merge_fields({}, t[key], y[key], (name, key), conflicts)
            else:
                rows[key] = t.get(key, y.get(key))
        parts[name] = rows
    return {"root": root, "parts": parts}, conflicts


# --------------------------------------------------------------------------
# Running code on a draft
# --------------------------------------------------------------------------


@contextlib.contextmanager
def rolled_back(using=None):
    """A transaction whose writes are always undone (``Rollback`` ends it quietly)."""
    try:
        with transaction.atomic(using=using):
            yield
            raise Rollback
    except Rollback:
        pass


def is_document_model(model):
    m = _models()
    return model in (m.Lab, m.Person, m.Source)


def effective(revision, live):
    """
    ``revision``'s document with what changed in the live rows since its draft began (an
    import, a fixture load: writes that are no drafts) merged in; where both changed a
    thing, the draft's value stands. Without such changes, the revision's own document.
    """
    if revision.live_base is None or revision.live_base == live:
        return revision.data
    merged, _conflicts = merge(revision.live_base, live, revision.data)
    return merged


CAPTURING = contextvars.ContextVar("capturing", default=False)


def capturing():
    """Whether code runs inside an edit's capture (row versions are then the merge's business)."""
    return CAPTURING.get()


@contextlib.contextmanager
def draft_applied(root, document=None):
    """
    Inside: the rows show ``root``'s pending draft (or ``document``), if any; every write
    is undone after. Yields the pending draft revision (None: none).
    """
    m = _models()
    draft = m.Revision.objects.pending_for(root) if root is not None and root.pk else None
    if document is None and draft is not None:
        document = effective(draft, snapshot(root))
    if document is None:
        yield None
        return
    with rolled_back():
        _apply_draft(root, document, "shown")
        yield draft


def _apply_draft(root, document, doing):
    """``apply()`` of a draft for a preview or an edit; one that no longer fits the rows is ``PublishFailed``."""
    try:
        with transaction.atomic():
            apply(type(root)._base_manager.get(pk=root.pk), document)
    except IntegrityError as error:
        raise PublishFailed(
            f"The draft of {root} cannot be {doing} as it stands ({error}): something in it was taken since "
            "it was saved, such as a slug. Discard it, or correct it."
        ) from None


def root_of_new_row(model, key):
    """The document whose pending draft adds the row ``key`` (negative) of ``model``, or None."""
    m = _models()
    for revision in m.Revision.objects.pending().select_related("content_type"):
        root_model = revision.content_type.model_class()
        root = root_model._base_manager.filter(pk=revision.object_id).first()
        if root is None:
            continue
        for name, queryset in document_parts(root).items():
            if queryset.model is model and str(key) in revision.data["parts"].get(name, {}):
                return root
    return None


def touches_published(root):
    """Whether edits of ``root``'s document become drafts (it is published, live or scheduled)."""
    if root is None or not root.pk:
        return False
    stored = type(root)._base_manager.filter(pk=root.pk).values_list("state", flat=True).first()
    return stored == _models().PublicationState.PUBLISHED


# --------------------------------------------------------------------------
# Editing, publishing, discarding
# --------------------------------------------------------------------------


class DraftConflict(Exception):
    """Two editors changed the same thing: ``conflicts`` lists ``(part, key, field, theirs, yours)``."""

    def __init__(self, conflicts, merged):
        super().__init__(f"{len(conflicts)} conflicting change(s)")
        self.conflicts, self.merged = conflicts, merged


class EditResult:
    """What an edit of a published document did: the revision stored (None: nothing changed)."""

    def __init__(self, revision=None, renamed=None):
        self.revision, self.renamed = revision, renamed or {}


def capture(root, run, base_document):
    """
    Run ``run()`` on ``root``'s rows showing ``base_document``, then undo every write;
    returns ``(run's result, the document as run left it)`` (None when run deleted the root).
    An exception from ``run()`` undoes the writes and propagates.
    """
    result = captured = None
    token = CAPTURING.set(True)
    written = []
    try:
        with rolled_back():
            _apply_draft(root, base_document, "edited")
            with _recording_writes(written):
                result = run()
            _check_same_document(root, written)
            # A page is rendered while the rows show the draft (an API response's data is
            # already serialised; DRF renders it later, and must).
            if hasattr(result, "render") and not hasattr(result, "data") and not getattr(result, "is_rendered", True):
                result.render()
            row = type(root)._base_manager.filter(pk=root.pk).first()
            captured = snapshot(row) if row is not None else None
    finally:
        CAPTURING.reset(token)
    return result, captured


class OtherDocumentWrite(Exception):
    """An edit of one document wrote a row of another: it would be undone without a trace."""


@contextlib.contextmanager
def _recording_writes(written):
    from django.db.models.signals import post_delete, post_save

    def record(sender, instance, **kwargs):
        if sender in _content_models():
            written.append(instance)

    post_save.connect(record, weak=False, dispatch_uid="documents-capture-save")
    post_delete.connect(record, weak=False, dispatch_uid="documents-capture-delete")
    try:
        yield
    finally:
        post_save.disconnect(dispatch_uid="documents-capture-save")
        post_delete.disconnect(dispatch_uid="documents-capture-delete")


def _content_models():
    m = _models()
    return (m.Lab, m.Person, m.Source, m.Section, m.Release, m.Role, m.Backing, m.LabRelation, m.Citation, m.Codeveloper)


def _check_same_document(root, written):
    """Every row an edit wrote is of ``root``'s document (a draft holds one document)."""
    for instance in written:
        try:
            other = document_root(instance)
        except Exception:  # a row deleted with its parent: it went with the document
            continue
        if other is not None and (type(other), other.pk) != (type(root), root.pk):
            raise OtherDocumentWrite(
                f"This change also touches {instance._meta.verbose_name} “{instance}”, which belongs to "
                f"the profile of {other}: change it there."
            )


def store_draft(root, document, user, base=None):
    """Store ``document`` as ``root``'s pending draft (the previous draft is superseded); None when it changes nothing."""
    m = _models()
    pending = m.Revision.objects.pending_for(root)
    live = snapshot(root)
    current = effective(pending, live) if pending else live
    if document == current:
        return None
    with transaction.atomic():
        m.Revision.objects.for_root(root).pending().update(status=m.RevisionStatus.SUPERSEDED)
        return m.Revision.objects.create(
            content_type=_content_type(root), object_id=root.pk, data=document, base=base or pending,
            # The live document this revision was made against (edit() merged it in already):
            # what changes in the live rows after it is merged in when it is shown or published.
            live_base=live,
            created_by=_saved_user(user),
        )


def _saved_user(user):
    """The user to record on a revision: None for a script's or an anonymous one."""
    return user if getattr(user, "pk", None) else None


def _content_type(root):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(type(root))


def edit(root, run, user, base_revision=None, opened_live=False):
    """
    An edit of ``root``'s published document: ``run()`` (a form's or serializer's save)
    runs on the draft (``base_revision``'s, or the pending one), its writes are undone and
    kept as a new draft revision, merged three ways with any draft saved meanwhile.
    Returns ``(run's result, EditResult)``; raises ``DraftConflict`` when both changed
    the same field or row differently (nothing is stored then).
    """
    m = _models()
    live = snapshot(root)
    pending = m.Revision.objects.pending_for(root)
    current = effective(pending, live) if pending else live
    if base_revision is not None and base_revision.status == m.RevisionStatus.PUBLISHED:
        base_revision, opened_live = None, True  # opened when that revision was live
    # What the editor started from: a draft they opened, the live document (a form opened
    # when there was no draft), or, for a write that names none (the API), the current draft.
    base = effective(base_revision, live) if base_revision is not None else live if opened_live else current
    result, captured = capture(root, run, base)
    if captured is None:
        return result, EditResult()
    # Below the keys of the draft saved meanwhile too: two editors' new rows are two rows.
    before, renamed = renumber_new_rows(captured, live, base, current)
    if base is current or base == current:
        document = before
    else:
        document, conflicts = merge(base, current, before)
        if conflicts:
            raise DraftConflict(conflicts, document)
    revision = store_draft(root, document, user, base=pending)
    return result, EditResult(revision, renamed)


def submit(root, user):
    """Put the pending draft up for review (an editor's "Submit"); None when there is no draft."""
    m = _models()
    draft = m.Revision.objects.pending_for(root)
    if draft is None:
        return None
    draft.status = m.RevisionStatus.SUBMITTED
    draft.save(update_fields=["status"])
    return draft


def publish(root, user, revision=None, go_live=None):
    """
    Write ``revision`` (by default the pending draft) to the live rows in one transaction;
    the revision becomes the published one and readers see it. With ``go_live`` in the
    future it is scheduled instead (``publish_due`` publishes it then). Returns it (None: no draft).
    """
    m = _models()
    if go_live is not None and go_live > timezone.now():
        revision = revision or m.Revision.objects.pending_for(root)
        if revision is not None:
            revision.status, revision.go_live_at = m.RevisionStatus.SCHEDULED, go_live
            revision.decided_by = _saved_user(user)
            revision.save(update_fields=["status", "go_live_at", "decided_by"])
            # Cached pages must not outlive the new go-live (caching.seconds_until_next_go_live).
            from .caching import bump_content_generation

            bump_content_generation()
        return revision
    try:
        with transaction.atomic():
            root = type(root)._base_manager.select_for_update().get(pk=root.pk)
            revision = revision or m.Revision.objects.pending_for(root)
            if revision is None:
                return None
            apply(root, effective(revision, snapshot(root)), user=user, keep_new_keys=False)
            m.Revision.objects.for_root(root).pending().exclude(pk=revision.pk).update(status=m.RevisionStatus.SUPERSEDED)
            revision.status = m.RevisionStatus.PUBLISHED
            revision.decided_by = _saved_user(user)
            revision.decided_at = timezone.now()
            revision.save(update_fields=["status", "decided_by", "decided_at"])
    except IntegrityError as error:
        # Something the draft holds was taken or removed since it was saved (a slug, a row
        # it points at): nothing is written; the editor fixes the draft and tries again.
        raise PublishFailed(
            f"The draft of {root} cannot be published as it stands ({error}): something in it was taken "
            "or removed since it was saved, such as a slug another row now has. Correct it in the form, or discard it."
        ) from None
    return revision


def fold_into_rows(root, user):
    """Write the pending draft of a document nobody reads any more to its rows, and close it."""
    m = _models()
    pending = m.Revision.objects.pending_for(root)
    if pending is None:
        return None
    with transaction.atomic():
        apply(type(root)._base_manager.get(pk=root.pk), effective(pending, snapshot(root)), user=user, keep_new_keys=False)
        m.Revision.objects.for_root(root).pending().update(status=m.RevisionStatus.SUPERSEDED)
    return pending


def discard(root, user):
    """Drop the pending draft: the document goes back to its live version. Returns how many drafts were dropped."""
    m = _models()
    return m.Revision.objects.for_root(root).pending().update(
        status=m.RevisionStatus.DISCARDED, decided_by=_saved_user(user),
        decided_at=timezone.now(),
    )


def publish_due_if_time():
    """
    Publish due scheduled drafts, if any, before a public page or API answer is built.
    The next go-live (scheduled drafts included) is kept in the shared cache under the
    content generation (``seconds_until_next_go_live``), which the page cache reads anyway
    to know how long a page may be kept, and a shared copy still good is served without it
    (no draft is due before its time runs out: PublicPageCacheMixin.dispatch). Without the
    page cache it is read the same way: a cache read rather than a query of the drafts
    (0.3 ms of every uncached page, bench/profile.py).
    """
    from .caching import seconds_until_next_go_live

    if seconds_until_next_go_live() == 0:
        publish_due()


def publish_due(now=None):
    """
    Publish scheduled drafts whose time has come. Called before a request is answered
    (profiles.middleware), so a scheduled draft is live on time with no cron; each is
    claimed by a conditional UPDATE, so two processes never publish one twice.
    """
    m = _models()
    published = 0
    due = m.Revision.objects.due(now)
    if not due.exists():
        return 0
    for revision in due.select_related("content_type"):
        claimed = m.Revision.objects.filter(pk=revision.pk, status=m.RevisionStatus.SCHEDULED).update(
            status=m.RevisionStatus.APPROVED
        )
        if not claimed:
            continue
        root = revision.content_type.model_class()._base_manager.filter(pk=revision.object_id).first()
        if root is not None:
            revision.refresh_from_db()
            try:
                publish(root, revision.decided_by, revision)
            except PublishFailed as failure:
                # Readers keep the live version; the dashboard shows the draft sent back, and why.
                revision.status, revision.comment = m.RevisionStatus.CHANGES_REQUESTED, f"Could not go live as scheduled. {failure}"
                revision.save(update_fields=["status", "comment"])
                continue
            published += 1
    return published


# --------------------------------------------------------------------------
# Saying what changed, for people
# --------------------------------------------------------------------------

PART_LABEL_FIELDS = ("name", "title", "heading", "slug", "claim", "kind")


def _label_of_row(model, values):
    """A row as people call it: 'Release “InternLM”' (capitalised; the name as written)."""
    kind = str(model._meta.verbose_name)
    kind = kind[:1].upper() + kind[1:]
    for name in PART_LABEL_FIELDS:
        if values.get(name):
            return f"{kind} “{values[name]}”"
    return kind


def _readable(model, attname, value):
    if value is None or value == "":
        return ""
    for field in model._meta.concrete_fields:
        if field.attname != attname:
            continue
        if field.is_relation:
            if int(value) < 0:
                return "(new in this draft)"
            target = field.related_model._base_manager.filter(pk=value).first()
            return str(target) if target is not None else f"#{value}"
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        return str(value)
    return str(value)


def _field_label(model, attname):
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return str(field.verbose_name)
    return attname


def describe(root, changes, readable=None, row_values=None):
    """
    ``diff()``'s changes as rows a person reads: (what, before, after). ``readable(model,
    attname, value)`` and ``row_values(part, key)`` replace the database lookups of values
    and row labels (the public changelog passes its own, prefetched and reader-safe).
    """
    readable = readable or _readable
    row_values = row_values or (lambda part, key: _row_values(root, part, key))
    parts = {name: queryset.model for name, queryset in document_parts(root).items()}
    rows = []
    for part, key, field, before, after in changes:
        model = type(root) if part is None else parts.get(part)
        if model is None:
            continue
        if part is None:
            rows.append((_field_label(model, field).capitalize(), readable(model, field, before), readable(model, field, after)))
        elif field is None:
            values = after or before
            summary = "; ".join(
                f"{_field_label(model, name)}: {readable(model, name, value)}"
                for name, value in values.items() if value not in (None, "", False)
            )
            label = _label_of_row(model, values)
            rows.append((f"{label} added" if after else f"{label} removed", "" if after else summary, summary if after else ""))
        else:
            label = _label_of_row(model, row_values(part, key) or {})
            rows.append((f"{label}: {_field_label(model, field)}", readable(model, field, before), readable(model, field, after)))
    return rows


def _row_values(root, part, key):
    queryset = document_parts(root).get(part)
    if queryset is None or int(key) < 0:
        return {}
    obj = queryset.model._base_manager.filter(pk=key).first()
    return _row(obj) if obj is not None else {}


def describe_place(root, part, key, field):
    """Where a change or conflict is, for people: "Summary", "Release “InternLM”: name"."""
    model = type(root) if part is None else part_model(root, part)
    if model is None:
        return f"{part} #{key}"
    if part is None:
        return _field_label(model, field).capitalize()
    label = _label_of_row(model, _row_values(root, part, key) or {})
    return f"{label}: {_field_label(model, field)}" if field else f"{label} (deleted on one side, changed on the other)"
