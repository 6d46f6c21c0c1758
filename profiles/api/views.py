"""
The API's viewsets. Each one is a queryset from the models (which decides what a
reader may see and prefetches it), a serializer for the list, one for the detail and
one for writes, and its filters, search and ordering. What they share (conditional
requests, strict query parameters, writes answered with the detail, the workflow
actions) lives in the mixins at the top; backends, permissions and throttles are the
project defaults (settings.REST_FRAMEWORK).
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from ..caching import PublicPageCacheMixin
from ..models import (
    SLUG_CHARACTERS, Citation, Lab, Organization, Person, PublicationState, Release, Role, Section, Source, live,
)
from . import conditional, filters, serializers, write_serializers
from .freshness import lab_freshness, person_freshness, source_freshness


class APIViewSetMixin(PublicPageCacheMixin):
    """
    What every endpoint does alike: list/detail/write serializers, conditional GETs,
    ``If-Match`` on writes, writes answered with the detail, unknown parameters refused,
    and readers' GETs answered from the shared cache as pages are.
    """

    detail_serializer_class = None
    write_serializer_class = None
    # Query parameters every endpoint takes; lists add their filters, search, ordering, pages.
    common_parameters = {"format"}
    detail_parameters = set()

    # --- serializers and querysets -----------------------------------------

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update") and self.write_serializer_class is not None:
            return self.write_serializer_class
        if self.action != "list" and self.detail_serializer_class is not None:
            return self.detail_serializer_class
        return super().get_serializer_class()

    def filter_queryset(self, queryset):
        # An object is fetched by its slug alone: list parameters (?kind=, ?search=,
        # ?ordering=) must not turn a detail into a 404 or order by a list-only column.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def detail_queryset(self):
        """The queryset the detail is read from (the same one, unless a viewset says otherwise)."""
        return self.get_queryset()

    # --- unknown query parameters: a 400, never silently ignored ----------------

    def allowed_parameters(self):
        allowed = set(self.common_parameters)
        if self.action == "list":
            filterset = getattr(self, "filterset_class", None)
            allowed |= set(filterset.base_filters) if filterset else set()
            allowed |= {"search"} if getattr(self, "search_fields", None) else set()
            allowed |= {"ordering"} if getattr(self, "ordering_fields", None) else set()
            allowed |= {"page", "page_size"}
        elif self.action == "retrieve":
            allowed |= self.detail_parameters
        return allowed

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action is None:
            return  # a method this URL does not take: the 405 says so, not the parameters
        unknown = sorted(set(request.query_params) - self.allowed_parameters())
        if unknown:
            known = ", ".join(sorted(self.allowed_parameters())) or "none"
            raise ValidationError(
                {name: [f"Unknown parameter “{name}” for this endpoint; it takes: {known}."] for name in unknown}
            )

    # --- readers' shared copies (profiles/caching.py) -------------------------

    def shared_copy_variant(self, request):
        # One URL answers JSON, CSV or the browsable page, as the Accept header asks.
        return request.headers.get("Accept", "")

    def admits(self, request):
        # A shared copy is served before DRF's own checks, so the throttles run here too
        # (a refusal then goes the normal way, for the API's 429 with Retry-After).
        return all(throttle.allow_request(request, self) for throttle in self.get_throttles())

    def shares_copy(self, request):
        # A request with a token may be staff's (who see drafts); a conditional one is
        # answered from its validators (a 304 costs one cheap query) as it always was.
        return not any(name in request.headers for name in ("Authorization", "If-None-Match", "If-Modified-Since"))

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors are always JSON, whatever format was asked for (?format=csv included).
        if response.status_code >= 400 and getattr(request, "accepted_renderer", None) is not None:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        # A list's ETag is a hash of its page as sent: deletions and changes of nested rows
        # change it too, and a client holding that page gets a 304.
        if self.action == "list" and request.method in ("GET", "HEAD") and response.status_code == 200:
            return conditional.with_body_etag(request, response)
        return response

    # --- reads ---------------------------------------------------------------

    # Subqueries of what else the detail shows (freshness.py), or None: the row alone.
    freshness = None

    def stamp(self, **lookup):
        """One cheap query: the row's pk, version, updated and the latest change of what it shows."""
        return self.stamp_queryset().filter(**lookup).first()

    def stamp_queryset(self):
        """The stamps of the rows this user may open."""
        rows = self.get_queryset()
        fields = ["pk"] + [name for name in ("version", "updated") if hasattr(rows.model, name)]
        extra = self.freshness() if self.freshness else {}
        # Without the detail's prefetches: this stays one query.
        return rows.prefetch_related(None).annotate(**extra).values(*fields, *extra)

    def validators(self, stamp):
        """(ETag, Last-Modified) of a stamp: the row's and its related rows' latest change."""
        model = self.get_queryset().model
        related = sorted((key, str(value)) for key, value in stamp.items() if key not in ("pk", "version", "updated"))
        etag = conditional.row_etag(
            model, stamp["pk"], stamp.get("version"), stamp.get("updated"),
            conditional.audience(self.request, model), related,
        )
        times = [value for key, value in stamp.items() if key != "pk" and hasattr(value, "timestamp")]
        return etag, max(times, default=None)

    def instance_validators(self, instance):
        if self.freshness:
            return self.validators(self.stamp(pk=instance.pk))
        fields = ("version", "updated")
        return self.validators({"pk": instance.pk, **{name: getattr(instance, name) for name in fields
                                                      if hasattr(instance, name)}})

    def row_etag(self, instance):
        return self.instance_validators(instance)[0]

    def retrieve(self, request, *args, **kwargs):
        if "If-None-Match" in request.headers or "If-Modified-Since" in request.headers:
            # The cheap query first, so a 304 costs no serialising or prefetching.
            lookup = self.lookup_url_kwarg or self.lookup_field
            stamp = self.stamp(**{self.lookup_field: self.kwargs[lookup]})
            if stamp is None:
                self.get_object()  # the 404, in the API's shape
            etag, last_modified = self.validators(stamp)
            if conditional.not_modified(request, etag, last_modified):
                return conditional.not_modified_response(etag, last_modified)
        instance = self.get_object()
        response = Response(self.get_serializer(instance).data)
        return conditional.add_validators(response, *self.instance_validators(instance))

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        serializer = self.get_serializer(rows, many=True)
        response = self.get_paginated_response(serializer.data) if page is not None else Response(serializer.data)
        # The ETag, a hash of the rendered page, is added by finalize_response.
        stamps = [row.updated for row in rows if getattr(row, "updated", None)]
        return conditional.add_validators(response, None, max(stamps) if stamps else None)

    # --- writes ----------------------------------------------------------------

    def get_object(self):
        instance = super().get_object()
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            conditional.check_if_match(self.request, instance, self.row_etag(instance))
        return instance

    def detail_response(self, instance, status_code=status.HTTP_200_OK):
        """A write's answer: the object as its detail shows it, read back with the detail's queryset."""
        instance = self.detail_queryset().get(pk=instance.pk)
        response = Response(self.detail_serializer()(instance, context=self.get_serializer_context()).data,
                            status=status_code)
        return conditional.add_validators(response, *self.instance_validators(instance))

    def detail_serializer(self):
        return self.detail_serializer_class or self.serializer_class


