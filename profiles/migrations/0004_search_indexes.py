"""
GIN indexes for full-text search, on PostgreSQL only (SQLite searches with LIKE).

Each index is on exactly the document expression profiles/search.py queries
(``document_sql``), written out here so the migration never changes with the code;
tests/test_search.py checks the two agree.
"""

from django.db import migrations

DOCUMENTS = {
    "profiles_lab": ["name", "native_name", "other_names", "summary"],
    "profiles_person": ["name", "native_name", "bio"],
    "profiles_release": ["name", "description"],
}


def document_sql(table):
    joined = " || ' ' || ".join(f"COALESCE(\"{table}\".\"{column}\", '')" for column in DOCUMENTS[table])
    return f"to_tsvector('english'::regconfig, {joined})"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in DOCUMENTS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{table}_search_gin" ON "{table}" USING gin (({document_sql(table)}))'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in DOCUMENTS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{table}_search_gin"')


class Migration(migrations.Migration):
    dependencies = [("profiles", "0003_editor_and_publisher_groups")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
