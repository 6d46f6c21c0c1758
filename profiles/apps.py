from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ProfilesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "profiles"
    verbose_name = "Lab profiles"

    def ready(self):
        from .caching import bump_content_generation

        # Any change to profile data retires every cached page (see caching.py).
        for model in self.get_models():
            post_save.connect(bump_content_generation, sender=model, dispatch_uid=f"page-cache-{model.__name__}")
            post_delete.connect(bump_content_generation, sender=model, dispatch_uid=f"page-cache-del-{model.__name__}")
