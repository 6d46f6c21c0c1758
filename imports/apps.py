from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """Imports of outside datasets (Epoch AI's models), with their provenance and review."""

    name = "imports"
    verbose_name = "Imports"
    default_auto_field = "django.db.models.BigAutoField"
