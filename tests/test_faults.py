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


class ReadyNotice:
    """
    The READY=1 a server sends when it accepts connections (systemd's sd_notify, which
    redis-server --supervised systemd and gunicorn send to $NOTIFY_SOCKET): the test
    blocks on that message instead of polling the port.
    """

    def __init__(self):
        self.name = f"labsite-faults-{secrets.token_hex(8)}"  # an abstract socket: no file to remove
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind("\0" + self.name)
        self.env = {"NOTIFY_SOCKET": "@" + self.name}

    def wait(self, process, timeout):
        """Return once ``process`` says it is ready; raise if it exits or ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                # Blocks until a message comes; wakes each second to notice a server that died.
                self.socket.settimeout(min(1.0, remaining))
                try:
                    message = self.socket.recv(4096)
                except TimeoutError:
                    if process.poll() is not None:
                        raise RuntimeError(f"{process.args[0]} exited with {process.returncode} before it was ready") from None
                    continue
                if "READY=1" in message.decode().splitlines():
                    return
            raise TimeoutError(f"{process.args[0]} not ready after {timeout} s")
        finally:
            self.socket.close()


class RedisServer:
    def __init__(self):
        self.port = spare_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        ready = ReadyNotice()
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--supervised", "systemd"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **ready.env},
        )
        ready.wait(self.process, timeout=15)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


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
    ready = ReadyNotice()  # gunicorn's master sends it once it listens on the port
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py"],
        cwd=BASE_DIR, env={**env, **ready.env}, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        ready.wait(server, timeout=30)
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


def log_text(stack):
    """
    The server's log as it is now. A request's lines (RequestLogMiddleware's, and any
    fault it logs) are written, and flushed, before its response is sent, so once a test
    has a response they are in the file: nothing to wait for.
    """
    return stack["log"].read_text()


def test_all_up_is_healthy_and_logs_one_json_line_per_request(stack):
    status, _, body = get(stack, "/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok", "cache": "ok"}
    assert get(stack, "/")[0] == 200
    assert get(stack, "/api/labs/")[0] == 200
    lines = [json.loads(line) for line in log_text(stack).splitlines() if line.startswith("{")]
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
        stack["postgres"].start()  # pg_ctl -w: returns once PostgreSQL accepts connections
    # The very next requests are served: each thread's broken connection is dropped (after
    # its error, or by the health check of a reused one) and a new one opened.
    assert get(stack, "/")[0] == 200
    assert get(stack, "/api/labs/")[0] == 200
    assert json.loads(get(stack, "/healthz")[2])["status"] == "ok"
    assert "database unavailable" in log_text(stack)


def test_redis_down_still_serves_and_logs_the_fault(stack):
    stack["redis"].stop()
    try:
        assert get(stack, "/")[0] == 200
        assert get(stack, "/api/labs/")[0] == 200
        status, _, body = get(stack, "/healthz")
        assert status == 503
        assert json.loads(body) == {"status": "error", "database": "ok", "cache": "error"}
        assert "cache unavailable" in log_text(stack)
    finally:
        stack["redis"].start()  # returns once Redis accepts connections (ReadyNotice)
    # The very next request uses Redis again: redis-py replaces the pool's dead connections.
    assert json.loads(get(stack, "/healthz")[2]) == {"status": "ok", "database": "ok", "cache": "ok"}
