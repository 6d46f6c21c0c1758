"""
The imports in the admin: upload a file (Publishers), watch it run, map the names it
guessed, and decide the changes it proposed.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from profiles import documents
from profiles.models import PublicationState

from .epoch import parse_partial
from .models import ImportRun, ImportStatus, LabAlias, ProposedChange, ProposedChangeStatus
from .tasks import run_import

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@admin.register(LabAlias)
class LabAliasAdmin(admin.ModelAdmin):
    list_display = ["name", "lab", "confirmed", "created"]
    list_filter = ["confirmed", "dataset"]
    list_select_related = ["lab"]
    search_fields = ["name", "lab__name", "lab__slug"]
    search_help_text = "Search the dataset's names and our labs' names."
    autocomplete_fields = ["lab"]
    fields = ["dataset", "name", "lab", "confirmed"]
    actions = ["confirm"]

    @admin.action(description="Confirm the selected mappings", permissions=["change"])
    def confirm(self, request, queryset):
        count = queryset.update(confirmed=True)
        self.message_user(request, f"{count} mapping{'s' if count != 1 else ''} confirmed.", messages.SUCCESS)


class ImportUploadForm(forms.ModelForm):
    file = forms.FileField(
        label="CSV file", help_text="A CSV export of Epoch AI's models (https://epoch.ai/data), in either column layout.",
    )

    class Meta:
        model = ImportRun
        fields = []

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(f"The file is {upload.size // 2**20} MB; {MAX_UPLOAD_BYTES // 2**20} MB at most.")
        return upload


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Runs are started by uploading a file (or by `manage.py import_epoch`); they are a record, never edited."""

    list_display = ["started", "file_name", "mode", "status", "progress", "summary", "created_by"]
    list_filter = ["status", "mode"]
    list_select_related = ["created_by"]
    date_hierarchy = "started"
    readonly_fields = [
        "file_name", "mode", "status", "progress", "created_by", "started", "finished", "layout", "sha256",
        "summary", "reported", "names", "error",
    ]
    fieldsets = [
        (None, {"fields": ["file_name", "status", "progress", "summary", "error"]}),
        ("Rows reported (skipped)", {"fields": ["reported"]}),
        ("Names new to us", {"fields": ["names"]}),
        ("Details", {"fields": ["mode", "layout", "sha256", "created_by", "started", "finished"]}),
    ]
    change_form_template = "admin/imports/importrun/change_form.html"

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ImportUploadForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["file"], "description": (
                "Changes to published profiles wait in drafts for review; values that disagree with ours are "
                "listed as proposed changes. The import runs in the background: its page shows how far it is."
            )})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_add_permission(self, request):
        # Importing proposes changes across hundreds of profiles: a Publisher's call.
        return request.user.has_perm("imports.add_importrun")

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data["file"]
        obj.file_name = upload.name[:300]
        obj.data = upload.read()
        obj.created_by = request.user
        obj.status = ImportStatus.QUEUED
        obj.save()
        # After the commit: the worker must find the run (and a failure to enqueue must not undo it).
        transaction.on_commit(lambda: run_import.enqueue(obj.pk))

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, "The import has started; this page follows it.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:imports_importrun_change", args=[obj.pk]))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if object_id:
            run = self.get_object(request, object_id)
            # The page reloads itself while the worker runs (no script needed).
            extra_context["refresh_seconds"] = 2 if run and run.status in (ImportStatus.QUEUED, ImportStatus.RUNNING) else None
            extra_context["show_save"] = False
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description="progress")
    def progress(self, obj):
        if obj.status == ImportStatus.QUEUED:
            return "Waiting for the worker"
        if obj.status == ImportStatus.RUNNING:
            if obj.rows_total and obj.rows_done >= obj.rows_total:
                return format_html('<progress aria-label="Writing"></progress> Writing {} rows (all or nothing)', obj.rows_total)
            return format_html(
                '<progress max="{}" value="{}"></progress> Reading row {}', obj.rows_total or 1, obj.rows_done, obj.rows_done,
            )
        return obj.get_status_display()

    @admin.display(description="what it did")
    def summary(self, obj):
        return ", ".join(f"{count} {what}" for what, count in (obj.counts or {}).items() if count) or "—"

    @admin.display(description="rows reported")
    def reported(self, obj):
        if not obj.problems:
            return "None"
        return format_html(
            '<table><thead><tr><th scope="col">Line</th><th scope="col">Column</th><th scope="col">Model</th>'
            '<th scope="col">Why</th></tr></thead><tbody>{}</tbody></table>',
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((p["line"], p["column"], p["model"], p["message"]) for p in obj.problems),
            ),
        )

    @admin.display(description="names new to us")
    def names(self, obj):
        if not obj.new_names:
            return "None"
        url = reverse("admin:imports_labalias_changelist") + "?confirmed__exact=0"
        return format_html(
            '{} organisation names became new labs. <a href="{}">Map or confirm them</a>: {}',
            len(obj.new_names), url, ", ".join(obj.new_names[:50]) + ("…" if len(obj.new_names) > 50 else ""),
        )


