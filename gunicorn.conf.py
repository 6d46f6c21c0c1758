"""gunicorn settings for `make serve` (production mode); every value can come from the environment."""

import multiprocessing
import os

bind = os.environ.get("BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
# WEB_CONCURRENCY is the usual name; default: 2 per core, plus one.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then (guards against slow leaks). Workers are forked from a
# master that has already imported and warmed the app (``preload_app``, ``when_ready``),
# so a new worker costs a fork rather than half a second of start-up. Cold starts every
# 2,000 requests cost 10-25% of the throughput at 500-1,500 req/s (bench/). The price of
# preloading: new code needs a restart of the master, not a HUP.
preload_app = True
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10
# No access log: labsite.middleware.RequestLogMiddleware writes one JSON line per request.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Trust X-Forwarded-* only from the proxy in front (comma-separated addresses).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "labsite.wsgi:application"


def when_ready(server):
    """In the master, after the app is loaded and before any worker is forked."""
    from labsite.wsgi import warm_up

    warm_up()
