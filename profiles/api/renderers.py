"""``?format=csv`` on list endpoints: one row per object, nested objects flattened."""

import csv
import io

from rest_framework import renderers


def flatten(value, prefix=""):
    """``{"lab": {"slug": "x"}}`` → ``{"lab.slug": "x"}``; a list becomes one cell, items joined by "; "."""
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
