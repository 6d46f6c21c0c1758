"""
Import and export for editors (django-import-export): labs, releases, people and sources
as CSV or XLSX, from the admin's lists.

- **Export** writes every row the list's filters and search select (not a page), each
  concrete field an editor keeps (not ``id``, ``version``, the rendered ``*_html``), links
  to other rows by slug (a release's ``lab``, ``family``, ``base_model``). ``created`` and
  ``updated`` are written for reference and never read back. A cell a spreadsheet would run
  as a formula gets a leading ``'`` (``neutralise()``, as the API's CSV); importing takes it
  off again, so a file exported and imported unchanged changes nothing.
- **Import** finds rows by slug, shows django-import-export's preview of what would change
  (a dry run, rolled back), then imports. Every row goes through ``full_clean()`` (the
  model's ``clean()`` and constraints: errors by row and field) and through the admin's
  rules: the state moves only as ``PublishableModel.may_change_state`` lets the user (an
  editor cannot publish by import), and a row of a *published* document (a published lab,
  person or source, or a release of a published lab) is not written to the live rows but
  stored as a draft revision of that document with ``documents.edit()``, exactly as a save
  in the admin is (merged with a draft saved meanwhile; a conflict refuses the row).
  Unpublished documents are changed in place. Unchanged rows are skipped, so importing an
  export changes nothing: no new version, no draft.

``ProfileImportExportMixin`` puts this on a ``ModelAdmin`` (profiles/admin/registry.py).
"""

import datetime

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import format_html, format_html_join
from import_export import fields, resources, widgets
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats

from profiles import documents
from profiles.api.renderers import FORMULA_STARTS, neutralise
from profiles.models import EditConflict, Lab, Person, PublicationState, Release, Source
from profiles.partial_dates import normalize

# Never part of a file: the key, the lock's counter, HTML rendered from Markdown on save,
# and the many-to-many co-developers (a part of the lab's document with its own admin).
LEFT_OUT = {"id", "version", "co_developers"}
# Written for reference, never read back.
READ_ONLY = {"created", "updated"}


# --------------------------------------------------------------------------
# Cells: what a spreadsheet shows, read back to exactly what was stored
# --------------------------------------------------------------------------


def escape(text):
    """
    ``neutralise()``, reversibly: a text that starts with a formula character gets a
    leading ``'``, and so does one that starts with ``'`` and a formula character (so
    that ``unescape()`` never takes off a quote that was really there).
    """
    if text[:1] == "'" and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        return "'" + text
    return neutralise(text)


def unescape(text):
    if text[:1] == "'" and text[1:].startswith((*FORMULA_STARTS, "'")) and escape(text[1:]) == text:
        return text[1:]
    return text


class TextWidget(widgets.CharWidget):
    """Text (char, slug, URL, country and text fields): escaped, line ends as the admin stores them."""

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a spreadsheet's 2024 for a text cell, not "2024.0"
        text = unescape(str(value))
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def render(self, value, obj=None, **kwargs):
        return escape("" if value is None else str(value))


class DateWidget(widgets.DateWidget):
    """ISO dates in CSV, real dates in XLSX (which come back as datetimes: their day is taken)."""

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, str) and value.strip():
            parsed = parse_date(value.strip()[:10]) if len(value.strip()) >= 10 else None
            if parsed is None:
                raise ValueError(f"“{value}” is not a date: write it as YYYY-MM-DD.")
            return parsed
        return super().clean(value, row, **kwargs)


class DateTimeWidget(widgets.Widget):
    """
    A moment as ISO 8601 text with its offset and microseconds, in XLSX too: a
    spreadsheet's own datetimes keep neither, so the value would come back changed.
    """

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        if isinstance(value, datetime.datetime):
            moment = value
        else:
            moment = parse_datetime(str(value).strip())
            if moment is None:
                raise ValueError(f"“{value}” is not a date and time: write it as 2024-07-01T09:30:00+00:00.")
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment

    def render(self, value, obj=None, **kwargs):
        return value.astimezone(datetime.timezone.utc).isoformat() if value else ""


class FloatWidget(widgets.FloatWidget):
    """A float written so that it reads back the same (``repr``: 1.6e+24, not a rounded 1,600,000,…)."""

    def render(self, value, obj=None, **kwargs):
        if kwargs.get("force_native_type"):
            return value
        return "" if value is None else repr(value)

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        try:
            return float(str(value).strip().replace(",", ""))
        except ValueError:
            raise ValueError(f"“{value}” is not a number.") from None


