"""
Trigram indexes (pg_trgm) for search's substring matches, on PostgreSQL only.

Search matches every word as a substring of a row's text on both databases (SQLite reads
its FTS5 trigram indexes, made after migrate: profiles/search.py). On PostgreSQL each
table gets a GIN trigram index on exactly the expression ``substring_sql`` queries,
written out here so the migration never changes with the code (tests/test_search.py
checks the two agree). Without it the substring arm of a search read every row, and
with it the planner could not use the full-text index either: 0.2-0.6 s per query at
the benchmark's scale, 2-3 ms with it.

pg_trgm is a trusted extension (PostgreSQL 13 and later): a database's owner may create it.
"""

from django.db import migrations

COLUMNS = {
    "profiles_lab": ["name", "native_name", "other_names", "summary"],
    "profiles_person": ["name", "native_name", "bio"],
    "profiles_release": ["name", "description"],
    "profiles_source": ["title", "publisher", "author"],
}


# Names a related row is found by (a lab by its releases' and people's names, a release by
# its lab's): indexed as Django's icontains writes them, UPPER("name"::text) LIKE UPPER(%s).
NAMES = ["profiles_lab", "profiles_person", "profiles_release"]


def substring_sql(table):
    joined = " || ' ' || ".join(f"COALESCE(\"{table}\".\"{column}\", '')" for column in COLUMNS[table])
    return f"UPPER({joined})"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{table}_search_trgm" ON "{table}" USING gin (({substring_sql(table)}) gin_trgm_ops)'
        )
    for table in NAMES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{table}_name_trgm" ON "{table}" USING gin ((UPPER("name"::text)) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{table}_search_trgm"')
    for table in NAMES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{table}_name_trgm"')


class Migration(migrations.Migration):
    dependencies = [("profiles", "0011_restore_release_newest_first_index")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
