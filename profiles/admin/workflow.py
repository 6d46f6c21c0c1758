"""
The editorial workflow in the admin: states and roles, no lost edits, history and undo.

The rules themselves live in ``profiles/models.py`` (``transition()``, ``check_state_change()``,
the optimistic lock in ``save()``); this module only puts them in front of editors: it limits
what the form offers, turns refusals into messages on the right field, and shows what someone
else changed when two editors meet on one row.
"""

import datetime
import functools

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from .. import documents
from ..markup import render_markdown
from ..models import (
    Backing,
    Citation,
    EditConflict,
    Lab,
    LabRelation,
    Person,
    PreviewLink,
    PublicationState,
    Release,
    Revision,
    RevisionStatus,
    Role,
    Section,
    Source,
)

PUBLISHABLE_MODELS = (Lab, Person, Release, Source)
EDITOR_STATES = (PublicationState.DRAFT, PublicationState.REVIEW)


def may_publish(user, model):
    return user.has_perm(model.publish_permission())


# --------------------------------------------------------------------------
# No lost edits: the versioned form
# --------------------------------------------------------------------------


def _display(value):
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime.datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return str(value)


def _field_value(form, name):
    """What the editor typed, as the form understood it (their raw input if it did not validate)."""
    if name in getattr(form, "cleaned_data", {}):
        value = form.cleaned_data[name]
    else:
        value = form[name].value()
    field = form.fields[name]
    # Plain choices show their label; a link's choices would be a query over every row.
    if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
        value = dict(field.choices).get(value, value)
    return value


def _model_value(instance, name):
    if instance is None:
        return None
    field = instance._meta.get_field(name)
    if field.choices:
        return getattr(instance, f"get_{name}_display")()
    if field.is_relation:
        # The stored id, resolved for display (one query per changed link: conflicts are rare).
        pk = getattr(instance, field.attname)
        return field.related_model._base_manager.filter(pk=pk).first() if pk else None
    return getattr(instance, name)


def _same(a, b):
    return _display(a) == _display(b)


class VersionedAdminForm(forms.ModelForm):
    """
    Carries the version of the row the editor opened (a hidden field). A save from an older
    version is refused with a table of what changed since; the editor's input stays in the form
    and the hidden version moves to the stored one, so pressing Save again after merging is a
    deliberate overwrite of a state they have now seen.
    """

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    # Set by the admin (``get_form``/``get_formset``): whose state changes are checked.
    request_user = None
    # Set when a save lost a race after this check passed: refuse whatever the versions say.
    force_conflict = False

    class Meta:
        # ``version`` is not editable on the model; excluding it here lets the admin list it in
        # its fields (so the hidden input is rendered) while this form declares it itself.
        exclude = ["version"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version
        self.conflict_rows = []
        user = self.request_user
        if "state" in self.fields and user is not None and not may_publish(user, self._meta.model):
            # Editors only see the states they may choose (plus the stored one, so the form shows it).
            allowed = {*EDITOR_STATES, self.instance.stored_state or PublicationState.DRAFT}
            field = self.fields["state"]
            field.choices = [(value, label) for value, label in field.choices if value in allowed]
        if "state" in self.fields and not self.instance.pk:
            # A new row starts as a draft (or goes straight to review); publishing is a later step.
            field = self.fields["state"]
            field.choices = [(value, label) for value, label in field.choices if value in EDITOR_STATES]

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if instance.pk is None:
            return cleaned
        opened = cleaned.get("version")
        if opened is None or documents.capturing():
            # A form that never carried a version (scripts): no check. An edit of a published
            # document is merged with other drafts instead (documents.edit).
            opened = instance.version
        stored = type(instance)._base_manager.filter(pk=instance.pk).values_list("version", flat=True).first()
        if stored is not None and (opened != stored or self.force_conflict):
            self._refuse_stale(opened, stored)
        # Save with the version the editor saw, so a write racing in after this check still
        # loses against the lock in Model.save() (EditConflict, handled by the admin).
        instance.version = opened
        if "state" in cleaned and self.request_user is not None:
            try:
                instance.check_state_change(self.request_user, cleaned["state"])
            except PermissionDenied as refusal:
                self.add_error("state", str(refusal))
        return cleaned

    def _refuse_stale(self, opened, stored):
        model = type(self.instance)
        current = model._base_manager.get(pk=self.instance.pk)
        record = current.history.filter(version=opened).order_by("-history_date").first()
        seen = record.instance if record else None
        rows = []
        for name in self.fields:
            if name == "version":
                continue
            try:
                model._meta.get_field(name)
            except FieldDoesNotExist:  # a form-only field has nothing stored to compare
                continue
            stored_value = _model_value(current, name)
            # Fields someone else changed since the editor opened the form (all of them when
            # the opened version is not in the history).
            if seen is not None and _same(_model_value(seen, name), stored_value):
                continue
            rows.append((self.fields[name].label or name, _field_value(self, name), stored_value))
        self.conflict_rows = rows
        # The re-rendered form keeps the editor's input but now carries the stored version.
        self.data = self.data.copy()
        self.data[self.add_prefix("version")] = str(stored)
        table = format_html(
            '<table class="edit-conflict"><thead><tr><th>Field</th><th>Your value</th>'
            "<th>Stored value</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((label, _display(mine), _display(theirs)) for label, mine, theirs in rows),
            ),
        )
        raise ValidationError(
            format_html(
                "{} was changed by someone else since you opened it (you opened version {}, the "
                "stored one is version {}). Nothing was saved. Your input is kept below: merge it "
                "with the stored values and save again.{}",
                str(self.instance), opened, stored, table,
            ),
            code="edit_conflict",
        )


