"""Handing work to the broker from a request without waiting on it, and how tasks retry a database outage."""
from __future__ import annotations

import logging
import random
import threading
import time

from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# A database that went away (restarted, failed over, a network cut): worth retrying, unlike IntegrityError.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
# Retries of a database outage: doubling from 5 s up to 2 minutes each, 9 of them, about 5 to 10 minutes in
# all (the jitter keeps each wait in the upper half of its step). The longest wait must stay under the Redis
# visibility timeout (settings.CELERY_BROKER_TRANSPORT_OPTIONS), or Redis hands the waiting retry to a second worker.
DB_RETRY_FIRST_SECONDS = 5
DB_RETRY_MAX_SECONDS = 120
DB_MAX_RETRIES = 9
# After the broker refused one message, this process does not try again for this long: a page of 40 files
# costs one failed attempt, not 40 (a broker that drops packets makes each attempt wait for its connect timeout).
BROKER_DOWN_PAUSE_SECONDS = 5.0

_broker_down_until = 0.0
_lock = threading.Lock()


def db_retry_countdown(retries: int) -> float:
    """Seconds to wait before retry number `retries + 1` of a task that met a database outage."""
    step = min(DB_RETRY_MAX_SECONDS, DB_RETRY_FIRST_SECONDS * 2**retries)
    return step * random.uniform(0.5, 1.0)  # spread out, so the tasks of one outage do not all return at once


def task_enqueue(task, *args, countdown: float | None = None) -> bool:
    """Queue `task(*args)` (to run `countdown` seconds from now, if given) with one short attempt; False if the broker
    did not take it (the caller's sweep will).

    Kombu's defaults retry a refused connection for about a second per message, inside the request. Here a
    message gets one connection attempt and one immediate retry (a pooled connection that went stale when
    Redis restarted), within the broker's connect timeout (settings: max_retries and socket_connect_timeout).
    """
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False
    try:
        task.apply_async(args=args, retry=False, **({} if countdown is None else {"countdown": countdown}))
    except Exception:
        with _lock:
            _broker_down_until = time.monotonic() + BROKER_DOWN_PAUSE_SECONDS
        logger.warning("Could not queue %s%r: the broker is unreachable; the sweep will queue it", task.name, args,
                       exc_info=True)
        return False
    return True


def broker_pause_reset() -> None:
    """Forget a broker failure seen earlier: a sweep (once a minute) always tries the broker again."""
    global _broker_down_until
    _broker_down_until = 0.0
