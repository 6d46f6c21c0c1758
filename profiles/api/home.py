"""
The API's home at /api/: a page of our own for people (what the API offers, each list's
filters, tokens and rate limits, a sample request with its real response, the credit
owed for Epoch AI's data) and, for programs (``Accept: application/json``), the list
endpoints with absolute URLs, as DRF's stock root gave them.

It stands in for DefaultRouter's root (``router.APIRootView``), so it keeps its URL name
``api:api-root`` and stays out of the OpenAPI schema (``schema = None``).
"""

import json

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import NoReverseMatch
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework import routers
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse

from imports.credit import CREDITS
from imports.models import EPOCH
from profiles.caching import PublicPageCacheMixin
from profiles.models import Lab

from . import serializers

# One line per endpoint, in the router's order (urls.py); filters come from the viewsets.
DESCRIPTIONS = {
    "labs": "AI research labs: the index (summary, release count, latest release); a lab's detail is its whole profile.",
    "people": "People at labs, each with their current and past roles.",
    "releases": "Models, papers, datasets and products of labs, newest first, with their figures.",
    "sources": "The sources every fact cites; a source's detail lists what cites it.",
    "organizations": "Organizations behind labs (governments, universities, companies).",
    "roles": "Who holds which position at a lab or an organization.",
    "sections": "Narrative sections of lab profiles (Markdown and rendered HTML).",
    "citations": "Which source supports which lab, section, release or person.",
}

# The reference profile (README), shown as the sample when readers may see it.
SAMPLE_LAB = "shanghai-ai-laboratory"
SAMPLE_LIST_ITEMS = 2
SAMPLE_TEXT_CHARS = 160


def list_filters(viewset):
    """The query parameters a list endpoint takes besides pages and format, as the viewset declares them."""
    names = list(viewset.filterset_class.base_filters) if getattr(viewset, "filterset_class", None) else []
    if getattr(viewset, "search_fields", None):
        names.append("search")
    if getattr(viewset, "ordering_fields", None):
        names.append("ordering")
    return names


def truncated(value):
    """``value`` (decoded JSON) with every list cut to its first items and long text shortened, marked."""
    if isinstance(value, dict):
        return {key: truncated(item) for key, item in value.items()}
    if isinstance(value, list):
        kept = [truncated(item) for item in value[:SAMPLE_LIST_ITEMS]]
        if len(value) > SAMPLE_LIST_ITEMS:
            kept.append(f"… {len(value) - SAMPLE_LIST_ITEMS} more")
        return kept
    if isinstance(value, str) and len(value) > SAMPLE_TEXT_CHARS:
        return value[:SAMPLE_TEXT_CHARS] + "…"
    return value


class HomeHTMLRenderer(TemplateHTMLRenderer):
    template_name = "api/home.html"

    def get_template_context(self, data, renderer_context):
        # A copy: the Jinja2 backend adds ``request`` and the CSRF helpers to the dict it is
        # given, and this one is the response's ``data``, which the shared cache pickles.
        return dict(super().get_template_context(data, renderer_context))


class APIHomeView(PublicPageCacheMixin, routers.APIRootView):
    """``GET /api/``: the API's home page (HTML) or its endpoints (JSON)."""

    schema = None  # not an operation of the API: left out of the OpenAPI schema
    # JSON first: a client that names no type (or */*) gets JSON, as from DRF's root;
    # a browser, which asks for text/html first, gets the page.
    renderer_classes = [ORJSONRenderer, HomeHTMLRenderer]
    api_root_dict = None

    # Readers' copies are shared as the API's are: one per Accept header, throttled alike.
    def shared_copy_variant(self, request):
        return request.headers.get("Accept", "")

    def admits(self, request):
        return all(throttle.allow_request(request, self) for throttle in self.get_throttles())

    def shares_copy(self, request):
        return "Authorization" not in request.headers

    def endpoints(self, request, format=None):
        """{name: absolute URL} of each list endpoint, in the router's order."""
        namespace = request.resolver_match.namespace
        urls = {}
        for name, url_name in self.api_root_dict.items():
            try:
                urls[name] = reverse(f"{namespace}:{url_name}" if namespace else url_name, request=request, format=format)
            except NoReverseMatch:
                continue
        return urls

    def get(self, request, *args, **kwargs):
        urls = self.endpoints(request, kwargs.get("format"))
        if request.accepted_renderer.format != "html":
            return Response(urls)
        return Response(self.page_context(request, urls))

    def page_context(self, request, urls):
        from .urls import router  # the viewsets behind each endpoint (urls.py imports this module)

        viewsets = {prefix: viewset for prefix, viewset, _basename in router.registry}
        rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
        return {
            "endpoints": [
                {"name": name, "url": url, "description": DESCRIPTIONS.get(name, ""),
                 "filters": list_filters(viewsets[name]) if name in viewsets else []}
                for name, url in urls.items()
            ],
            "schema_url": reverse("api:schema", request=request),
            "docs_url": reverse("api:docs", request=request),
            "anon_rate": rates.get("anon"),
            "user_rate": rates.get("user"),
            "sample": self.sample(request),
            "credit": CREDITS[EPOCH],
        }

    def sample(self, request):
        """A real request and its response, as a reader gets it, truncated: one lab's detail."""
        labs = Lab.objects.visible_to(AnonymousUser())
        lab = labs.filter(slug=SAMPLE_LAB).first() or labs.order_by("name").first()
        if lab is None:
            return None
        lab = labs.with_profile().with_release_co_developers().get(pk=lab.pk)
        data = serializers.LabDetailSerializer(lab, context={"request": request}).data
        body = json.loads(ORJSONRenderer().render(data))  # as the endpoint writes it
        return {
            "url": reverse("api:lab-detail", kwargs={"slug": lab.slug}, request=request),
            "response": json.dumps(truncated(body), indent=2, ensure_ascii=False),
        }
