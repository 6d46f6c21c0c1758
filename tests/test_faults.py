"""
Faults: the site under gunicorn, against a PostgreSQL and a Redis that these tests start
themselves on spare ports (never the machine's shared services), stopped and started again.

Database down: our 503 (page, or JSON under /api/), the process stays up, and serves again
once the database is back, without a restart. Redis down: the site serves, and logs it.
"""

import glob
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
REDIS_SERVER = shutil.which("redis-server")

# CI (.ci/run) sets REQUIRE_SERVICES=1: a missing server is then a failure, never a skip.
REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"
MISSING = [
    name for name, found in [("PostgreSQL server binaries", PG_BIN), ("redis-server", REDIS_SERVER)] if not found
]
if MISSING and REQUIRED:
    raise RuntimeError(f"REQUIRE_SERVICES=1 but not installed: {', '.join(MISSING)}")
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"not installed: {', '.join(MISSING)} (.ci/run installs them)")


def spare_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(command):
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PostgresServer:
    def __init__(self, directory):
        self.bin = PG_BIN[-1]
        self.directory = directory
        self.data = directory / "data"
        self.port = spare_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command):
        result = subprocess.run(
            as_postgres([f"{self.bin}/{command[0]}", *command[1:]]), check=False, capture_output=True, text=True, timeout=60
        )
        if result.returncode:
            raise RuntimeError(f"{command[0]} failed: {result.stdout}{result.stderr}")

    def init(self):
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self):
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self):
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


class RedisServer:
    def __init__(self):
        self.port = spare_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def wait_for_port(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing answers on port {port}")


@pytest.fixture(scope="module")
def stack():
    """PostgreSQL + Redis + the site under gunicorn (production mode), all on spare ports."""
    # Not under pytest's tmp dir: that is private to root, and PostgreSQL runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="labsite-faults-"))
    postgres, redis = PostgresServer(directory), RedisServer()
    postgres.init()
    postgres.start()
    redis.start()
    port = spare_port()
    log_path = directory / "gunicorn.log"
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "http://127.0.0.1",
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis.url,
        "PAGE_CACHE_SECONDS": "0",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "BIND": f"127.0.0.1:{port}",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True, timeout=180)
    log = open(log_path, "w")  # noqa: SIM115 - held open for the server's lifetime
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=30)
        yield {"postgres": postgres, "redis": redis, "server": server, "base": f"http://127.0.0.1:{port}", "log": log_path}
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
        try:
            redis.stop()
        finally:
            try:
                postgres.stop()
            except RuntimeError:
                pass  # already stopped by a failed test
            shutil.rmtree(directory, ignore_errors=True)


def get(stack, path):
    request = urllib.request.Request(stack["base"] + path, headers={"X-Forwarded-Proto": "https", "Accept": "text/html"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def get_until(stack, path, status, seconds=15):
    deadline = time.monotonic() + seconds
    while True:
        result = get(stack, path)
        if result[0] == status or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_all_up_is_healthy_and_logs_one_json_line_per_request(stack):
    status, _, body = get(stack, "/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok", "cache": "ok"}
    assert get(stack, "/")[0] == 200
    assert get(stack, "/api/labs/")[0] == 200
    time.sleep(0.3)
    lines = [json.loads(line) for line in stack["log"].read_text().splitlines() if line.startswith("{")]
    entry = next(line for line in lines if line["path"] == "/api/labs/")
    assert entry["method"] == "GET" and entry["status"] == 200
    assert isinstance(entry["duration_ms"], float) and entry["queries"] >= 1


def test_database_down_gives_our_503_then_recovers_without_a_restart(stack):
    stack["postgres"].stop()
    try:
        status, headers, body = get(stack, "/")
        assert status == 503
        assert "Temporarily unavailable" in body and "Traceback" not in body
        assert headers["Retry-After"] == "30"

        # A detail, which must read its row (an empty list whose total, zero, is in the
        # cache needs no query at all, and rightly answers 200).
        status, headers, body = get(stack, "/api/labs/any-lab/")
        assert status == 503
        assert headers["Content-Type"].startswith("application/json")
        assert json.loads(body)["code"] == "database_unavailable"

        status, _, body = get(stack, "/healthz")
        assert status == 503
        assert json.loads(body) == {"status": "error", "database": "error", "cache": "ok"}
        assert stack["server"].poll() is None  # the process is still up
    finally:
        stack["postgres"].start()
    assert get_until(stack, "/", 200)[0] == 200
    assert get_until(stack, "/api/labs/", 200)[0] == 200
    assert json.loads(get_until(stack, "/healthz", 200)[2])["status"] == "ok"
    assert "database unavailable" in stack["log"].read_text()


def test_redis_down_still_serves_and_logs_the_fault(stack):
    stack["redis"].stop()
    try:
        assert get(stack, "/")[0] == 200
        assert get(stack, "/api/labs/")[0] == 200
        status, _, body = get(stack, "/healthz")
        assert status == 503
        assert json.loads(body) == {"status": "error", "database": "ok", "cache": "error"}
        time.sleep(0.3)
        assert "cache unavailable" in stack["log"].read_text()
    finally:
        stack["redis"].start()
    assert json.loads(get_until(stack, "/healthz", 200)[2]) == {"status": "ok", "database": "ok", "cache": "ok"}
