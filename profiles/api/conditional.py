"""
Conditional requests: ``ETag`` on reads, ``If-Match`` on writes.

Every GET's ETag is a hash of its body as sent (``body_etag``), lists and details alike:
each format and each audience (staff see other fields than readers) has its own, a
byte-identical body keeps its ETag whatever was saved meanwhile, and a changed body (a
renamed lab shown in its release's detail, a scheduled row gone live) always has a new
one. A conditional GET is answered as an unconditional one (built, or taken from the
readers' shared copy, profiles/caching.py) and then, when the client holds that body
already, as a 304 (``answer_conditionally``). No Last-Modified is sent: no one time says
when a body that shows many rows last changed, so ``If-Modified-Since`` is never a 304.

``If-Match`` on a write takes the ETag of the object's detail as its user would GET it now,
or the bare version number (``check_if_match``).
"""

import hashlib

from django.http import HttpResponseNotModified

from .exceptions import PreconditionFailed


def body_etag(content):
    """The ETag of a body: a hash of the bytes as sent, so each format (JSON, CSV) has its own."""
    return f'"{hashlib.sha256(content).hexdigest()[:32]}"'


def tag_body(response):
    """Render ``response`` and tag it with the hash of its body; the answer to the same URL varies by user."""
    response.render()
    response["ETag"] = body_etag(response.content)
    add_vary(response)
    return response


def add_vary(response):
    # The same URL answers staff and readers differently.
    response["Vary"] = ", ".join(filter(None, [response.get("Vary"), "Authorization, Cookie"]))
    return response


def _tags(header):
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def etag_matches(header, etag):
    """Weak comparison (If-None-Match): ``W/`` prefixes are ignored; ``*`` matches anything."""
    bare = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == bare for tag in _tags(header))


def answer_conditionally(request, response):
    """
    ``response`` (a GET's 200, built or taken from the shared copy), or a 304 with its
    validators when ``If-None-Match`` names its ETag: the client holds these bytes already.
    """
    if_none_match = request.headers.get("If-None-Match")
    if (
        if_none_match is None or request.method not in ("GET", "HEAD") or response.status_code != 200
        or not response.has_header("ETag") or not etag_matches(if_none_match, response["ETag"])
    ):
        return response
    unchanged = HttpResponseNotModified()
    for header in ("ETag", "Vary", "Cache-Control"):
        if response.has_header(header):
            unchanged[header] = response[header]
    return unchanged


def check_if_match(request, instance, current_etag):
    """
    412 when If-Match names neither the ETag of the object's detail as its user would GET
    it now (``current_etag()``, built only when a tag needs it) nor the stored version.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return
    version = getattr(instance, "version", None)
    tags = _tags(header)
    if any(tag == "*" or (version is not None and tag.removeprefix("W/").strip('"') == str(version)) for tag in tags):
        return
    etag = current_etag()
    if any(tag.removeprefix("W/") == etag.removeprefix("W/") for tag in tags):
        return
    raise PreconditionFailed(
        f"If-Match names another version than the stored one ({etag}"
        + (f", version {version}" if version is not None else "")
        + "): fetch the object again and reapply your change."
    )
