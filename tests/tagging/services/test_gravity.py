"""tagging.services.gravity with the fake detector: known faces first, on-demand detection queued once and kept,
the owner's analysis untouched, bounded waits, failures, versions."""
import threading
import time

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection

from medialib.models import Asset, AssetTag
from tagging.backends import backend_for
from tagging.backends.base import DetectorError, TransientDetectorError
from tagging.backends.fake import FakeBackend
from tagging.models import AnalysisResult, Face, GravityFaces, Person
from tagging.selectors import face_boxes
from tagging.services import analysis as analysis_services
from tagging.services import gravity
from tagging.tasks import gravity_faces_detect
from tests import images
from tests.conftest import asset_upload, upload_file

# The fake detector's one face (0.4, 0.3, 0.2, 0.3 of the image) in an 80x40 photo.
FAKE_FACE = (32, 12, 16, 12)


@pytest.fixture(autouse=True)
def fake_backend(settings):
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}
    backend = backend_for("aws_rek_face")
    yield backend
    backend.fail_with = None


@pytest.fixture
def detections(monkeypatch):
    """How many times the detector looked for faces."""
    calls = []
    original = FakeBackend.faces

    def counted(self, image):
        calls.append(image.width)
        return original(self, image)

    monkeypatch.setattr(FakeBackend, "faces", counted)
    return calls


@pytest.fixture
def queued(monkeypatch):
    """The tasks the service queued; the broker takes them and nobody runs them (set `.run_them` to run them
    at once, as a worker would, through Celery's eager apply)."""

    class Queue(list):
        run_them = False
        broker_down = False

    queue = Queue()

    def enqueue(task, *args):
        if queue.broker_down:
            return False
        queue.append((task.name, args))
        if queue.run_them:
            task.apply(args=args)
        return True

    monkeypatch.setattr(gravity, "task_enqueue", enqueue)
    return queue


def _upload(user, data=None, **kwargs):
    return asset_upload(file=upload_file(data or images.jpeg(80, 40)), uploaded_by=user, **kwargs)


@pytest.mark.django_db
def test_an_analysed_asset_gives_the_faces_it_knows_and_queues_nothing(user, queued, detections):
    asset = _upload(user, addons=["aws_rek_face"])
    analysis_services.analysis_run(asset_id=asset.pk)
    detections.clear()
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == face_boxes(asset) == [FAKE_FACE]
    # An analysis that found nobody is an answer too: no faces, and no detection on demand.
    tall = _upload(user, images.jpeg(40, 80), addons=["aws_rek_face"], public_id="tall")
    analysis_services.analysis_run(asset_id=tall.pk)
    detections.clear()
    started = time.monotonic()
    assert gravity.gravity_face_boxes(tall, wait_seconds=5) == []
    assert time.monotonic() - started < 1
    assert queued == [] and detections == [] and not GravityFaces.objects.exists()


@pytest.mark.django_db
def test_while_the_addon_runs_again_its_stored_faces_still_count(user, queued):
    asset = _upload(user, addons=["aws_rek_face"])
    analysis_services.analysis_run(asset_id=asset.pk)
    analysis_services.analysis_request(asset=asset, addons=["aws_rek_face"])  # pending again, Face rows kept
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == [FAKE_FACE]
    assert queued == []


@pytest.mark.django_db
def test_an_unanalysed_asset_is_detected_once_and_kept_without_touching_the_owners_analysis(user, queued, detections):
    asset = _upload(user, tags=["holiday"])
    queued.run_them = True
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == [FAKE_FACE]
    assert queued == [("tagging.tasks.gravity_faces_detect", (asset.pk, asset.version))]
    assert len(detections) == 1
    row = GravityFaces.objects.get(asset=asset)
    assert (row.version, row.status, row.boxes, row.backend) == (asset.version, "complete", [list(FAKE_FACE)], "fake")
    assert row.detected_at is not None
    # The second crop costs no detection and no task.
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == [FAKE_FACE]
    assert len(detections) == 1 and len(queued) == 1
    # Nothing of the owner's changed: no analysis, faces, people or tags but their own.
    assert not AnalysisResult.objects.filter(asset=asset).exists()
    assert not Face.objects.exists() and not Person.objects.exists()
    assert [(t.tag.name, t.source) for t in AssetTag.objects.filter(content_object=asset)] == [("holiday", "manual")]


@pytest.mark.django_db
def test_the_analysis_once_complete_wins_over_the_cache(user, queued):
    asset = _upload(user)
    queued.run_them = True
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == [FAKE_FACE]
    GravityFaces.objects.filter(asset=asset).update(boxes=[[1, 2, 3, 4]])
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == [(1, 2, 3, 4)]  # the kept row is what is read
    analysis_services.analysis_request(asset=asset, addons=["aws_rek_face"])
    analysis_services.analysis_run(asset_id=asset.pk)
    Face.objects.filter(asset=asset).update(left=0.1)  # the owner's faces, told apart from the cache's
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == [(8, 12, 16, 12)]
    assert len(queued) == 1


