"""medialib.wakeups: a waiter wakes when a worker publishes, does not spin while it waits, and survives Redis's absence."""
import socket
import threading
import time

import pytest

from medialib import wakeups

REDIS = "redis://127.0.0.1:6379/15"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the socket is closed


class Flag:
    """A `ready` callable that counts how often it is asked."""

    def __init__(self):
        self.value = False
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.value


def _later(seconds, *actions):
    def run():
        time.sleep(seconds)
        for action in actions:
            action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def redis_wakeups(settings):
    settings.MEDIALIB_WAKEUP_REDIS_URL = REDIS
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"wakeups-test-{time.time_ns()}:"}
    return settings


def test_a_publish_wakes_the_waiter_at_once_and_it_asks_only_a_few_times(redis_wakeups):
    flag = Flag()
    sent_at = {}

    def publish():
        flag.value = True
        sent_at["t"] = time.monotonic()
        assert wakeups.wakeup_send("analysis:1")

    thread = _later(0.6, publish)
    assert wakeups.wakeup_wait("analysis:1", flag, timeout=5) is True
    woke = time.monotonic() - sent_at["t"]
    thread.join()
    # The fallback recheck is a second away: waking this soon after the publish is the publish's doing.
    assert woke < 0.2, woke
    assert flag.calls <= 3, flag.calls  # first ask, maybe the subscribe confirmation, the wakeup: no spinning


def test_another_topic_does_not_wake_the_waiter(redis_wakeups):
    flag = Flag()
    thread = _later(0.2, lambda: wakeups.wakeup_send("analysis:2"))
    started = time.monotonic()
    assert wakeups.wakeup_wait("analysis:1", flag, timeout=0.8) is False
    assert time.monotonic() - started >= 0.75
    thread.join()
    assert flag.calls <= 3


def test_a_lost_publish_costs_at_most_the_recheck(redis_wakeups):
    flag = Flag()
    thread = _later(0.3, lambda: setattr(flag, "value", True))  # the answer is there but nobody publishes
    started = time.monotonic()
    assert wakeups.wakeup_wait("analysis:1", flag, timeout=5) is True
    elapsed = time.monotonic() - started
    thread.join()
    assert 0.3 <= elapsed < wakeups.SUBSCRIBED_RECHECK + 0.5, elapsed


def test_without_redis_the_waiter_polls_with_a_backoff(settings):
    settings.MEDIALIB_WAKEUP_REDIS_URL = ""
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CACHE_URL = ""
    assert wakeups.redis_url() == ""
    assert wakeups.wakeup_send("analysis:1") is False
    flag = Flag()
    thread = _later(1.0, lambda: setattr(flag, "value", True))
    started = time.monotonic()
    assert wakeups.wakeup_wait("analysis:1", flag, timeout=5) is True
    elapsed = time.monotonic() - started
    thread.join()
    assert elapsed < 1.0 + wakeups.POLL_CAP + 0.1
    # 25, 50, 100, 200, then 250 ms: about 7 questions in a second, not hundreds.
    assert flag.calls <= 10, flag.calls


def test_redis_down_falls_back_to_polling_and_still_answers(settings):
    settings.MEDIALIB_WAKEUP_REDIS_URL = _closed_port_url()
    assert wakeups.wakeup_send("analysis:1") is False  # logged, not raised: the writer's work is done
    flag = Flag()
    thread = _later(0.3, lambda: setattr(flag, "value", True))
    assert wakeups.wakeup_wait("analysis:1", flag, timeout=5) is True
    thread.join()
    flag.value = False
    started = time.monotonic()
    assert wakeups.wakeup_wait("analysis:1", flag, timeout=0.5) is False
    assert time.monotonic() - started < 2.5  # the connect timeout (1 s) and the wait, nothing longer


def test_the_channel_keeps_the_broker_key_prefix(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": "run_7:"}
    assert wakeups.channel("analysis:3") == "run_7:medialib:wakeup:analysis:3"
