"""
Put back the index 0005 made: on SQLite, 0010's new check constraints rebuilt the release
table, and a rebuild keeps only the indexes Django knows of (this one is written by hand,
see 0005). Without it a page of the release list sorts every release.
"""

import importlib

from django.db import migrations

newest_first = importlib.import_module("profiles.migrations.0005_release_newest_first_index")


class Migration(migrations.Migration):
    dependencies = [("profiles", "0010_release_epoch_fields")]

    operations = [migrations.RunPython(newest_first.create_index, migrations.RunPython.noop, elidable=False)]