@admin.register(ProposedChange)
class ProposedChangeAdmin(admin.ModelAdmin):
    """Values an import found that disagree with ours: a Publisher keeps ours or takes theirs."""

    list_display = ["target_link", "field", "ours_shown", "theirs_shown", "their_source_link", "status", "created"]
    list_filter = ["status", "field", "dataset"]
    list_select_related = ["release__lab", "lab", "their_source"]
    search_fields = ["release__name", "lab__name", "field"]
    readonly_fields = [
        "target_link", "field", "ours_shown", "our_sources", "theirs_shown", "their_source_link", "their_row",
        "status", "created", "decided_by", "decided_at", "run",
    ]
    fields = readonly_fields
    actions = ["keep_ours", "take_theirs"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_decide_permission(self, request):
        return request.user.has_perm("imports.decide_proposedchange")

    @admin.display(description="on")
    def target_link(self, obj):
        target = obj.target
        url = reverse(f"admin:profiles_{target._meta.model_name}_change", args=[target.pk])
        return format_html('<a href="{}">{}</a>', url, target)

    @admin.display(description="ours")
    def ours_shown(self, obj):
        return shown(obj.ours)

    @admin.display(description="theirs")
    def theirs_shown(self, obj):
        return shown(obj.theirs)

    @admin.display(description="their source")
    def their_source_link(self, obj):
        if obj.their_source is None:
            return f"{obj.get_dataset_display()} ({obj.their_row})"
        return format_html('<a href="{}">{}</a> ({})', obj.their_source.url, obj.their_source.title, obj.their_row)

    @admin.action(description="Keep ours (close the selected proposals)", permissions=["decide"])
    def keep_ours(self, request, queryset):
        count = queryset.open().update(
            status=ProposedChangeStatus.KEPT, decided_by=request.user, decided_at=timezone.now()
        )
        self.message_user(request, f"Kept our value for {count} proposal{'s' if count != 1 else ''}.", messages.SUCCESS)

    @admin.action(description="Take theirs (into the profile's draft)", permissions=["decide"])
    def take_theirs(self, request, queryset):
        taken = 0
        for proposal in queryset.open().select_related("release__lab", "lab"):
            try:
                take(proposal, request.user)
            except (ValidationError, documents.DraftConflict, PermissionDenied) as error:
                self.message_user(request, f"{proposal}: not taken ({error}).", messages.ERROR)
                continue
            taken += 1
        if taken:
            self.message_user(
                request,
                f"Took their value for {taken} proposal{'s' if taken != 1 else ''}. Changes to published profiles "
                "wait in their drafts: publish them from the profile's page.",
                messages.SUCCESS,
            )


def shown(value):
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value in (None, "") else str(value)


def take(proposal, user):
    """Write their value: into the document's draft when it is published (as an admin edit would), else in place."""
    target = proposal.release or proposal.lab
    lab = proposal.release.lab if proposal.release_id else proposal.lab

    def write():
        row = type(target)._base_manager.get(pk=target.pk)
        if proposal.field == "released":
            row.released, row.released_precision = parse_partial(proposal.theirs)
        else:
            setattr(row, proposal.field, proposal.theirs)
        row.full_clean()
        row.save()

    with transaction.atomic():
        if lab.state == PublicationState.PUBLISHED:
            documents.edit(lab, write, user)
        else:
            write()
        proposal.status, proposal.decided_by, proposal.decided_at = ProposedChangeStatus.TAKEN, user, timezone.now()
        proposal.save(update_fields=["status", "decided_by", "decided_at"])
