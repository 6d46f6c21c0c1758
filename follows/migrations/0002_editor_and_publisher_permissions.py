"""
Follows' permissions for the two editorial roles (as profiles/migrations/0003 and
imports/migrations/0002 set theirs).

Editors see the digests sent and the followers per lab (counts: the *Digests sent* page);
only Publishers see, correct and delete followers, whose addresses are personal data.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR = {"follows": ["view_delivery"]}
PUBLISHER = {"follows": ["view_follower", "change_follower", "delete_follower"]}


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
        ("follows", "0001_initial"),
        ("profiles", "0003_editor_and_publisher_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
