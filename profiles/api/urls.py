"""The read-only JSON API, browsable: /api/ lists the endpoints."""

from rest_framework.routers import DefaultRouter

from . import views

app_name = "api"

router = DefaultRouter()
# The order here is the order of the endpoints at /api/.
router.register("labs", views.LabViewSet, basename="lab")
router.register("people", views.PersonViewSet, basename="person")
router.register("releases", views.ReleaseViewSet, basename="release")
router.register("sources", views.SourceViewSet, basename="source")
router.register("organizations", views.OrganizationViewSet, basename="organization")

urlpatterns = router.urls
