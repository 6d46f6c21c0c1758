"""
Serializers of the read-only JSON API.

Conventions, the same on every endpoint:

- An object is addressed by its slug and carries ``url`` (its absolute API URL) and,
  when it has a public page, ``html_url`` (that page, from ``get_absolute_url``).
- A related object is a link: ``{"slug", "name", "url"}``.
- A choice field is its stored value (``"nonprofit_institute"``) with the label beside
  it in ``<field>_display`` (``"Nonprofit institute"``); a country is its ISO 3166 code
  with the English name in ``country_display``.
- A date known only to a year or a month is an object, never a made-up day:
  ``{"date": "2020-07", "precision": "month", "display": "July 2020"}`` (ISO 8601
  reduced precision), or ``null`` when unknown.
- A release whose values were imported from a dataset (Epoch AI's) credits it in
  ``provenance`` (``imports/credit.py``), as its licence asks; ``null`` otherwise.

Serializers only read what the viewsets' querysets fetched (``with_profile()`` and
friends), so they never trigger queries of their own.
"""

from typing import Any, TypedDict

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_countries import countries
from django_countries.serializer_fields import CountryField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import preserve_builtin_query_params

from imports import credit

from ..models import (
    OPEN_WEIGHTS_ACCESS,
    Accessibility,
    Backing,
    Citation,
    Codeveloper,
    Confidence,
    Domain,
    Lab,
    LabRelation,
    Modality,
    Organization,
    Person,
    Release,
    ReleaseKind,
    Role,
    Section,
    Source,
    is_live,
)
from ..partial_dates import format_partial_date, iso_partial_date
from ..speed import reverse_slug, slug_url_parts

# --------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------


class PartialDate(TypedDict):
    date: str
    precision: str
    display: str


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "description": "A date known to a year, a month or a day; null when unknown.",
        "properties": {
            "date": {"type": "string", "description": "ISO 8601 at its precision: 2020, 2020-07 or 2020-07-15."},
            "precision": {"type": "string", "enum": ["year", "month", "day"], "description": "How much of the date is known."},
            "display": {"type": "string", "description": "The date as the site shows it: 'July 2020'."},
        },
        "required": ["date", "precision", "display"],
    }
)
class PartialDateField(serializers.Field):
    """
    A date stored with its precision (``founded`` + ``founded_precision``), as one object.

    The field reads the whole instance because it needs two of its attributes; by
    default it reads the attribute named like the field itself.
    """

    def __init__(self, date_attr: str | None = None, **kwargs: Any) -> None:
        self.date_attr = date_attr
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def bind(self, field_name: str, parent: serializers.BaseSerializer) -> None:
        super().bind(field_name, parent)
        self.date_attr = self.date_attr or field_name

    def to_representation(self, instance: Any) -> PartialDate | None:
        return partial_date(instance, self.date_attr)


def partial_date(instance: Any, date_attr: str) -> PartialDate | None:
    """``instance``'s date ``date_attr`` with its precision (``<date_attr>_precision``), as the API writes it."""
    value = getattr(instance, date_attr)
    if value is None:
        return None
    precision = getattr(instance, f"{date_attr}_precision")
    return {
        "date": iso_partial_date(value, precision),
        "precision": precision,
        "display": format_partial_date(value, precision),
    }


@extend_schema_field(OpenApiTypes.URI)
class PageURLField(serializers.Field):
    """The absolute URL of the object's public page (``get_absolute_url()``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, instance: Any) -> str:
        path = instance.get_absolute_url()
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


@extend_schema_field(
    {"type": "string", "pattern": "^([A-Z]{2})?$", "description": "ISO 3166 code (CN), or an empty string when unknown."}
)
class CountryCodeField(CountryField):
    """A country as its ISO 3166 code; blank ("") when not known, which the enum of codes would not allow."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.STR)
class ChoiceLabelField(serializers.Field):
    """
    The human label of a choice field, beside its value (``kind`` → ``kind_display``).
    It calls ``get_<field>_display()`` itself: a method as a field's ``source`` makes DRF
    inspect the method's signature on every row (88 times for one lab's detail).
    """

    def __init__(self, field_name: str, **kwargs: Any) -> None:
        self.method_name = f"get_{field_name}_display"
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, instance: Any) -> str:
        return getattr(instance, self.method_name)()


_DATETIME = serializers.DateTimeField()
_DATE = serializers.DateField()


