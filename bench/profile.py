"""
Where one request's time goes, in process: its queries, its time over repeated runs, and
a pyinstrument profile. Profile before changing the read path, and again after.

    .venv/bin/python bench/profile.py /labs/synthetic-lab-7/ [/labs/ ...] [--profile] [--cache]

It reads the benchmark's SQLite file (bench/bench.sqlite3, left by `make bench`), or
DATABASE_URL, in production mode as the benchmark serves it: no page cache unless
``--cache`` (then Redis db 15, as the benchmark's cached mode). Times are wall-clock on
a shared machine: compare minimums of runs made one after the other, never one run.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile of each path")
    parser.add_argument("--cache", action="store_true", help="with the page cache (Redis db 15)")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'bench' / 'bench.sqlite3'}")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="labsite.settings", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="testserver", SITE_URL="http://testserver", SECURE_SSL_REDIRECT="0",
        API_THROTTLE_ANON="100000/second", API_THROTTLE_USER="100000/second",
        PAGE_CACHE_SECONDS="300" if args.cache else "0",
    )
    if args.cache:
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

    import logging

    import django

    django.setup()
    logging.disable(logging.CRITICAL)  # one log line per request is not what is measured

    from django.db import connections
    from django.test import Client

    client = Client()
    for path in args.paths:
        client.get(path)  # the first request builds what every later one reuses
        queries = []
        with connections["default"].execute_wrapper(lambda execute, *rest: queries.append(1) or execute(*rest)):
            response = client.get(path)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        print(
            f"{path}: {response.status_code}, {len(response.content) / 1024:.0f} KB, {len(queries)} queries; "
            f"min {min(times):.1f} ms, median {statistics.median(times):.1f} ms over {args.repeat}"
        )
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            with profiler:
                for _ in range(args.repeat):
                    client.get(path)
            print(profiler.output_text(color=False, unicode=False))


if __name__ == "__main__":
    main()
