"""Rate limits: login brute force, sign-up floods and write floods get a clear 429.

Rates come from settings.THROTTLE_RATES (environment: THROTTLE_LOGIN, THROTTLE_LOGIN_IP,
THROTTLE_SIGNUP, THROTTLE_WRITE) and are read on every request, so tests and operators can change
them without re-importing. Counters live in the default cache: Redis when REDIS_URL is set (shared
by every web process), else process memory.

Login attempts are counted per client address and username (one account guessed at) and per
address alone (many accounts sprayed). When the cache is unreachable the login limit fails closed
(HTTP 503: the service is degraded, try again) and the write limit fails open (writes keep working
while Redis is down; the database still guards every rule).
"""
import hashlib
import logging

from django.conf import settings
from django.core.cache import caches
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

log = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SettingsRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle whose rate is looked up in settings.THROTTLE_RATES at request time."""

    cache_name = "default"
    fail_open = True

    def __init__(self):  # the parent reads the rate at construction; ours is read in allow_request
        self.cache = caches[self.cache_name]

    def get_rate(self):
        return settings.THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # the cache (Redis) is down
            if self.fail_open:
                log.warning("throttle %s not applied: cache unavailable (%s)", self.scope, exc)
                return True
            raise

    def throttle_failure(self):
        return False


class WriteRateThrottle(SettingsRateThrottle):
    """Every write (POST, PUT, PATCH, DELETE) of one user, or of one address when anonymous."""

    scope = "write"

    def get_cache_key(self, request, view):
        if request.method not in UNSAFE_METHODS:
            return None
        ident = f"user-{request.user.pk}" if request.user and request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SignupRateThrottle(SettingsRateThrottle):
    """New accounts from one address."""

    scope = "signup"

    def get_cache_key(self, request, view):
        if request.method not in UNSAFE_METHODS:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginRateThrottle(SettingsRateThrottle):
    """Password attempts for one username from one address (scope "login"), or for any username
    from one address (scope "login_ip"). Fails closed when the cache is unreachable."""

    scope = "login"
    fail_open = False

    def __init__(self, scope: str = "login"):
        super().__init__()
        self.scope = scope

    def get_cache_key(self, request, view):
        ident = self.get_ident(request)
        if self.scope == "login":
            data = getattr(request, "data", None)
            username = data.get("username", "") if isinstance(data, dict) else ""  # any JSON may arrive
            digest = hashlib.sha256(str(username).strip().lower().encode()).hexdigest()[:32]
            ident = f"{ident}-{digest}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginIpRateThrottle(LoginRateThrottle):
    def __init__(self):
        super().__init__(scope="login_ip")


def throttle_check(request, *throttle_classes, username: str = "") -> None:
    """For views that are not DRF views (the login and sign-up pages): raise Throttled (429) when
    one of the limits ran out for this address (and `username`)."""

    class _Request:  # what the throttles read: the address, the method and the submitted username
        META = request.META
        headers = request.headers
        method = request.method
        user = getattr(request, "user", None)
        data = {"username": username}

    for cls in throttle_classes:
        throttle = cls()
        if not throttle.allow_request(_Request, None):
            raise Throttled(wait=throttle.wait())
