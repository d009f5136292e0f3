"""Answers for a database that is busy: a 503 "try again" rather than a 500 when SQLite stays locked."""
from __future__ import annotations

from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

BUSY_MESSAGE = "The library is busy with another change; try again in a moment."
RETRY_AFTER_SECONDS = 5


def database_busy(exc: BaseException) -> bool:
    """SQLite's lock was held longer than its timeout (another writer: a worker, a long import)."""
    return isinstance(exc, OperationalError) and "locked" in str(exc)


def busy_response(request) -> HttpResponse:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if "application/json" in request.headers.get("Accept", "") or request.path.endswith(".json"):
        return JsonResponse({"error": {"message": BUSY_MESSAGE}}, status=503, headers=headers)
    # A page of its own: the site's skeleton reads the session and user, from the very database that is busy.
    return HttpResponse(render_to_string("503.html", {"message": BUSY_MESSAGE}), status=503, headers=headers)


class DatabaseBusyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return busy_response(request) if database_busy(exception) else None
