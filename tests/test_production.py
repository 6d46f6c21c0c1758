"""Production mode: health check, database-outage page, request log, Redis faults, static files, gunicorn, make serve."""

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from redis.exceptions import ConnectionError as RedisConnectionError

from labsite.cache import ResilientRedisCache, SharedDiskCache
from tests.factories import make_lab, make_release
from tests.test_faults import spare_port

BASE_DIR = Path(__file__).resolve().parent.parent


def database_down():
    return mock.patch.object(
        BaseDatabaseWrapper, "ensure_connection", side_effect=OperationalError("connection refused (test)")
    )


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_healthz_names_the_database_when_it_fails(client):
    with database_down():
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error", "cache": "ok"}


@pytest.mark.django_db
def test_healthz_names_the_cache_when_it_fails(client):
    broken = mock.Mock(**{"set.side_effect": ConnectionError("down"), "check_health.side_effect": ConnectionError("down")})
    with mock.patch("labsite.views.cache", broken):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "cache": "error"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/", "/labs/", "/api/labs/", "/admin/"])
def test_database_outage_answers_our_503(client, admin_user, path, caplog):
    if path == "/admin/":
        client.force_login(admin_user)
    with database_down(), caplog.at_level(logging.ERROR, logger="labsite.db"):
        response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    if path.startswith("/api/"):
        assert response.json()["code"] == "database_unavailable"
    else:
        text = response.content.decode()
        assert "Temporarily unavailable" in text and "Traceback" not in text
    assert "database unavailable" in caplog.text
    assert client.get("/healthz").status_code == 200  # and back at once


def test_the_500_handler_turns_a_database_error_into_503(rf):
    from labsite.views import server_error

    try:
        raise OperationalError("down")
    except OperationalError:
        response = server_error(rf.get("/"))
    assert response.status_code == 503
    assert server_error(rf.get("/")).status_code == 500


@pytest.mark.django_db
def test_request_log_is_one_json_line_per_request(client, caplog):
    logger = logging.getLogger("labsite.request")
    with mock.patch.object(logger, "level", logging.INFO), caplog.at_level(logging.INFO, logger="labsite.request"):
        client.get("/api/labs/?page=1")
        client.get("/no-such-page/")
    records = [json.loads(record.getMessage()) for record in caplog.records if record.name == "labsite.request"]
    assert len(records) == 2
    assert records[0]["method"] == "GET" and records[0]["path"] == "/api/labs/" and records[0]["status"] == 200
    assert records[0]["queries"] >= 1 and records[0]["duration_ms"] >= 0
    assert records[1]["status"] == 404
    assert set(records[0]) == {"method", "path", "status", "duration_ms", "queries"}


def test_redis_outage_reads_as_a_miss_and_is_logged(caplog):
    cache = ResilientRedisCache(
        f"redis://127.0.0.1:{spare_port()}/0", {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}
    )
    with caplog.at_level(logging.ERROR, logger="labsite.cache"):
        assert cache.get("key", "default") == "default"
        cache.set("key", "value")
        assert cache.add("key", "value") is False
        assert cache.get_many(["a", "b"]) == {}
        cache.delete("key")
        with pytest.raises(ValueError):
            cache.incr("counter")
        with pytest.raises(RedisConnectionError):
            cache.check_health()
    assert "cache unavailable" in caplog.text
    assert len([r for r in caplog.records if r.name == "labsite.cache"]) == 1  # once per outage, not per call


def settings_in_subprocess(env, *names):
    code = (
        "import django, json; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: str(getattr(settings, n)) for n in {names!r}}}))"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "labsite.settings", **env}
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def without_redis_in_production(tmp_path, **env):
    """Run Python statements in a new process, as one of gunicorn's workers without Redis."""
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    environment.update(DJANGO_SETTINGS_MODULE="labsite.settings", DEBUG="0", SECRET_KEY="x" * 60, SITE_URL="https://labs.example.org", CACHE_DIR=str(tmp_path), **env)

    def run(statements):
        code = f"import django; django.setup(); {statements}"
        result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=environment, check=False, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    return run


