"""
Production middleware: request log, database outages, replica pinning, CSP exception,
Permissions-Policy, NUL in query parameters.
"""

import json
import logging
import time
from contextlib import ExitStack
from urllib.parse import parse_qsl, unquote

from django.conf import settings
from django.core.exceptions import BadRequest
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from labsite import db_routers
from profiles.api.exceptions import error_body

request_logger = logging.getLogger("labsite.request")
db_logger = logging.getLogger("labsite.db")

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
PIN_COOKIE = "pin_primary"

DATABASE_ERRORS = (OperationalError, InterfaceError)

# Browser features no page of ours uses, refused to our pages and anything they embed. Only
# features Chromium knows: it logs an error for each unknown one (so "browsing-topics",
# the successor of the retired "interest-cohort").
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture", "geolocation",
        "gyroscope", "magnetometer", "microphone", "midi", "payment", "usb",
    )
)


class RequestLogMiddleware:
    """One JSON line per request on the "labsite.request" logger: method, path, status, ms, queries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request_logger.isEnabledFor(logging.INFO):
            return self.get_response(request)
        queries = [0]

        def count(execute, sql, params, many, context):
            queries[0] += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with ExitStack() as stack:
            for alias in connections:  # no connection is opened by wrapping it
                stack.enter_context(connections[alias].execute_wrapper(count))
            response = self.get_response(request)
        duration = (time.perf_counter() - started) * 1000
        request_logger.info(
            json.dumps(
                {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(duration, 1),
                    "queries": queries[0],
                },
                separators=(",", ":"),
            )
        )
        return response


def database_unavailable_response(request):
    """Our 503: JSON under /api/ and /healthz, a page elsewhere. Touches no database."""
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"detail": "The database is unavailable. Please try again in a minute.", "code": "database_unavailable"},
            status=503,
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = "30"
    return response


class DatabaseUnavailableMiddleware:
    """
    A database that is down or unreachable gives our 503 instead of a traceback; the
    process stays up, and the next request after the database is back is served as usual
    (Django drops the broken connection at the end of the request).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except DATABASE_ERRORS as error:
            return self._unavailable(request, error)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return self._unavailable(request, exception)
        return None

    def _unavailable(self, request, error):
        db_logger.error("database unavailable on %s %s: %s: %s", request.method, request.path, type(error).__name__, error)
        return database_unavailable_response(request)


class PrimaryPinningMiddleware:
    """
    After a client writes (any unsafe method), its reads go to the primary for
    REPLICA_PIN_SECONDS, so an editor sees their own save even if the replicas lag. The
    pin lives in a cookie holding its expiry time; the router reads a context variable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not getattr(settings, "DATABASE_REPLICAS", None):
            return self.get_response(request)
        now = time.time()
        try:
            pinned_until = float(request.COOKIES.get(PIN_COOKIE, "0"))
        except ValueError:
            pinned_until = 0
        writes = request.method not in SAFE_METHODS
        token = db_routers.pin(writes or pinned_until > now)
        try:
            response = self.get_response(request)
        finally:
            db_routers.unpin(token)
        if writes:
            seconds = settings.REPLICA_PIN_SECONDS
            response.set_cookie(
                PIN_COOKIE, f"{now + seconds:.3f}", max_age=seconds, httponly=True,
                secure=settings.SESSION_COOKIE_SECURE, samesite="Lax",
            )
        return response


class RelaxedCSPMiddleware:
    """Allows inline script and style on settings.CSP_RELAXED_PREFIXES only (Swagger UI)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if any(request.path.startswith(prefix) for prefix in getattr(settings, "CSP_RELAXED_PREFIXES", [])):
            response._csp_update = {"script-src": ["'unsafe-inline'"], "style-src": ["'unsafe-inline'"]}
        return response


class PermissionsPolicyMiddleware:
    """Adds PERMISSIONS_POLICY to every response: pages, the admin, the API, errors."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class NullCharacterMiddleware:
    """
    A NUL in a query parameter is a 400 on every page and endpoint: no parameter means
    anything with one, and PostgreSQL refuses NUL in text, so a filter or a search that
    reached the database with it was a 500. Checked once here, not by each filter.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        # unquote() decodes each %XX once, as Django does: "%00" is a NUL, "%2500" is not.
        if "\x00" not in unquote(query):
            return self.get_response(request)
        names = sorted({
            name.replace("\x00", "%00") for name, value in parse_qsl(query, keep_blank_values=True)
            if "\x00" in name + value
        })
        message = f"Null characters (%00) are not allowed in query parameters: {', '.join(names)}."
        if request.path.startswith("/api/"):
            fields = {name: ["Null characters are not allowed."] for name in names}
            return JsonResponse(error_body(400, "null_characters_not_allowed", message, fields), status=400)
        raise BadRequest(message)  # the site's own 400 page (handler400)
