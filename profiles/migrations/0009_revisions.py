import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("profiles", "0008_old_slugs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Revision",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("object_id", models.BigIntegerField(verbose_name="document id")),
                ("data", models.JSONField(help_text="The document's fields and parts, as documents.snapshot() writes them.", verbose_name="document")),
                ("live_base", models.JSONField(blank=True, help_text="The live document the draft started from: changes made to the live rows since (an import, a fixture load) are merged in, not undone.", null=True, verbose_name="live document it started from")),
                ("status", models.CharField(choices=[("draft", "Draft"), ("submitted", "Submitted for review"), ("changes_requested", "Changes requested"), ("approved", "Approved"), ("scheduled", "Scheduled"), ("published", "Published"), ("superseded", "Superseded"), ("discarded", "Discarded")], db_index=True, default="draft", max_length=20, verbose_name="status")),
                ("created", models.DateTimeField(default=django.utils.timezone.now, verbose_name="saved at")),
                ("go_live_at", models.DateTimeField(blank=True, help_text="When a scheduled draft is published.", null=True, verbose_name="goes live at")),
                ("comment", models.TextField(blank=True, help_text="What a reviewer asked for, or why it was approved.", verbose_name="review comment")),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                ("base", models.ForeignKey(blank=True, help_text="The revision the editor opened (None: the live document).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="profiles.revision", verbose_name="based on")),
                ("content_type", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="contenttypes.contenttype", verbose_name="kind of document")),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="saved by")),
                ("decided_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="decided by")),
            ],
            options={
                "verbose_name": "revision",
                "ordering": ["-pk"],
                "indexes": [models.Index(fields=["content_type", "object_id", "status"], name="revision_by_document")],
            },
        ),
    ]
