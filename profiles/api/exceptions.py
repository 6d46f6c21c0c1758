"""
One JSON error shape for every failure of the API:

    {"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"name": ["..."]}}}

DRF's own handler decides the status and headers (``WWW-Authenticate`` on 401,
``Retry-After`` on 429); this module only reshapes the body and adds the failures DRF
does not know: ``EditConflict`` (409), Django's ``ValidationError``, a delete refused
because other rows refer to the object (409), and what Django itself answers with its
400 page (a body too large: 413).
"""

import logging
from collections import Counter

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import JsonResponse
from django.template.defaultfilters import filesizeformat
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

from ..models import EditConflict


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The object has changed since the version named in If-Match."
    default_code = "precondition_failed"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object was changed by someone else while you were saving it."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def _still_referred_to(error):
    """What a ProtectedError or RestrictedError names, for the client: which rows refer to the object."""
    rows = error.protected_objects if isinstance(error, ProtectedError) else error.restricted_objects
    names = sorted(str(row) for row in rows)
    kinds = Counter(type(row)._meta for row in rows)
    counted = " and ".join(
        f"{count} {meta.verbose_name if count == 1 else meta.verbose_name_plural}"
        for meta, count in sorted(kinds.items(), key=lambda item: item[0].label)
    )
    shown = "; ".join(names[:5]) + (f"; and {len(names) - 5} more" if len(names) > 5 else "")
    one = len(names) == 1
    return (f"Cannot delete: {counted} still {'refers' if one else 'refer'} to it ({shown}). "
            f"Delete or change {'it' if one else 'them'} first.")


def error_body(status_code, code, message, fields=None):
    error = {"status": status_code, "code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _first_message(detail):
    """The first human message in a (possibly nested) DRF error detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            if message:
                return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
        return ""
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def _messages(detail, where=""):
    """
    A field's errors as a flat list of strings (the documented shape): errors of a list's
    items or a nested object's fields are prefixed with where they are ("item 2: …").
    """
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            place = f"item {int(key) + 1}" if str(key).isdigit() else str(key)
            found += _messages(value, f"{where}{place}: ")
        return found
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [f"{where}{item}" for item in detail]
        found = []
        for index, item in enumerate(detail):
            if item:  # a list serializer's valid items have no errors
                found += _messages(item, f"{where}item {index + 1}: ")
        return found
    return [f"{where}{detail}"]


def _first_code(codes):
    if isinstance(codes, dict):
        return _first_code(next(iter(codes.values()), "invalid"))
    if isinstance(codes, list):
        return _first_code(codes[0]) if codes else "invalid"
    return str(codes)


def api_exception_handler(exc, context):
    # Model-level failures, translated to the API exceptions they mean.
    if isinstance(exc, EditConflict):
        exc = Conflict(str(exc))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, (ProtectedError, RestrictedError)):  # on_delete=PROTECT or RESTRICT
        exc = Conflict(_still_referred_to(exc), code="protected")
    elif isinstance(exc, (SuspiciousOperation, BadRequest)):
        # What Django answers with its HTML 400 page, in the API's shape; logged where Django logs it.
        if isinstance(exc, SuspiciousOperation):
            logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
        if isinstance(exc, RequestDataTooBig):
            limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
            exc = PayloadTooLarge(f"The request body is larger than the {limit} the API accepts.")
        else:
            exc = exceptions.ParseError(str(exc))
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django report it
    fields = None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = {key: _messages(value) for key, value in detail.items() if key != "non_field_errors"} or None
        message = _first_message(detail) or "Invalid input."
        code = _first_code(exc.get_codes())
    elif isinstance(exc, exceptions.APIException):
        message = _first_message(exc.detail)
        code = _first_code(exc.get_codes())
    else:  # Http404 and PermissionDenied, already turned into a response by DRF
        message = _first_message(response.data)
        code = {404: "not_found", 403: "permission_denied"}.get(response.status_code, "error")
    response.data = error_body(response.status_code, code, message, fields)
    return response


@csrf_exempt  # a POST with a session cookie must get this 404, not the CSRF page
def not_found(request, *args, **kwargs):
    """Any URL under /api/ that names no endpoint: a JSON 404, never the site's HTML page."""
    path = request.path
    hint = f" (did you mean {path}/ ?)" if not path.endswith("/") else ""
    return JsonResponse(
        error_body(404, "not_found", f"There is no API endpoint at {path}{hint}; /api/ lists them."), status=404
    )
