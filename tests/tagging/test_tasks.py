"""The analysis task in a real Celery worker process: completion, running twice, a worker killed mid-task,
and the broker down at upload time. Nothing lost, nothing doubled."""
import signal
from datetime import timedelta

import pytest
from kombu.exceptions import OperationalError as BrokerDown

from medialib.models import AssetTag
from tagging.models import AnalysisResult
from tagging.services import analysis as analysis_services
from tagging.tasks import analyze_asset
from tests import images
from tests.conftest import WorkerProcess, asset_upload, upload_file, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake_detector(monkeypatch, settings):
    """The worker subprocess (started after this) and this process both use the fake detector."""
    monkeypatch.setenv("TAGGING_BACKEND", "fake")
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}


def _complete(asset, count=1):
    return AnalysisResult.objects.filter(asset=asset, status="complete").count() == count


def _tags(asset):
    return sorted((t.tag.name, t.source) for t in AssetTag.objects.filter(content_object=asset))


def test_worker_analyses_an_upload(fake_detector, celery_worker_process, user):
    asset = asset_upload(file=upload_file(images.jpeg(80, 40, color=(200, 10, 10))), uploaded_by=user,
                                        addons=["aws_rek_tagging", "aws_rek_face"], auto_tagging=0.6)
    wait_for(lambda: _complete(asset, 2), timeout=60, message=f"analysis\n{celery_worker_process.output()}")
    assert _tags(asset) == [("colour", "aws_rek_tagging"), ("red", "aws_rek_tagging")]
    assert AnalysisResult.objects.get(asset=asset, addon="aws_rek_tagging").backend == "fake"


def test_the_task_delivered_twice_leaves_the_same_state(fake_detector, celery_worker_process, user):
    asset = asset_upload(file=upload_file(images.jpeg(80, 40)), uploaded_by=user,
                                        addons=["aws_rek_tagging"], auto_tagging=0.5)
    analyze_asset.delay(asset.pk)
    analyze_asset.delay(asset.pk)
    wait_for(lambda: celery_worker_process.output().count("analyze_asset") >= 6, timeout=60,
             message=f"three runs\n{celery_worker_process.output()}")  # received + succeeded, three times
    wait_for(lambda: celery_worker_process.output().count("succeeded") >= 4, timeout=60, message="all done")
    result = AnalysisResult.objects.get(asset=asset)
    assert (result.status, result.attempts) == ("complete", 1)
    assert _tags(asset) == [("colour", "aws_rek_tagging"), ("red", "aws_rek_tagging"), ("thing", "aws_rek_tagging")]


def test_a_worker_killed_mid_task_loses_nothing(fake_detector, monkeypatch, settings, tmp_path, media_root, user):
    from django.db import connection

    from tests.conftest import _purge_queues

    _purge_queues()
    env = {**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "MEDIALIB_WORKER_DB_NAME": str(connection.settings_dict["NAME"]), "MEDIALIB_MEDIA_ROOT": str(media_root)}
    slow = WorkerProcess(tmp_path / "slow.log", {**env, "TAGGING_FAKE_DELAY": "30"}).start()
    try:
        asset = asset_upload(file=upload_file(images.jpeg(80, 40)), uploaded_by=user,
                                            addons=["aws_rek_tagging"], auto_tagging=0.5)
        wait_for(lambda: AnalysisResult.objects.get(asset=asset).attempts == 1, timeout=60,
                 message=f"the task to start\n{slow.output()}")
        slow.process.send_signal(signal.SIGKILL)  # as the OOM killer would
        slow.process.wait(10)
    finally:
        slow.stop()
    assert AnalysisResult.objects.get(asset=asset).status == "pending"

    fresh = WorkerProcess(tmp_path / "fresh.log", env).start()
    try:
        # The sweep finds it (the periodic task runs this; here with no waiting).
        settings.TAGGING_TIME_LIMIT_SECONDS = 0
        assert analysis_services.analysis_sweep(older_than=timedelta(0)) == [asset.pk]
        wait_for(lambda: _complete(asset), timeout=60, message=f"the retry\n{fresh.output()}")
    finally:
        fresh.stop()
    result = AnalysisResult.objects.get(asset=asset)
    assert result.attempts == 2
    assert _tags(asset) == [("colour", "aws_rek_tagging"), ("red", "aws_rek_tagging"), ("thing", "aws_rek_tagging")]


def test_broker_down_at_upload_then_the_sweep_recovers(fake_detector, celery_worker_process, monkeypatch, user):
    def broker_down(*args, **kwargs):
        raise BrokerDown("[Errno 111] Connection refused")

    monkeypatch.setattr(analyze_asset, "apply_async", broker_down)  # how analysis_enqueue sends
    asset = asset_upload(file=upload_file(images.jpeg(80, 40)), uploaded_by=user,
                                        addons=["aws_rek_tagging"], auto_tagging=0.5)
    # The upload itself succeeded; its analysis waits, pending, where the sweep will find it.
    assert AnalysisResult.objects.get(asset=asset).status == "pending"
    monkeypatch.undo()
    monkeypatch.setenv("TAGGING_BACKEND", "fake")
    assert analysis_services.analysis_sweep(older_than=timedelta(0)) == [asset.pk]
    wait_for(lambda: _complete(asset), timeout=60, message=f"the swept task\n{celery_worker_process.output()}")
    assert len(_tags(asset)) == 3


