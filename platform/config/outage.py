"""While the database, Redis or file storage is unreachable (or the disk is full), people get a clear HTTP 503 ("try again shortly",
with Retry-After), never a 500.

Two hooks, because Django turns an exception into a response at every middleware layer:
- `ServiceUnavailableMiddleware.process_exception` catches an outage raised by a view (the API
  and the pages), in debug and in production;
- `server_error` (the project's handler500) catches one raised anywhere else (a middleware, the
  session save) in production, where Django calls the handler inside its `except` block.
"""
import errno
import logging
import sys

from django.db import InterfaceError as DbInterfaceError
from django.db import OperationalError as DbOperationalError
from django.http import HttpResponse, JsonResponse
from django.views.defaults import server_error as django_server_error

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5


def _outage_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [DbOperationalError, DbInterfaceError]
    try:
        import redis.exceptions

        types += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                  redis.exceptions.BusyLoadingError]
    except ImportError:
        pass
    try:
        import botocore.exceptions

        types.append(botocore.exceptions.ConnectionError)  # S3 endpoint unreachable
    except ImportError:
        pass
    try:
        import kombu.exceptions

        types.append(kombu.exceptions.OperationalError)
    except ImportError:
        pass
    return tuple(types)


OUTAGE_TYPES = _outage_types()


STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_outage(exc: BaseException) -> bool:
    """An unavailable service (database, Redis, S3) or full storage: the request may succeed later."""
    if isinstance(exc, OSError) and exc.errno in STORAGE_FULL_ERRNOS:
        return True
    return isinstance(exc, OUTAGE_TYPES)


def service_name(exc: BaseException) -> str:
    if isinstance(exc, (DbOperationalError, DbInterfaceError)):
        return "database"
    if isinstance(exc, OSError) and exc.errno in STORAGE_FULL_ERRNOS:
        return "file storage (full)"
    if type(exc).__module__.startswith("botocore"):
        return "file storage (S3)"
    return "queue/cache (Redis)"


def outage_response(request, exc: BaseException) -> HttpResponse:
    """503 naming the service that is down: JSON for the API, a short page for people."""
    which = service_name(exc)
    log.warning("%s %s -> 503: %s unavailable (%s: %s)", request.method, request.path, which,
                type(exc).__name__, exc)
    message = f"Spacetime is briefly unavailable (the {which} is not answering). Try again in a few seconds."
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        res = JsonResponse({"detail": message, "code": "service_unavailable"}, status=503)
    else:
        res = HttpResponse(
            f"<!doctype html><title>Unavailable · Spacetime</title><h1>Briefly unavailable</h1><p>{message}</p>",
            status=503, content_type="text/html; charset=utf-8",
        )
    res["Retry-After"] = str(RETRY_AFTER_S)
    return res


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_outage(exception):
            return outage_response(request, exception)
        return None


def server_error(request, *args, **kwargs):
    """handler500: an outage that escaped the views still becomes a 503."""
    exc = sys.exc_info()[1]
    if exc is not None and is_outage(exc):
        return outage_response(request, exc)
    return django_server_error(request, *args, **kwargs)
