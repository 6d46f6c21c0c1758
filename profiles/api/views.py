"""
The API's viewsets. Each one is a queryset from the models (which decides what a
reader may see and prefetches it), a serializer for the list, one for the detail and
one for writes, and its filters, search and ordering. What they share (conditional
requests, strict query parameters, writes answered with the detail, the workflow
actions) lives in the mixins at the top; backends, permissions and throttles are the
project defaults (settings.REST_FRAMEWORK).
"""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .. import documents
from ..caching import PublicPageCacheMixin
from ..slug_history import redirect_for
from ..models import Citation, Lab, Organization, Person, PublicationState, Release, Role, Section, Source, live
from ..speed import SLUG_CHARACTERS
from . import conditional, filters, renderers, serializers, write_serializers


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
        # A request with a token may be staff's (who see drafts). A conditional one takes
        # the shared copy too, and is a 304 when it holds those bytes (dispatch). A list's
        # CSV is streamed (csv_list): there is no copy of it to keep.
        return "Authorization" not in request.headers and not self.streams_csv(request)

    def streams_csv(self, request):
        """Whether ``request`` (before DRF has read it) asks for a list as CSV."""
        if getattr(self, "action_map", {}).get(request.method.lower()) != "list":
            return False
        try:
            renderer, _media_type = self.get_content_negotiator().select_renderer(
                Request(request), self.get_renderers(), (getattr(request.resolver_match, "kwargs", None) or {}).get("format"),
            )
        except Exception:  # a 404 or 406 to come: nothing is streamed, and nothing kept either
            return True
        return renderer.format == "csv"

    # --- a list as CSV: every row the filters select, streamed -------------------

    csv_chunk_size = 500

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csv":
            return self.csv_list(request)
        return super().list(request, *args, **kwargs)

    def csv_list(self, request):
        """
        ``?format=csv`` (or ``Accept: text/csv``) on a list: every row its filters, search
        and ordering select, from the same queryset as the JSON (readers: published rows
        only), not a page (``page`` and ``page_size`` are ignored); the renderer's columns
        and formula-neutralised cells (renderers.CSVTable). Read in chunks, a query per
        pass and chunk at most, and streamed.
        """
        queryset = self.filter_queryset(self.get_queryset())
        # Both passes read the same database (a replica chosen now, inside the request).
        queryset = queryset.using(queryset.db)
        serializer_class, context = self.get_serializer_class(), self.get_serializer_context()
        table = renderers.CSVTable(
            queryset, lambda rows: serializer_class(rows, many=True, context=context).data, self.csv_chunk_size,
        )
        columns, etag = table.plan()
        body = table.lines(columns) if request.method != "HEAD" else iter(())
        response = renderers.CSVStreamingResponse(body, content_type="text/csv; charset=utf-8")
        response["ETag"] = etag
        return conditional.add_vary(response)

    def dispatch(self, request, *args, **kwargs):
        # The answer as it would be sent (built, or the readers' shared copy), then a 304
        # when If-None-Match names its ETag: the hash of those bytes (conditional.py).
        return conditional.answer_conditionally(request, super().dispatch(request, *args, **kwargs))

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors are always JSON, whatever format was asked for (?format=csv included).
        if response.status_code >= 400 and getattr(request, "accepted_renderer", None) is not None:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.streaming:
            return response  # a list's CSV: tagged as it was planned (csv_list)
        # Every GET's ETag is a hash of its body as sent (lists and details alike), and so is
        # a write's answer (the detail as a GET would give it).
        if (response.status_code == 200 and request.method in ("GET", "HEAD")) or getattr(response, "is_detail", False):
            return conditional.tag_body(response)
        return response

    # --- writes ----------------------------------------------------------------

    def get_object(self):
        instance = super().get_object()
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            conditional.check_if_match(self.request, instance, lambda: self.detail_etag(instance))
        return instance

    def detail_data(self, instance):
        """The object as its detail shows it, read back with the detail's queryset."""
        instance = self.detail_queryset().get(pk=instance.pk)
        return self.detail_serializer()(instance, context=self.get_serializer_context()).data

    def detail_etag(self, instance):
        """
        The ETag of the object's detail as this user would GET it now: its body, rendered as
        this request asks (the browsable API's page aside: its JSON).
        """
        renderer, media_type = self.request.accepted_renderer, self.request.accepted_media_type
        if renderer.format == "api":
            renderer, media_type = JSONRenderer(), JSONRenderer.media_type
        return conditional.body_etag(renderer.render(self.detail_data(instance), media_type, self.get_renderer_context()))

    def detail_response(self, instance, status_code=status.HTTP_200_OK):
        """A write's answer: the object as its detail shows it (with the ETag a GET of it would have)."""
        response = Response(self.detail_data(instance), status=status_code)
        response.is_detail = True
        return response

    def detail_serializer(self):
        return self.detail_serializer_class or self.serializer_class


