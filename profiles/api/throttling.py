"""
The API's throttles: a count of each client's requests per window, in the shared cache.

DRF's own throttles keep the time of every request a client made in the last period and
write that list back whole on every request: 10-15% of an API request's time under load
(bench/), and two requests at once could each write back a list missing the other. Here
each window of the rate's period (aligned to the clock: each minute for "600/minute")
has one counter per client, added to atomically: with Redis in one round trip
(``ResilientRedisCache.count_request``), elsewhere with the cache's own ``add`` and ``incr``. A
client may send up to twice the rate across the edge of two windows, as with GitHub's
API. The rate is read from settings at request time (DRF's classes copy
``DEFAULT_THROTTLE_RATES`` once, at import, so a deployment's or a test's setting would
not reach them).
"""

import math

from rest_framework import throttling
from rest_framework.settings import api_settings

from labsite.auth_backends import client_ip


def count_request(cache, key, seconds):
    """One more request under ``key`` (kept ``seconds``): the count so far, this one included."""
    if hasattr(cache, "count_request"):  # ResilientRedisCache: INCR and EXPIRE in one round trip
        return cache.count_request(key, seconds)
    cache.add(key, 0, seconds)
    try:
        return cache.incr(key)
    except ValueError:  # gone since add(): the backend's clock passed the window's end
        return 1


class WindowCountMixin:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        # Kept a second past the window's end: a key per window, so nothing needs resetting.
        requests = count_request(self.cache, f"{self.key}:{window}", math.ceil(self.window_end - self.now) + 1)
        if requests > self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def throttle_success(self):
        return True

    def get_ident(self, request):
        """The client's address by the login lock-out's rule (TRUSTED_PROXY_COUNT). DRF's own,
        without NUM_PROXIES, keys on the whole X-Forwarded-For: a new value, a new client."""
        return client_ip(request)

    def wait(self):
        """Seconds until the window closes (the 429's Retry-After)."""
        return max(0.0, self.window_end - self.now)


class AnonRateThrottle(WindowCountMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(WindowCountMixin, throttling.UserRateThrottle):
    """Signed-in users' limit. DRF's applies it to anonymous clients too, by address,
    which only repeats the (lower) anonymous limit at the cost of a cache read and write."""

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)
