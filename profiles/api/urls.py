"""The JSON API, browsable: /api/ lists the endpoints, /api/schema/ describes them, /api/docs/ tries them."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import exceptions, views

app_name = "api"

router = DefaultRouter()
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
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's files come from drf-spectacular-sidecar (static files): no CDN.
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
    # Last: anything else under /api/ is a JSON 404, not the site's HTML page.
    # ([\s\S], not ".": a path may hold an encoded newline.)
    re_path(r"^[\s\S]*$", exceptions.not_found),
]
