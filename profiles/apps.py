from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class ProfilesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "profiles"
    verbose_name = "Lab profiles"

    def ready(self):
        from .caching import bump_content_generation

        # Any change to profile data retires every cached page (see caching.py): the
        # content generation (a row in the database) is advanced in the save's transaction.
        for model in self.get_models():
            if model._meta.model_name in ("contentgeneration", "revision"):
                continue  # the counter itself; drafts, which readers never see (documents.py)
            post_save.connect(bump_content_generation, sender=model, dispatch_uid=f"page-cache-{model.__name__}")
            post_delete.connect(bump_content_generation, sender=model, dispatch_uid=f"page-cache-del-{model.__name__}")

        # ---- Search ----
        # SQLite's trigram indexes and their triggers, (re)made after every migrate (search.py).
        from .search import install_trigram_indexes

        post_migrate.connect(install_trigram_indexes, sender=self, dispatch_uid="trigram-indexes")

        # ---- Old slugs ----
        # A changed slug is recorded, so its old URLs answer 301 (slug_history.py).
        from .slug_history import connect_receivers as connect_old_slug_receivers

        connect_old_slug_receivers()