def test_local_detector_in_the_worker_on_a_real_photo(celery_worker_process, user):
    asset = asset_upload(file=upload_file(images.photo_bytes("dogs.jpg"), "dogs.jpg"),
                                        uploaded_by=user, addons=["aws_rek_tagging"], auto_tagging=0.4)
    wait_for(lambda: _complete(asset), timeout=120, message=f"analysis\n{celery_worker_process.output()}")
    result = AnalysisResult.objects.get(asset=asset)
    labels = {item["tag"]: item["confidence"] for item in result.data}
    assert result.backend == "local"
    assert "Dog" in labels and labels["Dog"] >= 0.4
    assert ("dog", "aws_rek_tagging") in _tags(asset)


# --- A database outage: retried over minutes, and what still fails is left pending for the sweep.

def test_a_database_outage_is_retried_and_then_left_pending_for_the_sweep(fake_detector, user, monkeypatch, settings):
    from django.db import OperationalError

    from medialib import queueing
    from tagging import tasks

    asset = asset_upload(file=upload_file(images.jpeg(80, 40)), uploaded_by=user, addons=["aws_rek_tagging"])
    calls, waits = [], []

    def database_down(*, asset_id):
        calls.append(asset_id)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(tasks.analysis, "analysis_run", database_down)
    monkeypatch.setattr(tasks, "db_retry_countdown", lambda retries: waits.append(queueing.db_retry_countdown(retries)) or 0)
    outcome = analyze_asset.apply(args=(asset.pk,))  # eagerly: each retry runs at once
    assert isinstance(outcome.result, OperationalError)
    assert len(calls) == queueing.DB_MAX_RETRIES + 1
    assert sum(waits) >= 300  # the waits a worker would have slept: minutes, not the old 30 s
    # on_failure did not turn the outage into a failure: the result waits for the sweep.
    assert AnalysisResult.objects.get(asset=asset).status == "pending"
    monkeypatch.undo()
    swept = []
    monkeypatch.setattr(analysis_services, "analysis_enqueue", lambda asset_id: swept.append(asset_id) or True)
    settings.TAGGING_TIME_LIMIT_SECONDS = 0
    assert analysis_services.analysis_sweep(older_than=timedelta(0)) == [asset.pk] == swept


def test_a_database_outage_that_ends_is_outlasted(fake_detector, user, monkeypatch):
    from django.db import OperationalError

    from tagging import tasks

    asset = asset_upload(file=upload_file(images.jpeg(80, 40)), uploaded_by=user, addons=["aws_rek_tagging"])
    real_run, calls = tasks.analysis.analysis_run, []

    def down_three_times(*, asset_id):
        calls.append(asset_id)
        if len(calls) <= 3:
            raise OperationalError("the database system is starting up")
        return real_run(asset_id=asset_id)

    monkeypatch.setattr(tasks.analysis, "analysis_run", down_three_times)
    monkeypatch.setattr(tasks, "db_retry_countdown", lambda retries: 0)
    analyze_asset.apply(args=(asset.pk,))
    assert len(calls) == 4 and _complete(asset)


def test_on_failure_that_cannot_write_leaves_the_work_to_the_sweep(fake_detector, user, monkeypatch, settings):
    from django.db import OperationalError

    from tagging import tasks

    asset = asset_upload(file=upload_file(images.jpeg(80, 40)), uploaded_by=user, addons=["aws_rek_tagging"])

    def cannot_write(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(tasks.analysis, "analysis_fail_pending", cannot_write)
    # The detector's retries ran out (a permanent failure to record), but the database is down: no exception
    # escapes on_failure, and the result stays pending.
    analyze_asset.on_failure(RuntimeError("detector broke"), "task-id", (asset.pk,), {}, None)
    monkeypatch.undo()
    assert AnalysisResult.objects.get(asset=asset).status == "pending"
    swept = []
    monkeypatch.setattr(analysis_services, "analysis_enqueue", lambda asset_id: swept.append(asset_id) or True)
    settings.TAGGING_TIME_LIMIT_SECONDS = 0
    assert analysis_services.analysis_sweep(older_than=timedelta(0)) == [asset.pk] == swept


def test_the_worker_groups_faces_as_they_are_stored_and_named(fake_detector, celery_worker_process, user):
    """A face stored by an analysis, then another: the worker groups them for the people page (the page groups
    nothing itself); once one is named the group is gone (the other face, the same to the fake detector, is
    recognised by the re-check the naming queued)."""
    from tagging.models import Face, FaceGroup
    from tagging.services import people as people_services

    photos = [asset_upload(file=upload_file(images.jpeg(80, 40, color=(20, 20, 200))), uploaded_by=user,
                           addons=["aws_rek_face"], auto_tagging=0.6) for _ in range(2)]
    wait_for(lambda: Face.objects.filter(asset__in=photos).count() == 2, timeout=60,
             message=f"two faces\n{celery_worker_process.output()}")
    wait_for(lambda: Face.objects.filter(asset__in=photos, group__isnull=False).count() == 2, timeout=30,
             message=f"the faces grouped\n{celery_worker_process.output()}")
    group = FaceGroup.objects.get()
    assert (group.owner_key, group.size) == (user.pk, 2)
    assert "tagging.tasks.face_groups_refresh" in celery_worker_process.output()

    people_services.face_name(face=photos[0].faces.get(), user=user, name="Ada")  # committed: queued at once
    wait_for(lambda: not FaceGroup.objects.exists(), timeout=30,
             message=f"the group gone\n{celery_worker_process.output()}")
    wait_for(lambda: photos[1].faces.get().person_source == "auto", timeout=30, message="the re-check")
    assert photos[1].faces.get().group_id is None