class WritableMixin:
    """Create and update through the write serializer, answered with the detail (a read-only viewset has neither)."""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = serializer.save(user=request.user)
        return self.detail_response(instance, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.pop("partial", False))
        serializer.is_valid(raise_exception=True)
        return self.detail_response(serializer.save(user=request.user))


class WorkflowActionsMixin:
    """``POST .../<slug>/submit|publish|unpublish|archive/``: the admin's actions, same rule."""

    workflow_actions = {
        "submit": PublicationState.REVIEW,
        "publish": PublicationState.PUBLISHED,
        "unpublish": PublicationState.DRAFT,
        "archive": PublicationState.ARCHIVED,
    }

    def _move(self, request):
        instance = self.get_object()
        go_live = None
        if self.action == "publish":
            body = write_serializers.GoLiveSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            go_live = body.validated_data.get("go_live")
        # check_state_change inside: PermissionDenied (403) with the model's message.
        instance.transition(request.user, self.workflow_actions[self.action], go_live=go_live)
        return self.detail_response(instance)

    @action(detail=True, methods=["post"])
    def submit(self, request, *args, **kwargs):
        """Submit for review (editors and publishers)."""
        return self._move(request)

    @action(detail=True, methods=["post"])
    def publish(self, request, *args, **kwargs):
        """Publish now, or at ``go_live`` (publishers only)."""
        return self._move(request)

    @action(detail=True, methods=["post"])
    def unpublish(self, request, *args, **kwargs):
        """Back to draft (publishers only)."""
        return self._move(request)

    @action(detail=True, methods=["post"])
    def archive(self, request, *args, **kwargs):
        """Archive (publishers only)."""
        return self._move(request)


