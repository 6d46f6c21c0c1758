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
    pass
