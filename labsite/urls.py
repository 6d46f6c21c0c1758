"""Top-level URLs: the public site, the JSON API under /api/, the admin under /admin/."""

from django.contrib import admin
from django.urls import include, path

from labsite.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("profiles.api.urls")),
    path("", include("profiles.urls")),
    path("", include("follows.urls")),
]

# A database outage that escapes the middleware still answers our 503 (labsite/views.py).
handler500 = "labsite.views.server_error"
