"""
Whole-page caching for readers, never stale after a save or a publish.

Every cached page's key carries the *content generation*: a counter in the shared
cache that any save or delete of profile data bumps (signals connected in
``ProfilesConfig.ready``). A change therefore retires every cached page at once, on
every app server sharing the cache. Rows that go live by time alone (scheduled
publishing) change nothing in the database, so a page is never cached past the next
scheduled go-live. Signed-in users (staff previews) and non-GET requests bypass it.
"""

import datetime
import uuid

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

GENERATION_KEY = "labsite:content-generation"
NEXT_GO_LIVE_KEY = "labsite:next-go-live"


def content_generation():
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        generation = uuid.uuid4().hex
        cache.add(GENERATION_KEY, generation, None)
        generation = cache.get(GENERATION_KEY, generation)
    return generation


def bump_content_generation(**kwargs):
    """Signal receiver: some profile data changed, so every cached page is retired."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
    cache.delete(NEXT_GO_LIVE_KEY)


def seconds_until_next_go_live():
    """Seconds until the next scheduled row goes live (None when nothing is scheduled)."""
    from .models import Lab, Person, Release, Source

    cached = cache.get(NEXT_GO_LIVE_KEY)
    if cached and datetime.datetime.fromisoformat(cached) <= timezone.now():
        cached = None  # that row is live now: look for the one after it
    if cached is None:
        # One query over the four tables.
        first, *others = [model.objects.scheduled().values_list("published_at", flat=True).order_by()
                          for model in (Lab, Person, Release, Source)]
        upcoming = first.union(*others).order_by("published_at").first()
        cached = upcoming.isoformat() if upcoming else ""
        cache.set(NEXT_GO_LIVE_KEY, cached, settings.PAGE_CACHE_SECONDS or 60)
    if not cached:
        return None
    return max(0, (datetime.datetime.fromisoformat(cached) - timezone.now()).total_seconds())


class PublicPageCacheMixin:
    """For public views: serve anonymous GETs from the shared cache (PAGE_CACHE_SECONDS; 0 = off)."""

    def dispatch(self, request, *args, **kwargs):
        timeout = settings.PAGE_CACHE_SECONDS
        # Previews (staff, or a signed link held by anyone) are never cached: they show
        # what readers may not see, and a revoked link must stop working at once.
        previewing = getattr(self, "preview_link", None) is not None
        if not timeout or request.method not in ("GET", "HEAD") or request.user.is_authenticated or previewing:
            return super().dispatch(request, *args, **kwargs)
        key = f"labsite:page:{content_generation()}:{request.get_full_path()}"
        cached = cache.get(key)
        if cached is not None:
            return cached
        response = super().dispatch(request, *args, **kwargs)
        private = "private" in response.get("Cache-Control", "") or "no-store" in response.get("Cache-Control", "")
        if response.status_code == 200 and not response.has_header("Set-Cookie") and not private:
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            until_go_live = seconds_until_next_go_live()
            if until_go_live is not None:
                timeout = min(timeout, int(until_go_live))
            if timeout > 0:
                cache.set(key, response, timeout)
        return response
