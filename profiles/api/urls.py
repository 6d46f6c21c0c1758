"""JSON API (placeholder: the API is being written)."""

app_name = "api"
urlpatterns = []
