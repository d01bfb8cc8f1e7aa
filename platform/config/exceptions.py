"""Errors raised by services and how the API turns them into clear 4xx JSON.

Services raise Django's ValidationError with a dict {field: message} (HTTP 400), `Conflict` when
the request is valid but the object's state forbids it (HTTP 409), PermissionDenied (403) and
ObjectDoesNotExist / Http404 (404). Every body names the field or says what is wrong.
"""
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.views import exception_handler


class Conflict(DjangoValidationError):
    """The object is not in a state that allows this action (HTTP 409)."""


class DrfConflict(drf_exceptions.APIException):
    status_code = 409
    default_detail = "Conflict with the current state of the object."
    default_code = "conflict"


class Forbidden(DjangoValidationError):
    """The user may not do this, said per field like a validation error (HTTP 403)."""


class DrfForbidden(drf_exceptions.APIException):
    status_code = 403
    default_detail = "You may not do this."
    default_code = "forbidden"


class TooManyRequests(DjangoValidationError):
    """A limit on how much one account may do was reached (HTTP 429 with Retry-After). `body` is
    the JSON sent back as it is (fields plus, e.g., when the limit resets)."""

    def __init__(self, body: dict, *, retry_after: int):
        super().__init__(dict(body))
        self.body, self.retry_after = body, retry_after


class DrfTooManyRequests(drf_exceptions.APIException):
    status_code = 429
    default_detail = "Too many requests."
    default_code = "too_many_requests"

    def __init__(self, detail, wait: int):
        super().__init__(detail=detail)
        self.wait = wait


def _detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"detail": exc.messages[0] if len(exc.messages) == 1 else exc.messages}


def api_exception_handler(exc, context):
    if isinstance(exc, TooManyRequests):
        exc = DrfTooManyRequests(detail=exc.body, wait=exc.retry_after)
    elif isinstance(exc, Conflict):
        exc = DrfConflict(detail=_detail(exc))
    elif isinstance(exc, Forbidden):
        exc = DrfForbidden(detail=_detail(exc))
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(detail=_detail(exc))
    elif isinstance(exc, ObjectDoesNotExist) and not isinstance(exc, Http404):
        exc = drf_exceptions.NotFound(detail=str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied(detail=str(exc) or "You may not do this.")
    return exception_handler(exc, context)
