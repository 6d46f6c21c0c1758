"""Site-wide views: the health check, and the 500 handler that knows a database outage."""

import logging
import sys

from django.core.cache import cache
from django.db import connections
from django.http import HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from labsite.middleware import DATABASE_ERRORS, database_unavailable_response

logger = logging.getLogger("labsite.health")


@never_cache
@require_safe
def healthz(request):
    """200 {"status": "ok", "database": "ok", "cache": "ok"}, or 503 naming what failed."""
    result = {"status": "ok", "database": "ok", "cache": "ok"}
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        logger.error("health check: database: %s: %s", type(error).__name__, error)
        result["database"] = "error"
    try:
        if hasattr(cache, "check_health"):  # ResilientRedisCache hides outages elsewhere
            value = cache.check_health()
        else:
            cache.set("healthz", "ok", 10)
            value = cache.get("healthz")
        if value != "ok":
            raise RuntimeError("cache did not return what was stored")
    except Exception as error:  # noqa: BLE001
        logger.error("health check: cache: %s: %s", type(error).__name__, error)
        result["cache"] = "error"
    if result["database"] != "ok" or result["cache"] != "ok":
        result["status"] = "error"
        return JsonResponse(result, status=503)
    return JsonResponse(result)


def server_error(request, template_name="500.html"):
    """handler500: a database outage raised outside a view still gets our 503."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_ERRORS):
        return database_unavailable_response(request)
    try:
        template = loader.get_template(template_name)
        return HttpResponseServerError(template.render())
    except Exception:  # noqa: BLE001
        return HttpResponseServerError("<h1>Server Error (500)</h1>", content_type="text/html")
