"""
Read-only API viewsets. Each one is a queryset from the models (which decides what a
reader may see and prefetches it), a serializer for the list and one for the detail,
and its filters, search and ordering. Filtering, search and pagination backends are the
project defaults (settings.REST_FRAMEWORK).
"""

from rest_framework import viewsets

from ..models import Lab, Organization, Person, Release, Source
from . import filters, serializers


class ReadOnlySlugViewSet(viewsets.ReadOnlyModelViewSet):
    """
    A read-only endpoint whose objects are addressed by slug, with a lighter serializer
    for the list (``serializer_class``) than for one object (``detail_serializer_class``).
    """

    lookup_field = "slug"
    detail_serializer_class = None

    def get_serializer_class(self):
        if self.action == "retrieve" and self.detail_serializer_class is not None:
            return self.detail_serializer_class
        return super().get_serializer_class()

    def filter_queryset(self, queryset):
        # An object is fetched by its slug alone: list parameters (?kind=, ?search=,
        # ?ordering=) must not turn a detail into a 404 or order by a list-only column.
        if self.action == "retrieve":
            return queryset
        return super().filter_queryset(queryset)


class LabViewSet(ReadOnlySlugViewSet):
    """
    Published labs. The list is the index (summary, counts, latest release); a lab's
    detail is its whole profile.
    """

    lookup_field = "slug"
    serializer_class = serializers.LabSerializer
    detail_serializer_class = serializers.LabDetailSerializer
    filterset_class = filters.LabFilter
    search_fields = ["name", "native_name", "other_names", "summary"]
    ordering_fields = ["name", "founded", "updated", "release_count", "latest_release"]
    ordering = ["name"]

    def get_queryset(self):
        labs = Lab.objects.published()
        if self.action == "retrieve":
            return labs.with_profile()
        return labs.for_index()


class ReleaseViewSet(ReadOnlySlugViewSet):
    """Published releases of published labs, newest first (undated last)."""

    lookup_field = "slug"
    serializer_class = serializers.ReleaseSerializer
    detail_serializer_class = serializers.ReleaseDetailSerializer
    filterset_class = filters.ReleaseFilter
    search_fields = ["name", "lab__name"]
    ordering_fields = ["name", "released", "updated"]
    # No ``ordering``: the model's own (newest first, undated last, then editor order).

    def get_queryset(self):
        return Release.objects.published().with_related()


class PersonViewSet(ReadOnlySlugViewSet):
    """Published people; one person's detail lists every role, current and past."""

    lookup_field = "slug"
    serializer_class = serializers.PersonSerializer
    detail_serializer_class = serializers.PersonDetailSerializer
    filterset_class = filters.PersonFilter
    search_fields = ["name", "native_name"]
    ordering_fields = ["name", "updated"]
    ordering = ["name"]

    def get_queryset(self):
        people = Person.objects.published()
        # The list shows no roles, so only the detail pays for prefetching them.
        return people.with_roles() if self.action == "retrieve" else people


class SourceViewSet(ReadOnlySlugViewSet):
    """Published sources; one source's detail lists what cites it."""

    lookup_field = "slug"
    serializer_class = serializers.SourceSerializer
    detail_serializer_class = serializers.SourceDetailSerializer
    filterset_class = filters.SourceFilter
    search_fields = ["title", "publisher", "author"]
    ordering_fields = ["title", "published", "updated"]
    ordering = ["title"]

    def get_queryset(self):
        sources = Source.objects.published()
        return sources.with_citations() if self.action == "retrieve" else sources


class OrganizationViewSet(ReadOnlySlugViewSet):
    """Organizations behind labs (governments, universities, companies); not profiled, so no page."""

    lookup_field = "slug"
    serializer_class = serializers.OrganizationSerializer
    filterset_class = filters.OrganizationFilter
    search_fields = ["name", "native_name"]
    ordering_fields = ["name"]
    ordering = ["name"]
    queryset = Organization.objects.select_related("parent")
