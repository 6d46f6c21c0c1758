"""
Every page type at scale, one request at a time: where a page is slow, large or costs
many queries. It finds what `make bench` does not load (a search, a deep page, the
sitemap): each of this session's scale fixes began as a line of this table.

    .venv/bin/python bench/sweep.py                      # on bench/bench.sqlite3 (make bench makes it)
    .venv/bin/python bench/sweep.py --database postgres://postgres@127.0.0.1:5432/labsite_bench

In process, through Django's test client, in production mode without the page cache, so
each figure is the page built from the database. The median of --repeat runs after two
warm-up requests; queries counted on one more. Nothing here asserts a speed.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Synthetic slugs (generate_synthetic) and the starting data's own.
URLS = [
    "/", "/labs/", "/labs/?page=40", "/labs/?sort=-latest", "/labs/?country=CN", "/labs/?q=shanghai",
    "/labs/synthetic-lab-7/", "/labs/shanghai-ai-laboratory/", "/labs/synthetic-lab-7/feed/",
    "/compare/?labs=synthetic-lab-7,synthetic-lab-8", "/people/synthetic-person-7/", "/people/yu-qiao/",
    "/releases/", "/releases/?page=1500", "/releases/?lab=synthetic-lab-7&kind=model", "/releases/?lab=synthetic",
    "/releases/synthetic-release-7/", "/sources/", "/sources/?page=200", "/sources/synthetic-source-7/",
    "/feed/", "/feed/atom/", "/sitemap.xml", "/sitemap-releases.xml?p=10",
    "/api/labs/", "/api/labs/?search=shanghai", "/api/labs/synthetic-lab-7/", "/api/people/",
    "/api/people/synthetic-person-7/", "/api/releases/?page_size=1", "/api/releases/?page_size=100",
    "/api/releases/?search=internlm", "/api/releases/?page=2000", "/api/sources/", "/api/citations/",
    "/api/roles/", "/api/sections/", "/api/organizations/",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=f"sqlite:///{ROOT / 'bench' / 'bench.sqlite3'}")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("urls", nargs="*", help="paths to measure (default: every page type)")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database, DEBUG="0", SECRET_KEY=os.environ.get("SECRET_KEY", "sweep-" + "x" * 50),
        ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0", PAGE_CACHE_SECONDS="0", DJANGO_SETTINGS_MODULE="labsite.settings",
        SITE_URL=os.environ.get("SITE_URL", "http://testserver"),
        API_THROTTLE_ANON="100000/second",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    logging.disable(logging.INFO)  # the request log: one line per request
    client = Client()
    print(f"{'ms':>8} {'bytes':>10} {'queries':>7} status path")
    for path in args.urls or URLS:
        client.get(path)
        client.get(path)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as context:
            client.get(path)
        print(f"{statistics.median(times):8.1f} {len(response.content):>10} {len(context.captured_queries):>7} "
              f"{response.status_code:>6} {path}")


if __name__ == "__main__":
    main()
