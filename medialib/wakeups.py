"""Waking a request that waits for a worker: Redis PUBLISH/SUBSCRIBE when Redis is there, else a cheap backoff poll.

A waiter subscribes to its topic, then asks its own question (`ready`, one query), then sleeps on the socket
until a worker publishes the topic or a second has passed, and asks again. It never spins: while it waits it
costs no CPU and no queries, and it hears the news within a round trip. The publish is only a hint: a lost one
(Redis restarting, a worker killed after its commit) costs the waiter at most the fallback second, never the
answer, because `ready` reads the database itself.

With no Redis (the embedded defaults: SQLite and the file broker, one machine) the waiter asks `ready` with a
backoff from 25 ms to 250 ms.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings

logger = logging.getLogger(__name__)

POLL_FIRST = 0.025
POLL_CAP = 0.25
# With Redis, the longest a waiter sleeps before it asks again, in case a publish was lost.
SUBSCRIBED_RECHECK = 1.0


def redis_url() -> str:
    """MEDIALIB_WAKEUP_REDIS_URL if set, else the broker's or the cache's URL when it is Redis; "" for none."""
    for url in (settings.MEDIALIB_WAKEUP_REDIS_URL, settings.CELERY_BROKER_URL, getattr(settings, "CACHE_URL", "")):
        if str(url or "").startswith(("redis://", "rediss://")):
            return url
    return ""


@lru_cache(maxsize=4)
def _client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5, health_check_interval=30)


def channel(topic: str) -> str:
    """The Redis channel of a topic, under the broker's key prefix (two test runs on one Redis never meet)."""
    prefix = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get("global_keyprefix", "")
    return f"{prefix}medialib:wakeup:{topic}"


def wakeup_send(topic: str) -> bool:
    """Wake whoever waits on the topic; call it after the commit that made their answer. False if not sent."""
    url = redis_url()
    if not url:
        return False
    import redis

    try:
        _client(url).publish(channel(topic), b"1")
    except redis.RedisError as exc:
        logger.warning("Could not publish wakeup %s (waiters will ask again within %ss): %s",
                       topic, SUBSCRIBED_RECHECK, exc)
        return False
    return True


def wakeup_wait(topic: str, ready: Callable[[], bool], *, timeout: float) -> bool:
    """Wait until `ready()` is true, at most `timeout` seconds; True if it became true. Call it outside any
    transaction: `ready` must see other processes' commits."""
    deadline = time.monotonic() + timeout
    url = redis_url()
    if url:
        import redis

        try:
            pubsub = _client(url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(channel(topic))
        except redis.RedisError as exc:
            logger.warning("Could not subscribe to wakeup %s, polling instead: %s", topic, exc)
        else:
            try:
                return _wait_subscribed(pubsub, ready, deadline)
            except redis.RedisError as exc:
                logger.warning("Lost the wakeup subscription %s, polling instead: %s", topic, exc)
            finally:
                try:
                    pubsub.close()
                except redis.RedisError:
                    pass
    return _wait_polling(ready, deadline)


def _wait_subscribed(pubsub, ready: Callable[[], bool], deadline: float) -> bool:
    while True:
        if ready():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        # Blocks on the socket until a message (or the subscribe confirmation, once) or the time is up.
        pubsub.get_message(timeout=min(SUBSCRIBED_RECHECK, remaining))


def _wait_polling(ready: Callable[[], bool], deadline: float) -> bool:
    delay = POLL_FIRST
    while True:
        if ready():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, POLL_CAP)