def provenance(dataset: str | None, last_modified: Any) -> dict[str, Any] | None:
    """
    A release's ``provenance`` (``imports.credit``), its date written as DRF writes dates:
    the serializer and the release list's fast path give the same text.
    """
    return credit.provenance(dataset, None if last_modified is None else _DATETIME.to_representation(last_modified))


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "description": "Where the release's values come from when they were imported from a dataset, with the "
        "credit its licence asks for; null for a release with no import.",
        "properties": {
            "dataset": {"type": "string", "description": "The dataset: 'Epoch AI, Data on AI Models'."},
            "licence": {"type": "string", "description": "The dataset's licence: 'CC BY 4.0'."},
            "url": {"type": "string", "format": "uri", "description": "Where the dataset is published."},
            "last_modified": {
                "type": "string", "format": "date-time", "nullable": True,
                "description": "When the dataset last changed the release's row, if it says.",
            },
        },
        "required": ["dataset", "licence", "url", "last_modified"],
    }
)
class ProvenanceField(serializers.Field):
    """A release's imported record (joined by ``with_related()``) as its ``provenance``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, instance: Any) -> dict[str, Any] | None:
        record = getattr(instance, "imported", None)  # None: no record (the join found none)
        return None if record is None else provenance(record.dataset, record.last_modified)


@extend_schema_field({"type": "array", "items": {"type": "string", "enum": Domain.values}, "uniqueItems": True})
class DomainListField(serializers.ListField):
    """A release's domains, as Domain values (each once): read, and written by staff."""


class SlugLinkField(serializers.HyperlinkedIdentityField):
    """
    The absolute URL of an object's API detail, addressed by its slug, built around the
    slug (``reverse_slug``) rather than by walking the URLconf for every link (a lab's
    detail links to some seventy objects); like DRF's own links, it keeps a ``?format=``.
    """

    def __init__(self, view_name: str, **kwargs: Any) -> None:
        super().__init__(view_name=view_name, lookup_field="slug", **kwargs)

    def get_url(self, obj: Any, view_name: str, request: Any, format: str | None) -> str | None:
        if format or not obj.slug:
            return super().get_url(obj, view_name, request, format)
        return preserve_builtin_query_params(request.build_absolute_uri(reverse_slug(view_name, obj.slug)), request)


# --------------------------------------------------------------------------
# Links: how one object points to another
# --------------------------------------------------------------------------


def sees_unpublished(context: dict, model: type) -> bool:
    """
    Whether the request behind a serializer previews ``model``'s rows in every state (staff
    who may view them, as the viewsets' querysets decide); remembered for the request.
    """
    request = context.get("request")
    if request is None:
        return False
    answers = context.setdefault("_sees_unpublished", {})
    if model not in answers:
        answers[model] = model.objects.all().previewable_by(request.user)
    return answers[model]


class PublicLinkListSerializer(serializers.ListSerializer):
    """Links to many objects: those the reader may not see are left out, not listed as null."""

    def to_representation(self, data: Any) -> list:
        return [link for link in super().to_representation(data) if link is not None]


class PublicLinkSerializer(serializers.ModelSerializer):
    """
    A link to a lab, person, release or source: ``null`` for a reader when the object is
    not public (a draft family, a draft parent lab), so no link names what its own URL
    would not show. Every link of the API is one of these, whatever queryset fetched it:
    the rule is the model's ``is_public``, the in-memory twin of ``published()``.
    """

    class Meta:
        list_serializer_class = PublicLinkListSerializer

    def to_representation(self, instance: Any) -> dict[str, Any] | None:
        if not instance.is_public and not sees_unpublished(self.context, type(instance)):
            return None
        return super().to_representation(instance)


class LabLinkSerializer(PublicLinkSerializer):
    url = SlugLinkField("api:lab-detail")

    class Meta(PublicLinkSerializer.Meta):
        model = Lab
        fields = ["slug", "name", "url"]


class PersonLinkSerializer(PublicLinkSerializer):
    url = SlugLinkField("api:person-detail")

    class Meta(PublicLinkSerializer.Meta):
        model = Person
        fields = ["slug", "name", "url"]


class ReleaseLinkSerializer(PublicLinkSerializer):
    url = SlugLinkField("api:release-detail")

    class Meta(PublicLinkSerializer.Meta):
        model = Release
        fields = ["slug", "name", "url"]


class LabNameLinkSerializer(serializers.Serializer):
    """
    A link to a lab the query already chose by the reader rule (a release's co-developer,
    ``Codeveloper.objects.named()``; a co-developed release's lead lab, ``with_profile()``),
    so not asked again whether it is public: the same shape as a lab link.
    """

    slug = serializers.CharField(read_only=True, help_text="The lab's identifier in addresses.")
    name = serializers.CharField(read_only=True, help_text="The lab's name.")
    url = SlugLinkField("api:lab-detail", help_text="The lab in the API.")


class CodevelopedReleaseSerializer(serializers.Serializer):
    """A release of another lab that this lab co-developed: a link to it, with its lead lab."""

    slug = serializers.CharField(read_only=True, help_text="The release's identifier in addresses.")
    name = serializers.CharField(read_only=True, help_text="The release's name.")
    url = SlugLinkField("api:release-detail", help_text="The release in the API.")
    released = PartialDateField()
    lab = LabNameLinkSerializer(read_only=True, help_text="The lab that made it (its lead).")


class OrganizationLinkSerializer(serializers.ModelSerializer):
    url = SlugLinkField("api:organization-detail")

    class Meta:
        model = Organization
        fields = ["slug", "name", "url"]


class SourceLinkSerializer(PublicLinkSerializer):
    url = SlugLinkField("api:source-detail")

    class Meta(PublicLinkSerializer.Meta):
        model = Source
        fields = ["slug", "title", "url"]


