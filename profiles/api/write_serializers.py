"""
Serializers of the API's writes (create, PUT, PATCH).

Validation is the model's: ``validate()`` builds the instance and runs its
``full_clean()``, so the API refuses exactly what the admin refuses, with the errors
keyed by the API's field names. Related objects are named by slug (sections by id).
The state may be set, but only through the workflow rule (``transition`` checks
``check_state_change``): an editor cannot publish by PUTting ``"state": "published"``.
A write answers with the object as the detail endpoint shows it (see the viewsets).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.text import slugify
from django_countries.serializer_fields import CountryField
from rest_framework import serializers

from ..models import (
    Citation, Codeveloper, Lab, Organization, Person, PublishableModel, Release, Role, Section, Source,
)
from .serializers import DomainListField


def by_slug(queryset, help_text, **kwargs):
    return serializers.SlugRelatedField(slug_field="slug", queryset=queryset, help_text=help_text, **kwargs)


class ModelWriteSerializer(serializers.ModelSerializer):
    """Validates through the model and saves the instance it validated."""

    # Where the slug comes from when a new row is created without one.
    slug_from = None

    def validate(self, attrs):
        instance = self.instance or self.Meta.model()
        for name, value in attrs.items():
            setattr(instance, name, value)
        if not getattr(instance, "slug", True):
            instance.slug = self.default_slug(instance)
        try:
            instance.full_clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(self._api_errors(error)) from None
        self._validated_instance = instance
        return attrs

    def default_slug(self, instance):
        """A new row's slug when none is given: from its name, as the admin prefills it."""
        return slugify(getattr(instance, self.slug_from) or "")[:120]

    def _api_errors(self, error):
        """The model's errors, keyed by the API's names (``url`` → ``homepage``...)."""
        api_name = {field.source: name for name, field in self.fields.items() if not field.read_only}
        if not hasattr(error, "error_dict"):
            return {"non_field_errors": error.messages}
        errors = {}
        for name, messages in error.message_dict.items():
            key = "non_field_errors" if name == "__all__" else api_name.get(name, name)
            errors.setdefault(key, []).extend(messages)
        return errors

    def save(self, user=None, **kwargs):
        instance = self._validated_instance
        if isinstance(instance, PublishableModel):
            # The workflow rule, then the save (a stale version raises EditConflict: 409).
            instance.transition(user, instance.state)
        else:
            instance.save()
        self.instance = instance
        return instance


class LabWriteSerializer(ModelWriteSerializer):
    slug_from = "name"
    status = serializers.CharField(source="status_text", required=False, allow_blank=True,
                                   help_text="Status in At a glance: 'Active', 'Merged into X in 2024'.")
    funding = serializers.CharField(source="funding_text", required=False, allow_blank=True,
                                    help_text="Funding in At a glance, as the sources put it.")
    country = CountryField(required=False, allow_blank=True, help_text="ISO 3166 code of the headquarters: CN.")
    parent_lab = by_slug(Lab.objects.all(), "Slug of the profiled lab this one is part of.", required=False, allow_null=True)
    parent_organization = by_slug(
        Organization.objects.all(), "Slug of the organization this lab belongs to.", required=False, allow_null=True
    )

    class Meta:
        model = Lab
        fields = [
            "slug", "name", "native_name", "other_names", "summary", "lead", "kind",
            "founded", "founded_precision", "city", "country", "status", "funding",
            "open_weights", "open_weights_note", "website", "parent_lab", "parent_organization",
            "as_of", "as_of_precision", "last_reviewed", "wikidata_id", "huggingface_org", "github_org", "state",
        ]
        extra_kwargs = {"slug": {"required": False}}


class PersonWriteSerializer(ModelWriteSerializer):
    slug_from = "name"

    class Meta:
        model = Person
        fields = ["slug", "name", "native_name", "bio", "earlier_positions", "state"]
        extra_kwargs = {"slug": {"required": False}}


