"""
Whole-page caching for readers, never stale after a save or a publish.

Every cached page's key carries the *content generation*: a counter in the database
(``ContentGeneration``, one row) that every save and delete of profile data advances in
its own transaction (signals connected in ``ProfilesConfig.ready``). The page cache reads
it once per request, so a change retires every cached page at once, in every process and
with every cache backend (Redis, the workers' disk cache, or one process's local memory
while a management command saves from another). Rows that go live by time alone
(scheduled publishing) change nothing in the database, so a page is never served past the
next scheduled go-live. Signed-in users (staff previews) and non-GET requests bypass it.
"""

import datetime
import hashlib
import secrets
from urllib.parse import urlencode

from asgiref.local import Local
from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.core.signals import request_finished, request_started
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import cached_property

from labsite.db_routers import is_client_pinned, pinned_to_primary

NEXT_GO_LIVE_KEY = "labsite:next-go-live"

# The generation read by the current request (read once per request; None: not read yet).
_request = Local()


def _request_started(**kwargs):
    _request.active, _request.generation = True, None


def _request_finished(**kwargs):
    _request.active, _request.generation = False, None


request_started.connect(_request_started, dispatch_uid="labsite-content-generation-start")
request_finished.connect(_request_finished, dispatch_uid="labsite-content-generation-finish")


def _stored_generation(using, advance=False):
    """
    The stored generation, or (``advance``) add one to it: an ``UPDATE ... SET value =
    value + 1`` in the caller's transaction, so concurrent writers never lose a bump and a
    rolled-back save takes its bump with it. Without the row (a flushed database) it is
    made afresh at a random value.
    """
    from .models import ContentGeneration

    if advance:
        if ContentGeneration.objects.using(using).filter(pk=1).update(value=F("value") + 1):
            return None
    else:
        # Read by every request, cached or not, so as SQL: 10 microseconds, where the
        # queryset took 155 to build and compile; a cached lab page 0.87 -> 0.53 ms, the
        # API lab detail 1.00 -> 0.65 ms (minimums, in process, SQLite).
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {connection.ops.quote_name(ContentGeneration._meta.db_table)} WHERE id = 1")
            row = cursor.fetchone()
        if row is not None:
            return row[0]
    value = secrets.randbits(48)
    try:
        with transaction.atomic(using=using):
            ContentGeneration.objects.using(using).create(pk=1, value=value)
    except IntegrityError:  # made by another process meanwhile
        return _stored_generation(using, advance)
    return value


def content_generation():
    """The content generation, read from the primary database once per request."""
    generation = getattr(_request, "generation", None)
    if generation is None:
        from .models import ContentGeneration

        generation = _stored_generation(router.db_for_write(ContentGeneration))
        if getattr(_request, "active", False):
            _request.generation = generation
    return generation


def bump_content_generation(sender=None, using=None, **kwargs):
    """Signal receiver: some profile data changed, so every cached page is retired."""
    from .models import ContentGeneration

    _stored_generation(using or router.db_for_write(ContentGeneration), advance=True)
    _request.generation = None  # this request reads its own change


def seconds_until_next_go_live():
    """Seconds until the next scheduled row goes live (None when nothing is scheduled)."""
    from .models import Lab, Person, Release, Revision, RevisionStatus, Source

    # Under the generation: a save (a new schedule among them) is a new key in every process.
    key = f"{NEXT_GO_LIVE_KEY}:{content_generation()}"
    cached = cache.get(key)
    if cached and datetime.datetime.fromisoformat(cached) <= timezone.now():
        cached = None  # that row is live now: look for the one after it
    if cached is None:
        # One query over the four tables, on the primary (a replica may not have the
        # latest schedule yet, and this is kept for every reader).
        first, *others = [model.objects.scheduled().values_list("published_at", flat=True).order_by()
                          for model in (Lab, Person, Release, Source)]
        # Scheduled drafts too, those already due included: documents.publish_due_if_time
        # publishes them at the first request after their time.
        others.append(Revision.objects.filter(status=RevisionStatus.SCHEDULED).values_list("go_live_at", flat=True).order_by())
        with pinned_to_primary():
            upcoming = first.union(*others).order_by("published_at").first()
        cached = upcoming.isoformat() if upcoming else ""
        cache.set(key, cached, settings.PAGE_CACHE_SECONDS or 60)
    if not cached:
        return None
    return max(0, (datetime.datetime.fromisoformat(cached) - timezone.now()).total_seconds())


def cache_timeout(timeout):
    """``timeout`` seconds, cut short so nothing cached outlives the next scheduled go-live."""
    until_go_live = seconds_until_next_go_live()
    return timeout if until_go_live is None else min(timeout, int(until_go_live))


