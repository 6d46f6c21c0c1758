"""
The editorial workflow in the admin: states and roles, no lost edits, history and undo.

The rules themselves live in ``profiles/models.py`` (``transition()``, ``check_state_change()``,
the optimistic lock in ``save()``); this module only puts them in front of editors: it limits
what the form offers, turns refusals into messages on the right field, and shows what someone
else changed when two editors meet on one row.
"""

import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

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
        if opened is None:
            opened = instance.version  # a form that never carried a version (scripts): no check
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
            if obj.state == new_state:
                continue
            try:
                obj._history_user = request.user
                obj.transition(request.user, new_state)
            except PermissionDenied as refusal:
                modeladmin.message_user(request, str(refusal), messages.ERROR)
            except EditConflict as conflict:
                modeladmin.message_user(request, str(conflict), messages.ERROR)
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

    return {
        "dashboard": {
            "awaiting": [entry(obj) for obj in sorted(awaiting, key=lambda o: o.updated, reverse=True)[:limit]],
            "stale": [entry(obj) for obj in stale],
            "review_days": settings.PROFILE_REVIEW_DAYS,
            "published": [history_entry(r) for r in sorted(published, key=lambda r: r.history_date, reverse=True)[:limit]],
            "scheduled": [entry(obj) for obj in sorted(scheduled, key=lambda o: o.published_at)[:limit]],
        }
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
        if not request.user.has_perm("profiles.add_lab"):
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
            model_admin.message_user(request, f"Restored “{lab}” with the rows deleted with it.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:profiles_lab_change", args=[lab.pk]))
        return HttpResponseRedirect(request.path)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Deleted labs",
        "opts": Lab._meta,
        "records": deleted_labs(),
    }
    return TemplateResponse(request, "admin/profiles/lab/deleted.html", context)