# --------------------------------------------------------------------------
# Organizations
# --------------------------------------------------------------------------


class OrganizationSerializer(serializers.ModelSerializer):
    """An organization (list and detail alike: it has few fields and no public page)."""

    url = SlugLinkField("api:organization-detail")
    kind_display = ChoiceLabelField("kind")
    country = CountryCodeField()
    country_display = serializers.CharField(source="country.name", read_only=True)
    parent = OrganizationLinkSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Organization
        fields = [
            "url", "slug", "name", "native_name", "kind", "kind_display",
            "country", "country_display", "website", "parent",
        ]


# --------------------------------------------------------------------------
# Releases
# --------------------------------------------------------------------------


# A release's figures (Epoch AI's columns), its co-developers and where its values come from,
# in every representation of a release (and in ReleaseRows, the list's fast path).
RELEASE_FIGURES = [
    "domains", "domains_display", "parameters", "training_compute", "dataset_size", "training_hardware",
    "base_model", "base_model_name", "confidence", "confidence_display", "co_developers", "provenance",
]


class ReleaseSummarySerializer(serializers.ModelSerializer):
    """A release as listed under its lab (the lab is the context, so it is left out)."""

    url = SlugLinkField("api:release-detail")
    html_url = PageURLField()
    kind_display = ChoiceLabelField("kind")
    family = ReleaseLinkSerializer(read_only=True, allow_null=True)
    released = PartialDateField()
    modality_display = ChoiceLabelField("modality")
    accessibility_display = ChoiceLabelField("accessibility")
    # True when the accessibility is one of the open-weights values (OPEN_WEIGHTS_ACCESS).
    open_weights = serializers.BooleanField(source="is_open_weights", read_only=True)
    domains = DomainListField(
        child=serializers.CharField(), read_only=True, help_text="What it works on: Epoch AI's domains (values).",
    )
    domains_display = serializers.ListField(
        source="domain_labels", child=serializers.CharField(), read_only=True,
        help_text="The human-readable labels of `domains`, in the same order.",
    )
    confidence_display = ChoiceLabelField("confidence")
    base_model = ReleaseLinkSerializer(
        read_only=True, allow_null=True,
        help_text="The release it was fine-tuned from, when it is profiled here (null when not, or not public).",
    )
    co_developers = LabNameLinkSerializer(
        source="public_co_developers", many=True, read_only=True,
        help_text="Other labs that built it with its lab, in the order the source lists them.",
    )
    provenance = ProvenanceField()

    class Meta:
        model = Release
        fields = [
            "url", "html_url", "slug", "name", "kind", "kind_display", "family", "released",
            "sizes", "modality", "modality_display", "license", "accessibility",
            "accessibility_display", "open_weights", "is_flagship", *RELEASE_FIGURES,
        ]


class ReleaseSerializer(ReleaseSummarySerializer):
    """A release in ``/api/releases/``: the summary plus the lab that made it."""

    lab = LabLinkSerializer(read_only=True)

    class Meta(ReleaseSummarySerializer.Meta):
        fields = [
            "url", "html_url", "slug", "name", "lab", "kind", "kind_display", "family", "released",
            "sizes", "modality", "modality_display", "license", "accessibility",
            "accessibility_display", "open_weights", "is_flagship", *RELEASE_FIGURES, "updated",
        ]


class ReleaseDetailSerializer(ReleaseSerializer):
    """One release: everything in the list, plus its description and where it is published."""

    # The model's ``url`` is the release's home page; ``url`` in the API is the API link.
    homepage = serializers.URLField(source="url", read_only=True)

    class Meta(ReleaseSerializer.Meta):
        fields = [*ReleaseSerializer.Meta.fields, "distribution", "homepage", "description", "description_html", "state", "version", "published_at"]


# --------------------------------------------------------------------------
# People and roles
# --------------------------------------------------------------------------


class LabRoleSerializer(serializers.ModelSerializer):
    """A role as the lab profile lists it: who holds it."""

    person = PersonLinkSerializer(read_only=True)
    start = PartialDateField()
    end = PartialDateField()
    current = serializers.BooleanField(source="is_current", read_only=True)

    class Meta:
        model = Role
        fields = ["person", "title", "focus", "start", "end", "current"]


class PersonRoleSerializer(serializers.ModelSerializer):
    """A role as a person's record lists it: where it is (a lab, or an organization)."""

    lab = LabLinkSerializer(read_only=True, allow_null=True)
    organization = OrganizationLinkSerializer(read_only=True, allow_null=True)
    start = PartialDateField()
    end = PartialDateField()
    current = serializers.BooleanField(source="is_current", read_only=True)

    class Meta:
        model = Role
        fields = ["lab", "organization", "title", "focus", "start", "end", "current"]


class PersonSerializer(serializers.ModelSerializer):
    url = SlugLinkField("api:person-detail")
    html_url = PageURLField()

    class Meta:
        model = Person
        fields = ["url", "html_url", "slug", "name", "native_name", "updated"]


