"""API rate limits: refused credentials per client IP, and requests per key, counted in Django's cache.

Fixed windows: a counter per (limit, subject, window number) that expires with its window. Shared by every web
process: Redis increments atomically; the file cache (one machine) is incremented under an flock, so two
gunicorn processes never both read 4 and write 5. Answers as Cloudinary's: 420 with X-FeatureRateLimit-*.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import time
from dataclasses import dataclass
from email.utils import formatdate

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from .responses import ApiError

RATE_LIMITED = 420  # Cloudinary's status for "rate limit exceeded"; the SDKs raise RateLimited for it (and 429)


@dataclass(frozen=True)
class RateState:
    count: int
    limit: int
    reset_at: int  # when the window ends, seconds since 1970

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    def headers(self) -> dict:
        # The SDKs read these into Response.rate_limit_allowed / _remaining / _reset_at (an HTTP date).
        return {
            "X-FeatureRateLimit-Limit": str(self.limit),
            "X-FeatureRateLimit-Remaining": str(max(self.limit - self.count, 0)),
            "X-FeatureRateLimit-Reset": formatdate(self.reset_at, usegmt=True),
        }

    def error(self, message: str) -> ApiError:
        retry_after = max(self.reset_at - int(time.time()), 1)
        return ApiError(message, RATE_LIMITED, {**self.headers(), "Retry-After": str(retry_after)})


def _key(name: str, subject: str, window: int, now: float) -> tuple[str, int]:
    number = int(now // window)
    # Hashed: a subject may be anything a client sent, and cache keys have a length and alphabet limit.
    digest = hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:32]
    return f"medialib:ratelimit:{name}:{digest}:{number}", (number + 1) * window


@contextlib.contextmanager
def _counter_lock():
    if isinstance(caches["default"], RedisCache):
        yield  # INCR is atomic in Redis, and add is SET NX
        return
    # Other caches increment by reading and writing: serialise the processes of this machine.
    with open(settings.VAR_DIR / "ratelimit.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def rate_hit(name: str, subject: str, *, limit: int, window: int, now: float | None = None) -> RateState:
    """Count one more event for the subject in the current window."""
    now = time.time() if now is None else now
    key, reset_at = _key(name, subject, window, now)
    timeout = max(int(reset_at - now), 1) + 1
    cache = caches["default"]
    with _counter_lock():
        if cache.add(key, 1, timeout):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout)
                count = 1
    return RateState(count=count, limit=limit, reset_at=reset_at)


def rate_peek(name: str, subject: str, *, limit: int, window: int, now: float | None = None) -> RateState:
    now = time.time() if now is None else now
    key, reset_at = _key(name, subject, window, now)
    return RateState(count=caches["default"].get(key, 0), limit=limit, reset_at=reset_at)


def _failure_limit() -> dict:
    return {"limit": settings.MEDIALIB_API_AUTH_FAILURE_LIMIT, "window": settings.MEDIALIB_API_AUTH_FAILURE_WINDOW_SECONDS}


def auth_failures_check(ip: str) -> None:
    """Refuse (420) an address that has had its share of refused credentials in this window."""
    state = rate_peek("auth-failures", ip, **_failure_limit())
    if state.count >= state.limit:
        raise RateState(state.count + 1, state.limit, state.reset_at).error(
            "Rate Limit Exceeded: too many requests with wrong credentials from this address."
        )


def auth_failure_record(ip: str) -> None:
    rate_hit("auth-failures", ip, **_failure_limit())


def key_request_count(key_value: str) -> RateState:
    """Count a correctly authenticated request of the key; ApiError 420 past the key's limit."""
    state = rate_hit("key-requests", key_value, limit=settings.MEDIALIB_API_KEY_RATE_LIMIT,
                     window=settings.MEDIALIB_API_KEY_RATE_WINDOW_SECONDS)
    if state.exceeded:
        raise state.error(f"Rate Limit Exceeded: API key {key_value} has made {state.limit} requests in this "
                          f"period; try again after {formatdate(state.reset_at, usegmt=True)}.")
    return state
