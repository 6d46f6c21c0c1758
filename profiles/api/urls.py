"""The JSON API: /api/ is its home (a page, or the endpoints as JSON), /api/schema/ describes it, /api/docs/ tries it."""

from django.urls import path, re_path
from django.views.decorators.gzip import gzip_page
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import exceptions, home, views

app_name = "api"

router = DefaultRouter()
router.APIRootView = home.APIHomeView  # our home page in place of DRF's stock root
# The order here is the order of the endpoints at /api/.
router.register("labs", views.LabViewSet, basename="lab")
router.register("people", views.PersonViewSet, basename="person")
router.register("releases", views.ReleaseViewSet, basename="release")
router.register("sources", views.SourceViewSet, basename="source")
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("roles", views.RoleViewSet, basename="role")
router.register("sections", views.SectionViewSet, basename="section")
router.register("citations", views.CitationViewSet, basename="citation")

urlpatterns = [
    # Compressed (0.4-0.7 MB of YAML or JSON, some 40 KB gzipped): the docs page loads it
    # whole. It is the same for everyone and holds no secret, so gzip leaks nothing (BREACH).
    path("schema/", gzip_page(SpectacularAPIView.as_view()), name="schema"),
    # Swagger UI's files come from drf-spectacular-sidecar (static files): no CDN. Our
    # template loads only what its BaseLayout uses (not the 270 KB standalone preset).
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", template_name="api/docs.html"),
        name="docs",
    ),
    *router.urls,
    # Last: anything else under /api/ is a JSON 404, not the site's HTML page.
    # ([\s\S], not ".": a path may hold an encoded newline.)
    re_path(r"^[\s\S]*$", exceptions.not_found),
]