class PersonDetailSerializer(PersonSerializer):
    """A person with every role, current and past (newest first, as ``with_roles()`` orders them)."""

    earlier_positions = serializers.ListField(
        source="earlier_positions_list", child=serializers.CharField(), read_only=True
    )
    roles = PersonRoleSerializer(many=True, read_only=True)

    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "bio", "earlier_positions", "roles", "state", "version", "published_at"]


# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------


class SourceSerializer(serializers.ModelSerializer):
    url = SlugLinkField("api:source-detail")
    html_url = PageURLField()
    # The model's ``url`` is where the document is read; ``url`` in the API is the API link.
    document_url = serializers.URLField(source="url", read_only=True)
    published = PartialDateField()

    class Meta:
        model = Source
        fields = ["url", "html_url", "slug", "title", "document_url", "publisher", "author", "published", "accessed"]


class CitedSectionSerializer(serializers.ModelSerializer):
    lab = LabLinkSerializer(read_only=True)
    heading = serializers.CharField(source="title", read_only=True)

    class Meta:
        model = Section
        fields = ["lab", "slug", "heading"]


class CitationSerializer(serializers.ModelSerializer):
    """What cites a source: exactly one of lab, section, release or person is set."""

    lab = LabLinkSerializer(read_only=True, allow_null=True)
    section = CitedSectionSerializer(read_only=True, allow_null=True)
    release = ReleaseLinkSerializer(read_only=True, allow_null=True)
    person = PersonLinkSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Citation
        fields = ["lab", "section", "release", "person", "claim"]


class SourceDetailSerializer(SourceSerializer):
    cited_by = CitationSerializer(source="citations", many=True, read_only=True)

    class Meta(SourceSerializer.Meta):
        fields = [*SourceSerializer.Meta.fields, "cited_by", "state", "version", "published_at"]


class NumberedSourceSerializer(serializers.Serializer):
    """One entry of a lab's numbered source list: ``(number, source, claims)``."""

    number = serializers.IntegerField()
    source = SourceSerializer()
    claims = serializers.ListField(child=serializers.CharField())

    def to_representation(self, entry: tuple[int, Source, list[str]]) -> dict[str, Any]:
        number, source, claims = entry
        return super().to_representation({"number": number, "source": source, "claims": claims})


# --------------------------------------------------------------------------
# Labs
# --------------------------------------------------------------------------


class SectionSerializer(serializers.ModelSerializer):
    kind_display = ChoiceLabelField("kind")
    # The heading as shown: the editor's heading, or the kind's name when it is empty.
    heading = serializers.CharField(source="title", read_only=True)

    class Meta:
        model = Section
        fields = ["slug", "kind", "kind_display", "heading", "order", "body", "body_html"]


class BackingSerializer(serializers.ModelSerializer):
    organization = OrganizationLinkSerializer(read_only=True)
    kind_display = ChoiceLabelField("kind")

    class Meta:
        model = Backing
        fields = ["organization", "kind", "kind_display", "note"]


class LabRelationSerializer(serializers.ModelSerializer):
    other_lab = LabLinkSerializer(read_only=True)
    kind_display = ChoiceLabelField("kind")

    class Meta:
        model = LabRelation
        fields = ["other_lab", "kind", "kind_display", "note"]


class IncomingLabRelationSerializer(serializers.ModelSerializer):
    """A relation another lab's profile records about this one (``kind`` is from its side)."""

    lab = LabLinkSerializer(read_only=True)
    kind_display = ChoiceLabelField("kind")

    class Meta:
        model = LabRelation
        fields = ["lab", "kind", "kind_display", "note"]


class LabSerializer(serializers.ModelSerializer):
    """
    A lab in the index: a summary, with ``release_count`` and ``latest_release``.

    Expects the list queryset (``for_index()`` plus ``latest_release_precision``, see
    ``LabViewSet``), which annotates those fields in the same query.
    """

    url = SlugLinkField("api:lab-detail")
    html_url = PageURLField()
    kind_display = ChoiceLabelField("kind")
    founded = PartialDateField()
    country = CountryCodeField()
    country_display = serializers.CharField(source="country.name", read_only=True)
    open_weights_display = ChoiceLabelField("open_weights")
    release_count = serializers.IntegerField(read_only=True)
    latest_release = PartialDateField()

    class Meta:
        model = Lab
        fields = [
            "url", "html_url", "slug", "name", "native_name", "summary", "kind", "kind_display",
            "founded", "city", "country", "country_display", "open_weights", "open_weights_display",
            "release_count", "latest_release", "updated",
        ]