def kept_for_readers(kind, name, compute, seconds=3600):
    """
    ``compute()`` (a list's total, its facet counts), kept in the shared cache under the
    content generation: any save retires it, and it is never kept past the next scheduled
    go-live, so it is never stale. ``name`` says which list and filters. Computed on the
    primary, never on a replica that may not have the latest change; a client pinned to
    the primary after its own write computes afresh.
    """
    if is_client_pinned():
        return compute()
    key = f"labsite:{kind}:{content_generation()}:{hashlib.sha256(name.encode()).hexdigest()}"
    value = cache.get(key)
    if value is None:
        with pinned_to_primary():
            value = compute()
        timeout = cache_timeout(seconds)
        if timeout > 0:
            cache.set(key, value, timeout)
    return value


def count_key(request, page_parameters):
    """A list's path and filters in a stable order (``page_parameters`` left out): one total per set of rows."""
    filters = sorted(
        (name, value) for name, values in request.GET.lists() if name not in page_parameters for value in values
    )
    return f"{request.path}?{urlencode(filters)}"


class CachedCountPaginator(Paginator):
    """
    A paginator whose total comes from the shared cache, under the content generation.

    Counting every row a reader may see is the costly part of a page of a long list
    (50,000 releases under the published-and-live rule: 50-100 ms), while the page's own
    rows come from an index in about a millisecond. The total changes only when the
    content does (which retires the key) or when a scheduled row goes live (which the
    timeout never passes), so it is never stale. ``count_key`` names the list and its
    filters; None counts in the database as usual (staff, whose lists include drafts).
    """

    def __init__(self, *args, count_key=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_key = count_key

    @cached_property
    def count(self):
        if self.count_key is None:
            return super().count
        return kept_for_readers("count", self.count_key, lambda: super(CachedCountPaginator, self).count)


class SharedCountMixin:
    """For a reader's paginated ListView: its total comes from the shared cache (CachedCountPaginator)."""

    paginator_class = CachedCountPaginator

    def get_paginator(self, queryset, per_page, orphans=0, allow_empty_first_page=True, **kwargs):
        # Staff (signed in) are counted afresh: their lists may include what readers' do not.
        if not self.request.user.is_authenticated:
            kwargs["count_key"] = count_key(self.request, {"page"})
        return super().get_paginator(queryset, per_page, orphans, allow_empty_first_page, **kwargs)


def shared_copy(response):
    """
    What the page cache keeps of a response: its status, headers and bytes. Not the
    response itself: a DRF Response pickles with the data it was rendered from, and
    unpickling that was 60% of the time of a cached API lab detail (docs/performance.md).
    """
    copy = HttpResponse(response.content, status=response.status_code)
    for header, value in response.items():
        copy[header] = value
    return copy


class PublicPageCacheMixin:
    """
    For public views and API endpoints: serve anonymous GETs from the shared cache
    (PAGE_CACHE_SECONDS; 0 = off). Views say what else than the URL picks the answer
    (``shared_copy_variant``) and when a request must not be answered from a shared copy
    (``shares_copy``).
    """

    def shared_copy_variant(self, request):
        return ""

    def admits(self, request):
        """Whether a request may be answered (from a shared copy or not): the API's throttles."""
        return True

    def shares_copy(self, request):
        # Previews (staff, or a signed link held by anyone) are never cached: they show
        # what readers may not see, and a revoked link must stop working at once.
        return getattr(self, "preview_link", None) is None

    def dispatch(self, request, *args, **kwargs):
        from .documents import publish_due_if_time

        timeout = settings.PAGE_CACHE_SECONDS
        # A client pinned to the primary after a write reads its own writes, not a shared copy.
        if (
            not timeout or request.method not in ("GET", "HEAD") or request.user.is_authenticated
            or is_client_pinned() or not self.shares_copy(request)
        ):
            publish_due_if_time()  # a scheduled draft whose time has come goes live first
            return super().dispatch(request, *args, **kwargs)
        variant = self.shared_copy_variant(request)
        # Hashed: a URL can be any length, and memcached refuses keys over 250 characters.
        page = hashlib.sha256(f"{variant}:{request.get_full_path()}".encode()).hexdigest()
        cached = cache.get(f"labsite:page:{content_generation()}:{page}")
        # Kept with the time it is good until (the next scheduled go-live, by the site's
        # clock): served only before then, whatever the cache backend's own clock says.
        # Scheduled drafts are among those go-lives (seconds_until_next_go_live), and
        # scheduling one is a new generation, so while a copy is good no draft is due and
        # it is served without asking (a cache read saved: a cached lab page 0.53 -> 0.46 ms,
        # the API lab detail 0.65 -> 0.60 ms, minimums, in process, Redis).
        if cached is not None and timezone.now().timestamp() < cached[0] and self.admits(request):
            return cached[1]
        publish_due_if_time()  # a new generation if a scheduled draft went live
        key = f"labsite:page:{content_generation()}:{page}"
        # Kept for every reader until the next change: built from the primary, never from
        # a replica that may not have that change yet (a miss is once per change and page).
        with pinned_to_primary():
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        private = "private" in response.get("Cache-Control", "") or "no-store" in response.get("Cache-Control", "")
        if response.status_code == 200 and not response.has_header("Set-Cookie") and not private:
            timeout = cache_timeout(timeout)
            if timeout > 0:
                cache.set(key, (timezone.now().timestamp() + timeout, shared_copy(response)), timeout)
        return response
