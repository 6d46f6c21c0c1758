"""The project package as an app: site-wide start-up wiring that belongs to no one model."""

from django.apps import AppConfig
from django.core.validators import URLValidator
from django.db import models

HTTP_URL_MESSAGE = "Enter a web address starting with http:// or https://."


def http_url_validator():
    return URLValidator(schemes=["http", "https"], message=HTTP_URL_MESSAGE)


class LabsiteConfig(AppConfig):
    name = "labsite"
    verbose_name = "labsite"

    def ready(self):
        restrict_url_fields_to_http()


def restrict_url_fields_to_http():
    """
    Every URLField of our models accepts http and https only (Django's also allows ftp and
    ftps). The validator is added to each field's validator list at start-up rather than to
    the field definitions, so the migrations do not change: model validation
    (``full_clean``: the admin, the factories), and DRF's model serializers, run it.
    """
    from django.apps import apps

    for model in apps.get_app_config("profiles").get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.URLField) and not any(
                getattr(validator, "message", None) == HTTP_URL_MESSAGE for validator in field.validators
            ):
                field.validators.append(http_url_validator())