class ReleaseWriteSerializer(ModelWriteSerializer):
    """
    A release with its figures and co-developers. ``co_developers`` (lab slugs, in author
    order) replaces the release's list when given; each row is checked by ``Codeveloper``'s
    own validation, its errors under ``co_developers``.
    """

    slug_from = "name"
    lab = by_slug(Lab.objects.all(), "Slug of the lab that made it.")
    family = by_slug(Release.objects.all(), "Slug of the family release (same lab).", required=False, allow_null=True)
    homepage = serializers.URLField(source="url", required=False, allow_blank=True, max_length=200,
                                    help_text="Its home page or repository (http or https).")
    # Checked by Release.clean() (the admin's rule): a wrong value gets the model's message.
    domains = DomainListField(
        child=serializers.CharField(), required=False,
        help_text="What it works on: one or more of Epoch AI's domains, each once.",
    )
    base_model = by_slug(
        Release.objects.all(), "Slug of the release it was fine-tuned from, if it is profiled here.",
        required=False, allow_null=True,
    )
    co_developers = serializers.ListField(
        child=serializers.SlugRelatedField(slug_field="slug", queryset=Lab.objects.all()), required=False,
        help_text="Slugs of the other labs that built it with its lab, in author order; replaces the list.",
    )

    class Meta:
        model = Release
        fields = [
            "slug", "name", "lab", "kind", "family", "released", "released_precision", "sizes", "modality",
            "license", "accessibility", "distribution", "homepage", "description", "is_flagship", "order",
            "domains", "parameters", "training_compute", "dataset_size", "training_hardware", "base_model",
            "base_model_name", "confidence", "co_developers", "state",
        ]
        extra_kwargs = {"slug": {"required": False}}

    def validate(self, attrs):
        # Not a field of the row (a set of Codeveloper rows): checked and written apart.
        labs = attrs.pop("co_developers", None)
        attrs = super().validate(attrs)
        self._co_developers = labs
        if labs is not None:
            errors = []
            for lab in labs:
                row = Codeveloper(release=self._validated_instance, lab=lab)
                try:
                    row.full_clean(exclude=["release"], validate_unique=False, validate_constraints=False)
                except DjangoValidationError as error:
                    errors.extend(error.messages)
            if len({lab.pk for lab in labs}) != len(labs):
                errors.append("Each co-developer once.")
            if errors:
                raise serializers.ValidationError({"co_developers": errors})
        return attrs

    def save(self, user=None, **kwargs):
        release = super().save(user=user, **kwargs)
        labs = getattr(self, "_co_developers", None)
        if labs is not None:
            # The rows that stay keep their ids (a draft's diff shows only what changed).
            order_of = {lab.pk: order for order, lab in enumerate(labs)}
            kept = set()
            for row in Codeveloper.objects.filter(release=release):
                if row.lab_id not in order_of:
                    row.delete()
                    continue
                kept.add(row.lab_id)
                if row.order != order_of[row.lab_id]:
                    row.order = order_of[row.lab_id]
                    row.save(update_fields=["order"])
            for lab_id, order in order_of.items():
                if lab_id not in kept:
                    Codeveloper.objects.create(release=release, lab_id=lab_id, order=order)
        return release


class SourceWriteSerializer(ModelWriteSerializer):
    slug_from = "title"
    document_url = serializers.URLField(source="url", required=False, allow_blank=True, max_length=500,
                                        help_text="Where to read it (http or https), if online.")

    class Meta:
        model = Source
        fields = [
            "slug", "title", "document_url", "publisher", "author", "published", "published_precision",
            "accessed", "state",
        ]
        extra_kwargs = {"slug": {"required": False}}


class RoleWriteSerializer(ModelWriteSerializer):
    person = by_slug(Person.objects.all(), "Slug of the person who holds the role.")
    lab = by_slug(Lab.objects.all(), "Slug of the lab (or give an organization).", required=False, allow_null=True)
    organization = by_slug(
        Organization.objects.all(), "Slug of the organization (or give a lab).", required=False, allow_null=True
    )

    class Meta:
        model = Role
        fields = ["person", "lab", "organization", "title", "focus", "start", "start_precision",
                  "end", "end_precision", "order"]
        # The model's conditional unique constraints are checked by full_clean().
        validators = []


class SectionWriteSerializer(ModelWriteSerializer):
    lab = by_slug(Lab.objects.all(), "Slug of the lab this section profiles.")

    def default_slug(self, instance):
        # The model's own rule (Section.clean), applied before full_clean checks the field.
        return slugify(instance.heading or instance.get_kind_display())

    class Meta:
        model = Section
        fields = ["lab", "kind", "heading", "slug", "order", "body"]
        extra_kwargs = {"slug": {"required": False, "allow_blank": True}}
        validators = []


class CitationWriteSerializer(ModelWriteSerializer):
    source = by_slug(Source.objects.all(), "Slug of the source cited.")
    lab = by_slug(Lab.objects.all(), "Slug of the citing lab (exactly one target).", required=False, allow_null=True)
    section = serializers.PrimaryKeyRelatedField(
        queryset=Section.objects.all(), required=False, allow_null=True, help_text="Id of the citing section."
    )
    release = by_slug(Release.objects.all(), "Slug of the citing release.", required=False, allow_null=True)
    person = by_slug(Person.objects.all(), "Slug of the citing person.", required=False, allow_null=True)

    class Meta:
        model = Citation
        fields = ["source", "lab", "section", "release", "person", "claim", "order"]
        validators = []


class GoLiveSerializer(serializers.Serializer):
    go_live = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="When the row goes live (publish only); omitted: now, or the go-live time already set.",
    )
