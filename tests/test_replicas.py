"""
Read replicas: reads go to a replica, writes to the primary, and a client that just wrote
reads from the primary for REPLICA_PIN_SECONDS. Two real PostgreSQL databases on the
machine's server play primary and replica (the replica is a copy, so nothing replicates:
which rows a read sees tells which database served it).
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from labsite.db_routers import PrimaryReplicaRouter

BASE_DIR = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("REPLICA_TEST_SERVER", "postgres://postgres@127.0.0.1:5432")

SCRIPT = r"""
import json, time
import django
django.setup()
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from profiles.models import Lab, PublicationState

def served_by(callable_):
    with CaptureQueriesContext(connections["default"]) as primary, CaptureQueriesContext(connections["replica1"]) as replica:
        result = callable_()
    return result, {"default": len(primary), "replica1": len(replica)}

out = {}
Lab.objects.create(name="Written Lab", slug="written-lab", state=PublicationState.PUBLISHED)
out["write_on_primary"] = Lab.objects.using("default").filter(slug="written-lab").exists()
out["read_default"], out["read_counts"] = served_by(lambda: Lab.objects.filter(slug="written-lab").exists())

client = Client()
response, counts = served_by(lambda: client.get("/api/labs/", secure=True))
out["get_status"], out["get_counts"] = response.status_code, counts
out["get_sees_new_lab"] = b"written-lab" in response.content
out["get_total"] = json.loads(response.content)["count"]

response, counts = served_by(lambda: client.post("/api/labs/", {}, secure=True))
out["post_status"], out["pin_cookie"] = response.status_code, "pin_primary" in response.cookies

response, counts = served_by(lambda: client.get("/api/labs/", secure=True))
out["pinned_counts"], out["pinned_sees_new_lab"] = counts, b"written-lab" in response.content

# The pin's time passes (the middleware reads time.time(), which time_machine moves); the
# clock stays there to the end, so the page below is read unpinned, as a reader's would be.
import os, time_machine
time_machine.travel(time.time() + float(os.environ["REPLICA_PIN_SECONDS"]) + 0.2, tick=False).start()
response, counts = served_by(lambda: client.get("/api/labs/", secure=True))
out["after_counts"] = counts

# With the page cache on, a page about to be kept for every reader is built from the primary.
from django.conf import settings
settings.PAGE_CACHE_SECONDS = 300
response, counts = served_by(lambda: client.get("/labs/written-lab/", secure=True))
out["cached_page_status"], out["cached_page_counts"] = response.status_code, counts
print(json.dumps(out))
"""


def psql_admin(sql):
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=3) as connection:
        connection.execute(sql)


@pytest.fixture(scope="module")
def databases():
    try:
        import psycopg

        psycopg.connect(f"{SERVER}/postgres", connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001
        if os.environ.get("REQUIRE_SERVICES") == "1":  # CI: a missing server is a failure
            pytest.fail(f"no PostgreSQL server at {SERVER} ({error})")
        pytest.skip(f"no PostgreSQL server at {SERVER} ({error}); .ci/run starts one")
    suffix = secrets.token_hex(4)
    primary, replica = f"labsite_primary_test_{suffix}", f"labsite_replica_test_{suffix}"
    psql_admin(f'CREATE DATABASE "{primary}"')
    try:
        env = {**os.environ, "DATABASE_URL": f"{SERVER}/{primary}", "DEBUG": "1"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True, timeout=180)
        # The replica: a copy of the migrated primary (same schema, no replication).
        psql_admin(f'CREATE DATABASE "{replica}" TEMPLATE "{primary}"')
        yield f"{SERVER}/{primary}", f"{SERVER}/{replica}"
    finally:
        psql_admin(f'DROP DATABASE IF EXISTS "{replica}" WITH (FORCE)')
        psql_admin(f'DROP DATABASE IF EXISTS "{primary}" WITH (FORCE)')


def test_reads_go_to_the_replica_writes_to_the_primary_and_a_writer_is_pinned(databases):
    primary, replica = databases
    env = {
        **os.environ, "DEBUG": "1", "DATABASE_URL": primary, "DATABASE_REPLICA_URLS": replica,
        "REPLICA_PIN_SECONDS": "1", "PAGE_CACHE_SECONDS": "0", "DJANGO_SETTINGS_MODULE": "labsite.settings",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=BASE_DIR, env=env, check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    import json

    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["write_on_primary"] is True
    # A read outside a request goes to the replica, which has not got the new row.
    assert out["read_default"] is False and out["read_counts"] == {"default": 0, "replica1": 1}
    # An anonymous reader: the rows from the replica, which has not got the new lab; the
    # total and the next scheduled go-live, kept in the cache for every reader until the
    # next change, from the primary (counted on a lagging replica, they would outlive the lag),
    # as is the content generation that names that change (read once per request). Whether a
    # scheduled draft is due is that same kept go-live: no read of its own.
    assert out["get_status"] == 200 and out["get_counts"] == {"default": 3, "replica1": 1}
    assert out["get_sees_new_lab"] is False and out["get_total"] == 1
    # A write (here refused: anonymous) pins the client to the primary for a while...
    assert out["post_status"] in {401, 403} and out["pin_cookie"] is True
    assert out["pinned_counts"]["replica1"] == 0 and out["pinned_counts"]["default"] > 0
    assert out["pinned_sees_new_lab"] is True
    # ...and then it reads from the replica again (the total and the next go-live are the
    # kept ones; the generation, which says whether they still are, from the primary).
    assert out["after_counts"] == {"default": 1, "replica1": 1}
    # A page the cache will keep is built on the primary: it has the lab the replica lacks.
    assert out["cached_page_status"] == 200 and out["cached_page_counts"]["replica1"] == 0


def test_router_decisions(settings):
    settings.DATABASE_REPLICAS = ["replica1", "replica2"]
    router = PrimaryReplicaRouter()
    from labsite import db_routers
    from profiles.models import Lab

    assert router.db_for_write(Lab) == "default"
    assert {router.db_for_read(Lab) for _ in range(50)} == {"replica1", "replica2"}
    with db_routers.pinned_to_primary():
        assert router.db_for_read(Lab) == "default"
    assert router.allow_migrate("default", "profiles") is True
    assert router.allow_migrate("replica1", "profiles") is False
    settings.DATABASE_REPLICAS = []
    assert router.db_for_read(Lab) == "default"
