"""django-axes, adapted: logins without a request (tests, scripts) skip the lock-out check."""

from axes.backends import AxesStandaloneBackend
from django.conf import settings


class AxesBackend(AxesStandaloneBackend):
    """
    Axes' backend, first in AUTHENTICATION_BACKENDS: refuses a locked-out user name and
    address. ``authenticate()`` called without a request (``Client.login``, management
    commands) has no address to lock out, so it is left to the ModelBackend.
    """

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request):
    """The client's address: REMOTE_ADDR, or X-Forwarded-For's entry added by our own proxy."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
