"""
One search for both databases (used by the querysets' ``search()`` in models.py).

PostgreSQL: full-text search (``django.contrib.postgres.search``), English stemming, every
word of the query a prefix ("intern" finds "InternLM"), ranked with SearchRank (name first).
Each table's own document is the exact expression of its GIN index
(profiles/migrations/0004_search_indexes.py), so the planner uses the index. Names are
also matched as plain substrings, which full-text search cannot do for Chinese names.

Related names (a lab's people and releases) are matched as substrings on both databases,
among the related rows a reader may see.

SQLite: every word must appear (case-insensitively) in one of the same fields; ranked by
whether the name matches.

On both, a result must match every word of the query, each in any of the fields.
"""

import re
from typing import Any, NamedTuple

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    F,
    FloatField,
    IntegerField,
    Q,
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
        else:
            matches = Q()
            for field in fields:
                matches |= Q(**{f"{field}__icontains": term})
        for names in related:
            matches |= related_contains(names, term)
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


def related_contains(related, term):
    """
    Rows with a related name containing ``term``, on both databases, among the related
    rows the reader may see only (a draft's name must not make its lab a result: the
    search would spell the draft's name out a letter at a time). One subquery per
    relation: the relations OR-ed in one query joined a lab to every pair of its releases
    and people (1.4 s per query at 2,000 labs), and full-text vectors built from related
    rows at query time, which no index can hold, took 130 ms more on PostgreSQL.
    """
    matching = related.queryset.filter(**{f"{related.name}__icontains": term}).order_by()
    return Q(**{f"{related.via}__in": matching.values(related.key)})


def _postgres_term(model, term, fields):
    if model._meta.db_table in DOCUMENTS:
        # The GIN-indexed document, word prefixes ("intern" finds "InternLM").
        matches = Q(document_match(model, f"{term}:*"))
    else:
        # A table with no search index (sources): the same match on its fields, with the
        # document built row by row (a sequential scan; an index would need a migration).
        from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorExact

        matches = Q(SearchVectorExact(
            SearchVector(*fields, config=CONFIG), SearchQuery(f"{term}:*", search_type="raw", config=CONFIG)
        ))
    # Substrings of names (Chinese names are one token to the English parser).
    for field in fields[:2]:
        matches |= Q(**{f"{field}__icontains": term})
    return matches
