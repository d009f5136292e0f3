"""Middleware of the pages: the Content-Security-Policy HTML pages carry in production, and a 503 "try again"
rather than a 500 when SQLite stays locked."""
from __future__ import annotations

import sys
import tempfile

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.handlers.wsgi import LimitedStream, WSGIRequest
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


class ChunkedRequestMiddleware:
    """Requests sent with `Transfer-Encoding: chunked` and no Content-Length (the official Node SDK streams its
    uploads so), which Django would read as empty: the body is read here, its chunk framing removed when the
    server left it (the development and test servers; gunicorn removes it itself and says so with
    wsgi.input_terminated), and given to Django with its length. Over MEDIALIB_MAX_UPLOAD_BYTES (and some room
    for the form around the file) it is a 413, read no further."""

    SLACK = 1024 * 1024

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        environ = request.environ
        if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower() or environ.get("CONTENT_LENGTH"):
            return self.get_response(request)
        limit = settings.MEDIALIB_MAX_UPLOAD_BYTES + self.SLACK
        stream = environ["wsgi.input"]
        if isinstance(stream, LimitedStream) and not environ.get("wsgi.input_terminated"):
            # Django's development and test servers cap the socket at the Content-Length (none: 0 bytes); the
            # readers below enforce their own limit and stop at the body's end.
            stream.limit = sys.maxsize
        body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
        try:
            size = (body_read_to_end if environ.get("wsgi.input_terminated") else chunked_body_read)(stream, body, limit)
        except ValueError as exc:
            if isinstance(stream, LimitedStream):
                stream.limit = 0  # the dev server drains what is left: nothing more
            body.close()
            return HttpResponse(str(exc), status=413 if "larger" in str(exc) else 400,
                                content_type="text/plain; charset=utf-8")
        if isinstance(stream, LimitedStream):
            stream.limit = 0  # read to its end; the dev server's drain must not wait for more
        body.seek(0)
        environ["CONTENT_LENGTH"] = str(size)
        environ["wsgi.input"] = body
        try:
            return self.get_response(WSGIRequest(environ))  # the request as Django makes it, now with a length
        finally:
            body.close()


def body_read_to_end(stream, out, limit: int) -> int:
    size = 0
    for block in iter(lambda: stream.read(64 * 1024), b""):
        size += len(block)
        if size > limit:
            raise ValueError(f"The request body is larger than {limit:,} bytes.")
        out.write(block)
    return size


def chunked_body_read(stream, out, limit: int) -> int:
    """Decode HTTP/1.1 chunked framing (RFC 9112 section 7.1) from the raw input into `out`."""
    size = 0
    while True:
        line = stream.readline(1024)
        if not line.endswith(b"\n"):
            raise ValueError("The chunked request body is malformed (a chunk size line is missing or too long).")
        try:
            length = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ValueError("The chunked request body is malformed (a chunk size is not hexadecimal).") from None
        if length < 0:
            raise ValueError("The chunked request body is malformed (a negative chunk size).")
        if length == 0:
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):  # trailer fields, ignored
                pass
            return size
        size += length
        if size > limit:
            raise ValueError(f"The request body is larger than {limit:,} bytes.")
        remaining = length
        while remaining:
            block = stream.read(min(remaining, 64 * 1024))
            if not block:
                raise ValueError("The chunked request body ended before its last chunk.")
            out.write(block)
            remaining -= len(block)
        if stream.readline(1024) not in (b"\r\n", b"\n"):
            raise ValueError("The chunked request body is malformed (a chunk does not end with CRLF).")