# --------------------------------------------------------------------------
# Actions: the workflow on many rows at once
# --------------------------------------------------------------------------


def _transition_action(new_state, verb, description):
    def action(modeladmin, request, queryset):
        done = 0
        for obj in queryset:
            # Publishing a published document still publishes its pending draft.
            if obj.state == new_state and not (
                new_state == PublicationState.PUBLISHED and Revision.objects.pending_for(obj) is not None
            ):
                continue
            try:
                obj._history_user = request.user
                obj.transition(request.user, new_state)
            except PermissionDenied as refusal:
                modeladmin.message_user(request, str(refusal), messages.ERROR)
            except (EditConflict, documents.PublishFailed) as failure:
                modeladmin.message_user(request, str(failure), messages.ERROR)
            else:
                done += 1
        if done:
            modeladmin.message_user(request, f"{verb} {done} of {queryset.count()} selected.", messages.SUCCESS)

    action.__name__ = {
        PublicationState.REVIEW: "submit_for_review",
        PublicationState.PUBLISHED: "publish",
        PublicationState.DRAFT: "unpublish",
        PublicationState.ARCHIVED: "archive",
    }[new_state]
    # Offered to everyone who may edit: a refusal says why, which teaches the workflow better
    # than a missing menu entry.
    return admin.action(description=description, permissions=["change"])(action)


submit_for_review = _transition_action(PublicationState.REVIEW, "Submitted for review", "Submit for review")
publish = _transition_action(PublicationState.PUBLISHED, "Published", "Publish")
unpublish = _transition_action(PublicationState.DRAFT, "Moved to draft", "Unpublish (back to draft)")
archive = _transition_action(PublicationState.ARCHIVED, "Archived", "Archive")


@admin.action(description="Create preview link", permissions=["preview"])
def create_preview_link(modeladmin, request, queryset):
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(queryset.model)
    for obj in queryset:
        link = PreviewLink.objects.create(content_type=content_type, object_id=obj.pk, created_by=request.user)
        modeladmin.message_user(
            request,
            format_html(
                "Preview link for “{}” (until {}): {}", obj, _display(link.expires_at),
                request.build_absolute_uri(link.get_absolute_url()),
            ),
            messages.SUCCESS,
        )


WORKFLOW_ACTIONS = [submit_for_review, publish, unpublish, archive, create_preview_link]


# --------------------------------------------------------------------------
# History: compare any two versions, revert
# --------------------------------------------------------------------------


def diff_rows(model, old, new):
    """(field label, old value, new value) for every field that differs between two instances."""
    skip = {"version", "created", "updated"}
    rows = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in skip or field.name.endswith("_html"):
            continue
        before, after = _model_value(old, field.name), _model_value(new, field.name)
        if not _same(before, after):
            rows.append((field.verbose_name, before, after))
    return rows


class HistoryAdminMixin(SimpleHistoryAdmin):
    """simple_history's history list and revert, plus a compare view and the version handling."""

    history_list_display = ["state"]

    def get_history_list_display(self, request):
        return [name for name in self.history_list_display if hasattr(self.model, name)]

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/history/compare/",
                self.admin_site.admin_view(self.compare_view),
                name=f"{opts.app_label}_{opts.model_name}_compare",
            ),
            *super().get_urls(),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        match = request.resolver_match
        if obj is not None and obj.pk and match and (match.url_name or "").endswith("_simple_history"):
            # Reverting: the historical instance carries its old version and state; a revert is a
            # deliberate overwrite of the current row, checked against what is stored now.
            stored = type(obj)._base_manager.filter(pk=obj.pk).values("version", "state").first() if hasattr(
                obj, "version"
            ) else None
            if stored:
                obj.version = stored["version"]
                obj._stored_state = stored["state"]
        form = super().get_form(request, obj, change=change, **kwargs)
        if issubclass(form, VersionedAdminForm):
            form = type(
                form.__name__, (form,),
                {"request_user": request.user, "force_conflict": getattr(request, "_lost_edit_race", False)},
            )
        return form

    def compare_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        records = list(obj.history.select_related("history_user").order_by("-history_date", "-history_id"))
        by_id = {str(record.history_id): record for record in records}

        def pick(key, default):
            value = request.GET.get(key, default)
            if value == "current":
                return "current", obj
            record = by_id.get(value)
            if record is None:
                return "current", obj
            return value, record.instance

        default_old = str(records[1].history_id) if len(records) > 1 else "current"
        old_key, old = pick("a", default_old)
        new_key, new = pick("b", "current")
        last_published = obj.history.filter(state=PublicationState.PUBLISHED).order_by("-history_date").first() if hasattr(
            obj, "state"
        ) else None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Compare versions: {obj}",
            "opts": self.model._meta,
            "original": obj,
            "records": records,
            "old_key": old_key,
            "new_key": new_key,
            "rows": diff_rows(self.model, old, new),
            "since_published_url": (
                f"?a={last_published.history_id}&b=current" if last_published is not None else None
            ),
            "history_url": reverse(
                f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_history", args=[obj.pk]
            ),
        }
        return TemplateResponse(request, "admin/profiles/compare.html", context)