@pytest.mark.django_db
def test_a_new_version_is_detected_again_and_the_old_row_goes(user, queued, detections):
    asset = _upload(user)
    queued.run_them = True
    gravity.gravity_face_boxes(asset, wait_seconds=5)
    Asset.objects.filter(pk=asset.pk).update(version=asset.version + 1)
    asset.refresh_from_db()
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == [FAKE_FACE]
    assert len(detections) == 2 and queued[-1][1] == (asset.pk, asset.version)
    assert list(GravityFaces.objects.filter(asset=asset).values_list("version", flat=True)) == [asset.version]
    # A task for a version that is no longer the current one does nothing.
    assert gravity.gravity_faces_run(asset_id=asset.pk, version=asset.version - 1) == "skipped"
    assert gravity.gravity_faces_run(asset_id=asset.pk + 1000, version=asset.version) == "skipped"
    assert len(detections) == 2


@pytest.mark.django_db
def test_without_a_worker_the_wait_ends_with_none_within_its_time_and_without_a_tight_loop(
        user, queued, django_assert_max_num_queries):
    asset = _upload(user)
    started = time.monotonic()
    # Waits of 50, 100, 200 ms and the 250 ms left: 4 reads of the row, besides 3 look-ups (faces, analysis, row)
    # and get_or_create's 4 statements for the pending row. A tight loop would be hundreds.
    with django_assert_max_num_queries(11):
        assert gravity.gravity_face_boxes(asset, wait_seconds=0.6) is None
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 1.0
    assert len(queued) == 1
    # The next request waits for the same task instead of queueing another.
    assert gravity.gravity_face_boxes(asset, wait_seconds=0) is None
    assert len(queued) == 1
    # The worker gets to it later: from then on the faces are known.
    gravity_faces_detect.apply(args=(asset.pk, asset.version))
    assert gravity.gravity_face_boxes(asset, wait_seconds=0) == [FAKE_FACE]


@pytest.mark.django_db
def test_a_broker_that_is_down_gives_none_at_once_and_the_next_request_queues_again(user, queued, settings):
    asset = _upload(user)
    queued.broker_down = True
    started = time.monotonic()
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) is None
    assert time.monotonic() - started < 1
    assert GravityFaces.objects.get(asset=asset).queued_at is None
    queued.broker_down = False
    queued.run_them = True
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == [FAKE_FACE]
    assert len(queued) == 1
    # A message lost after it was queued (a dead worker, a broker that lost it) is queued again once it is old.
    other = _upload(user, public_id="other")
    queued.run_them = False
    gravity.gravity_face_boxes(other, wait_seconds=0)
    gravity.gravity_face_boxes(other, wait_seconds=0)
    assert len(queued) == 2
    settings.TAGGING_SWEEP_AFTER_SECONDS = 0
    gravity.gravity_face_boxes(other, wait_seconds=0)
    assert len(queued) == 3


@pytest.mark.django_db(transaction=True)
def test_ten_requests_at_once_queue_one_detection(user, queued):
    asset = _upload(user)
    answers, errors = [], []

    def request():
        try:
            answers.append(gravity.gravity_face_boxes(asset, wait_seconds=0.3))
        except Exception as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert answers == [None] * 10  # nobody ran it
    assert len(queued) == 1
    assert GravityFaces.objects.filter(asset=asset).count() == 1


@pytest.mark.django_db
def test_a_permanent_detector_error_is_kept_as_no_faces_with_the_reason(user, queued, fake_backend):
    asset = _upload(user)
    fake_backend.fail_with = DetectorError("This detector refuses the image.")
    queued.run_them = True
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == []
    row = GravityFaces.objects.get(asset=asset)
    assert (row.status, row.boxes, row.error) == ("failed", [], "This detector refuses the image.")
    fake_backend.fail_with = None
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == []  # kept: requests never wait for it again
    assert len(queued) == 1


@pytest.mark.django_db
def test_a_transient_error_leaves_the_row_pending_for_the_retry_and_giving_up_answers_it(user, fake_backend):
    asset = _upload(user)
    GravityFaces.objects.create(asset=asset, version=asset.version)
    fake_backend.fail_with = TransientDetectorError("Throttled.")
    with pytest.raises(TransientDetectorError):
        gravity.gravity_faces_run(asset_id=asset.pk, version=asset.version)
    assert GravityFaces.objects.get(asset=asset).status == "pending"
    # Out of time (or of retries): the task's on_failure answers the waiting requests with no faces.
    gravity_faces_detect.on_failure(SoftTimeLimitExceeded(), "task-id", (asset.pk, asset.version), {}, None)
    row = GravityFaces.objects.get(asset=asset)
    assert row.status == "failed" and row.boxes == [] and "longer than" in row.error
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == []


@pytest.mark.django_db
def test_an_unreadable_original_is_kept_as_no_faces(user, queued, media_root):
    asset = _upload(user)
    (media_root / asset.file.name).write_bytes(images.truncated_jpeg()[:200])
    queued.run_them = True
    assert gravity.gravity_face_boxes(asset, wait_seconds=5) == []
    assert "could not be read" in GravityFaces.objects.get(asset=asset).error