def documented(write, detail, list_serializer, kind, workflow=False):
    """The schema of a writable endpoint: requests with the write serializer, answers with the detail."""
    if_match = OpenApiParameter(
        "If-Match", str, OpenApiParameter.HEADER, required=False,
        description="The ETag (or version) you edited; 412 if the stored row has changed since.",
    )
    views = {
        "create": extend_schema(request=write, responses={201: detail}, summary=f"Create a {kind} (as a draft)"),
        "update": extend_schema(request=write, responses={200: detail}, parameters=[if_match], summary=f"Replace a {kind}"),
        "partial_update": extend_schema(request=write, responses={200: detail}, parameters=[if_match],
                                        summary=f"Change some fields of a {kind}"),
        "destroy": extend_schema(parameters=[if_match], summary=f"Delete a {kind}"),
        "retrieve": extend_schema(summary=f"One {kind}"),
        "list": extend_schema(summary=f"List {kind}s", responses={200: list_serializer(many=True)}),
    }
    if workflow:
        for name in WorkflowActionsMixin.workflow_actions:
            views[name] = extend_schema(
                request=write_serializers.GoLiveSerializer if name == "publish" else None,
                responses={200: detail}, parameters=[if_match], summary=f"{name.capitalize()} a {kind}",
            )
    return extend_schema_view(**views)


class PublishableViewSet(WritableMixin, APIViewSetMixin, WorkflowActionsMixin, viewsets.ModelViewSet):
    """Labs, people, releases and sources: addressed by slug, with a publication state."""

    lookup_field = "slug"
    lookup_value_regex = SLUG_CHARACTERS.pattern

    def preview(self):
        """Whether the user previews every state (staff) rather than reading published rows."""
        return self.queryset_model.objects.all().previewable_by(self.request.user)

    def stamp_queryset(self):
        # Built once per viewset and audience, and copied for each request as DRF copies
        # ``queryset``: a lab's stamp is ten subqueries, which took 8 ms to build and
        # 0.5 ms to run. Which rows it reads depends only on whether the user previews,
        # and published() reads the clock when the query runs.
        key = (type(self), self.preview())
        if key not in BUILT_STAMP_QUERYSETS:
            BUILT_STAMP_QUERYSETS[key] = super().stamp_queryset()
        return BUILT_STAMP_QUERYSETS[key].all()


BUILT_STAMP_QUERYSETS = {}  # (viewset class, previews?) -> its stamp queryset


@documented(write_serializers.LabWriteSerializer, serializers.LabDetailSerializer, serializers.LabSerializer, "lab", True)
class LabViewSet(PublishableViewSet):
    """
    Labs. The list is the index (summary, counts, latest release); a lab's detail is its
    whole profile (sections, people, releases, backers, relations, numbered sources) in
    one request.
    """

    queryset_model = Lab
    freshness = staticmethod(lab_freshness)
    serializer_class = serializers.LabSerializer
    detail_serializer_class = serializers.LabDetailSerializer
    write_serializer_class = write_serializers.LabWriteSerializer
    filterset_class = filters.LabFilter
    search_fields = ["name", "native_name", "other_names", "summary"]
    ordering_fields = ["name", "founded", "updated", "release_count", "latest_release"]
    ordering = ["name"]

    def get_queryset(self):
        labs = Lab.objects.visible_to(self.request.user)
        if self.action == "list":
            return labs.for_index()
        if self.action == "retrieve":
            return labs.with_profile(preview=self.preview())
        return labs

    def detail_queryset(self):
        return Lab.objects.visible_to(self.request.user).with_profile(preview=self.preview())


@documented(write_serializers.ReleaseWriteSerializer, serializers.ReleaseDetailSerializer,
            serializers.ReleaseSerializer, "release", True)
class ReleaseViewSet(PublishableViewSet):
    """Releases of labs, newest first (undated last); readers see published releases of published labs."""

    queryset_model = Release
    serializer_class = serializers.ReleaseSerializer
    detail_serializer_class = serializers.ReleaseDetailSerializer
    write_serializer_class = write_serializers.ReleaseWriteSerializer
    filterset_class = filters.ReleaseFilter
    search_fields = ["name", "lab__name"]
    ordering_fields = ["name", "released", "updated"]
    # No ``ordering``: the model's own (newest first, undated last, then editor order).
    # Readers' rows, built once (DRF copies ``queryset`` for each request): published()
    # reads the clock when each query runs. Building it per request was a tenth of the
    # list's time (bench/).
    queryset = Release.objects.published().with_related()

    def get_queryset(self):
        return Release.objects.with_related() if self.preview() else super().get_queryset()

    def list(self, request, *args, **kwargs):
        # JSON goes through the fast read path (serializers.ReleaseRows: the same shape from
        # values() rows); CSV and the browsable API keep the serializer.
        if request.accepted_renderer.format != "json":
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset()).values(*serializers.ReleaseRows.FIELDS)
        page = self.paginate_queryset(queryset)
        data = serializers.ReleaseRows(request).rows(page)
        response = self.get_paginated_response(data)
        return conditional.add_validators(response, None, max((row["updated"] for row in page), default=None))