class LabDetailSerializer(serializers.ModelSerializer):
    """
    A whole lab profile: the facts At a glance, the narrative sections, leadership,
    releases, backers, relations to other labs and the numbered sources.

    Expects ``Lab.objects.published().with_profile()``: every nested list reads a
    prefetched relation that already holds only what a reader may see.
    """

    url = SlugLinkField("api:lab-detail")
    html_url = PageURLField()
    other_names = serializers.ListField(source="other_names_list", child=serializers.CharField(), read_only=True)
    kind_display = ChoiceLabelField("kind")
    founded = PartialDateField()
    country = CountryCodeField()
    country_display = serializers.CharField(source="country.name", read_only=True)
    headquarters = serializers.CharField(read_only=True, help_text="City and country of the headquarters.")
    status = serializers.CharField(source="status_text", read_only=True)
    funding = serializers.CharField(source="funding_text", read_only=True)
    open_weights_display = ChoiceLabelField("open_weights")
    parent_lab = LabLinkSerializer(read_only=True, allow_null=True)
    parent_organization = OrganizationLinkSerializer(read_only=True, allow_null=True)
    as_of = PartialDateField()
    director = LabRoleSerializer(read_only=True, allow_null=True)
    flagship_releases = ReleaseLinkSerializer(many=True, read_only=True)
    sections = SectionSerializer(many=True, read_only=True)
    current_roles = LabRoleSerializer(many=True, read_only=True)
    past_roles = LabRoleSerializer(many=True, read_only=True)
    # Flat, newest first; a release's ``family`` link gives the grouping of the page.
    releases = ReleaseSummarySerializer(many=True, read_only=True)
    codeveloped_releases = CodevelopedReleaseSerializer(
        source="profile_codeveloped_releases", many=True, read_only=True,
        help_text="Releases of other labs this lab co-developed, newest first, each with its lead lab.",
    )
    backings = BackingSerializer(many=True, read_only=True)
    relations = LabRelationSerializer(many=True, read_only=True)
    incoming_relations = IncomingLabRelationSerializer(
        many=True, read_only=True,
        help_text="Relations other labs' profiles record about this lab: 'lab' evaluates (kind) this one.",
    )
    sources = NumberedSourceSerializer(source="numbered_sources", many=True, read_only=True)

    class Meta:
        model = Lab
        fields = [
            "url", "html_url", "slug", "name", "native_name", "other_names", "summary",
            "lead", "lead_html", "kind", "kind_display",
            # At a glance
            "founded", "city", "country", "country_display", "headquarters", "status", "funding",
            "director", "open_weights", "open_weights_display", "open_weights_note", "flagship_releases",
            # Identity and context
            "website", "parent_lab", "parent_organization", "as_of", "last_reviewed",
            "wikidata_id", "huggingface_org", "github_org", "updated",
            # The profile
            "sections", "current_roles", "past_roles", "releases", "codeveloped_releases", "backings", "relations",
            "incoming_relations", "sources",
            # The workflow: readers only ever see "published"; staff see every state.
            "state", "version", "published_at",
        ]

    def to_representation(self, lab: Lab) -> dict[str, Any]:
        # The same output, written out (LabProfileData). Links asked for with a format
        # suffix (".json", in the view's context) go through DRF's reverse(), as before.
        if self.context.get("format") or self.context.get("request") is None:
            return super().to_representation(lab)
        return LabProfileData(self.context).lab(lab)


# --------------------------------------------------------------------------
# The parts of a profile, as endpoints of their own (for editors' writes)
# --------------------------------------------------------------------------


