"""Thumbnails made by a real Celery worker process on the real broker (filesystem by default, Redis in CI)."""
import pytest
from django.db import transaction

from medialib import services
from medialib.models import DeliveredRendition, Rendition
from tests import images
from tests.conftest import stored_files, upload_file, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_upload_queues_thumbnails_that_a_worker_makes(celery_worker_process, user, media_root):
    with transaction.atomic():
        asset = services.asset_upload(file=upload_file(images.exif_rotated_jpeg(), "turned.jpg"), uploaded_by=user)
        # Nothing is queued before the upload commits.
        assert not Rendition.objects.exists()

    renditions = wait_for(
        lambda: list(Rendition.objects.filter(asset=asset)) if Rendition.objects.filter(asset=asset).count() == 2 else None,
        timeout=60,
        message=f"the worker's renditions; worker log:\n{celery_worker_process.output()}",
    )
    thumb = next(r for r in renditions if r.spec == "thumb")
    assert (thumb.width, thumb.height) == (400, 300)  # displayed orientation of a 360x480 stored portrait
    # The pages' pictures are made too (medialib.page_images), kept as delivery renditions.
    kept = wait_for(lambda: [r.file.name for r in DeliveredRendition.objects.filter(asset=asset).exclude(file="")]
                    if DeliveredRendition.objects.filter(asset=asset).exclude(file="").count() == 4 else None,
                    timeout=60, message="the page renditions")
    assert set(stored_files(media_root)) == {asset.file.name, *(r.file.name for r in renditions), *kept}
    tile = DeliveredRendition.objects.get(asset=asset, transformation="c_fill,h_200,w_320")
    assert (tile.width, tile.height) == (320, 200)
    assert "renditions_generate" in celery_worker_process.output()


def test_a_task_for_a_deleted_asset_is_harmless(celery_worker_process, user):
    from medialib.tasks import renditions_generate

    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    wait_for(lambda: Rendition.objects.filter(asset=asset).count() == 2, timeout=60, message="renditions")
    asset_id = asset.pk
    # The user's delete (the service, as the pages, the admin and the API call it): the worker may still be making
    # the page renditions, and the row lock orders the two. A bare Model.delete() would race it (an IntegrityError
    # on PostgreSQL when a rendition row lands between the cascade's collection and the commit).
    services.asset_delete(asset=asset, user=user)
    renditions_generate.delay(asset_id)
    wait_for(
        lambda: celery_worker_process.output().count("succeeded") >= 2,
        timeout=60,
        message=f"the second task; worker log:\n{celery_worker_process.output()}",
    )
    assert "Traceback" not in celery_worker_process.output()


def test_the_renditions_task_outlasts_a_database_outage(user, monkeypatch, media_root):
    from django.db import OperationalError

    from medialib import queueing, tasks

    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    real, calls, waits = tasks.services.renditions_generate, [], []

    def down_for_a_while(*, asset_id):
        calls.append(asset_id)
        if len(calls) <= 6:
            raise OperationalError("server closed the connection unexpectedly")
        return real(asset_id=asset_id)

    monkeypatch.setattr(tasks.services, "renditions_generate", down_for_a_while)
    monkeypatch.setattr(tasks, "db_retry_countdown", lambda retries: waits.append(queueing.db_retry_countdown(retries)) or 0)
    assert tasks.renditions_generate.apply(args=(asset.pk,)).result == 2  # eagerly: each retry runs at once
    assert len(calls) == 7 and Rendition.objects.filter(asset=asset).count() == 2
    assert sum(waits) >= 60  # what a worker would have waited over six retries: minutes


def test_renditions_still_failing_after_the_retries_are_left_to_the_sweep(user, monkeypatch):
    from datetime import timedelta

    from django.db import OperationalError

    from medialib import queueing, tasks

    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    calls = []

    def still_down(*, asset_id):
        calls.append(asset_id)
        raise OperationalError("still down")

    monkeypatch.setattr(tasks.services, "renditions_generate", still_down)
    monkeypatch.setattr(tasks, "db_retry_countdown", lambda retries: 0)
    outcome = tasks.renditions_generate.apply(args=(asset.pk,))
    assert isinstance(outcome.result, OperationalError)
    assert len(calls) == queueing.DB_MAX_RETRIES + 1
    monkeypatch.undo()
    asset.refresh_from_db()
    assert asset.renditions_missing  # the sweep will find it
    sent = []
    monkeypatch.setattr(tasks.renditions_generate, "apply_async", lambda args, retry: sent.append(args))
    assert services.renditions_sweep(older_than=timedelta(0)) == [asset.pk]
