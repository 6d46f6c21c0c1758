"""
The benchmark: labsite under gunicorn on SQLite and PostgreSQL, side by side with Datasette.

    make bench                     # the whole run (installs wrk and Datasette first)
    .venv/bin/python bench/run.py --duration 10 --databases sqlite postgres

For each database it fills a fresh database with the starting data plus synthetic
profiles (``generate_synthetic``), starts the site in production mode under gunicorn
(2 sync workers), and drives each target from a second process with wrk (1 thread,
8 connections, a fixed time) in two modes: "cold", with no page cache (every request
renders from the database, as the first reader after each publish gets), and "cached",
with the shared Redis cache and the page cache. In both, a list's total and facet
counts are kept in the shared cache until the next change (``kept_for_readers``): a
cold request is a page rendered from the database, not a count of every row. The lab
page, the lab index and the API lab detail are measured at one connection too (latency
with nothing queued). Datasette
serves the same SQLite file for the whole run; ``/api/releases/?page_size=100`` and
Datasette's equivalent are measured in turn, three times each, and their medians
compared, so that both are measured on the same machine (a shared virtual machine's
speed drifts from minute to minute). Queries per request are counted in-process with
Django's test client (the same code path, no timing involved); peak memory per
worker is read from /proc (VmHWM) after the load.

Prints a table and writes it as JSON under bench/results/. Nothing here asserts a
speed: the numbers go in the issue notes.
"""

import argparse
import datetime
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
DATASETTE = ROOT / ".venv-bench" / "bin" / "datasette"
RESULTS = ROOT / "bench" / "results"
SQLITE_FILE = ROOT / "bench" / "bench.sqlite3"
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/labsite_bench")

SCALE = {"labs": 2000, "people": 20000, "releases": 50000, "sources": 20000}
API_TARGET = "/api/releases/?page_size=100"
TARGETS = {
    "lab page": "/labs/synthetic-lab-7/",
    "lab index": "/labs/",
    "releases": "/releases/",
    "releases filtered": "/releases/?lab=synthetic-lab-7&kind=model",
    "search": "/search/?q=InternLM",
    "api releases x100": API_TARGET,  # measured in turn with Datasette's equivalent
    "api lab detail": "/api/labs/synthetic-lab-7/",
    "healthz (near-trivial)": "/healthz",
}
HEALTHZ = "healthz (near-trivial)"
ONE_CONNECTION = ("lab page", "lab index", "api lab detail")
DATASETTE_TARGET = "/bench/profiles_release.json?_shape=array&_size=100&_labels=on"


def log(message):
    print(f"[bench {datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_env(database_url, cache):
    """Production mode, as `make serve` runs it, on loopback over plain HTTP."""
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        DATABASE_URL=database_url,
        SECURE_SSL_REDIRECT="0",
        SITE_URL="http://127.0.0.1",  # production mode needs the address emails link to
        STATIC_MANIFEST="1",
        # The benchmark measures throughput, not the abuse limits: a limit it never reaches,
        # over a one-second window, so each request still reads and writes its throttle
        # history, about as long (a few hundred entries) as under the default 600/minute.
        API_THROTTLE_ANON="100000/second",
        API_THROTTLE_USER="100000/second",
    )
    env.pop("REDIS_URL", None)
    # "Without the cache": no page cache at all. "With": the shared Redis cache and page cache.
    env["PAGE_CACHE_SECONDS"] = "300" if cache else "0"
    if cache:
        env["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    return env


def manage(env, *args):
    subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, check=True)