class WritableMixin:
    """
    Create, update and delete through the write serializer, answered with the detail (a
    read-only viewset has none of them). A write to a published document (a published
    lab, or a part of one: its releases, sections, roles, citations) is stored as a draft
    revision of it (documents.edit): readers see nothing until a publisher publishes it
    (``POST /api/labs/<slug>/publish/``); the answer shows the draft, as staff see it.
    """

    # The write serializer's fields that name the document a new row joins, and their models.
    PARENT_FIELDS = (("lab", Lab, "slug"), ("section", Section, "pk"), ("release", Release, "slug"), ("person", Person, "slug"))

    def create(self, request, *args, **kwargs):
        def run():
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            instance = serializer.save(user=request.user)
            return self.detail_response(instance, status.HTTP_201_CREATED)

        return self.on_document(request, self.new_row_root(request.data), run)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)

        def run():
            serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            return self.detail_response(serializer.save(user=request.user))

        draft_root = self.draft_row_root()
        if draft_root is not None:  # a row the draft adds: edited in that draft
            return self.on_document(request, draft_root, run)
        instance = GenericAPIView.get_object(self)  # the 404 first; If-Match is checked on the draft
        if documents.is_document_model(type(instance)) and documents.touches_published(instance):
            state = request.data.get("state") if hasattr(request.data, "get") else None
            if state not in (None, instance.state):
                raise ValidationError({"state": [
                    "A published document changes state through its actions: POST …/unpublish/ or …/archive/ "
                    "(publishers), …/submit/ to put its draft up for review."
                ]})
        root = documents.document_root(instance)
        if not documents.touches_published(root):
            # Moved into a published document (another lab named): an edit of that one.
            target = self.new_row_root(request.data)
            root = target if documents.touches_published(target) else root
        return self.on_document(request, root, run)

    def destroy(self, request, *args, **kwargs):
        draft_root = self.draft_row_root()
        if draft_root is not None:
            return self.on_document(request, draft_root, lambda: super(WritableMixin, self).destroy(request, *args, **kwargs))
        instance = GenericAPIView.get_object(self)
        if documents.is_document_model(type(instance)):
            return super().destroy(request, *args, **kwargs)  # deleting a whole document is no draft
        return self.on_document(request, documents.document_root(instance),
                                lambda: super(WritableMixin, self).destroy(request, *args, **kwargs))

    def draft_row_root(self):
        """
        The document whose pending draft adds the row this URL names (a part's negative id,
        as a create answered it), for staff who may edit it; None otherwise.
        """
        key = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        if not key.startswith("-") or not Lab.objects.all().previewable_by(self.request.user):
            return None
        root = documents.root_of_new_row(self.get_queryset().model, key)
        if root is None:
            raise Http404
        return root

    def new_row_root(self, data):
        """The document a new row joins (its lab, or its section's, release's or person's), from the request."""
        if not hasattr(data, "get"):
            return None
        for name, model, key in self.PARENT_FIELDS:
            value = data.get(name)
            if isinstance(value, (str, int)) and str(value) and name in self.get_serializer().fields:
                lookup = {key: value} if key == "slug" else {"pk": value} if str(value).isdigit() else None
                parent = model._base_manager.filter(**lookup).first() if lookup else None
                if parent is not None:
                    return documents.document_root(parent)
        return None

    def on_document(self, request, root, run):
        """``run()`` in place, or as a draft of ``root``'s document when that is published."""
        if not documents.touches_published(root):
            return run()
        try:
            response, result = documents.edit(root, run, request.user)
        except (documents.OtherDocumentWrite, documents.PublishFailed) as refusal:
            raise ValidationError({"non_field_errors": [str(refusal)]}) from None
        if result.revision is not None:
            response["X-Draft-Revision"] = str(result.revision.pk)
        data = getattr(response, "data", None)
        if isinstance(data, dict) and "id" in data:
            # A row the draft adds is known by its draft key until it is published.
            for (part, key), new_key in result.renamed.items():
                if key == str(data["id"]) and documents.part_model(root, part) is self.get_queryset().model:
                    data["id"] = int(new_key)
                    if "url" in data:
                        data["url"] = data["url"].replace(f"/{key}/", f"/{new_key}/")
        return response


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
        try:
            instance.transition(request.user, self.workflow_actions[self.action], go_live=go_live)
        except documents.PublishFailed as failure:
            raise ValidationError({"non_field_errors": [str(failure)]}) from None
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
        description="The ETag of the detail you read (or its version); 412 if the detail has changed since.",
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

    def retrieve(self, request, *args, **kwargs):
        # Staff read a document as its pending draft has it (as the admin and the pages show
        # it to them), applied inside a transaction undone once the data is serialised.
        if not self.preview():
            return super().retrieve(request, *args, **kwargs)
        root = documents.document_root(GenericAPIView.get_object(self))
        with documents.draft_applied(root):
            return super().retrieve(request, *args, **kwargs)

    def handle_exception(self, exc):
        # An old slug of a renamed row: a GET or HEAD of its detail answers 301 to the URL
        # with its slug now, query kept; the rule and the lookup are slug_history.py's,
        # shared with the pages. Writes to an old slug stay a 404.
        if isinstance(exc, Http404) and self.action != "list" and self.lookup_field in self.kwargs:
            moved = redirect_for(self.request, self.queryset_model, self.kwargs[self.lookup_field], self.request.user)
            if moved is not None:
                return moved
        return super().handle_exception(exc)



