"""medialib.queueing: an enqueue that gives up fast on a broker that is down, and the database-outage retries."""
import socket
import time

import pytest
from celery import Celery
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerDown

from medialib import queueing


def _closed_port() -> int:
    with socket.socket() as probe:  # a port nothing listens on: Redis "down", connection refused
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis_app(port: int, monkeypatch) -> Celery:
    """A Celery app of its own on a Redis at `port`, whatever broker the suite runs on.

    Celery takes the broker from the environment first: CELERY_BROKER_URL (and CELERY_BROKER_READ_URL,
    CELERY_BROKER_WRITE_URL) win over `broker=` and app.conf, read anew whenever a connection is made. With the
    suite on a live Redis (CELERY_BROKER_URL=redis://...) an app given a dead port would publish to the live one.
    """
    for name in ("CELERY_BROKER_URL", "CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL"):
        monkeypatch.delenv(name, raising=False)  # the suite's own app keeps its URL: Django settings hold it too
    url = f"redis://127.0.0.1:{port}/0"
    app = Celery("faults", broker=url, set_as_current=False)
    app.conf.broker_transport_options = settings.REDIS_TRANSPORT_OPTIONS
    with app.connection_for_write() as connection:  # builds no socket; only names where a send would go
        assert connection.as_uri().endswith(f"@127.0.0.1:{port}/0"), connection.as_uri()
    return app


def test_enqueue_on_a_dead_redis_gives_up_in_milliseconds(monkeypatch):
    app = _redis_app(_closed_port(), monkeypatch)

    class Task:  # sent through this app's (dead) broker, whatever broker the suite's own app uses
        name = "faults.noop"

        def apply_async(self, args, retry):
            return app.send_task(self.name, args=args, retry=retry)

    task = Task()
    timings = []
    for _ in range(3):
        queueing.broker_pause_reset()
        started = time.perf_counter()
        assert queueing.task_enqueue(task, 1) is False
        timings.append(time.perf_counter() - started)
    # Kombu's defaults took 0.6 s and more per message here (its connection retries); the aim is "no slower
    # than a live broker", a few milliseconds.
    assert min(timings) < 0.1, timings


def test_after_one_failure_the_process_does_not_try_again_for_a_few_seconds(monkeypatch):
    calls = []

    class Task:
        name = "faults.noop"

        def apply_async(self, args, retry):
            calls.append((args, retry))
            raise BrokerDown("[Errno 111] Connection refused")

    assert queueing.task_enqueue(Task(), 1) is False
    assert queueing.task_enqueue(Task(), 2) is False
    assert calls == [((1,), False)]  # one attempt, no kombu retries, then a pause
    later = time.monotonic() + queueing.BROKER_DOWN_PAUSE_SECONDS + 1
    monkeypatch.setattr(queueing.time, "monotonic", lambda: later)
    assert queueing.task_enqueue(Task(), 3) is False
    assert len(calls) == 2


def test_database_retries_span_minutes_and_stay_under_the_visibility_timeout():
    waits = [queueing.db_retry_countdown(n) for n in range(queueing.DB_MAX_RETRIES)]
    shortest = sum(min(queueing.DB_RETRY_MAX_SECONDS, queueing.DB_RETRY_FIRST_SECONDS * 2**n) / 2
                   for n in range(queueing.DB_MAX_RETRIES))
    assert shortest >= 300  # a 31 s cut, or a restart of a few minutes, is outlasted
    assert max(waits) <= queueing.DB_RETRY_MAX_SECONDS < settings.BROKER_VISIBILITY_TIMEOUT_SECONDS


@pytest.mark.parametrize("retries", [0, 3, 20])
def test_database_retry_waits_grow_and_are_capped(retries):
    step = min(queueing.DB_RETRY_MAX_SECONDS, queueing.DB_RETRY_FIRST_SECONDS * 2**retries)
    assert step / 2 <= queueing.db_retry_countdown(retries) <= step
