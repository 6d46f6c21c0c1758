"""
The two editorial roles, as groups with their permissions.

Editor: adds and edits everything, submits for review, cannot publish (no publish_*
permission) and cannot delete labs, people, releases or sources (only the parts of a
profile edited inline). Publisher: all of that plus publish/unpublish/archive and delete.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PROFILE_MODELS = ["lab", "person", "release", "source", "organization"]
PART_MODELS = ["section", "role", "backing", "labrelation", "citation"]
PUBLISHABLE = ["lab", "person", "release", "source"]


def codenames_for_editor():
    codes = []
    for model in PROFILE_MODELS:
        codes += [f"add_{model}", f"change_{model}", f"view_{model}"]
    for model in PART_MODELS:
        codes += [f"add_{model}", f"change_{model}", f"view_{model}", f"delete_{model}"]
    codes += ["view_previewlink"]
    # History views and revert go through the model's own change permission.
    return codes


def codenames_for_publisher():
    codes = codenames_for_editor()
    codes += [f"delete_{model}" for model in PROFILE_MODELS]
    codes += [f"publish_{model}" for model in PUBLISHABLE]
    codes += ["add_previewlink", "change_previewlink", "delete_previewlink"]
    return codes


def create_groups(apps, schema_editor):
    # Permissions are normally created after migrate; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in (("Editor", codenames_for_editor()), ("Publisher", codenames_for_publisher())):
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(content_type__app_label="profiles", codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        assert not missing, f"permissions not found: {sorted(missing)}"
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Editor", "Publisher"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0002_workflow_history_versions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
