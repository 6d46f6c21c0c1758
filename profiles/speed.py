"""
The speed devices the read path keeps: each one is here, with its measured gain next to
it (and in docs/performance.md, with those tried and removed). Each is a departure from
the plain Django way, kept only because it pays; remove one when it stops paying.

- ``reverse_slug``: a URL built around its slug instead of walking the URLconf.
- ``LikelyLookup``: SQLite told that the published-and-live rule holds for most rows.
- ``country_name``: a country's name kept per code and language.

(The other devices live where their subject does: the totals and facet counts kept under
the content generation in ``profiles/caching.py``, the API list's ``values()`` rows in
``profiles/api/serializers.py`` (``ReleaseRows``), the throttles' window count in
``profiles/api/throttling.py``, and ``ReleaseQuerySet.published_of_shown_lab`` next to the
rule it halves.)
"""

import functools
import re

from django.db import models
from django.db.models.lookups import Exact, LessThanOrEqual
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language
from django_countries import countries

SLUG_PLACEHOLDER = "--slug--"
SLUG_CHARACTERS = re.compile(r"[-a-zA-Z0-9_]+")  # a SlugField's (the API's lookups take the same)


@functools.lru_cache(maxsize=64)
def _slug_url_parts(view_name, urlconf, script_prefix):
    return tuple(reverse(view_name, urlconf=urlconf, kwargs={"slug": SLUG_PLACEHOLDER}).split(SLUG_PLACEHOLDER))


def slug_url_parts(view_name):
    """The URL of ``view_name`` around its slug, as (before, after): reversed once per URLconf and script prefix."""
    return _slug_url_parts(view_name, get_urlconf(), get_script_prefix())


def reverse_slug(view_name, slug):
    """
    ``reverse(view_name, kwargs={"slug": slug})``, without walking the URLconf each time.

    A lab page links to each of its releases and people several times over (chart, list,
    at a glance): a hundred ``reverse()`` calls were a fifth of its rendering time (with
    Jinja2 now, a lab page 22.4 against 24.5 ms, the API list 8.2 against 8.9). A value outside a slug's characters goes through ``reverse()`` itself, which checks
    and quotes it.
    """
    if not SLUG_CHARACTERS.fullmatch(slug or ""):
        return reverse(view_name, kwargs={"slug": slug})
    before, after = slug_url_parts(view_name)
    return f"{before}{slug}{after}"


class LikelyLookup:
    """
    A lookup for a condition that holds for most rows, said so to SQLite's query planner
    with ``likely()``, which changes no result; other databases get the plain lookup.

    Without statistics (no ``ANALYZE`` has run) SQLite guesses that ``state = 'published'``
    keeps a few rows and ``published_at <= now`` a quarter of them; with them it still
    guesses the quarter. For a short page of releases (``?page_size=10``) it then
    searched one of those indexes and sorted what it found (30 ms at 50,000 releases)
    rather than walk the index of the list's own order and stop after ten rows (0.2 ms).
    (After an ``ANALYZE``, pages of under eight releases are still planned from the
    labs' side, 35 ms at that scale: SQLite's own estimate, which this does not reach.)
    PostgreSQL plans from its statistics. A lookup rather than a function wrapped around
    a ``Q``: that built and compiled in 0.45 ms more per query (bench/).
    """

    plain_lookup = None  # the lookup this one is, "exact" or "lte"

    def get_rhs_op(self, connection, rhs):
        return connection.operators[self.plain_lookup] % rhs

    def as_sqlite(self, compiler, connection):
        sql, params = self.as_sql(compiler, connection)
        return f"likely({sql})", params


@models.CharField.register_lookup
class LikelyExact(LikelyLookup, Exact):
    lookup_name, plain_lookup = "likely_exact", "exact"


@models.DateTimeField.register_lookup
class LikelyLessThanOrEqual(LikelyLookup, LessThanOrEqual):
    lookup_name, plain_lookup = "likely_lte", "lte"


def country_name(country):
    """
    ``country.name`` (a ``CountryField``'s value), kept per code and language: asked of
    django_countries, each name went through gettext, and the lab index's thirty cards
    took 0.6 ms longer (7.0 against 6.4 ms, minimums, in process).
    """
    return _country_name(country.code, get_language())


@functools.lru_cache(maxsize=1024)
def _country_name(code, language):
    return countries.name(code)
