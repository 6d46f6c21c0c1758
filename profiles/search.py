"""
One search for both databases (used by the querysets' ``search()`` in models.py).

On both databases a word matches a row when it is a substring of the row's searched text
(``TRIGRAM_INDEXES``: Chinese names are one token to a full-text parser), or of a related
row's name (a lab's people and releases), among the related rows a reader may see.

PostgreSQL: also full-text search (``django.contrib.postgres.search``), English stemming,
every word a prefix, ranked with SearchRank (name first). Each condition is on the exact
expression of a GIN index: the full-text document (migrations/0004_search_indexes.py) and
the upper-cased text under a trigram index (migrations/0012_search_trigram_indexes.py); a
related name is a ``= ANY(ARRAY(subquery))``, which a plain index serves. Every arm indexed,
the planner ORs bitmaps of the matching rows (2-3 ms at the benchmark's scale) where one
unindexed arm made it read every row (0.2-0.6 s a query).

SQLite: every word must appear (case-insensitively) in one of the same fields; ranked by
whether the name matches. Each searched table has an FTS5 index with the trigram tokenizer
(``TRIGRAM_INDEXES``; SQLite 3.34 and later), which finds substrings of three characters or
more, Chinese included, without reading every row: a LIKE over 50,000 releases took most of a
search's 250-900 ms at the benchmark's scale. Triggers keep each index in step with its table
on every insert, update and delete; ``install_trigram_indexes`` (run after every ``migrate``,
profiles/apps.py) creates what is missing and rebuilds it, because SQLite drops a table's
triggers when Django's migrations rebuild the table. A shorter word falls back to LIKE.

On both, a result must match every word of the query, each in any of the fields.
"""

import re
import sqlite3
from typing import Any, NamedTuple

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    F,
    FloatField,
    IntegerField,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Expression

CONFIG = "english"

# The indexed document of each table: its own text columns (no joins; an index can't).
DOCUMENTS = {
    "profiles_lab": ["name", "native_name", "other_names", "summary"],
    "profiles_person": ["name", "native_name", "bio"],
    "profiles_release": ["name", "description"],
}


# SQLite: the columns of each table's trigram index (the fields its search() weighs).
TRIGRAM_INDEXES = {
    "profiles_lab": ["name", "native_name", "other_names", "summary"],
    "profiles_person": ["name", "native_name", "bio"],
    "profiles_release": ["name", "description"],
    "profiles_source": ["title", "publisher", "author"],
}
TRIGRAM_MIN = 3  # the trigram tokenizer cannot match fewer characters


def _sqlite_has_trigram():
    """Whether this Python's SQLite has FTS5 with the trigram tokenizer (3.34 and later)."""
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
    except sqlite3.Error:
        return False
    return True


SQLITE_TRIGRAM = _sqlite_has_trigram()


def install_trigram_indexes(using="default", **_kwargs):
    """
    Create each table's trigram index and its triggers where missing (SQLite), and rebuild an
    index whose triggers were missing: it may have missed writes. A post_migrate receiver.
    """
    connection = connections[using]
    if connection.vendor != "sqlite" or not SQLITE_TRIGRAM:
        return
    with connection.cursor() as cursor:
        existing = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
        for table, columns in TRIGRAM_INDEXES.items():
            if table not in existing:
                continue
            index = f"{table}_trigram"
            names = ", ".join(f'"{column}"' for column in columns)
            new = ", ".join(f'new."{column}"' for column in columns)
            old = ", ".join(f'old."{column}"' for column in columns)
            triggers = {
                f"{index}_ai": f"AFTER INSERT ON \"{table}\" BEGIN INSERT INTO \"{index}\"(rowid, {names}) VALUES (new.id, {new}); END",
                f"{index}_ad": f"AFTER DELETE ON \"{table}\" BEGIN INSERT INTO \"{index}\"(\"{index}\", rowid, {names}) VALUES ('delete', old.id, {old}); END",
                # Only when a searched column changes (not on every save's new timestamp).
                f"{index}_au": f"AFTER UPDATE OF {names} ON \"{table}\" BEGIN INSERT INTO \"{index}\"(\"{index}\", rowid, {names}) VALUES ('delete', old.id, {old}); "
                               f"INSERT INTO \"{index}\"(rowid, {names}) VALUES (new.id, {new}); END",
            }
            if index in existing and all(name in existing for name in triggers):
                continue
            cursor.execute(
                f'CREATE VIRTUAL TABLE IF NOT EXISTS "{index}" USING fts5({names}, content="{table}", '
                f"content_rowid='id', tokenize='trigram')"
            )
            for name, body in triggers.items():
                cursor.execute(f'CREATE TRIGGER IF NOT EXISTS "{name}" {body}')
            cursor.execute(f'INSERT INTO "{index}"("{index}") VALUES (\'rebuild\')')


