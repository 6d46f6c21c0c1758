"""Search: the same results on SQLite (LIKE) and PostgreSQL (ranked full-text search)."""

import importlib

import pytest
from django.db import connection

from profiles import search as site_search
from profiles.models import Lab, Person, Release
from tests.factories import make_lab, make_person, make_release, make_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def labs():
    shanghai = make_lab(
        "Shanghai AI Laboratory", slug="shlab", native_name="上海人工智能实验室",
        other_names="Shanghai AI Lab\nSHLab", summary="A state-backed research institute behind InternLM.",
    )
    zhipu = make_lab("Zhipu AI", slug="zhipu", summary="A Tsinghua spin-off building the GLM models.")
    deepseek = make_lab("DeepSeek", slug="deepseek", summary="Open-weights language models from Hangzhou.")
    make_release(lab=shanghai, name="InternLM2.5", slug="internlm2-5", description="A bilingual language model.")
    make_release(lab=zhipu, name="ChatGLM3", slug="chatglm3", description="A conversational model.")
    make_role(person=make_person("Yu Qiao", slug="yu-qiao", bio="Computer vision researcher."), lab=shanghai, title="Director")
    make_role(person=make_person("Tang Jie", slug="tang-jie", bio="Professor at Tsinghua."), lab=zhipu, title="Chief Scientist")
    return {"shanghai": shanghai, "zhipu": zhipu, "deepseek": deepseek}


def names(queryset):
    return [obj.name for obj in queryset]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Shanghai", ["Shanghai AI Laboratory"]),
        ("shanghai laboratory", ["Shanghai AI Laboratory"]),
        ("上海", ["Shanghai AI Laboratory"]),  # a native name, matched as a substring
        ("SHLab", ["Shanghai AI Laboratory"]),  # another name
        ("Tsinghua", ["Zhipu AI"]),  # summary
        ("Qiao", ["Shanghai AI Laboratory"]),  # a person at the lab
        ("InternLM2", ["Shanghai AI Laboratory"]),  # a release (and the summary): a word prefix
        ("Tang Zhipu", ["Zhipu AI"]),  # words in different fields: all must match somewhere
        ("language", ["DeepSeek"]),
        ("Hangzhou Zhipu", []),
        ("nothing-like-this", []),
        ("", []),
        ("   ", []),
    ],
)
def test_lab_search_finds_the_same_labs_on_every_database(labs, query, expected):
    assert sorted(names(Lab.objects.search(query))) == sorted(expected)


def test_lab_search_ranks_a_name_match_first(labs):
    make_lab("Hangzhou Models Lab", slug="hz", summary="Not to be confused with DeepSeek.")
    results = names(Lab.objects.search("DeepSeek"))
    assert results[0] == "DeepSeek"
    assert set(results) == {"DeepSeek", "Hangzhou Models Lab"}
    assert all(hasattr(lab, "search_rank") for lab in Lab.objects.search("DeepSeek"))


def test_lab_search_chains_with_other_queryset_methods(labs):
    labs["deepseek"].state = "draft"
    labs["deepseek"].save()
    assert names(Lab.objects.published().search("language")) == []
    assert names(Lab.objects.for_index().search("Zhipu")) == ["Zhipu AI"]
    assert Lab.objects.search("AI").count() == len(set(Lab.objects.search("AI").values_list("pk", flat=True)))


@pytest.mark.parametrize(
    "query, expected",
    [("Yu", ["Yu Qiao"]), ("vision", ["Yu Qiao"]), ("professor tsinghua", ["Tang Jie"]), ("Beijing", [])],
)
def test_person_search(labs, query, expected):
    assert names(Person.objects.search(query)) == expected


@pytest.mark.parametrize(
    "query, expected",
    [
        ("InternLM", ["InternLM2.5"]),
        ("conversational", ["ChatGLM3"]),
        ("Zhipu", ["ChatGLM3"]),  # the lab's name
        ("bilingual Shanghai", ["InternLM2.5"]),
        ("GPT", []),
    ],
)
def test_release_search(labs, query, expected):
    assert names(Release.objects.search(query)) == expected


def test_query_syntax_is_never_passed_through(labs):
    for query in ["shanghai & | ! :* (", "' OR 1=1 --", "\\", "%", "_"]:
        list(Lab.objects.search(query))  # no error, whatever the database


def test_the_migration_indexes_exactly_what_search_queries():
    migration = importlib.import_module("profiles.migrations.0004_search_indexes")
    assert migration.DOCUMENTS == site_search.DOCUMENTS
    for table in site_search.DOCUMENTS:
        assert migration.document_sql(table) == site_search.document_sql(table)
    trigram = importlib.import_module("profiles.migrations.0012_search_trigram_indexes")
    assert trigram.COLUMNS == site_search.TRIGRAM_INDEXES
    for table in trigram.COLUMNS:
        assert trigram.substring_sql(table) == site_search.substring_sql(table, f'"{table}"')