def test_without_redis_production_workers_share_the_content_generation(tmp_path):
    # Each run is a separate process, as gunicorn's workers (or a management command)
    # are: a save in one must retire the pages and totals every other one has cached.
    # The generation is kept in the database, which they all share.
    run = without_redis_in_production(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    run("from django.core.management import call_command; call_command('migrate', verbosity=0)")
    first = run("from profiles import caching; print(caching.content_generation())")
    assert run("from profiles import caching; print(caching.content_generation())") == first
    run("from profiles import caching; caching.bump_content_generation()")
    assert run("from profiles import caching; print(caching.content_generation())") not in ("", first)


def test_without_redis_the_api_limit_counts_a_client_across_workers(tmp_path):
    # A client whose requests land on different workers still gets only its limit; each
    # worker's request also ends with Django closing the cache, which must keep the count.
    run = without_redis_in_production(
        tmp_path, API_THROTTLE_ANON="3/minute", ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    run("from django.core.management import call_command; call_command('migrate', verbosity=0)")
    requests = (
        "from django.test import Client; client = Client(); "
        "print(*[client.get('/api/', HTTP_ACCEPT='application/json').status_code for _ in range(2)])"
    )
    assert run(requests) == "200 200"
    assert run(requests) == "200 429"


def test_without_redis_a_worker_follows_its_cache_directory_when_it_is_replaced(tmp_path):
    # Workers keep their cache connections between requests: after an ``rm -rf`` of the
    # directory while the site runs, one must not go on reading the old files while the
    # others write new ones (it would serve pages a save has retired).
    directory = str(tmp_path / "cache")
    worker = SharedDiskCache(directory, {})
    worker.set("labsite:content-generation", "before")
    worker.close()  # the end of a request
    shutil.rmtree(directory)
    other = SharedDiskCache(directory, {})
    other.set("labsite:content-generation", "after")
    worker.close()
    assert worker.get("labsite:content-generation") == "after"
    worker.set("kept", 1)
    assert other.get("kept") == 1


def test_static_files_are_compressed_and_hashed_only_when_asked(settings):
    # The suite (and development) use plain storage: {% static %} needs no manifest.
    assert settings.STORAGES["staticfiles"]["BACKEND"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert "whitenoise.middleware.WhiteNoiseMiddleware" == settings.MIDDLEWARE[1]
    production = settings_in_subprocess(
        {"DEBUG": "0", "SECRET_KEY": "x" * 60, "SITE_URL": "https://labs.example.org", "STATIC_MANIFEST": "1"}, "STORAGES"
    )
    assert "whitenoise.storage.CompressedManifestStaticFilesStorage" in production["STORAGES"]


def test_replica_urls_add_replica_databases_and_the_router():
    values = settings_in_subprocess(
        {"DATABASE_REPLICA_URLS": "postgres://r1@h1/db, postgres://r2@h2/db", "DATABASE_URL": "postgres://p@h0/db"},
        "DATABASES", "DATABASE_ROUTERS", "DATABASE_REPLICAS",
    )
    assert "'replica1'" in values["DATABASES"] and "'replica2'" in values["DATABASES"] and "'h2'" in values["DATABASES"]
    assert values["DATABASE_ROUTERS"] == "['labsite.db_routers.PrimaryReplicaRouter']"
    assert values["DATABASE_REPLICAS"] == "['replica1', 'replica2']"


def test_gunicorn_config_reads_the_environment_and_leaves_access_logs_to_us():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", BASE_DIR / "gunicorn.conf.py")
    with mock.patch.dict(os.environ, {"WEB_CONCURRENCY": "3", "PORT": "9123"}):
        config = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(config)
    assert config.workers == 3
    assert config.bind == "127.0.0.1:9123"
    assert config.accesslog is None
    assert config.wsgi_app == "labsite.wsgi:application"


def test_make_serve_refuses_to_start_without_a_secret_key():
    environment = {key: value for key, value in os.environ.items() if key != "SECRET_KEY"}
    result = subprocess.run(["make", "-s", "-o", ".venv/.installed", "serve"], cwd=BASE_DIR, env=environment, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db
def test_no_statement_is_prepared_on_postgresql_so_no_list_keeps_another_querys_plan(client):
    """
    A statement prepared on a connection gets a generic plan after five runs, and that plan,
    made for no value in particular, sorted every matching release before a LIMIT: after a
    few one-month lists, the API's whole date range took 190-250 ms instead of 17
    (docs/performance.md). Each query is planned with its own values.
    """
    lab = make_lab("Prepared Lab")
    make_release(lab, "Prepared Model")
    for month in range(1, 9):
        assert client.get(f"/api/releases/?released_after=2023-{month:02d}-01&released_before=2023-{month:02d}-28").status_code == 200
        assert client.get(lab.get_absolute_url()).status_code == 200
    assert client.get("/api/releases/?released_after=2016-01-01&released_before=2026-12-31").json()["count"] == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0