@documented(write_serializers.LabWriteSerializer, serializers.LabDetailSerializer, serializers.LabSerializer, "lab", True)
class LabViewSet(PublishableViewSet):
    """
    Labs. The list is the index (summary, counts, latest release); a lab's detail is its
    whole profile (sections, people, releases, backers, relations, numbered sources) in
    one request.
    """

    queryset_model = Lab
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
            return self.detail_queryset()
        return labs

    def detail_queryset(self):
        """A whole profile, as the detail shows it (a write's answer reads it too)."""
        return Lab.objects.visible_to(self.request.user).with_profile(preview=self.preview()).with_release_co_developers()


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
    queryset = Release.objects.published().with_related().with_co_developers()
    # The same rows as values(), for the JSON list (serializers.ReleaseRows), built once too:
    # built for each request, the list of 100 took 4.14 ms rather than 3.39 (minimums, in
    # process, SQLite). Filters, search and ordering apply to them as to ``queryset``.
    reader_rows = serializers.ReleaseRows.values(queryset.prefetch_related(None))

    def get_queryset(self):
        return Release.objects.with_related().with_co_developers() if self.preview() else super().get_queryset()

    def list(self, request, *args, **kwargs):
        # JSON goes through the fast read path (serializers.ReleaseRows: the same shape from
        # values() rows, and the page's co-developers in one more query if it has any,
        # ReleaseRows.rows); CSV and the browsable API keep the serializer.
        if request.accepted_renderer.format != "json":
            return super().list(request, *args, **kwargs)
        if self.preview():
            rows = serializers.ReleaseRows.values(self.get_queryset().prefetch_related(None))
        else:
            rows = self.reader_rows.all()
        page = self.paginate_queryset(self.filter_queryset(rows))
        data = serializers.ReleaseRows(request).rows(page)
        return self.get_paginated_response(data)


@documented(write_serializers.PersonWriteSerializer, serializers.PersonDetailSerializer,
            serializers.PersonSerializer, "person", True)
class PersonViewSet(PublishableViewSet):
    """People; one person's detail lists every role, current and past."""

    queryset_model = Person
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
    """A part of a profile: readers see those of published rows; staff see all, as the pending draft has them."""

    # Negative: a row a draft adds, until it is published (staff only: readers never see one).
    lookup_value_regex = "-?[0-9]+"

    def retrieve(self, request, *args, **kwargs):
        if not Lab.objects.all().previewable_by(request.user):
            return super().retrieve(request, *args, **kwargs)
        key = str(self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        model = self.get_queryset().model
        root = (documents.root_of_new_row(model, key) if key.startswith("-")
                else documents.document_root(GenericAPIView.get_object(self)))
        with documents.draft_applied(root):
            return super().retrieve(request, *args, **kwargs)
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
