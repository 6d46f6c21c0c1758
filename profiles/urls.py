"""Public pages (placeholder: the pages are being written)."""

app_name = "profiles"
urlpatterns = []