def trigram_ids(model, term, columns=None):
    """
    The ids of ``model``'s rows whose indexed text (or ``columns`` of it) contains ``term``,
    as SQL for ``pk__in`` (SQLite's trigram index); None where the index cannot answer.
    """
    from django.db.models.expressions import RawSQL

    table = model._meta.db_table
    if not SQLITE_TRIGRAM or table not in TRIGRAM_INDEXES or len(term) < TRIGRAM_MIN:
        return None
    phrase = '"' + term.replace('"', '""') + '"'
    if columns:
        phrase = "{" + " ".join(columns) + "} : " + phrase
    return RawSQL(f'SELECT rowid FROM "{table}_trigram" WHERE "{table}_trigram" MATCH %s', [phrase])


def document_sql(table, qualifier=None):
    """
    The tsvector expression of ``table``'s document (the GIN index is on exactly this),
    its columns qualified by ``qualifier``: the table as the query at hand names it, in
    SQL (default: the table's own quoted name).
    """
    qualifier = qualifier or f'"{table}"'
    joined = " || ' ' || ".join(f"COALESCE({qualifier}.\"{column}\", '')" for column in DOCUMENTS[table])
    return f"to_tsvector('{CONFIG}'::regconfig, {joined})"


def search_terms(query):
    """The query's words (letters, digits, underscores; any script), lower-cased, at most 10."""
    return [word.lower() for word in re.findall(r"\w+", query or "")][:10]


def search(queryset, query, weighted_fields, related=()):
    """
    ``queryset`` filtered to rows matching every word of ``query`` and annotated with
    ``search_rank`` (higher first), ordered by it, then by name.

    ``weighted_fields``: the model's own text fields with a weight "A"–"D" (the first is
    the name); ``related``: ``RelatedNames`` also searched (a lab's releases' names).
    """
    terms = search_terms(query)
    if not terms:
        return queryset.none()
    model = queryset.model
    fields = [field for field, _weight in weighted_fields]
    name_field = fields[0]
    postgres = connections[queryset.db].vendor == "postgresql"

    condition = Q()
    for term in terms:
        if postgres:
            matches = _postgres_term(model, term, fields)
        elif (ids := trigram_ids(model, term)) is not None:
            matches = Q(pk__in=ids)
        else:
            matches = Q()
            for field in fields:
                matches |= Q(**{f"{field}__icontains": term})
        for names in related:
            matches |= related_contains(names, term, postgres)
        condition &= matches
    queryset = queryset.filter(condition)

    if postgres:
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = None
        for field, weight in weighted_fields:
            part = SearchVector(field, weight=weight, config=CONFIG)
            vector = part if vector is None else vector + part
        tsquery = SearchQuery(" | ".join(f"{term}:*" for term in terms), search_type="raw", config=CONFIG)
        rank = SearchRank(vector, tsquery) + Case(
            When(**{f"{name_field}__iexact": query.strip()}, then=Value(1.0)), default=Value(0.0),
            output_field=FloatField(),
        )
    else:
        rank = Case(
            When(**{f"{name_field}__iexact": query.strip()}, then=Value(3)),
            When(**{f"{name_field}__icontains": query.strip()}, then=Value(2)),
            default=Value(1),
            output_field=IntegerField(),
        )
    return queryset.annotate(search_rank=rank).order_by(F("search_rank").desc(), name_field, "pk")


