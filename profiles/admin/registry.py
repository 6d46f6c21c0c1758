"""
The editors' admin: one ``ModelAdmin`` per model (the workflow they share is in ``workflow``).

Editors come from Wagtail and WordPress, so the admin aims at the same comforts: one page
edits a whole lab profile (sections, people, releases, backers, relations, sources), dates sit
beside their precision, Markdown is typed in a monospace box and previewed as readers see it,
links to other rows are search boxes rather than endless drop-downs, and "View on site" only
appears when readers can actually see the row.

No rule about the data lives here: every form calls the model's ``full_clean()``, so the
messages editors see come from ``profiles/models.py`` and land on the field they concern.
"""

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count, Prefetch
from django.urls import path, reverse, reverse_lazy
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst, slugify
from django_countries.filters import CountryFilter

from imports.resources import LabResource, PersonResource, ProfileImportExportMixin, ReleaseResource, SourceResource

from ..models import (
    MARKDOWN_HELP,
    Backing,
    Citation,
    Codeveloper,
    Domain,
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
from .workflow import (
    WORKFLOW_ACTIONS,
    DocumentAdminMixin,
    HistoryAdminMixin,
    VersionedAdminForm,
    VersionedInlineMixin,
    WorkflowAdminMixin,
    deleted_labs_view,
    markdown_preview_view,
    presence_view,
)

admin.site.site_header = "labsite editors"
admin.site.site_title = "labsite editors"
admin.site.index_title = "Lab profiles"

TIMESTAMPS = ("created", "updated")


# --------------------------------------------------------------------------
# Shared behaviour
# --------------------------------------------------------------------------


class PlainLineEndsField(forms.CharField):
    """
    Text as typed in a browser, with its line ends as stored: a textarea sends CRLF, and
    without this every multi-line field of a form saved unchanged would differ from the
    stored text (a release re-saved, a draft full of changes nobody made).
    """

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


class EditorMixin:
    """
    Shared by every admin and inline: Markdown boxes look like code, plain text stays short, and
    no "View on site" link leads to a page readers cannot see.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # The model marks its Markdown fields by their help text, so a new Markdown field gets the
        # monospace box (which shows the asterisks and hashes that decide the rendering) for free.
        if isinstance(db_field, models.TextField):
            kwargs.setdefault("form_class", PlainLineEndsField)
        if MARKDOWN_HELP in str(db_field.help_text or ""):
            # data-preview-url: markdown-preview.js renders the text there as the editor types.
            kwargs["widget"] = admin.widgets.AdminTextareaWidget(
                attrs={
                    "class": "vLargeTextField markdown",
                    "rows": 12,
                    "data-preview-url": reverse_lazy("admin:profiles_markdown_preview"),
                }
            )
        elif db_field.get_internal_type() == "TextField" and "widget" not in kwargs:
            # Plain-text fields hold a sentence or a few lines; a 10-row box makes the form a scroll.
            kwargs["widget"] = admin.widgets.AdminTextareaWidget(attrs={"rows": 3})
        if isinstance(db_field, models.URLField):
            # An address pasted without a scheme ("internlm.org") is taken as https, today's
            # norm (and Django 6's default; until then Django warns unless told).
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_view_on_site_url(self, obj=None):
        # A draft or scheduled row is not on the site yet: a "View on site" link would be a 404.
        if obj is not None and not getattr(obj, "is_public", True):
            return None
        return super().get_view_on_site_url(obj)


class EditorAdmin(DocumentAdminMixin, EditorMixin, HistoryAdminMixin):
    """Base for every model admin: every model has its history, compare view and revert."""

    save_on_top = True  # Lab pages are long; editors should not scroll to save.

    class Media:
        css = {"all": ["admin-extra/admin.css"]}
        js = ["admin-extra/markdown-preview.js", "admin-extra/document-form.js"]

    def get_inlines(self, request, obj):
        inlines = super().get_inlines(request, obj)
        if obj is None:
            # Until the parent is saved it has no id, so the model rules for some rows cannot run:
            # a role or a citation would be refused on the hidden link to the lab, and a release
            # dated before the founding would slip through. Those inlines wait for the first
            # save, and the add form says so (see get_fieldsets).
            return [inline for inline in inlines if not inline.needs_saved_parent]
        return inlines

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        waiting = [
            str(inline.verbose_name_plural or inline.model._meta.verbose_name_plural)
            for inline in self.inlines
            if inline.needs_saved_parent
        ]
        if obj is None and waiting:
            name, options = fieldsets[0]
            listed = ", ".join(waiting[:-1]) + " and " + waiting[-1] if len(waiting) > 1 else waiting[0]
            note = f"{capfirst(listed)} can be added after the first save (“Save and continue editing”)."
            fieldsets = [(name, {**options, "description": note}), *fieldsets[1:]]
        return fieldsets


class EditorInline(EditorMixin):
    """Base for inlines: no blank rows cluttering the page, just the "Add another" link."""

    extra = 0
    needs_saved_parent = False

    class Media:
        js = ["admin-extra/markdown-preview.js"]


def markdown_preview(html):
    """Show rendered Markdown. ``*_html`` fields are sanitised by nh3 when the row is saved."""
    if not html:
        return "The preview appears here once the text is saved."
    return format_html('<div class="markdown-preview">{}</div>', mark_safe(html))


@admin.display(description="state", ordering="state")
def publication(obj):
    """The state, with "Scheduled" for a published row whose time has not come (as Wagtail shows it)."""
    if obj.state == PublicationState.PUBLISHED and obj.published_at and obj.published_at > timezone.now():
        return f"Scheduled for {timezone.localtime(obj.published_at):%d %b %Y %H:%M}"
    return obj.get_state_display()


# "version" is the hidden field of VersionedAdminForm: the version the editor opened.
PUBLICATION_FIELDSET = ("Publication", {"fields": ["state", "published_at", TIMESTAMPS, "version"]})


# --------------------------------------------------------------------------
# Inlines
# --------------------------------------------------------------------------


class SectionForm(forms.ModelForm):
    """The slug may be left empty: it is then made from the heading, or the kind's name."""

    class Meta:
        model = Section
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False

    def clean(self):
        cleaned = super().clean()
        # Filled here rather than left to Section.clean() so that the uniqueness check within
        # the lab still sees the slug (the form skips model checks of empty optional fields).
        if not cleaned.get("slug") and cleaned.get("kind"):
            cleaned["slug"] = slugify(Section(kind=cleaned["kind"], heading=cleaned.get("heading", "")).title)
        return cleaned


class SectionInline(EditorInline, admin.StackedInline):
    model = Section
    form = SectionForm
    ordering = ["order", "id"]
    fields = [("kind", "heading"), ("slug", "order"), "body", "body_preview"]
    readonly_fields = ["body_preview"]
    prepopulated_fields = {"slug": ("heading",)}
    show_change_link = True  # the section's own page edits its citations

    @admin.display(description="preview")
    def body_preview(self, obj):
        return markdown_preview(obj.body_html)


class LabRoleInline(EditorInline, admin.TabularInline):
    model = Role
    fk_name = "lab"
    verbose_name = "role (leadership)"
    verbose_name_plural = "roles (leadership)"
    ordering = ["order", "id"]
    fields = ["person", "title", "focus", "start", "start_precision", "end", "end_precision", "order"]
    autocomplete_fields = ["person"]
    needs_saved_parent = True  # Role.clean() asks which lab it is at


class PersonRoleInline(EditorInline, admin.TabularInline):
    """
    Roles at organizations, which are part of the person's own document. A role at a
    profiled lab is part of that lab's document and is edited on the lab's page (its
    draft is reviewed and published with the lab); the person's page lists them.
    """

    model = Role
    fk_name = "person"
    verbose_name = "role at an organization"
    verbose_name_plural = "roles at organizations (roles at labs are edited on the lab's page)"
    ordering = ["order", "id"]
    fields = ["organization", "title", "focus", "start", "start_precision", "end", "end_precision", "order"]
    autocomplete_fields = ["organization"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(lab__isnull=True)


class DomainsField(forms.MultipleChoiceField):
    """A release's ``domains`` (a JSON list of ``Domain`` values) as a box to tick for each domain."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", Domain.choices)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value if isinstance(value, (list, tuple)) else []


class ReleaseForm(VersionedAdminForm):
    """A release's form (its own page and the lab's inline): domains are ticked, not typed as JSON."""

    domains = DomainsField(
        label="domains",
        help_text="What it works on: tick every one of Epoch AI's domains that applies.",
    )

    def clean_domains(self):
        chosen = self.cleaned_data.get("domains") or []
        stored = list(self.instance.domains or []) if self.instance.pk else []
        # The stored order first (an import's), then what was ticked anew, so a form saved
        # unchanged stores exactly what it read (no draft of a change nobody made).
        return [value for value in stored if value in chosen] + [value for value in chosen if value not in stored]


RELEASE_FIGURES_FIELDS = [
    "domains",
    ("parameters", "training_compute", "dataset_size"),
    "training_hardware",
    ("base_model", "base_model_name"),
    "confidence",
]


class ReleaseInline(VersionedInlineMixin, EditorInline, admin.StackedInline):
    model = Release
    form = ReleaseForm
    fk_name = "lab"
    # Every field an editor keeps of a release, in rows that fit a 1280 px screen; the
    # inline folds away (a profile has dozens). Its citations are on its own page
    # (the admin has no inline within an inline).
    classes = ["collapse"]
    fields = [
        ("name", "slug", "kind"),
        ("family", "state", "is_flagship", "order"),
        ("released", "released_precision"),
        ("sizes", "modality"),
        ("accessibility", "license"),
        ("distribution", "url"),
        "description",
        *RELEASE_FIGURES_FIELDS,  # co-developers are edited on the release's own page
        "version",  # hidden: a release changed elsewhere since the page was opened is refused
    ]
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ["family", "base_model"]
    show_change_link = True
    needs_saved_parent = True  # Release.clean() compares the date with the saved lab's founding

    def get_queryset(self, request):
        # Whether a row is on the site (its "View on site" link) asks about its lab too.
        return super().get_queryset(request).select_related("lab")


class CodeveloperInline(EditorInline, admin.TabularInline):
    """
    The other labs that built a release with its lab. Rows of the lab's document
    (documents.document_parts: "codevelopers"): no admin of their own, only this inline.
    """

    model = Codeveloper
    fk_name = "release"
    verbose_name_plural = "co-developers (other labs that built it)"
    ordering = ["order", "id"]
    fields = ["lab", "order"]
    autocomplete_fields = ["lab"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lab")


class BackingInline(EditorInline, admin.TabularInline):
    model = Backing
    classes = ["collapse"]
    ordering = ["order", "id"]
    fields = ["organization", "kind", "note", "order"]
    autocomplete_fields = ["organization"]


class LabRelationInline(EditorInline, admin.TabularInline):
    model = LabRelation
    classes = ["collapse"]
    fk_name = "lab"  # other_lab points at Lab too
    ordering = ["order", "id"]
    fields = ["other_lab", "kind", "note", "order"]
    autocomplete_fields = ["other_lab"]


class CitationInline(EditorInline, admin.TabularInline):
    """Sources cited by the parent row; the other targets stay hidden (a citation has exactly one)."""

    model = Citation
    verbose_name = "source cited"
    verbose_name_plural = "sources cited"
    ordering = ["order", "id"]
    fields = ["source", "claim", "order"]
    autocomplete_fields = ["source"]
    needs_saved_parent = True  # Citation.clean() asks which row cites the source


class LabCitationInline(CitationInline):
    fk_name = "lab"


class SectionCitationInline(CitationInline):
    fk_name = "section"


class ReleaseCitationInline(CitationInline):
    fk_name = "release"


class PersonCitationInline(CitationInline):
    fk_name = "person"


# --------------------------------------------------------------------------
# List filters
# --------------------------------------------------------------------------


class CurrentRoleFilter(admin.SimpleListFilter):
    title = "current"
    parameter_name = "current"

    def lookups(self, request, model_admin):
        return [("yes", "Current (no end date)"), ("no", "Past")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(end__isnull=True)
        if self.value() == "no":
            return queryset.filter(end__isnull=False)
        return queryset


class CitedByFilter(admin.SimpleListFilter):
    title = "cited by"
    parameter_name = "cited_by"

    def lookups(self, request, model_admin):
        return [(target, capfirst(target)) for target in Citation.TARGETS]

    def queryset(self, request, queryset):
        if self.value() in Citation.TARGETS:
            return queryset.filter(**{f"{self.value()}__isnull": False})
        return queryset


# --------------------------------------------------------------------------
# Model admins
# --------------------------------------------------------------------------


@admin.register(Lab)
class LabAdmin(ProfileImportExportMixin, WorkflowAdminMixin, EditorAdmin):
    resource_classes = [LabResource]  # Import and Export on the list (imports/resources.py)
    list_display = [
        "name", "kind", "founded_column", "headquarters_column", "director_column", "release_count", "part_of",
        publication, "updated",
    ]
    list_filter = ["state", "kind", "open_weights", ("country", CountryFilter)]
    list_select_related = ["parent_lab", "parent_organization"]
    search_fields = ["name", "native_name", "other_names", "slug", "summary"]
    search_help_text = "Search names (English, native, other names), slugs and summaries."
    date_hierarchy = "updated"
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ["parent_lab", "parent_organization"]
    readonly_fields = ["lead_preview", *TIMESTAMPS]
    actions = WORKFLOW_ACTIONS
    fieldsets = [
        ("Identity", {"fields": ["name", "slug", "native_name", "other_names", "kind", "website"]}),
        (
            "At a glance",
            {
                "fields": [
                    ("founded", "founded_precision"),
                    ("city", "country"),
                    "status_text",
                    "funding_text",
                    "open_weights",
                    "open_weights_note",
                ]
            },
        ),
        ("Profile text", {"fields": ["summary", "lead", "lead_preview"]}),
        (
            "Cross-links",
            {"fields": ["parent_lab", "parent_organization", "wikidata_id", "huggingface_org", "github_org"]},
        ),
        (
            "Publication",
            {"fields": [
                "state", "published_at", ("as_of", "as_of_precision"), "last_reviewed", TIMESTAMPS, "version",
            ]},
        ),
    ]
    inlines = [SectionInline, LabRoleInline, ReleaseInline, BackingInline, LabRelationInline, LabCitationInline]
    change_list_template = "admin/profiles/lab/change_list.html"  # adds the "Deleted labs" link

    def get_urls(self):
        # Site-wide editor tools live here because every editor can reach the lab admin.
        return [
            path("deleted/", self.admin_site.admin_view(self.deleted_view), name="profiles_lab_deleted"),
            path(
                "markdown-preview/",
                self.admin_site.admin_view(markdown_preview_view),
                name="profiles_markdown_preview",
            ),
            path(
                "presence/<str:model_name>/<int:object_id>/",
                self.admin_site.admin_view(presence_view),
                name="profiles_presence",
            ),
            *super().get_urls(),
        ]

    def deleted_view(self, request):
        return deleted_labs_view(self, request)

    def get_queryset(self, request):
        # Counted and prefetched here so the list costs the same few queries for 1 or 300 labs.
        return (
            super()
            .get_queryset(request)
            .annotate(release_count=Count("releases", distinct=True))
            .prefetch_related(Prefetch("roles", queryset=Role.objects.current().select_related("person")))
        )

    @admin.display(description="founded", ordering="founded")
    def founded_column(self, obj):
        return obj.founded_display

    @admin.display(description="headquarters", ordering="city")
    def headquarters_column(self, obj):
        return obj.headquarters

    @admin.display(description="director")
    def director_column(self, obj):
        role = obj.director()
        return role.person.name if role else ""

    @admin.display(description="releases", ordering="release_count")
    def release_count(self, obj):
        return obj.release_count

    @admin.display(description="part of")
    def part_of(self, obj):
        return obj.parent_lab or obj.parent_organization or ""

    @admin.display(description="preview")
    def lead_preview(self, obj):
        return markdown_preview(obj.lead_html)


@admin.register(Organization)
class OrganizationAdmin(EditorAdmin):
    list_display = ["name", "native_name", "kind", "country", "parent", "backing_count"]
    list_filter = ["kind", ("country", CountryFilter)]
    list_select_related = ["parent"]
    search_fields = ["name", "native_name", "slug"]
    date_hierarchy = "updated"
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ["parent"]
    readonly_fields = TIMESTAMPS
    fields = ["name", "slug", "native_name", "kind", "country", "website", "parent", TIMESTAMPS]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(backing_count=Count("backings", distinct=True))

    @admin.display(description="labs backed", ordering="backing_count")
    def backing_count(self, obj):
        return obj.backing_count


@admin.register(Person)
class PersonAdmin(ProfileImportExportMixin, WorkflowAdminMixin, EditorAdmin):
    resource_classes = [PersonResource]  # Import and Export on the list (imports/resources.py)
    list_display = ["name", "native_name", "current_roles", publication, "updated"]
    list_filter = ["state"]
    search_fields = ["name", "native_name", "slug", "bio"]
    date_hierarchy = "updated"
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ["roles_at_labs", *TIMESTAMPS]
    actions = WORKFLOW_ACTIONS
    fieldsets = [
        (None, {"fields": ["name", "slug", "native_name", "bio", "earlier_positions", "roles_at_labs"]}),
        PUBLICATION_FIELDSET,
    ]
    inlines = [PersonRoleInline, PersonCitationInline]

    @admin.display(description="roles at labs")
    def roles_at_labs(self, obj):
        roles = Role.objects.filter(person=obj, lab__isnull=False).select_related("lab") if obj and obj.pk else []
        if not roles:
            return "None yet: add a role on the lab's page, with this person in it."
        return format_html_join(
            mark_safe("<br>"), '{}, <a href="{}">{}</a>{}',
            ((role.title, reverse("admin:profiles_lab_change", args=[role.lab_id]), role.lab.name,
              "" if role.is_current else f" (until {role.end_display})") for role in roles),
        )

    def get_queryset(self, request):
        current = Role.objects.current().select_related("lab", "organization")
        return super().get_queryset(request).prefetch_related(Prefetch("roles", queryset=current))

    @admin.display(description="current roles")
    def current_roles(self, obj):
        return "; ".join(f"{role.title}, {role.employer}" for role in obj.roles.all())


@admin.register(Role)
class RoleAdmin(EditorAdmin):
    list_display = ["person", "title", "employer", "focus", "start_column", "end_column", "is_current"]
    list_filter = [CurrentRoleFilter, ("lab", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["person", "lab", "organization"]
    search_fields = ["person__name", "title", "focus", "lab__name", "organization__name"]
    autocomplete_fields = ["person", "lab", "organization"]
    fields = [
        "person", ("lab", "organization"), "title", "focus",
        ("start", "start_precision"), ("end", "end_precision"), "order",
    ]

    @admin.display(description="at")
    def employer(self, obj):
        return obj.employer

    @admin.display(description="start", ordering="start")
    def start_column(self, obj):
        return obj.start_display

    @admin.display(description="end", ordering="end")
    def end_column(self, obj):
        return obj.end_display

    @admin.display(description="current", boolean=True, ordering="end")
    def is_current(self, obj):
        return obj.is_current


@admin.register(Release)
class ReleaseAdmin(ProfileImportExportMixin, WorkflowAdminMixin, EditorAdmin):
    resource_classes = [ReleaseResource]  # Import and Export on the list (imports/resources.py)
    form = ReleaseForm
    list_display = ["name", "lab", "kind", "family", "released_column", "accessibility", "is_flagship", publication]
    list_filter = [
        "state", "kind", "accessibility", "modality", "is_flagship", ("lab", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["lab", "family"]
    search_fields = ["name", "slug", "lab__name", "family__name", "license"]
    search_help_text = "Search release names, slugs, labs, families and licences."
    date_hierarchy = "released"
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ["lab", "family", "base_model"]
    readonly_fields = ["description_preview", *TIMESTAMPS]
    actions = WORKFLOW_ACTIONS
    fieldsets = [
        (None, {"fields": ["name", "slug", "lab", "kind", "family", ("is_flagship", "order")]}),
        (
            "Release",
            {
                "fields": [
                    ("released", "released_precision"),
                    "sizes",
                    "modality",
                    ("accessibility", "license"),
                    "distribution",
                    "url",
                ]
            },
        ),
        ("Figures", {
            "fields": RELEASE_FIGURES_FIELDS,
            "description": "As Epoch AI's dataset gives them: counts in full (7000000000 for 7B), compute in "
            "FLOP (1.6e24).",
        }),
        ("Description", {"fields": ["description", "description_preview"]}),
        PUBLICATION_FIELDSET,
    ]
    inlines = [CodeveloperInline, ReleaseCitationInline]

    @admin.display(description="released", ordering="released")
    def released_column(self, obj):
        return obj.released_display

    @admin.display(description="preview")
    def description_preview(self, obj):
        return markdown_preview(obj.description_html)


@admin.register(Source)
class SourceAdmin(ProfileImportExportMixin, WorkflowAdminMixin, EditorAdmin):
    resource_classes = [SourceResource]  # Import and Export on the list (imports/resources.py)
    list_display = ["title", "publisher", "author", "published_column", "citation_count", publication]
    list_filter = ["state"]
    search_fields = ["title", "url", "publisher", "author", "slug"]
    date_hierarchy = "updated"
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = TIMESTAMPS
    actions = WORKFLOW_ACTIONS
    fieldsets = [
        (None, {"fields": [
            "title", "slug", "url", ("publisher", "author"), ("published", "published_precision"), "accessed",
        ]}),
        PUBLICATION_FIELDSET,
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(citation_count=Count("citations", distinct=True))

    @admin.display(description="published", ordering="published")
    def published_column(self, obj):
        return obj.published_display

    @admin.display(description="citations", ordering="citation_count")
    def citation_count(self, obj):
        return obj.citation_count


@admin.register(Citation)
class CitationAdmin(EditorAdmin):
    list_display = ["source", "cited_by", "claim_excerpt", "order"]
    list_filter = [CitedByFilter]
    # section__lab: a section is named after its lab ("Shanghai AI Laboratory: Origins").
    list_select_related = ["source", "lab", "section__lab", "release", "person"]
    search_fields = ["source__title", "claim", "lab__name", "section__heading", "release__name", "person__name"]
    autocomplete_fields = ["source", "lab", "section", "release", "person"]
    fieldsets = [
        (None, {"fields": ["source", "claim", "order"]}),
        ("Cited by (exactly one)", {"fields": ["lab", "section", "release", "person"]}),
    ]

    @admin.display(description="cited by")
    def cited_by(self, obj):
        return obj.target

    @admin.display(description="claim")
    def claim_excerpt(self, obj):
        return obj.claim if len(obj.claim) <= 80 else obj.claim[:79] + "…"


@admin.register(Section)
class SectionAdmin(EditorAdmin):
    form = SectionForm
    list_display = ["title", "lab", "kind", "order", "updated"]
    list_filter = ["kind", ("lab", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["lab"]
    search_fields = ["heading", "slug", "body", "lab__name"]
    date_hierarchy = "updated"
    prepopulated_fields = {"slug": ("heading",)}
    autocomplete_fields = ["lab"]
    readonly_fields = ["body_preview", *TIMESTAMPS]
    fields = ["lab", ("kind", "heading"), ("slug", "order"), "body", "body_preview", TIMESTAMPS]
    inlines = [SectionCitationInline]

    def get_queryset(self, request):
        # A section's name includes its lab's, in autocomplete results too.
        return super().get_queryset(request).select_related("lab")

    @admin.display(description="section", ordering="heading")
    def title(self, obj):
        return obj.title

    @admin.display(description="preview")
    def body_preview(self, obj):
        return markdown_preview(obj.body_html)


@admin.register(Backing)
class BackingAdmin(EditorAdmin):
    list_display = ["organization", "kind", "lab", "note", "order"]
    list_filter = ["kind"]
    list_select_related = ["organization", "lab"]
    search_fields = ["organization__name", "lab__name", "note"]
    autocomplete_fields = ["lab", "organization"]
    fields = ["lab", "organization", "kind", "note", "order"]


@admin.register(LabRelation)
class LabRelationAdmin(EditorAdmin):
    list_display = ["lab", "kind", "other_lab", "note", "order"]
    list_filter = ["kind"]
    list_select_related = ["lab", "other_lab"]
    search_fields = ["lab__name", "other_lab__name", "note"]
    autocomplete_fields = ["lab", "other_lab"]
    fields = ["lab", "kind", "other_lab", "note", "order"]