# --------------------------------------------------------------------------
# The base admin for publishable models
# --------------------------------------------------------------------------


class WorkflowAdminMixin:
    """States and roles, the versioned form and the conflict refusal for Lab, Person, Release, Source."""

    form = VersionedAdminForm
    change_form_template = "admin/profiles/versioned_change_form.html"
    object_history_template = "admin/profiles/object_history.html"  # adds the compare link

    def get_urls(self):
        opts = self.model._meta
        if not documents.is_document_model(self.model):
            return super().get_urls()
        name = f"{opts.app_label}_{opts.model_name}"
        return [
            path("<path:object_id>/draft/diff/", self.admin_site.admin_view(self.draft_diff_view), name=f"{name}_draft_diff"),
            path("<path:object_id>/draft/publish/", self.admin_site.admin_view(self.draft_publish_view),
                 name=f"{name}_draft_publish"),
            path("<path:object_id>/draft/discard/", self.admin_site.admin_view(self.draft_discard_view),
                 name=f"{name}_draft_discard"),
            path("<path:object_id>/revisions/revert/", self.admin_site.admin_view(self.revision_revert_view),
                 name=f"{name}_revision_revert"),
            path("<path:object_id>/draft/review/", self.admin_site.admin_view(self.draft_review_view),
                 name=f"{name}_draft_review"),
            *super().get_urls(),
        ]

    def _document(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def draft_diff_view(self, request, object_id):
        """
        Compare two versions of the whole document (``?a=`` and ``?b=``: a revision's id, or
        "live"), parts included: by default the pending draft against the live version.
        """
        obj = self._document(request, object_id)
        revisions = list(Revision.objects.for_root(obj).select_related("created_by", "decided_by")[:100])
        by_id = {str(revision.pk): revision for revision in revisions}
        draft = Revision.objects.pending_for(obj)
        live = documents.snapshot(obj)

        def pick(key, default):
            value = request.GET.get(key, default)
            revision = by_id.get(value)
            if revision is None:
                return "live", live
            # The pending draft as publishing would write it (live changes since merged in).
            return value, documents.effective(revision, live) if draft and revision.pk == draft.pk else revision.data

        a_key, a = pick("a", "live")
        b_key, b = pick("b", str(draft.pk) if draft else "live")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Versions of {obj}",
            "opts": self.model._meta,
            "original": obj,
            "draft": draft,
            "revisions": revisions,
            "a_key": a_key,
            "b_key": b_key,
            "rows": documents.describe(obj, documents.diff(a, b)),
            "may_publish": may_publish(request.user, self.model),
            "may_change": self.has_change_permission(request, obj),
        }
        return TemplateResponse(request, "admin/profiles/draft_diff.html", context)

    def revision_revert_view(self, request, object_id):
        """A new draft made from an old revision, parts included (the live rows are untouched)."""
        obj = self._document(request, object_id)
        if request.method != "POST" or not self.has_change_permission(request, obj):
            raise PermissionDenied
        revision = get_object_or_404(Revision.objects.for_root(obj), pk=request.POST.get("revision"))
        live = documents.snapshot(obj)
        pending = Revision.objects.pending_for(obj)
        # Rows of the old revision that are gone from the live document come back as new rows.
        data, _renamed = documents.renumber_new_rows(revision.data, live, pending.data if pending else None)
        # The old revision's values all count as the draft's own (reverting is choosing them).
        if documents.store_draft(obj, data, request.user) is None:
            self.message_user(request, "That revision is what the form shows already: nothing to revert.", messages.INFO)
        else:
            self.message_user(
                request, format_html("Made a draft of “{}” from revision {}; publish it to put it live.", obj, revision.pk),
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self._change_url(obj))

    def _change_url(self, obj):
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])

    def draft_publish_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(self._document(request, object_id)))
        obj = self._document(request, object_id)
        if not may_publish(request.user, self.model):
            raise PermissionDenied
        try:
            published = documents.publish(obj, request.user)
        except documents.PublishFailed as failure:
            self.message_user(request, str(failure), messages.ERROR)
            return HttpResponseRedirect(self._change_url(obj))
        if published is None:
            self.message_user(request, "There are no unpublished changes to publish.", messages.INFO)
        else:
            self.message_user(request, format_html("Published the draft of “{}”: readers see it now.", obj), messages.SUCCESS)
        return HttpResponseRedirect(self._change_url(obj))

    def draft_review_view(self, request, object_id):
        """
        The review of a pending draft: an editor submits it; a publisher approves it or asks
        for changes with a comment, which the document's form and the dashboard show.
        """
        obj = self._document(request, object_id)
        draft = Revision.objects.pending_for(obj)
        decision = request.POST.get("decision")
        if request.method != "POST" or draft is None or decision not in ("submit", "approve", "request_changes"):
            return HttpResponseRedirect(self._change_url(obj))
        if decision == "submit":
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
            if draft.status in (RevisionStatus.SCHEDULED, RevisionStatus.APPROVED) and not may_publish(request.user, self.model):
                raise PermissionDenied("A publisher has approved or scheduled this draft already.")
            documents.submit(obj, request.user)
            self.message_user(request, format_html("Submitted the draft of “{}” for review.", obj), messages.SUCCESS)
        else:
            if not may_publish(request.user, self.model):
                raise PermissionDenied
            comment = request.POST.get("_review_comment", "").strip()
            if decision == "request_changes" and not comment:
                self.message_user(request, "Say what should change: the comment is what the editor sees.", messages.ERROR)
                return HttpResponseRedirect(self._change_url(obj))
            draft.status = (RevisionStatus.APPROVED if decision == "approve" else RevisionStatus.CHANGES_REQUESTED)
            draft.comment, draft.decided_by, draft.decided_at = comment, request.user, timezone.now()
            draft.save(update_fields=["status", "comment", "decided_by", "decided_at"])
            self.message_user(
                request, format_html("{} the draft of “{}”.", "Approved" if decision == "approve" else "Asked for changes to", obj),
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self._change_url(obj))

    def draft_discard_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(self._document(request, object_id)))
        obj = self._document(request, object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        draft = Revision.objects.pending_for(obj)
        if draft and draft.status in (RevisionStatus.SCHEDULED, RevisionStatus.APPROVED) and not may_publish(request.user, self.model):
            raise PermissionDenied("A publisher has approved or scheduled this draft: only a publisher may discard it.")
        if documents.discard(obj, request.user):
            self.message_user(request, format_html("Discarded the draft of “{}”: the form shows the published version.", obj),
                              messages.SUCCESS)
        return HttpResponseRedirect(self._change_url(obj))

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not may_publish(request.user, self.model):
            # The go-live time is a publisher's decision (scheduled publishing).
            readonly.append("published_at")
        return readonly

    def has_preview_permission(self, request):
        return request.user.has_perm("profiles.add_previewlink")

    def get_view_on_site_url(self, obj=None):
        # Staff see drafts at their real URL with a draft banner (the public view does that).
        return admin.ModelAdmin.get_view_on_site_url(self, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except EditConflict:
            # Someone saved between our check in clean() and the write (in save_model or in an
            # inline's save_related): the transaction has been rolled back. The view runs again
            # with the form forced to refuse, so the editor sees the table and keeps their input.
            request._lost_edit_race = True
            self.message_user(
                request, "Someone saved this page while you were saving it; nothing of yours was saved.",
                messages.ERROR,
            )
            return super().changeform_view(request, object_id, form_url, extra_context)


class VersionedInlineMixin:
    """An inline of a publishable model (releases on the lab page): the same version check."""

    form = VersionedAdminForm

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = type(formset.form.__name__, (formset.form,), {"request_user": request.user})
        return formset


# --------------------------------------------------------------------------
# Undelete
# --------------------------------------------------------------------------

# Rows deleted together with a lab (by cascade), restored with it, parents first.
LAB_PARTS = [Section, Release, Role, Backing, LabRelation, Citation]
CASCADE_WINDOW = datetime.timedelta(minutes=1)


def deleted_labs():
    """The latest deletion record of every lab that is gone."""
    existing = set(Lab._base_manager.values_list("pk", flat=True))
    latest = {}
    for record in Lab.history.filter(history_type="-").order_by("history_date").select_related("history_user"):
        if record.id not in existing:
            latest[record.id] = record
    return sorted(latest.values(), key=lambda record: record.history_date, reverse=True)


def restore_lab(record, user):
    """Recreate a deleted lab and the rows deleted with it; every insert is recorded in history."""
    since, until = record.history_date - CASCADE_WINDOW, record.history_date + datetime.timedelta(seconds=5)
    restored = {Lab: {record.id}}
    with transaction.atomic():
        lab = record.instance
        lab._history_user = user
        # Back as a draft: a publisher decides again whether readers see it.
        lab.state, lab.published_at = PublicationState.DRAFT, None
        lab.save()
        for model in LAB_PARTS:
            deletions = model.history.filter(history_type="-", history_date__range=(since, until))
            if model is Citation:
                deletions = deletions.filter(
                    lab_id__in=restored[Lab]
                ) | deletions.filter(section_id__in=restored.get(Section, ())) | deletions.filter(
                    release_id__in=restored.get(Release, ())
                )
            elif model is LabRelation:
                deletions = deletions.filter(lab_id=record.id) | deletions.filter(other_lab_id=record.id)
            else:
                deletions = deletions.filter(lab_id=record.id)
            ids = set()
            for deletion in deletions.order_by("history_date"):
                if model._base_manager.filter(pk=deletion.id).exists():
                    continue
                # A relation comes back only if the lab at its other end still exists.
                if model is LabRelation and Lab._base_manager.filter(
                    pk__in=[deletion.lab_id, deletion.other_lab_id]
                ).count() != 2:
                    continue
                row = deletion.instance
                row._history_user = user
                row.save()
                ids.add(deletion.id)
            restored[model] = ids
    return lab


# --------------------------------------------------------------------------
# Markdown preview and the editors' dashboard
# --------------------------------------------------------------------------


@require_POST
def markdown_preview_view(request):
    """The live preview: the same renderer and sanitiser as the public pages."""
    if not request.user.is_staff:
        raise PermissionDenied
    return HttpResponse(render_markdown(request.POST.get("text", "")), content_type="text/html; charset=utf-8")


def dashboard_context(request, limit=10):
    """The editors' dashboard: a fixed number of queries, whatever the number of rows."""
    now = timezone.now()
    awaiting, scheduled, published = [], [], []
    for model in PUBLISHABLE_MODELS:
        if not request.user.has_perm(f"profiles.view_{model._meta.model_name}"):
            continue
        awaiting += list(model.objects.awaiting_review().order_by("-updated")[:limit])
        scheduled += list(model.objects.scheduled(now).order_by("published_at")[:limit])
        published += list(
            model.history.filter(state=PublicationState.PUBLISHED)
            .select_related("history_user")
            .order_by("-history_date")[:limit]
        )
    stale = []
    if request.user.has_perm("profiles.view_lab"):
        stale = list(Lab.objects.needing_review().order_by("last_reviewed", "name")[:limit])

    def entry(obj):
        opts = obj._meta
        return {"obj": obj, "kind": opts.verbose_name,
                "url": reverse(f"admin:profiles_{opts.model_name}_change", args=[obj.pk])}

    def history_entry(record):
        model = record.instance_type
        opts = model._meta
        return {"record": record, "kind": opts.verbose_name, "name": str(record.instance),
                "url": reverse(f"admin:profiles_{opts.model_name}_change", args=[record.id])}

    # Drafts of published documents in review, or sent back with a reviewer's comment.
    drafts = []
    for revision in (
        Revision.objects.filter(status__in=[RevisionStatus.SUBMITTED, RevisionStatus.CHANGES_REQUESTED])
        .select_related("content_type", "created_by", "decided_by").order_by("-created")[:limit]
    ):
        model = revision.content_type.model_class()
        if request.user.has_perm(f"profiles.view_{model._meta.model_name}"):
            drafts.append({
                "revision": revision, "kind": model._meta.verbose_name,
                "name": revision.data["root"].get("name") or revision.data["root"].get("title") or revision.object_id,
                "url": reverse(f"admin:profiles_{model._meta.model_name}_change", args=[revision.object_id]),
            })
    return {
        "dashboard": {
            "drafts": drafts,
            "awaiting": [entry(obj) for obj in sorted(awaiting, key=lambda o: o.updated, reverse=True)[:limit]],
            "stale": [entry(obj) for obj in stale],
            "review_days": settings.PROFILE_REVIEW_DAYS,
            "published": [history_entry(r) for r in sorted(published, key=lambda r: r.history_date, reverse=True)[:limit]],
            "scheduled": [entry(obj) for obj in sorted(scheduled, key=lambda o: o.published_at)[:limit]],
            **proposed_changes(request, limit),
        }
    }


def proposed_changes(request, limit):
    """Values an import found that disagree with ours, waiting for a Publisher (imports.ProposedChange)."""
    from imports.models import ProposedChange

    if not request.user.has_perm("imports.view_proposedchange"):
        return {}
    waiting = ProposedChange.objects.for_dashboard()
    return {
        "proposed": list(waiting[:limit]),
        "proposed_count": waiting.count(),
        "proposed_url": reverse("admin:imports_proposedchange_changelist") + "?status__exact=open",
    }


# The stock index with the dashboard added: AdminSite.index takes extra context, and the site's
# URLs call ``self.index``, so wrapping the bound method is enough (no custom AdminSite, which
# would mean changing the project settings).
_stock_index = admin.site.index


def index_with_dashboard(request, extra_context=None):
    context = dashboard_context(request) if request.user.is_active and request.user.is_staff else {}
    return _stock_index(request, {**context, **(extra_context or {})})


admin.site.index = index_with_dashboard


# --------------------------------------------------------------------------
# Preview links
# --------------------------------------------------------------------------


@admin.register(PreviewLink)
class PreviewLinkAdmin(admin.ModelAdmin):
    list_display = ["target_column", "created_by", "created", "expires_at", "active"]
    list_select_related = ["created_by", "content_type"]
    list_filter = ["revoked_at"]
    readonly_fields = ["content_type", "object_id", "token", "created_by", "created", "link"]
    fields = ["content_type", "object_id", "link", "created_by", "created", "expires_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # made by the "Create preview link" action on the row itself

    def get_queryset(self, request):
        # The generic link is prefetched per kind of object: a few queries, not one per row.
        return super().get_queryset(request).prefetch_related("target")

    @admin.display(description="target")
    def target_column(self, obj):
        return obj.target or f"{obj.content_type} #{obj.object_id} (deleted)"

    @admin.display(description="active", boolean=True)
    def active(self, obj):
        return obj.is_active

    @admin.display(description="link")
    def link(self, obj):
        return obj.get_absolute_url()

    @admin.action(description="Revoke selected preview links", permissions=["change"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} preview link(s); they stop working at once.", messages.SUCCESS)


def deleted_labs_view(model_admin, request):
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    if request.method == "POST":
        # Restoring is a publisher's decision (as deleting is), and gives a draft.
        if not (request.user.has_perm("profiles.add_lab") and may_publish(request.user, Lab)):
            raise PermissionDenied
        record = get_object_or_404(Lab.history.model, history_id=request.POST.get("history_id"), history_type="-")
        if Lab._base_manager.filter(pk=record.id).exists():
            model_admin.message_user(request, f"“{record.name}” already exists.", messages.WARNING)
        elif Lab._base_manager.filter(slug=record.slug).exists():
            # A new lab took the address meanwhile; restoring would break the unique slug.
            model_admin.message_user(
                request, f"Cannot restore “{record.name}”: another lab now uses the slug “{record.slug}”.",
                messages.ERROR,
            )
        else:
            lab = restore_lab(record, request.user)
            model_admin.message_user(
                request, f"Restored “{lab}” as a draft, with the rows deleted with it; publish it when it is ready.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:profiles_lab_change", args=[lab.pk]))
        return HttpResponseRedirect(request.path)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Deleted labs",
        "opts": Lab._meta,
        "records": deleted_labs(),
    }
    return TemplateResponse(request, "admin/profiles/lab/deleted.html", context)


# --------------------------------------------------------------------------
# Documents: edits of a published profile are drafts (profiles/documents.py)
# --------------------------------------------------------------------------


def _root_from_post(model, data):
    """The document a new part would join (an add form of a section, role, citation...), from the posted links."""
    for name, root_model in (("lab", Lab), ("section", Section), ("release", Release), ("person", Person)):
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        value = data.get(name)
        if value and str(value).lstrip("-").isdigit():
            obj = root_model._base_manager.filter(pk=int(value)).first()
            if obj is not None:
                return documents.document_root(obj)
    return None


def _conflict_table(root, conflicts):
    def where(part, key, field):
        return documents.describe_place(root, part, key, field)

    return format_html(
        '<table class="edit-conflict"><thead><tr><th>What</th><th>Your value</th>'
        "<th>Their value</th></tr></thead><tbody>{}</tbody></table>",
        format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((where(part, key, field), _display(yours), _display(theirs))
             for part, key, field, theirs, yours in conflicts),
        ),
    )


class DocumentAdminMixin:
    """
    Every admin of a profile's data: saving anything of a published document (the lab,
    its releases, sections, roles..., a person, a source) stores a draft revision and
    leaves the live rows as readers see them; the form shows the pending draft. The
    stock admin machinery (forms, inlines, validation) runs unchanged, on the draft,
    inside a transaction that is rolled back (documents.edit).
    """

    change_form_template = "admin/profiles/document_change_form.html"

    def _document_root(self, request, object_id):
        if object_id is not None:
            key = unquote(object_id)
            obj = self.get_object(request, key)
            if obj is None and str(key).startswith("-"):
                return documents.root_of_new_row(self.model, key)
            return documents.document_root(obj) if obj is not None else None
        if request.method == "POST":
            return _root_from_post(self.model, request.POST)
        return None

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        # The stock "was changed successfully" is untrue of a draft: edit() says what happened.
        if getattr(request, "_document_capture", False) and level == messages.SUCCESS:
            return
        return super().message_user(request, message, level, *args, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if getattr(request, "_document_published", False):
            # The revision the editor opens (empty: the live version), posted back with the form.
            draft = getattr(request, "_document_draft", None)
            form = type(form.__name__, (form,), {
                "_base_revision": forms.CharField(
                    widget=forms.HiddenInput, required=False, initial=draft.pk if draft else "",
                ),
            })
        if getattr(request, "_document_published", False) and "state" in getattr(form, "base_fields", {}):
            # A published document's state moves with the workflow's actions, not in its draft.
            form.base_fields["state"].disabled = True
            form.base_fields["state"].help_text = (
                "Published. Your changes are saved as a draft; a Publisher publishes them (or unpublishes the page)."
            )
        return form

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if getattr(request, "_document_published", False) and "published_at" not in readonly:
            try:
                self.model._meta.get_field("published_at")
                if documents.is_document_model(self.model):
                    readonly.append("published_at")
            except FieldDoesNotExist:
                pass
        return readonly

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        root = self._document_root(request, object_id)
        if request.method == "POST" and object_id is not None and not documents.touches_published(root):
            # A row moved from an unpublished document into a published one (a section given
            # another lab) is an edit of the published one: it waits in its draft.
            target = _root_from_post(self.model, request.POST)
            if documents.touches_published(target):
                root = target
        if not documents.touches_published(root):
            return super().changeform_view(request, object_id, form_url, extra_context)
        request._document_published = True
        run = functools.partial(super().changeform_view, request, object_id, form_url)
        if request.method != "POST":
            return self._render_on_draft(request, root, run, extra_context)
        base = Revision.objects.filter(pk=request.POST.get("_base_revision") or None).first()
        request._document_capture = True
        scheduled = Revision.objects.pending_for(root)
        try:
            response, result = documents.edit(
                root, lambda: run(extra_context), request.user, base,
                opened_live="_base_revision" in request.POST and base is None,
            )
        except documents.PublishFailed as failure:
            request._document_capture = False
            self.message_user(request, f"Nothing was saved. {failure}", messages.ERROR)
            return HttpResponseRedirect(request.path)
        except documents.OtherDocumentWrite as refusal:
            request._document_capture = False
            self.message_user(request, f"Nothing was saved. {refusal}", messages.ERROR)
            return self._render_on_draft(request, root, run, extra_context, as_get=True)
        except documents.DraftConflict as conflict:
            # The form again, unbound, on the merge: their values where only they changed,
            # yours where you changed (conflicts included, with both values in a table).
            # It is now based on their draft, so saving again is a decision made seeing both.
            request._document_capture = False
            self.message_user(
                request,
                "Someone saved a draft of this profile since you opened it and changed some of the same "
                "things. Nothing was saved. The form shows your changes merged with theirs; check the "
                "conflicts listed at the top and save again.",
                messages.ERROR,
            )
            return self._render_on_draft(
                request, root, run, {**(extra_context or {}), "document_conflicts": conflict.conflicts,
                                     "document_conflict_table": _conflict_table(root, conflict.conflicts)},
                document=conflict.merged, as_get=True,
            )
        finally:
            request._document_capture = False
        if response.status_code in (301, 302):
            if result.revision is not None and scheduled is not None and scheduled.status == RevisionStatus.SCHEDULED:
                self.message_user(
                    request,
                    format_html("This draft was scheduled to go live {}; your change takes it off the schedule: "
                                "a publisher schedules it again.", _display(scheduled.go_live_at)),
                    messages.WARNING,
                )
            if result.revision is not None:
                self.message_user(
                    request,
                    format_html(
                        "Saved as a draft of “{}”. Readers see the published version until a Publisher publishes it.",
                        root,
                    ),
                    messages.SUCCESS,
                )
            else:
                self.message_user(request, "Nothing changed: no draft was saved.", messages.INFO)
            response = self._follow_renamed(response, result)
        return response

    def _follow_renamed(self, response, result):
        # "Save and continue" on a new part leads to its change form: a draft's new row has a negative key.
        opts = self.model._meta
        location = response.get("Location", "")
        for (part, key), new_key in result.renamed.items():
            location = location.replace(f"/{opts.model_name}/{key}/", f"/{opts.model_name}/{new_key}/")
        if location:
            response["Location"] = location
        return response

    def _render_on_draft(self, request, root, run, extra_context, document=None, as_get=False):
        try:
            return self._render_on_draft_unchecked(request, root, run, extra_context, document, as_get)
        except documents.PublishFailed as failure:
            # The draft cannot be applied any more: the live version, and what to do about it.
            self.message_user(request, str(failure), messages.ERROR)
            return self._render_on_draft_unchecked(
                request, root, run, extra_context, documents.snapshot(root), as_get,
            )

    def _render_on_draft_unchecked(self, request, root, run, extra_context, document, as_get):
        method = request.method
        with documents.draft_applied(root, document) as draft:
            request._document_draft = draft
            context = {**(extra_context or {}), **self.draft_context(request, root, draft)}
            if as_get:
                request.method = "GET"  # an unbound form of the merged draft
            try:
                response = run(context)
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()
            finally:
                request.method = method
        return response

    def draft_context(self, request, root, draft):
        opts = root._meta
        name = f"admin:{opts.app_label}_{opts.model_name}"
        document_url = functools.partial(lambda view: reverse(f"{name}_{view}", args=[root.pk]))
        return {
            "document_root": root,
            "document_draft": draft,
            "document_admin_url": document_url("change"),
            "document_compare_url": document_url("draft_diff"),
            "document_review_url": document_url("draft_review"),
            "document_publish_url": document_url("draft_publish"),
            "document_discard_url": document_url("draft_discard"),
            "document_presence_url": reverse("admin:profiles_presence", args=[opts.model_name, root.pk]),
            "may_publish": may_publish(request.user, type(root)),
        }

    def delete_queryset(self, request, queryset):
        # "Delete selected" on parts of published documents (roles, sections...): a draft of
        # each document, as the delete view makes it; the rest are deleted as before.
        if documents.is_document_model(self.model):
            return super().delete_queryset(request, queryset)
        by_root, in_place = {}, []
        for obj in queryset:
            root = documents.document_root(obj)
            if documents.touches_published(root):
                by_root.setdefault((type(root), root.pk), (root, []))[1].append(obj.pk)
            else:
                in_place.append(obj.pk)
        if in_place:
            super().delete_queryset(request, queryset.filter(pk__in=in_place))
        for root, pks in by_root.values():
            documents.edit(root, lambda pks=pks: super(DocumentAdminMixin, self).delete_queryset(
                request, self.model._base_manager.filter(pk__in=pks)), request.user)
            self.message_user(
                request, format_html("Deleted in a draft of “{}”: readers still see it until a Publisher publishes the draft.", root),
                messages.WARNING,
            )

    def revert_disabled(self, request, obj=None):
        # The audit log's "Revert" would write the live rows: a published document is
        # reverted from its Versions page instead, as a new draft.
        if obj is not None and documents.touches_published(documents.document_root(obj)):
            return True
        return super().revert_disabled(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id))
            root = documents.document_root(obj) if obj is not None else None
            if documents.touches_published(root):
                self.message_user(
                    request, "A published profile is reverted on its Versions page, as a draft a publisher then publishes.",
                    messages.ERROR,
                )
                opts = root._meta
                return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_draft_diff", args=[root.pk]))
        return super().history_form_view(request, object_id, version_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        # Deleting a part of a published document (a section, a role) is a change of its draft too.
        root = self._document_root(request, object_id)
        if documents.is_document_model(self.model) or not documents.touches_published(root):
            return super().delete_view(request, object_id, extra_context)
        request._document_published = True
        if request.method != "POST":
            return self._render_on_draft(request, root, functools.partial(super().delete_view, request, object_id),
                                         extra_context)
        request._document_capture = True
        try:
            response, result = documents.edit(
                root, lambda: super(DocumentAdminMixin, self).delete_view(request, object_id, extra_context),
                request.user,
            )
        finally:
            request._document_capture = False
        if result.revision is not None:
            self.message_user(request, format_html("Deleted in a draft of “{}”; readers still see it until a Publisher publishes the draft.", root), messages.SUCCESS)
        return response


# --------------------------------------------------------------------------
# Who else has a document open (as Wagtail 6.2's concurrent-editing notices)
# --------------------------------------------------------------------------

PRESENCE_SECONDS = 45  # a form not heard from for this long is closed (the page pings every 15 s)


def presence_view(request, model_name, object_id):
    """
    POST from an open change form every 15 seconds: records that this editor has the
    document open, and answers who else has (``{"others": [{"name", "since"}]}``). Kept
    in the shared cache for a minute: nothing here is worth a database write.
    """
    if not request.user.is_staff:
        raise PermissionDenied
    key = f"labsite:presence:{model_name}:{int(object_id)}"
    now = timezone.now().timestamp()
    present = {
        user_id: entry for user_id, entry in (cache.get(key) or {}).items() if now - entry["seen"] < PRESENCE_SECONDS
    }
    if request.method == "POST":
        mine = present.get(request.user.pk) or {"since": now}
        present[request.user.pk] = {
            "name": request.user.get_full_name() or request.user.get_username(), "since": mine["since"], "seen": now,
        }
        cache.set(key, present, PRESENCE_SECONDS * 2)
    others = [
        {"name": entry["name"], "since": datetime.datetime.fromtimestamp(entry["since"], datetime.timezone.utc).isoformat()}
        for user_id, entry in sorted(present.items(), key=lambda item: item[1]["since"]) if user_id != request.user.pk
    ]
    return JsonResponse({"others": others})
