"""
Throttles that read their rate from settings at request time.

DRF's own classes copy ``DEFAULT_THROTTLE_RATES`` once, at import, so a changed
setting (a deployment's environment, a test's override) would not reach them.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings


class LiveRateMixin:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonRateThrottle(LiveRateMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(LiveRateMixin, throttling.UserRateThrottle):
    """Signed-in users' limit. DRF's applies it to anonymous clients too, by address,
    which only repeats the (lower) anonymous limit at the cost of a cache read and write."""

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)
