"""medialib.settings: the recovery timings derived from the task time limit, and the sweeps' schedule."""
import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent


def _settings_with(env: dict, tmp_path) -> dict:
    code = (
        "import json, medialib.settings as s; print(json.dumps({k: getattr(s, k) for k in ("
        "'CELERY_BROKER_TRANSPORT_OPTIONS', 'TAGGING_SWEEP_AFTER_SECONDS', 'MEDIALIB_RENDITIONS_SWEEP_AFTER_SECONDS')}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAGGING_", "MEDIALIB_", "CELERY_"))}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, "MEDIALIB_VAR_DIR": str(tmp_path), **env},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_visibility_timeout_and_sweep_ages_follow_the_task_time_limit(tmp_path):
    redis = {"CELERY_BROKER_URL": "redis://127.0.0.1:6399/0"}  # nothing connects at import
    default = _settings_with(redis, tmp_path)
    # 120 s soft limit + 30 s hard + 60 s margin, not Redis's default hour; the sweeps wait as long. So a killed
    # worker's task is back within 3.5 minutes, and the next minute's sweep has anything still lost: under 5.
    assert default["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 210
    assert default["TAGGING_SWEEP_AFTER_SECONDS"] == default["MEDIALIB_RENDITIONS_SWEEP_AFTER_SECONDS"] == 210
    longer = _settings_with({**redis, "TAGGING_TIME_LIMIT_SECONDS": "900"}, tmp_path)
    assert longer["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 990
    assert longer["TAGGING_SWEEP_AFTER_SECONDS"] == 990
    # Never shorter than the longest retry wait (150 s), or Redis would hand a waiting retry to a second worker.
    shorter = _settings_with({**redis, "TAGGING_TIME_LIMIT_SECONDS": "30"}, tmp_path)
    assert shorter["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 210
    given = _settings_with({**redis, "TAGGING_SWEEP_AFTER_SECONDS": "120",
                            "MEDIALIB_RENDITIONS_SWEEP_AFTER_SECONDS": "90"}, tmp_path)
    assert (given["TAGGING_SWEEP_AFTER_SECONDS"], given["MEDIALIB_RENDITIONS_SWEEP_AFTER_SECONDS"]) == (120, 90)


def test_both_sweeps_run_every_minute_on_the_default_queue():
    from medialib.celery import app

    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for task in ("tagging.tasks.analysis_sweep", "medialib.tasks.renditions_sweep"):
        assert schedule[task]["schedule"] == 60.0
        route = app.amqp.router.route({}, task)
        assert route["queue"].name == "default"  # never behind the work it sweeps


def test_no_task_waits_for_a_retry_longer_than_the_visibility_timeout_allows():
    from celery import current_app

    import medialib.tasks  # noqa: F401 (registers the tasks)
    import search.tasks  # noqa: F401
    import tagging.tasks  # noqa: F401
    from medialib import queueing

    ours = [task for name, task in current_app.tasks.items() if name.split(".")[0] in {"medialib", "tagging", "search"}]
    assert len(ours) >= 6
    for task in ours:
        if getattr(task, "retry_backoff", False):
            exponent = task.max_retries or 0
            longest = min(getattr(task, "retry_backoff_max", 600), int(task.retry_backoff) * 2 ** exponent)  # 600: Celery's
            assert longest <= settings.TASK_RETRY_MAX_SECONDS, task.name
    assert queueing.DB_RETRY_MAX_SECONDS <= settings.TASK_RETRY_MAX_SECONDS
    assert settings.TASK_RETRY_MAX_SECONDS < settings.BROKER_VISIBILITY_TIMEOUT_SECONDS
    assert settings.TAGGING_TIME_LIMIT_SECONDS + 30 < settings.BROKER_VISIBILITY_TIMEOUT_SECONDS


def test_the_delivery_faces_wait_is_seconds_read_from_the_environment(tmp_path, monkeypatch):
    import pytest
    from django.core.exceptions import ImproperlyConfigured

    from medialib.settings import env_seconds

    code = "import medialib.settings as s; print(s.MEDIALIB_DELIVERY_FACES_WAIT_SECONDS)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAGGING_", "MEDIALIB_", "CELERY_"))}
    default = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, "MEDIALIB_VAR_DIR": str(tmp_path)},
                             capture_output=True, text=True, check=True).stdout
    assert default.strip() == "10.0"
    name = "MEDIALIB_DELIVERY_FACES_WAIT_SECONDS"
    for value, seconds in (("2.5", 2.5), ("0", 0.0), ("", 10.0)):
        monkeypatch.setenv(name, value)
        assert env_seconds(name, 10.0) == seconds
    for wrong in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv(name, wrong)
        with pytest.raises(ImproperlyConfigured, match=f"{name} must be a number of seconds"):
            env_seconds(name, 10.0)
