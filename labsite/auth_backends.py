"""django-axes, adapted: logins without a request (tests, scripts) skip the lock-out check; the client's address."""

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
    """
    The client's address, the one rule for the login lock-out (AXES_CLIENT_IP_CALLABLE) and
    the API's throttles: with TRUSTED_PROXY_COUNT = N > 0, the Nth X-Forwarded-For entry
    from the right (the one our outermost proxy added; entries left of it are the client's
    own writing); with 0, or fewer entries than N, REMOTE_ADDR.
    """
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