def prepare(database, scale):
    """A fresh database with the starting data and the synthetic profiles; returns its URL."""
    if database == "sqlite":
        SQLITE_FILE.unlink(missing_ok=True)
        url = f"sqlite:///{SQLITE_FILE}"
    else:
        url = POSTGRES_URL
        name = url.rsplit("/", 1)[1]
        admin_url = url.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", admin_url, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
        subprocess.run(["psql", admin_url, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    env = site_env(url, cache=False)
    log(f"{database}: migrate, load the starting data, generate {scale}")
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_profiles", "-v0")
    started = time.monotonic()
    manage(env, "generate_synthetic", *[f"--{key}={value}" for key, value in scale.items()], "-v0")
    log(f"{database}: synthetic data generated in {time.monotonic() - started:.1f}s")
    manage(env, "collectstatic", "--noinput", "-v0")
    return url, time.monotonic() - started


def wait_until_up(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up in {timeout}s")


def children(pid):
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def peak_memory_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def wrk(url, duration, connections):
    """Requests per second and p50/p99 latency (ms) from one wrk run."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url],
        check=True, capture_output=True, text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)

    def percentile(label):
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    return {
        "rps": rps, "p50_ms": percentile(50), "p99_ms": percentile(99),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def count_queries(env, paths):
    """Queries per request for each path, counted in-process through the test client."""
    script = (
        "import json, sys, django\n"
        "django.setup()\n"
        "from django.db import connection\n"
        "from django.test import Client\n"
        "from django.test.utils import CaptureQueriesContext\n"
        "client, counts = Client(), {}\n"
        "for path in json.loads(sys.argv[1]):\n"
        "    client.get(path)\n"
        "    with CaptureQueriesContext(connection) as ctx:\n"
        "        status = client.get(path).status_code\n"
        "    counts[path] = {'queries': len(ctx.captured_queries), 'status': status}\n"
        "print(json.dumps(counts))\n"
    )
    env = {**env, "DJANGO_SETTINGS_MODULE": "labsite.settings"}
    out = subprocess.run(
        [str(PYTHON), "-c", script, json.dumps(paths)], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


ROUNDS = 3  # the API and Datasette are measured in turn this many times; medians reported


def paired_with_datasette(ours_url, datasette_url, duration):
    """
    Ours and Datasette's equivalent request, one after the other, ROUNDS times: the ratio
    of the medians. Measured in turn, both see the same machine (a shared virtual machine
    can be twice as fast one minute as the next).
    """
    ours, theirs = [], []
    for _ in range(ROUNDS):
        ours.append(wrk(ours_url, duration, 8))
        theirs.append(wrk(datasette_url, duration, 8))

    def median(results):
        return sorted(results, key=lambda result: result["rps"])[len(results) // 2]

    return median(ours), median(theirs)


def bench_site(database, url, cache, duration, datasette_base=None):
    env = site_env(url, cache)
    port = free_port()
    log_file = open(RESULTS / f"gunicorn-{database}-{'cache' if cache else 'nocache'}.log.tmp", "w")
    server = subprocess.Popen(
        [str(GUNICORN), "labsite.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    rows = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/healthz")
        queries = count_queries(env, list(TARGETS.values()))
        for name, path in TARGETS.items():
            wrk(base + path, 2, 8)  # warm up: connections, caches, imports
            row = {"database": database, "cache": cache, "target": name, "path": path, "concurrency": 8}
            if path == API_TARGET and datasette_base:
                result, datasette = paired_with_datasette(base + path, datasette_base + DATASETTE_TARGET, duration)
                row["datasette_rps"] = datasette["rps"]
            else:
                result = wrk(base + path, duration, 8)
            row.update(result)
            if queries:
                row["queries"] = queries[path]["queries"]
                row["status"] = queries[path]["status"]
            rows.append(row)
            log(f"{database} cache={cache} {name}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.1f} ms")
        for name in ONE_CONNECTION:  # latency alone: one client, nothing queued behind it
            single = wrk(base + TARGETS[name], duration, 1)
            rows.append({"database": database, "cache": cache, "target": name, "path": TARGETS[name],
                         "concurrency": 1, **single})
            log(f"{database} cache={cache} {name} at 1 connection: p50 {single['p50_ms']:.1f} ms")
        memory = [peak_memory_mb(worker) for worker in children(server.pid)]
        for row in rows:
            row["worker_peak_mb"] = max(m for m in memory if m) if memory else None
    finally:
        server.terminate()
        server.wait(timeout=30)
        log_file.close()
    return rows


def start_datasette():
    """Datasette serving the benchmark's SQLite file (read-only); returns (process, base URL)."""
    port = free_port()
    server = subprocess.Popen(
        [str(DATASETTE), "serve", "-i", str(SQLITE_FILE), "--port", str(port), "--setting", "num_sql_threads", "2"],
        cwd=ROOT / "bench", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/-/versions.json")
    wrk(base + DATASETTE_TARGET, 2, 8)  # warm up
    return server, base


def print_table(rows):
    """The table: "cold" is without the page cache, "cached" with it; "% hz" is req/s against /healthz's in the same mode."""
    healthz = {(row["database"], row["cache"]): row["rps"] for row in rows if row["target"] == HEALTHZ and row["concurrency"] == 8}
    header = (
        f"{'database':9} {'mode':6} {'target':24} {'c':>2} {'req/s':>8} {'% hz':>5} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'queries':>7} {'MB/wkr':>7} {'DS req/s':>8} {'vs DS':>6}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        datasette_rps = row.get("datasette_rps")
        ratio = row["rps"] / datasette_rps if datasette_rps else None
        share = row["rps"] / healthz[row["database"], row["cache"]] if row["concurrency"] == 8 else None
        print(
            f"{row['database']:9} {'cached' if row['cache'] else 'cold':6} {row['target']:24} {row['concurrency']:>2} "
            f"{row['rps']:>8.0f} {(f'{share:.0%}' if share else ''):>5} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{str(row.get('queries', '')):>7} {(row.get('worker_peak_mb') or 0):>7.0f} "
            f"{(f'{datasette_rps:.0f}' if datasette_rps else ''):>8} {(f'{ratio:.1f}x' if ratio else ''):>6}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per target")
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full synthetic scale")
    args = parser.parse_args()
    scale = {key: max(1, int(value * args.scale)) for key, value in SCALE.items()}

    rows, generation = [], {}
    datasette, datasette_base = None, None
    try:
        # SQLite first: its file is what Datasette serves, for the whole run.
        for database in sorted(args.databases, key=lambda name: name != "sqlite"):
            url, generation[database] = prepare(database, scale)
            if database == "sqlite":
                datasette, datasette_base = start_datasette()
            for cache in (False, True):
                rows.extend(bench_site(database, url, cache, args.duration, datasette_base))
        datasette_mb = peak_memory_mb(datasette.pid) if datasette else None
    finally:
        if datasette:
            datasette.terminate()
            datasette.wait(timeout=30)
    print_table(rows)
    if datasette_mb:
        print(f"Datasette: {DATASETTE_TARGET}, one process, peak {datasette_mb:.0f} MB")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({
        "when": datetime.datetime.now().isoformat(timespec="seconds"),
        "scale": scale, "duration_s": args.duration, "generation_s": generation, "rows": rows,
        "datasette": {"path": DATASETTE_TARGET, "peak_mb": datasette_mb, "rounds": ROUNDS},
    }, indent=2))
    log(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
