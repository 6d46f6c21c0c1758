"""
``?format=csv`` on list endpoints: one row per object, nested objects flattened.

A list's CSV is every row its filters select, streamed (``CSVTable``); the renderer
writes what is not a list (one object, or an error).
"""

import csv
import hashlib
import io
import itertools
import json

from django.http import StreamingHttpResponse
from rest_framework import renderers


# Objects that may be null, with the columns they flatten to: a null one gives the same
# columns, empty, so the columns of a release list do not depend on which rows link a base
# model or were imported (the rows' values of ``base_model`` and ``provenance``).
NULLABLE_OBJECTS = {
    "base_model": ("slug", "name", "url"),
    "provenance": ("dataset", "licence", "url", "last_modified"),
}


def flatten(value, prefix=""):
    """``{"lab": {"slug": "x"}}`` → ``{"lab.slug": "x"}``; a list becomes one cell, items joined by "; "."""
    if value is None and prefix in NULLABLE_OBJECTS:
        return {f"{prefix}.{key}": "" for key in NULLABLE_OBJECTS[prefix]}
    if isinstance(value, dict):
        row = {}
        for key, item in value.items():
            row.update(flatten(item, f"{prefix}.{key}" if prefix else key))
        return row
    if isinstance(value, list):
        cells = []
        for item in value:
            if isinstance(item, dict):
                item = item.get("slug") or item.get("name") or item.get("url") or ""
            cells.append("" if item is None else str(item))
        return {prefix: "; ".join(cells)}
    return {prefix: "" if value is None else value}


# A spreadsheet runs a cell that starts with one of these as a formula: =HYPERLINK(...)
# in a name would send the reader who opens the export to another site. OWASP's advice:
# a leading single quote makes such a cell text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell as a spreadsheet shows it, never as a formula it runs."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        # A page of a list: its rows. An error or a single object: one row.
        rows = data.get("results", [data]) if isinstance(data, dict) else data
        flat = [{column: neutralise(value) for column, value in flatten(row).items()} for row in rows]
        columns = []
        for row in flat:
            columns += [column for column in row if column not in columns]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(flat)
        return out.getvalue().encode(self.charset)


# --------------------------------------------------------------------------
# A whole list, streamed
# --------------------------------------------------------------------------


class CSVTable:
    """
    Every row of ``queryset`` as CSV, the renderer's columns and cells, read in chunks of
    ``chunk_size`` (``.iterator()``: one query per pass, plus a list serializer's prefetches
    per chunk) and serialised a chunk at a time by ``serialize(rows)``, so memory holds
    one chunk, whatever the number of rows.

    The columns are what the renderer makes of a page, over all the rows (in order of
    first appearance): known only after a first pass, ``plan()``, which also hashes the
    columns and cells. The body is a function of them alone, so that hash is as good an
    ETag as one of the bytes (equal bodies, equal tags) and is known before the first byte
    is sent; ``lines()`` is the second pass, the body itself.
    """

    def __init__(self, queryset, serialize, chunk_size=500):
        self.queryset, self.serialize, self.chunk_size = queryset, serialize, chunk_size

    def flat_rows(self):
        rows = self.queryset.iterator(chunk_size=self.chunk_size)
        while chunk := list(itertools.islice(rows, self.chunk_size)):
            for row in self.serialize(chunk):
                yield {column: neutralise(value) for column, value in flatten(row).items()}

    def plan(self):
        """(columns, ETag) of the body ``lines()`` will send."""
        columns, seen = [], set()
        digest = hashlib.sha256(b"csv")
        for row in self.flat_rows():
            for column in row:
                if column not in seen:
                    seen.add(column)
                    columns.append(column)
            digest.update(json.dumps(list(row.items()), default=str, ensure_ascii=False).encode() + b"\n")
        digest.update(json.dumps(columns, ensure_ascii=False).encode())
        return columns, f'"{digest.hexdigest()[:32]}"'

    def lines(self, columns, charset="utf-8"):
        """The body: the header, then a chunk of rows at a time (bytes)."""
        out = io.StringIO()
        # A column the plan did not see (a row changed between the passes) is left out
        # rather than breaking the body half-way.
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n", extrasaction="ignore")

        def taken():
            text = out.getvalue()
            out.seek(0)
            out.truncate()
            return text.encode(charset)

        writer.writeheader()
        yield taken()
        for count, row in enumerate(self.flat_rows(), 1):
            writer.writerow(row)
            if count % self.chunk_size == 0:
                yield taken()
        if rest := taken():
            yield rest


class CSVStreamingResponse(StreamingHttpResponse):
    """
    A streamed CSV. ``content`` joins the stream, for code in the same process that
    reads a body whole (the test client's callers); servers read ``streaming_content``.
    """

    @property
    def content(self):
        body = b"".join(self.streaming_content)
        self.streaming_content = [body]
        return body
