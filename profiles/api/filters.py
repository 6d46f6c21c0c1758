"""
Filters of the API's list endpoints (django-filter).

Every filter validates its value: the DRF backend answers an invalid one with a 400
naming the parameter (``{"released_after": ["Enter a valid date."]}``) rather than
ignoring it. Labs, people and releases named in a filter are looked up among
*published* rows, through callables so that "now" is the time of the request, not of
the import; an unknown or unpublished slug is an invalid value.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django_countries import countries
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters as drf_filters

from ..models import (
    OPEN_WEIGHTS_ACCESS,
    Codeveloper,
    Confidence,
    Domain,
    Lab,
    LabKind,
    OpenWeightsPolicy,
    Organization,
    OrganizationKind,
    Person,
    Release,
    ReleaseKind,
    Role,
    Source,
)


def published_labs(request):
    # Staff may filter by the drafts they can see; readers only by published rows.
    user = getattr(request, "user", None)
    return Lab.objects.visible_to(user) if user is not None else Lab.objects.published()


def published_releases(request):
    user = getattr(request, "user", None)
    return Release.objects.visible_to(user) if user is not None else Release.objects.published()


# --------------------------------------------------------------------------
# A boolean that refuses what is not a boolean
# --------------------------------------------------------------------------


class StrictBooleanField(forms.Field):
    """
    ``true``/``false`` (or ``1``/``0``), and an error for anything else.

    django-filter's own ``BooleanFilter`` turns an unknown value into "no filter",
    so ``?open_weights=maybe`` would quietly return everything.
    """

    widget = forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")])
    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise ValidationError(f"“{value}” is not a boolean: use true or false.", code="invalid") from None


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.Filter):
    field_class = StrictBooleanField


# A list, not a callable: drf-spectacular lists a list's codes as the parameter's enum
# (it never calls a callable's). Taken once, as the country codes never change while running.
COUNTRY_CHOICES = list(countries)


# --------------------------------------------------------------------------
# FilterSets
# --------------------------------------------------------------------------


class LabFilter(filters.FilterSet):
    country = filters.ChoiceFilter(choices=COUNTRY_CHOICES, help_text="ISO 3166 code of the headquarters: CN.")
    kind = filters.ChoiceFilter(choices=LabKind.choices)
    open_weights = filters.ChoiceFilter(choices=OpenWeightsPolicy.choices, help_text="The lab's open-weights policy.")

    class Meta:
        model = Lab
        fields = ["country", "kind", "open_weights"]


RELEASE_LAB_HELP = (
    "The lab's slug: releases the lab made or co-developed (it is their lab, or one of their co_developers)."
)


@extend_schema_field({"type": "string", "description": RELEASE_LAB_HELP})
class ReleaseLabFilter(filters.ModelChoiceFilter):
    """A lab by slug, for ``ReleaseFilter.filter_lab``. A class of its own: a schema override given
    to ``ModelChoiceFilter`` itself (PersonFilter's) is every such filter's, and has no description."""


class ReleaseFilter(filters.FilterSet):
    lab = ReleaseLabFilter(
        queryset=published_labs, to_field_name="slug", method="filter_lab", help_text=RELEASE_LAB_HELP,
    )
    kind = filters.ChoiceFilter(choices=ReleaseKind.choices)
    domain = filters.ChoiceFilter(
        choices=Domain.choices, method="filter_domain",
        help_text="Releases that work on this domain (one of Epoch AI's; a release may have several).",
    )
    confidence = filters.ChoiceFilter(
        choices=Confidence.choices, help_text="How sure the source is of the release's figures (Epoch AI's scale).",
    )
    family = filters.ModelChoiceFilter(
        queryset=published_releases, to_field_name="slug", help_text="The family release's slug."
    )
    # Partial dates are stored as the first day of their period, so "July 2024" counts
    # as 2024-07-01 here; both bounds are inclusive.
    released_after = filters.DateFilter(
        field_name="released", lookup_expr="gte", help_text="Released on or after (YYYY-MM-DD)."
    )
    released_before = filters.DateFilter(
        field_name="released", lookup_expr="lte", help_text="Released on or before (YYYY-MM-DD)."
    )
    open_weights = StrictBooleanFilter(
        method="filter_open_weights",
        help_text="true: open weights of any kind (unrestricted, restricted use, non-commercial).",
    )

    class Meta:
        model = Release
        fields = ["lab", "kind", "family", "released_after", "released_before", "open_weights", "domain", "confidence"]

    def filter_lab(self, queryset, name, value):
        # The releases it co-developed first, then its own by the lab's index and those by key
        # (each listed once): as an EXISTS per release, ORed with the lab, both databases
        # checked every release (synthetic-lab-7: SQLite 152 ms, PostgreSQL 57 ms).
        codeveloped = list(Codeveloper.objects.filter(lab=value).order_by().values_list("release_id", flat=True))
        return queryset.filter(Q(lab=value) | Q(pk__in=codeveloped))

    def filter_domain(self, queryset, name, value):
        # The JSON list's text holds the value in quotes ('["language", "vision"]'): a substring
        # match on '"language"' is one condition on SQLite and PostgreSQL alike, and no value is
        # part of another in quotes.
        return queryset.filter(domains__icontains=f'"{value}"')

    def filter_open_weights(self, queryset, name, value):
        # One definition of "open weights": the queryset's, and its complement.
        if value:
            return queryset.open_weights()
        return queryset.exclude(accessibility__in=OPEN_WEIGHTS_ACCESS)


class PersonFilter(filters.FilterSet):
    """
    ``lab``: people with a role (current or past) at the lab. ``current``: people with a
    current role; with ``lab``, a current role *at that lab*.

    Both use ``EXISTS`` on roles, so a person with several roles is listed once and the
    two filters look at the same role (a past role at the lab plus a current one
    elsewhere does not make someone current at the lab).
    """

    lab = extend_schema_field(OpenApiTypes.STR)(filters.ModelChoiceFilter)(
        queryset=published_labs, to_field_name="slug", method="filter_lab", help_text="The lab's slug."
    )
    current = StrictBooleanFilter(
        method="filter_current", help_text="true: holds a current role (at that lab, with lab)."
    )

    class Meta:
        model = Person
        fields = ["lab", "current"]

    def _roles(self):
        # The reader rule for roles (Role.objects.public()): a role at a draft lab must not
        # make a reader's answer "current". Staff who see drafts count every role.
        user = getattr(self.request, "user", None)
        previews = user is not None and Lab.objects.all().previewable_by(user)
        roles = (Role.objects.all() if previews else Role.objects.public()).filter(person=OuterRef("pk"))
        lab = self.form.cleaned_data.get("lab")
        return roles.filter(lab=lab) if lab else roles

    def filter_lab(self, queryset, name, value):
        return queryset.filter(Exists(self._roles()))

    def filter_current(self, queryset, name, value):
        current_roles = Exists(self._roles().current())
        return queryset.filter(current_roles) if value else queryset.exclude(current_roles)


class SourceFilter(filters.FilterSet):
    publisher = filters.CharFilter(lookup_expr="iexact")
    published_after = filters.DateFilter(
        field_name="published", lookup_expr="gte", help_text="Published on or after (YYYY-MM-DD)."
    )
    published_before = filters.DateFilter(
        field_name="published", lookup_expr="lte", help_text="Published on or before (YYYY-MM-DD)."
    )

    class Meta:
        model = Source
        fields = ["publisher", "published_after", "published_before"]


class OrganizationFilter(filters.FilterSet):
    country = filters.ChoiceFilter(choices=COUNTRY_CHOICES, help_text="ISO 3166 code: CN.")
    kind = filters.ChoiceFilter(choices=OrganizationKind.choices)

    class Meta:
        model = Organization
        fields = ["country", "kind"]


# --------------------------------------------------------------------------
# The backend
# --------------------------------------------------------------------------


class FilterBackend(filters.DjangoFilterBackend):
    """
    django-filter's backend, skipped when the request names none of the FilterSet's
    filters. Building a FilterSet builds its form, each field and the querysets behind
    the choices (a few milliseconds on the hottest list); with no filter given it
    returns the queryset unchanged anyway.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not set(request.query_params) & set(filterset_class.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)


class SearchFilter(drf_filters.SearchFilter):
    """
    DRF's search, documented only where the view has ``search_fields``: elsewhere the
    endpoint refuses ``?search=`` (views.APIViewSetMixin.allowed_parameters, by the same
    rule), and DRF's own filter would document it for every list.
    """

    def get_schema_operation_parameters(self, view):
        return super().get_schema_operation_parameters(view) if getattr(view, "search_fields", None) else []