class DocumentMatch(Expression):
    """
    ``document @@ to_tsquery(tsquery)``: the condition the GIN index serves (PostgreSQL).

    Written as SQL, since the index is on this exact expression, but with the table named
    as the query being compiled names it: inside a subquery Django renames the table
    ("U0"), and a fixed "profiles_lab" would then point at another query's row, or at none.
    """

    output_field = BooleanField()

    def __init__(self, model, tsquery):
        super().__init__()
        self.model, self.tsquery = model, tsquery

    def as_sql(self, compiler, connection):
        qualifier = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{document_sql(self.model._meta.db_table, qualifier)} @@ to_tsquery('{CONFIG}'::regconfig, %s)", [self.tsquery]


def document_match(model, tsquery):
    return DocumentMatch(model, tsquery)


def substring_sql(table, qualifier):
    """The upper-cased searched text of ``table`` (PostgreSQL): its trigram index is on exactly this."""
    joined = " || ' ' || ".join(f"COALESCE({qualifier}.\"{column}\", '')" for column in TRIGRAM_INDEXES[table])
    return f"UPPER({joined})"


class SubstringMatch(Expression):
    """``UPPER(text) LIKE UPPER('%term%')`` on the trigram-indexed text (PostgreSQL), named as DocumentMatch names it."""

    output_field = BooleanField()

    def __init__(self, model, term):
        super().__init__()
        self.model, self.term = model, term

    def as_sql(self, compiler, connection):
        qualifier = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", self.term) + "%"
        return f"{substring_sql(self.model._meta.db_table, qualifier)} LIKE UPPER(%s)", [pattern]


class InArray(Expression):
    """
    ``column = ANY(ARRAY(subquery))`` (PostgreSQL): ``column IN (subquery)`` in a result an
    index can serve, even OR-ed with other indexed conditions (an IN can't be).
    """

    output_field = BooleanField()

    def __init__(self, column, queryset):
        super().__init__()
        self.column, self.subquery = F(column), Subquery(queryset)

    def get_source_expressions(self):
        return [self.column, self.subquery]

    def set_source_expressions(self, expressions):
        self.column, self.subquery = expressions

    def as_sql(self, compiler, connection):
        column_sql, column_params = compiler.compile(self.column)
        subquery_sql, subquery_params = compiler.compile(self.subquery)
        return f"{column_sql} = ANY(ARRAY{subquery_sql})", (*column_params, *subquery_params)


class RelatedNames(NamedTuple):
    """
    Names of related rows that also find a row: ``queryset`` (the related rows a reader
    may see: ``Release.objects.published()``), the name lookup in it (``"name"``), the
    column of it that points at the searched row (``"lab"``), and the searched row's own
    column that it points at (``"pk"``; ``"lab"`` when the searched row points at it).
    """

    queryset: Any
    name: str
    key: str
    via: str = "pk"


def related_contains(related, term, postgres=False):
    """
    Rows with a related name containing ``term``, on both databases, among the related
    rows the reader may see only (a draft's name must not make its lab a result: the
    search would spell the draft's name out a letter at a time). One subquery per
    relation: the relations OR-ed in one query joined a lab to every pair of its releases
    and people (1.4 s per query at 2,000 labs), and full-text vectors built from related
    rows at query time, which no index can hold, took 130 ms more on PostgreSQL.
    """
    matching = related.queryset
    # SQLite: the related table's trigram index, on the name's column only.
    *path, column = related.name.split("__")
    target = matching.model
    for step in path:
        target = target._meta.get_field(step).related_model
    ids = None if postgres else trigram_ids(target, term, [column])
    if ids is None:
        matching = matching.filter(**{f"{related.name}__icontains": term})
    else:
        matching = matching.filter(**{"__".join([*path, "pk__in"]) if path else "pk__in": ids})
    matching = matching.order_by().values(related.key)
    return Q(InArray(related.via, matching)) if postgres else Q(**{f"{related.via}__in": matching})


def _postgres_term(model, term, fields):
    """A word's match on PostgreSQL: the full-text document's prefix, or a substring of the text; both indexed."""
    matches = Q(SubstringMatch(model, term))
    if model._meta.db_table in DOCUMENTS:
        # The GIN-indexed document: stemmed word prefixes ("models" finds "model").
        matches |= Q(document_match(model, f"{term}:*"))
    return matches