@documented(write_serializers.PersonWriteSerializer, serializers.PersonDetailSerializer,
            serializers.PersonSerializer, "person", True)
class PersonViewSet(PublishableViewSet):
    """People; one person's detail lists every role, current and past."""

    queryset_model = Person
    freshness = staticmethod(person_freshness)
    serializer_class = serializers.PersonSerializer
    detail_serializer_class = serializers.PersonDetailSerializer
    write_serializer_class = write_serializers.PersonWriteSerializer
    filterset_class = filters.PersonFilter
    search_fields = ["name", "native_name"]
    ordering_fields = ["name", "updated"]
    ordering = ["name"]

    def get_queryset(self):
        people = Person.objects.visible_to(self.request.user)
        # The list shows no roles, so only the detail pays for prefetching them.
        return people if self.action == "list" else people.with_roles()


@documented(write_serializers.SourceWriteSerializer, serializers.SourceDetailSerializer,
            serializers.SourceSerializer, "source", True)
class SourceViewSet(PublishableViewSet):
    """Sources; one source's detail lists what cites it."""

    queryset_model = Source
    freshness = staticmethod(source_freshness)
    serializer_class = serializers.SourceSerializer
    detail_serializer_class = serializers.SourceDetailSerializer
    write_serializer_class = write_serializers.SourceWriteSerializer
    filterset_class = filters.SourceFilter
    search_fields = ["title", "publisher", "author"]
    ordering_fields = ["title", "published", "updated"]
    ordering = ["title"]

    def get_queryset(self):
        sources = Source.objects.visible_to(self.request.user)
        return sources if self.action == "list" else sources.with_citations()


class OrganizationViewSet(APIViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Organizations behind labs (governments, universities, companies); not profiled, so no page."""

    lookup_field = "slug"
    lookup_value_regex = SLUG_CHARACTERS.pattern
    serializer_class = serializers.OrganizationSerializer
    filterset_class = filters.OrganizationFilter
    search_fields = ["name", "native_name"]
    ordering_fields = ["name"]
    ordering = ["name"]
    queryset = Organization.objects.select_related("parent")


# --- the parts of a profile, addressed by id ---------------------------------


def visible_labs(user):
    return Lab.objects.visible_to(user)


class PartViewSet(WritableMixin, APIViewSetMixin, viewsets.ModelViewSet):
    """A part of a profile: readers see those of published rows; staff see all."""

    lookup_value_regex = "[0-9]+"
    ordering_fields = ["id", "order"]
    ordering = ["id"]


@documented(write_serializers.RoleWriteSerializer, serializers.RoleSerializer, serializers.RoleSerializer, "role")
class RoleViewSet(PartViewSet):
    """Roles: who holds which position at a lab or an organization."""

    serializer_class = serializers.RoleSerializer
    write_serializer_class = write_serializers.RoleWriteSerializer

    def get_queryset(self):
        roles = Role.objects.select_related("person", "lab", "organization").order_by("id")
        if Lab.objects.all().previewable_by(self.request.user):
            return roles
        return roles.public()


@documented(write_serializers.SectionWriteSerializer, serializers.SectionEndpointSerializer,
            serializers.SectionEndpointSerializer, "section")
class SectionViewSet(PartViewSet):
    """Narrative sections of lab profiles (Markdown, with the rendered HTML)."""

    serializer_class = serializers.SectionEndpointSerializer
    write_serializer_class = write_serializers.SectionWriteSerializer

    def get_queryset(self):
        return Section.objects.filter(lab__in=visible_labs(self.request.user)).select_related("lab").order_by("id")


@documented(write_serializers.CitationWriteSerializer, serializers.CitationEndpointSerializer,
            serializers.CitationEndpointSerializer, "citation")
class CitationViewSet(PartViewSet):
    """Citations: which source supports which lab, section, release or person."""

    serializer_class = serializers.CitationEndpointSerializer
    write_serializer_class = write_serializers.CitationWriteSerializer

    def get_queryset(self):
        citations = Citation.objects.select_related(
            "source", "lab", "section__lab", "release__lab", "person"
        ).order_by("id")
        if Lab.objects.all().previewable_by(self.request.user):
            return citations
        # The source's rule as a condition on the joined row, as public() does for the rest.
        return citations.public().filter(live("source", timezone.now()))
