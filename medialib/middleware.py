"""Middleware of the pages: the Content-Security-Policy HTML pages carry in production, and a 503 "try again"
rather than a 500 when SQLite stays locked."""
from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
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


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, with a lock met saving the session (after the view, in process_response) a 503 too.

    DatabaseBusyMiddleware cannot see it: process_exception is only for the view's exceptions, and Django turns
    an exception raised in a middleware into a 500 response right there, before any outer middleware's __call__.
    The answer carries no session cookie: the session it would name was not saved.
    """

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except OperationalError as exc:
            if not database_busy(exc):
                raise
            return busy_response(request)


class ContentSecurityPolicyMiddleware:
    """Adds settings.CONTENT_SECURITY_POLICY to HTML answers when DEBUG is off.

    Only to HTML: the JSON API has nothing to run, and the files served have their own, stricter sandboxing
    policy (medialib.views), which is never replaced. Off with DEBUG, whose error pages rely on inline script.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if (policy and not settings.DEBUG and response.get("Content-Type", "").startswith("text/html")
                and "Content-Security-Policy" not in response):
            response["Content-Security-Policy"] = policy
        return response
