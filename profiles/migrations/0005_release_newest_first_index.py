"""
An index in the release list's default order (newest first, undated last, then editor
order and name), so that a page of the list reads one page of index entries instead of
sorting every release.

Written per database rather than as ``Meta.indexes``: PostgreSQL puts NULLs first in a
descending index unless told NULLS LAST, and SQLite, which already puts them last,
rejects the words in an index.
"""

from django.db import migrations

COLUMNS = {
    "postgresql": '"released" DESC NULLS LAST, "order", "name"',
    "default": '"released" DESC, "order", "name"',
}


def create_index(apps, schema_editor):
    columns = COLUMNS.get(schema_editor.connection.vendor, COLUMNS["default"])
    schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "release_newest_first" ON "profiles_release" ({columns})')


def drop_index(apps, schema_editor):
    schema_editor.execute('DROP INDEX IF EXISTS "release_newest_first"')


class Migration(migrations.Migration):
    dependencies = [("profiles", "0004_search_indexes")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
