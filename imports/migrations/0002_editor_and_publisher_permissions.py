"""
The import's permissions for the two editorial roles (profiles/migrations/0003).

Editors see runs and proposed changes, keep lab aliases, and edit co-developers (a part of
a lab's profile, like its roles); Publishers also start imports, decide proposed changes and
delete aliases.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR = {
    "imports": ["view_labalias", "add_labalias", "change_labalias", "view_importrun", "view_proposedchange"],
    "profiles": ["add_codeveloper", "change_codeveloper", "view_codeveloper", "delete_codeveloper"],
}
PUBLISHER = {"imports": ["delete_labalias", "add_importrun", "decide_proposedchange"]}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, grants in (("Editor", [EDITOR]), ("Publisher", [EDITOR, PUBLISHER])):
        group, _ = Group.objects.get_or_create(name=group_name)
        for by_app in grants:
            for app_label, codenames in by_app.items():
                permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
                missing = set(codenames) - set(permissions.values_list("codename", flat=True))
                assert not missing, f"permissions not found: {sorted(missing)}"
                group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name__in=["Editor", "Publisher"]):
        for by_app in (EDITOR, PUBLISHER):
            for app_label, codenames in by_app.items():
                group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0001_initial"),
        ("profiles", "0010_release_epoch_fields"),
        ("profiles", "0003_editor_and_publisher_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
