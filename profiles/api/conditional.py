"""
Conditional requests: ``ETag``/``Last-Modified`` on reads, ``If-Match`` on writes.

A detail's ETag names the row and its version (every save bumps it) and the
audience (staff see other fields than readers), so a repeat request is answered from
one cheap query, before anything is serialised. A list's ETag is a hash of its
rendered page. ``If-Match`` on a write takes that ETag, or the bare version number.
"""

import hashlib

from django.http import HttpResponseNotModified
from django.utils.http import http_date, parse_http_date_safe, quote_etag
from rest_framework import status
from rest_framework.response import Response

from .exceptions import PreconditionFailed


def audience(request, model):
    """Who the answer is for: staff who preview every state, or readers of published rows."""
    queryset = model._default_manager.all()
    if hasattr(queryset, "previewable_by") and queryset.previewable_by(request.user):
        return "staff"
    return "public"


def row_etag(model, pk, version, updated, who, related=()):
    """``"lab-7-v3-public"``; with ``related`` (what else the detail shows), a digest of it appended."""
    stamp = f"v{version}" if version is not None else f"t{updated.timestamp():.6f}" if updated else "x"
    tag = f"{model._meta.model_name}-{pk}-{stamp}-{who}"
    if related:
        tag += "-" + hashlib.sha256(repr(list(related)).encode()).hexdigest()[:12]
    return quote_etag(tag)


def body_etag(content):
    """A list's ETag: a hash of the page as sent, so each format (JSON, CSV) has its own."""
    return quote_etag(hashlib.sha256(content).hexdigest()[:32])


def with_body_etag(request, response):
    """
    Render a list's page, tag it with a hash of the bytes, and answer 304 when the client
    holds that page already. Hashing what is sent encodes the page once (hashing the data
    encoded it a second time) and gives each representation its own tag.
    """
    response.render()
    etag = body_etag(response.content)
    if not_modified(request, etag, None):
        unchanged = HttpResponseNotModified()
        for header in ("Last-Modified", "Vary", "Cache-Control"):
            if response.has_header(header):
                unchanged[header] = response[header]
        unchanged["ETag"] = etag
        return unchanged
    response["ETag"] = etag
    return response


def _tags(header):
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def etag_matches(header, etag):
    """Weak comparison (If-None-Match): ``W/`` prefixes are ignored; ``*`` matches anything."""
    bare = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == bare for tag in _tags(header))


def not_modified(request, etag, last_modified):
    """Whether a GET may be answered 304 (If-None-Match first; If-Modified-Since only without it)."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return etag is not None and etag_matches(if_none_match, etag)
    since = parse_http_date_safe(request.headers.get("If-Modified-Since") or "")
    return bool(since and last_modified and int(last_modified.timestamp()) <= since)


def not_modified_response(etag, last_modified):
    response = Response(status=status.HTTP_304_NOT_MODIFIED)
    add_validators(response, etag, last_modified)
    return response


def add_validators(response, etag, last_modified):
    if etag:
        response["ETag"] = etag
    if last_modified:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    # The same URL answers staff and readers differently.
    response["Vary"] = ", ".join(filter(None, [response.get("Vary"), "Authorization, Cookie"]))
    return response


def check_if_match(request, instance, etag):
    """412 when If-Match names another version of the row than the stored one."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    version = getattr(instance, "version", None)
    for tag in _tags(header):
        bare = tag.removeprefix("W/").strip('"')
        if tag == "*" or tag.removeprefix("W/") == etag.removeprefix("W/") or (
            version is not None and bare == str(version)
        ):
            return
    raise PreconditionFailed(
        f"If-Match names another version than the stored one ({etag}"
        + (f", version {version}" if version is not None else "")
        + "): fetch the object again and reapply your change."
    )