class RoleSerializer(serializers.ModelSerializer):
    """A role, addressed by its id: who holds it, and where (a lab or an organization)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:role-detail")
    person = PersonLinkSerializer(read_only=True)
    lab = LabLinkSerializer(read_only=True, allow_null=True)
    organization = OrganizationLinkSerializer(read_only=True, allow_null=True)
    start = PartialDateField()
    end = PartialDateField()
    current = serializers.BooleanField(source="is_current", read_only=True, help_text="True while the role has no end.")

    class Meta:
        model = Role
        fields = ["url", "id", "person", "lab", "organization", "title", "focus", "start", "end", "current", "order"]


class SectionEndpointSerializer(SectionSerializer):
    """A narrative section of a lab, addressed by its id."""

    url = serializers.HyperlinkedIdentityField(view_name="api:section-detail")
    lab = LabLinkSerializer(read_only=True)

    class Meta(SectionSerializer.Meta):
        fields = ["url", "id", "lab", *SectionSerializer.Meta.fields, "updated"]


class CitationEndpointSerializer(CitationSerializer):
    """A citation, addressed by its id: the source and the one lab, section, release or person citing it."""

    url = serializers.HyperlinkedIdentityField(view_name="api:citation-detail")
    source = SourceLinkSerializer(read_only=True)

    class Meta(CitationSerializer.Meta):
        fields = ["url", "id", "source", *CitationSerializer.Meta.fields, "order"]


def around_slug(request, view_name, query=""):
    """
    An absolute URL of ``view_name`` as (before, after) its slug, with ``query`` after:
    the written-out outputs below put a row's slug between them rather than call
    ``reverse()`` per link.
    """
    before, after = slug_url_parts(view_name)
    return request.build_absolute_uri(before), after + query


# --------------------------------------------------------------------------
# The lab detail, written out
# --------------------------------------------------------------------------


class LabProfileData:
    """
    ``LabDetailSerializer``'s output, written out: the same dicts, from the instances
    ``with_profile()`` fetched, without DRF's nested serializers.

    A lab's detail walks some seventy objects through twenty nested serializers, which
    DRF builds afresh for each request (fields by model introspection: 3.6 ms) before it
    calls a field object per value. For the benchmark's lab (synthetic-lab-7, in process,
    minimums) serialising took 8.1 ms of an 18.6 ms request; written out, each URL a
    prefix reversed once per request and each choice label a dict look-up, it takes
    1.7 ms (1.0 ms of it the citations' query, ``Lab.profile_citations``), and the
    request 12.0 ms. The shape is the serializers', field for field and in their order:
    ``tests/test_api_fast_path.py`` holds the bytes equal to DRF's own output, so the
    schema, which documents ``LabDetailSerializer``, stays true; the rules are theirs too
    (links by ``PublicLinkSerializer``'s).
    """

    def __init__(self, context: dict) -> None:
        request = context["request"]
        self.context = context  # sees_unpublished() remembers its answers there
        # API links keep a ``?format=`` as DRF's do ("?format=json", or nothing); pages do not.
        format_query = preserve_builtin_query_params("", request)
        self.api_lab, self.api_person, self.api_release, self.api_source, self.api_organization = (
            around_slug(request, f"api:{name}-detail", format_query)
            for name in ("lab", "person", "release", "source", "organization")
        )
        self.page_lab, self.page_release, self.page_source = (
            around_slug(request, f"profiles:{name}-detail") for name in ("lab", "release", "source")
        )

        def labels(model, field_name):  # get_<field>_display()'s labels
            return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}

        self.lab_kinds, self.open_weights = labels(Lab, "kind"), labels(Lab, "open_weights")
        self.section_kinds, self.backing_kinds, self.relation_kinds = (
            labels(Section, "kind"), labels(Backing, "kind"), labels(LabRelation, "kind")
        )
        self.release_kinds, self.modalities, self.access, self.confidences = (
            labels(Release, "kind"), labels(Release, "modality"), labels(Release, "accessibility"),
            labels(Release, "confidence"),
        )
        self.domains = {value: str(label) for value, label in Domain.choices}  # Release.domain_labels

    # Links: {"slug", "name", "url"}.

    @staticmethod
    def link(obj: Any, around: tuple[str, str]) -> dict[str, Any] | None:
        return None if obj is None else {"slug": obj.slug, "name": obj.name, "url": f"{around[0]}{obj.slug}{around[1]}"}

    def public_link(self, obj: Any, around: tuple[str, str]) -> dict[str, Any] | None:
        """``PublicLinkSerializer``: null for a reader when the object is not public."""
        if obj is None or (not obj.is_public and not sees_unpublished(self.context, type(obj))):
            return None
        return self.link(obj, around)

    def public_links(self, objects: Any, around: tuple[str, str]) -> list[dict[str, Any]]:
        """``PublicLinkListSerializer``: those the reader may not see are left out."""
        return [link for link in (self.public_link(obj, around) for obj in objects) if link is not None]

    # The profile.

    def lab(self, lab: Lab) -> dict[str, Any]:
        slug, kind, open_weights, director = lab.slug, lab.kind, lab.open_weights, lab.director()
        return {
            "url": f"{self.api_lab[0]}{slug}{self.api_lab[1]}",
            "html_url": f"{self.page_lab[0]}{slug}{self.page_lab[1]}",
            "slug": slug,
            "name": lab.name,
            "native_name": lab.native_name,
            "other_names": lab.other_names_list,
            "summary": lab.summary,
            "lead": lab.lead,
            "lead_html": lab.lead_html,
            "kind": kind,
            "kind_display": self.lab_kinds.get(kind, kind),
            "founded": partial_date(lab, "founded"),
            "city": lab.city,
            "country": countries.alpha2(lab.country) or "",  # CountryCodeField
            "country_display": str(lab.country.name),
            "headquarters": lab.headquarters,
            "status": lab.status_text,
            "funding": lab.funding_text,
            "director": None if director is None else self.role(director),
            "open_weights": open_weights,
            "open_weights_display": self.open_weights.get(open_weights, open_weights),
            "open_weights_note": lab.open_weights_note,
            "flagship_releases": self.public_links(lab.flagship_releases(), self.api_release),
            "website": lab.website,
            "parent_lab": self.public_link(lab.parent_lab, self.api_lab),
            "parent_organization": self.link(lab.parent_organization, self.api_organization),
            "as_of": partial_date(lab, "as_of"),
            "last_reviewed": _DATE.to_representation(lab.last_reviewed),
            "wikidata_id": lab.wikidata_id,
            "huggingface_org": lab.huggingface_org,
            "github_org": lab.github_org,
            "updated": _DATETIME.to_representation(lab.updated),
            "sections": [self.section(section) for section in lab.sections.all()],
            "current_roles": [self.role(role) for role in lab.current_roles()],
            "past_roles": [self.role(role) for role in lab.past_roles()],
            "releases": [self.release(release) for release in lab.releases.all()],
            "codeveloped_releases": [self.codeveloped_release(release) for release in lab.profile_codeveloped_releases],
            "backings": [
                {
                    "organization": self.link(backing.organization, self.api_organization),
                    "kind": backing.kind,
                    "kind_display": self.backing_kinds.get(backing.kind, backing.kind),
                    "note": backing.note,
                }
                for backing in lab.backings.all()
            ],
            "relations": [
                {
                    "other_lab": self.public_link(relation.other_lab, self.api_lab),
                    "kind": relation.kind,
                    "kind_display": self.relation_kinds.get(relation.kind, relation.kind),
                    "note": relation.note,
                }
                for relation in lab.relations.all()
            ],
            "incoming_relations": [
                {
                    "lab": self.public_link(relation.lab, self.api_lab),
                    "kind": relation.kind,
                    "kind_display": self.relation_kinds.get(relation.kind, relation.kind),
                    "note": relation.note,
                }
                for relation in lab.incoming_relations.all()
            ],
            "sources": [
                {"number": number, "source": self.source(source), "claims": list(claims)}
                for number, source, claims in lab.numbered_sources
            ],
            "state": lab.state,
            "version": lab.version,
            "published_at": _DATETIME.to_representation(lab.published_at),
        }

    def section(self, section: Section) -> dict[str, Any]:
        return {
            "slug": section.slug,
            "kind": section.kind,
            "kind_display": self.section_kinds.get(section.kind, section.kind),
            "heading": section.title,
            "order": section.order,
            "body": section.body,
            "body_html": section.body_html,
        }

    def role(self, role: Role) -> dict[str, Any]:
        return {
            "person": self.public_link(role.person, self.api_person),
            "title": role.title,
            "focus": role.focus,
            "start": partial_date(role, "start"),
            "end": partial_date(role, "end"),
            "current": role.is_current,
        }

    def release(self, release: Release) -> dict[str, Any]:
        slug, kind, modality, access, confidence = (
            release.slug, release.kind, release.modality, release.accessibility, release.confidence
        )
        domains, imported = release.domains, getattr(release, "imported", None)  # None: no record
        return {
            "url": f"{self.api_release[0]}{slug}{self.api_release[1]}",
            "html_url": f"{self.page_release[0]}{slug}{self.page_release[1]}",
            "slug": slug,
            "name": release.name,
            "kind": kind,
            "kind_display": self.release_kinds.get(kind, kind),
            "family": self.public_link(release.family, self.api_release),
            "released": partial_date(release, "released"),
            "sizes": release.sizes,
            "modality": modality,
            "modality_display": self.modalities.get(modality, modality),
            "license": release.license,
            "accessibility": access,
            "accessibility_display": self.access.get(access, access),
            "open_weights": release.is_open_weights,
            "is_flagship": release.is_flagship,
            "domains": None if domains is None else list(domains),
            "domains_display": [self.domains.get(value, value) for value in domains or ()],
            # FloatField's float(): a figure is written 7.0, never 7.
            "parameters": _figure(release.parameters),
            "training_compute": _figure(release.training_compute),
            "dataset_size": _figure(release.dataset_size),
            "training_hardware": release.training_hardware,
            "base_model": self.public_link(release.base_model, self.api_release),
            "base_model_name": release.base_model_name,
            "confidence": confidence,
            "confidence_display": self.confidences.get(confidence, confidence),
            "co_developers": [self.link(lab, self.api_lab) for lab in release.public_co_developers],
            "provenance": None if imported is None else provenance(imported.dataset, imported.last_modified),
        }

    def codeveloped_release(self, release: Release) -> dict[str, Any]:
        return {
            "slug": release.slug,
            "name": release.name,
            "url": f"{self.api_release[0]}{release.slug}{self.api_release[1]}",
            "released": partial_date(release, "released"),
            "lab": self.link(release.lab, self.api_lab),
        }

    def source(self, source: Source) -> dict[str, Any]:
        slug = source.slug
        return {
            "url": f"{self.api_source[0]}{slug}{self.api_source[1]}",
            "html_url": f"{self.page_source[0]}{slug}{self.page_source[1]}",
            "slug": slug,
            "title": source.title,
            "document_url": source.url,
            "publisher": source.publisher,
            "author": source.author,
            "published": partial_date(source, "published"),
            "accessed": _DATE.to_representation(source.accessed),
        }


def _figure(value: float | None) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------
# The fast read path of /api/releases/
# --------------------------------------------------------------------------


class ReleaseRows:
    """
    ``ReleaseSerializer``'s output, built from ``values()`` rows instead of model instances.

    The release list is the API's hottest endpoint (programs page through it 100 at a
    time). A profile showed three quarters of each request in DRF's field machinery
    (a ``reverse()`` per link, a method call per choice label); here each URL is a
    prefix reversed once per request and each label a dict look-up. The shape is the
    serializer's, field for field — ``tests/test_api_fast_path.py`` holds them equal —
    so the schema, which documents ``ReleaseSerializer``, stays true.
    """

    FIELDS = [
        "slug", "name", "kind", "released", "released_precision", "sizes", "modality", "license",
        "accessibility", "is_flagship", "updated", "lab__slug", "lab__name", "family__slug", "family__name",
        "family__state", "family__published_at",
        "domains", "parameters", "training_compute", "dataset_size", "training_hardware", "base_model_name",
        "confidence", "base_model__slug", "base_model__name", "base_model__state", "base_model__published_at",
        "base_model__lab__state", "base_model__lab__published_at", "imported__dataset", "imported__last_modified",
        "id",  # the key of its co-developers (rows)
    ]

    @classmethod
    def values(cls, releases):
        """
        ``releases`` as the rows ``row()`` reads, each with whether it has any co-developer
        (named to readers or not: ``co_developers`` applies the rule), so that a page with
        none asks no more: that query cost 0.6 ms even when it found nothing, the flag 0.1 ms
        on the rows' query (minimums, in process, SQLite).
        """
        return releases.values(*cls.FIELDS, has_co_developers=Exists(Codeveloper.objects.filter(release=OuterRef("pk"))))

    def __init__(self, request):
        # API links keep a ``?format=`` as DRF's do ("?format=json", or nothing).
        format_query = preserve_builtin_query_params("", request)
        self.api_release = around_slug(request, "api:release-detail", format_query)
        self.api_lab = around_slug(request, "api:lab-detail", format_query)
        self.page_release = around_slug(request, "profiles:release-detail")
        self.kinds = dict(ReleaseKind.choices)
        self.modalities = dict(Modality.choices)
        self.access = dict(Accessibility.choices)
        self.domains = dict(Domain.choices)
        self.confidences = dict(Confidence.choices)
        self.open_weights = frozenset(OPEN_WEIGHTS_ACCESS)
        # PublicLinkSerializer's rule for the family link. A family is of the row's own lab
        # (Release.clean), which a reader's row has live already, so its own state decides.
        self.all_families = sees_unpublished({"request": request}, Release)
        self.now = timezone.now()

    def row(self, values, co_developers):
        # Runs a hundred times a request: locals and f-strings, no method call per link.
        (api_before, api_after), (page_before, page_after) = self.api_release, self.page_release
        slug, lab, family = values["slug"], values["lab__slug"], values["family__slug"]
        if family is not None and not self.all_families and not is_live(
            values["family__state"], values["family__published_at"], self.now
        ):
            family = None
        kind, modality, access = values["kind"], values["modality"], values["accessibility"]
        released, precision = values["released"], values["released_precision"]
        # The base model may be another lab's: PublicLinkSerializer's rule (Release.is_public) on both.
        base = values["base_model__slug"]
        if base is not None and not self.all_families and not (
            is_live(values["base_model__state"], values["base_model__published_at"], self.now)
            and is_live(values["base_model__lab__state"], values["base_model__lab__published_at"], self.now)
        ):
            base = None
        domains, confidence = values["domains"] or [], values["confidence"]
        return {
            "url": f"{api_before}{slug}{api_after}",
            "html_url": f"{page_before}{slug}{page_after}",
            "slug": slug,
            "name": values["name"],
            "lab": {"slug": lab, "name": values["lab__name"], "url": f"{self.api_lab[0]}{lab}{self.api_lab[1]}"},
            "kind": kind,
            "kind_display": self.kinds.get(kind, kind),
            "family": None if family is None else {
                "slug": family, "name": values["family__name"], "url": f"{api_before}{family}{api_after}",
            },
            "released": None if released is None else {
                "date": iso_partial_date(released, precision),
                "precision": precision,
                "display": format_partial_date(released, precision),
            },
            "sizes": values["sizes"],
            "modality": modality,
            "modality_display": self.modalities.get(modality, modality),
            "license": values["license"],
            "accessibility": access,
            "accessibility_display": self.access.get(access, access),
            "open_weights": access in self.open_weights,
            "is_flagship": values["is_flagship"],
            "domains": domains,
            "domains_display": [self.domains.get(value, value) for value in domains],
            "parameters": values["parameters"],
            "training_compute": values["training_compute"],
            "dataset_size": values["dataset_size"],
            "training_hardware": values["training_hardware"],
            "base_model": None if base is None else {
                "slug": base, "name": values["base_model__name"], "url": f"{api_before}{base}{api_after}",
            },
            "base_model_name": values["base_model_name"],
            "confidence": confidence,
            "confidence_display": self.confidences.get(confidence, confidence),
            "co_developers": co_developers.get(values["id"], []),
            "provenance": provenance(values["imported__dataset"], values["imported__last_modified"]),
            # Aware, in UTC (TIME_ZONE, which DRF writes in): orjson writes DRF's text, "Z" and all.
            "updated": values["updated"],
        }

    def co_developers(self, release_ids):
        """
        The co-developers of the releases ``release_ids`` by release, in author order, as links:
        one query for the page, by ``ReleaseSerializer``'s rule (``Codeveloper.objects.named()``).
        """
        links = {}
        if not release_ids:
            return links
        api_before, api_after = self.api_lab
        rows = Codeveloper.objects.named().filter(release__in=release_ids).values_list("release_id", "lab__slug", "lab__name")
        for release_id, slug, name in rows:
            links.setdefault(release_id, []).append({"slug": slug, "name": name, "url": f"{api_before}{slug}{api_after}"})
        return links

    def rows(self, values_rows):
        co_developers = self.co_developers([values["id"] for values in values_rows if values["has_co_developers"]])
        return [self.row(values, co_developers) for values in values_rows]