@pytest.mark.skipif(connection.vendor != "postgresql", reason="GIN indexes exist on PostgreSQL only")
def test_postgres_has_the_gin_indexes_and_uses_them(labs):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE %s", ["%_search_gin"])
        assert {row[0] for row in cursor.fetchall()} == {
            "profiles_lab_search_gin", "profiles_person_search_gin", "profiles_release_search_gin",
        }
        cursor.execute("SET enable_seqscan = off")
        sql, params = Person.objects.filter(site_search.document_match(Person, "qiao:*")).query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "profiles_person_search_gin" in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm indexes exist on PostgreSQL only")
def test_postgres_search_ors_its_indexes_rather_than_reading_every_row(labs):
    """Every arm of a word's match is indexed: full text, substring (trigram) and related names (= ANY)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE %s", ["%_search_trgm"])
        assert {row[0] for row in cursor.fetchall()} == {f"{table}_search_trgm" for table in site_search.TRIGRAM_INDEXES}
        # Related names, as icontains writes them (a lab found by its releases' names).
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE %s", ["%_name_trgm"])
        assert {row[0] for row in cursor.fetchall()} == {"profiles_lab_name_trgm", "profiles_person_name_trgm", "profiles_release_name_trgm"}
        # A handful of rows: told to avoid reading them all (and to use bitmaps), as it does at scale.
        cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off")
        # The match alone (the published rule has plain indexes of its own, which the planner
        # prefers on a table this small).
        sql, params = Release.objects.all().search("bilingual").query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on; SET enable_indexscan = on")
    assert "BitmapOr" in plan and "profiles_release_search_trgm" in plan and "profiles_release_search_gin" in plan
    assert "Seq Scan on profiles_release " not in plan
    # The same answers as ever: a substring of a description, a Chinese name, a lab's release.
    assert names(Release.objects.published().search("lingua")) == ["InternLM2.5"]
    assert names(Lab.objects.published().search("人工智能")) == ["Shanghai AI Laboratory"]
    assert names(Lab.objects.published().search("chatglm")) == ["Zhipu AI"]


sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite" or not site_search.SQLITE_TRIGRAM, reason="SQLite's trigram indexes (FTS5)"
)


@sqlite_only
def test_sqlite_search_reads_the_trigram_index_not_every_row(labs):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert names(Release.objects.published().search("bilingual")) == ["InternLM2.5"]
    sql = " ".join(query["sql"] for query in captured.captured_queries)
    assert '"profiles_release_trigram" MATCH' in sql and '"description" LIKE' not in sql
    with connection.cursor() as cursor:
        sql, params = Lab.objects.published().search("institute").query.sql_with_params()
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "profiles_lab_trigram VIRTUAL TABLE INDEX" in plan


@sqlite_only
def test_the_trigram_index_follows_edits_and_deletes(labs):
    release = Release.objects.get(slug="chatglm3")
    release.name = "GLM-Zero"
    release.save()
    assert names(Release.objects.published().search("zero")) == ["GLM-Zero"]
    assert names(Release.objects.published().search("chatglm")) == []
    release.delete()
    assert names(Release.objects.published().search("zero")) == []
    # Substrings in any script, and a word shorter than three characters (no trigram) still found.
    assert names(Lab.objects.published().search("人工智能")) == ["Shanghai AI Laboratory"]
    assert names(Lab.objects.published().search("gl")) == ["Zhipu AI"]


@sqlite_only
def test_a_table_rebuilt_by_a_migration_gets_its_index_back_after_migrate(labs):
    """
    SQLite drops a table's triggers when Django rebuilds it, and the index then misses
    writes: migrate's receiver remakes the triggers and refills the stale index.
    """
    with connection.cursor() as cursor:
        for suffix in ("ai", "ad", "au"):
            cursor.execute(f'DROP TRIGGER "profiles_lab_trigram_{suffix}"')
    make_lab("Nanjing Vision Institute", slug="nanjing")  # written while no trigger keeps the index
    Lab.objects.filter(slug="zhipu").update(summary="A Tsinghua spin-off; an institute of GLM models.")
    assert names(Lab.objects.published().search("institute")) == ["Shanghai AI Laboratory"]  # stale
    site_search.install_trigram_indexes(using="default")
    assert names(Lab.objects.published().search("institute")) == [
        "Nanjing Vision Institute", "Shanghai AI Laboratory", "Zhipu AI",
    ]
    make_lab("Wuhan Institute", slug="wuhan")  # and the triggers keep it from then on
    assert "Wuhan Institute" in names(Lab.objects.published().search("institute"))
