"""Thumbnails made by a real Celery worker process on the real broker (filesystem by default, Redis in CI)."""
import pytest
from django.db import transaction

from medialib import services
from medialib.models import Rendition
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
    assert set(stored_files(media_root)) == {asset.file.name, *(r.file.name for r in renditions)}
    assert "renditions_generate" in celery_worker_process.output()


def test_a_task_for_a_deleted_asset_is_harmless(celery_worker_process, user):
    from medialib.tasks import renditions_generate

    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    wait_for(lambda: Rendition.objects.filter(asset=asset).count() == 2, timeout=60, message="renditions")
    asset_id = asset.pk
    asset.delete()
    renditions_generate.delay(asset_id)
    wait_for(
        lambda: celery_worker_process.output().count("succeeded") >= 2,
        timeout=60,
        message=f"the second task; worker log:\n{celery_worker_process.output()}",
    )
    assert "Traceback" not in celery_worker_process.output()
