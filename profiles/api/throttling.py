"""
The API's throttles: a count of each client's requests per window, in the shared cache.

DRF's own throttles keep the time of every request a client made in the last period
and write that list back whole on every request. Under load (a few hundred requests
a second from one address) that list was 10-15% of an API request's time (bench/), so
these keep two numbers instead: when the client's window opened and how many requests
it has made in it. The window opens at the client's first request and lasts the rate's
period, so a client may send up to twice the rate across the edge of two windows, as
with GitHub's API. The rate is read from settings at request time (DRF's classes copy
``DEFAULT_THROTTLE_RATES`` once, at import, so a deployment's or a test's setting
would not reach them).
"""

import math

from rest_framework import throttling
from rest_framework.settings import api_settings

from labsite.auth_backends import client_ip


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
        opened, count = self.cache.get(self.key) or (self.now, 0)
        if self.now - opened >= self.duration:
            opened, count = self.now, 0
        self.window_end = opened + self.duration
        if count >= self.num_requests:
            return self.throttle_failure()
        self.cache.set(self.key, (opened, count + 1), math.ceil(self.window_end - self.now))
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
