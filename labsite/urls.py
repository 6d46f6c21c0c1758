"""Top-level URLs: the public site, the JSON API under /api/, the admin under /admin/."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("profiles.api.urls")),
    path("", include("profiles.urls")),
]