class SlugWidget(widgets.ForeignKeyWidget):
    """A link to another row by its slug (the natural key), whatever its state."""

    def __init__(self, model):
        super().__init__(model, field="slug")

    def get_queryset(self, value, row, *args, **kwargs):
        return self.model._base_manager.all()

    def clean(self, value, row=None, **kwargs):
        slug = unescape(str(value)).strip() if value not in (None, "") else ""
        if not slug:
            return None
        try:
            return self.get_queryset(slug, row).get(slug=slug)
        except ObjectDoesNotExist:
            raise ValueError(f"There is no {self.model._meta.verbose_name} with the slug “{slug}”.") from None

    def render(self, value, obj=None, **kwargs):
        return escape(value.slug) if value is not None else ""


# --------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------


def file_fields(model):
    """The fields a file holds, in the model's order."""
    return [
        field.name for field in model._meta.concrete_fields
        if field.name not in LEFT_OUT and not field.name.endswith("_html")
    ]


class ProfileResource(resources.ModelResource):
    """
    A publishable model as rows keyed by slug, imported with the admin's validation,
    workflow and draft rules (module docstring).
    """

    class Meta:
        import_id_fields = ["slug"]
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    @classmethod
    def field_from_django_field(cls, field_name, django_field, readonly):
        if django_field.is_relation:
            widget = SlugWidget(django_field.related_model)
        elif isinstance(django_field, models.DateTimeField):
            widget = DateTimeWidget()
        elif isinstance(django_field, models.DateField):
            widget = DateWidget()
        elif isinstance(django_field, models.FloatField):
            widget = FloatWidget()
        elif isinstance(django_field, (models.CharField, models.TextField)):
            widget = TextWidget(allow_blank=True)
        else:
            widget = cls.widget_from_django_field(django_field)(**cls.widget_kwargs_for_field(field_name, django_field))
        return fields.Field(
            attribute=field_name, column_name=field_name, widget=widget,
            readonly=readonly or field_name in READ_ONLY, default=django_field.default,
        )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # {(model, pk): [root, revision]}: the published documents this import wrote drafts of.
        self.drafted = {}

    # --- export ----------------------------------------------------------------------

    def filter_export(self, queryset, **kwargs):
        # Each linked row comes with its row (no query per link and row).
        links = [f.name for f in self._meta.model._meta.concrete_fields if f.is_relation and f.name in self.fields]
        return queryset.select_related(*links) if links else queryset

    # --- import ----------------------------------------------------------------------

    def after_init_instance(self, instance, new, row, **kwargs):
        # The row as stored, before the file's values: whose document it is and when it went live.
        instance._import_stored_root = None if new else documents.document_root(instance)
        instance._import_stored_published_at = None if new else instance.published_at

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        # A partial date as clean() stores it, so "2015-06-15" of a year compares equal to 2015-01-01.
        for field in instance._meta.concrete_fields:
            if hasattr(instance, f"{field.name}_precision") and field.name not in errors:
                value = getattr(instance, field.name)
                if isinstance(value, datetime.date):
                    setattr(instance, field.name, normalize(value, getattr(instance, f"{field.name}_precision")))
        for name, message in self.workflow_errors(instance, kwargs.get("user")):
            if name not in errors:
                errors.setdefault(name, []).append(ValidationError(message))
        if errors:
            raise ValidationError(errors)

    def workflow_errors(self, instance, user):
        """(field, message) for what ``user`` may not do with this row: the admin's rules."""
        model = type(instance)
        opts = model._meta
        new = instance._state.adding
        if user is None:
            return [(NON_FIELD_ERRORS, "An import needs a signed-in editor.")]
        if new and not user.has_perm(f"{opts.app_label}.add_{opts.model_name}"):
            return [(NON_FIELD_ERRORS, f"You may not add {opts.verbose_name_plural}.")]
        if not new and not user.has_perm(f"{opts.app_label}.change_{opts.model_name}"):
            return [(NON_FIELD_ERRORS, f"You may not change {opts.verbose_name_plural}.")]
        found = []
        published_root = (
            not new and documents.is_document_model(model) and instance.stored_state == PublicationState.PUBLISHED
        )
        state = instance.state or PublicationState.DRAFT
        if state not in PublicationState.values:
            pass  # full_clean() says it is not a choice
        elif published_root and state != instance.stored_state:
            found.append(("state", (
                f"“{instance}” is published: it is unpublished or archived with the actions on the list, "
                "not by an import."
            )))
        else:
            try:
                instance.check_state_change(user, state)
            except PermissionDenied as refusal:
                found.append(("state", str(refusal)))
        stored_published_at = getattr(instance, "_import_stored_published_at", None)
        if instance.published_at != stored_published_at:
            if published_root:
                found.append(("published_at", (
                    f"“{instance}” is published: its go-live time changes when a Publisher publishes "
                    "or schedules its draft, not by an import."
                )))
            elif not user.has_perm(model.publish_permission()):
                found.append(("published_at", "When a row goes live is a Publisher's decision."))
        return found

    def save_instance(self, instance, is_create, row, **kwargs):
        user = kwargs.get("user")
        instance._history_user = user
        stored_root = getattr(instance, "_import_stored_root", None)
        root = stored_root if documents.touches_published(stored_root) else documents.document_root(instance)
        if not documents.touches_published(root):
            return super().save_instance(instance, is_create, row, **kwargs)  # edited in place
        # The document as stored (a lab's row here is the file's, in memory: not the live one).
        root = type(root)._base_manager.get(pk=root.pk)
        self.before_save_instance(instance, row, **kwargs)

        def run():
            # On the document as its draft has it (the admin's form runs there too).
            instance.full_clean()
            instance.save(force_insert=is_create)
            return instance

        try:
            _instance, result = documents.edit(root, run, user, opened_live=True)
        except documents.DraftConflict as conflict:
            places = "; ".join(
                documents.describe_place(root, part, key, field) for part, key, field, _theirs, _yours in conflict.conflicts
            )
            raise ValidationError(
                f"Someone saved a draft of “{root}” that changes the same things differently ({places}). "
                "Nothing of this row was saved: compare the draft in the admin, then import again."
            ) from None
        except (documents.OtherDocumentWrite, documents.PublishFailed, EditConflict) as refusal:
            raise ValidationError(str(refusal)) from None
        instance._import_drafted = root
        entry = self.drafted.setdefault((type(root), root.pk), [root, None])
        entry[1] = result.revision or entry[1]
        self.after_save_instance(instance, row, **kwargs)

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        result.drafted = [(root, revision) for root, revision in self.drafted.values()]


def resource_for(model, name):
    meta = type("Meta", (ProfileResource.Meta,), {
        "model": model, "fields": file_fields(model), "export_order": file_fields(model),
    })
    return type(name, (ProfileResource,), {"Meta": meta, "__module__": __name__})


LabResource = resource_for(Lab, "LabResource")
ReleaseResource = resource_for(Release, "ReleaseResource")
PersonResource = resource_for(Person, "PersonResource")
SourceResource = resource_for(Source, "SourceResource")


# --------------------------------------------------------------------------
# The admin
# --------------------------------------------------------------------------


class ProfileImportExportMixin(ImportExportMixin):
    """
    Import and Export on a list of the admin (CSV and XLSX). Who may: import needs the
    model's change permission, export its view permission (settings), so Editors and
    Publishers may both; what an import may do to each row is the resource's business.
    """

    formats = [base_formats.CSV, base_formats.XLSX]
    # A refused row is shown with its message and its cells.
    import_error_display = ("message", "row")

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs.pop("request", None)
        # Every row of the file or none: a row refused at the confirmation (something changed
        # since the preview) undoes the rows before it.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        result = getattr(response, "context_data", {}).get("result")
        if result is not None and not result.has_errors() and not result.has_validation_errors():
            self._say_drafts(request, result, preview=True)
        return response

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            messages.error(
                request,
                "Nothing was imported: some rows were refused (the data changed since the preview). "
                "Import the file again to see why.",
            )
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_import"))
        response = super().process_result(result, request)
        self._say_drafts(request, result, preview=False)
        return response

    def _say_drafts(self, request, result, preview):
        drafted = getattr(result, "drafted", [])
        if not drafted:
            return
        listed = format_html_join(", ", "“{}”", ((root,) for root, _revision in drafted))
        if preview:
            text = format_html(
                "Rows of published profiles ({}) will be saved as drafts of those profiles: readers keep "
                "seeing the published versions until a Publisher publishes the drafts.", listed,
            )
        else:
            text = format_html(
                "Saved as drafts of published profiles: {}. Readers see the published versions until a "
                "Publisher publishes the drafts.", listed,
            )
        messages.info(request, text)

    def _create_log_entries(self, user_pk, rows):
        # A row stored in a draft did not change the live row: its revision is the record.
        kept = {
            import_type: [instance for instance in instances if getattr(instance, "_import_drafted", None) is None]
            for import_type, instances in rows.items()
        }
        return super()._create_log_entries(user_pk, kept)

