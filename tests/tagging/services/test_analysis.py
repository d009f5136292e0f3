"""tagging.services with the fake detector: requests, runs, idempotency, auto tags, rejections, the sweep."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from medialib.models import AssetTag
from tagging.backends import backend_for
from tagging.backends.base import DetectorError, TransientDetectorError
from tagging.models import AnalysisResult, TagDecision
from tagging.selectors import asset_info
from tagging.services import analysis as analysis_services
from tagging.services import tags as tag_services
from tests import images
from tests.conftest import asset_upload, upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fake_backend(settings):
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}
    backend = backend_for("aws_rek_tagging")
    yield backend
    backend.fail_with = None


def _upload(user, data=None, **kwargs):
    return asset_upload(file=upload_file(data or images.jpeg(80, 40)), uploaded_by=user, **kwargs)


def _auto_tags(asset):
    return {(t.tag.name, t.source, t.confidence) for t in AssetTag.objects.filter(content_object=asset)
            if t.source != "manual"}


def test_upload_with_addons_creates_pending_results_and_queues_after_commit(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        asset = _upload(user, addons=["aws_rek_tagging", "aws_rek_face"], auto_tagging=0.6)
    results = {r.addon: r for r in AnalysisResult.objects.filter(asset=asset)}
    assert set(results) == {"aws_rek_tagging", "aws_rek_face"}
    assert all(r.status == "pending" and r.auto_tagging == 0.6 and r.requested_at for r in results.values())
    assert len(callbacks) == 2  # the thumbnails and the analysis
    assert asset_info(asset) == {
        "categorization": {"aws_rek_tagging": {"status": "pending"}},
        "detection": {"aws_rek_face": {"status": "pending"}},
    }


def test_run_completes_and_auto_tags(user):
    asset = _upload(user, images.jpeg(80, 40, color=(10, 20, 240)), addons=["aws_rek_tagging", "aws_rek_face"],
                    auto_tagging=0.7)
    assert analysis_services.analysis_run(asset_id=asset.pk) == {"aws_rek_tagging": "complete", "aws_rek_face": "complete"}
    labels = AnalysisResult.objects.get(asset=asset, addon="aws_rek_tagging")
    assert labels.data == [{"tag": "Blue", "confidence": 0.9}, {"tag": "Colour", "confidence": 0.75},
                           {"tag": "Thing", "confidence": 0.5}]
    assert labels.backend == "fake" and labels.attempts == 1 and labels.completed_at
    faces = AnalysisResult.objects.get(asset=asset, addon="aws_rek_face").data
    assert len(faces["unrecognized_faces"]) == 1 and faces["celebrity_faces"] == []
    assert faces["unrecognized_faces"][0]["bounding_box"] == {"width": 0.2, "height": 0.3, "left": 0.4, "top": 0.3}
    assert _auto_tags(asset) == {("blue", "aws_rek_tagging", 0.9), ("colour", "aws_rek_tagging", 0.75)}
    info = asset_info(asset)
    assert info["categorization"]["aws_rek_tagging"]["data"][0] == {"tag": "Blue", "confidence": 0.9}


def test_running_twice_is_the_same_as_once(user):
    asset = _upload(user, addons=["aws_rek_tagging"], auto_tagging=0.5)
    analysis_services.analysis_run(asset_id=asset.pk)
    before = (list(AnalysisResult.objects.values()), sorted(_auto_tags(asset)))
    assert analysis_services.analysis_run(asset_id=asset.pk) == {}
    assert (list(AnalysisResult.objects.values()), sorted(_auto_tags(asset))) == before


def test_a_deleted_asset_is_a_no_op(user):
    asset = _upload(user, addons=["aws_rek_tagging"])
    asset_id = asset.pk
    asset.delete()
    assert analysis_services.analysis_run(asset_id=asset_id) == {}


def test_manual_tags_are_never_touched_and_win_over_auto(user):
    asset = _upload(user, images.jpeg(80, 40, color=(240, 10, 10)), tags=["Red", "holiday"],
                    addons=["aws_rek_tagging"], auto_tagging=0.5)
    analysis_services.analysis_run(asset_id=asset.pk)
    tags = {t.tag.name: t.source for t in AssetTag.objects.filter(content_object=asset)}
    assert tags == {"Red": "manual", "holiday": "manual", "colour": "aws_rek_tagging", "thing": "aws_rek_tagging"}


def test_rerun_replaces_only_that_addons_auto_tags(user):
    asset = _upload(user, images.jpeg(80, 40), addons=["aws_rek_tagging"], auto_tagging=0.5, tags=["mine"])
    analysis_services.analysis_run(asset_id=asset.pk)
    tag_services.auto_tags_apply(asset=asset, addon="aws_rek_face", candidates=[("Ada Lovelace", 0.99)])
    analysis_services.analysis_request(asset=asset, addons=["aws_rek_tagging"], auto_tagging=0.8)
    analysis_services.analysis_run(asset_id=asset.pk)
    tags = {t.tag.name: t.source for t in AssetTag.objects.filter(content_object=asset)}
    assert tags == {"mine": "manual", "red": "aws_rek_tagging", "Ada Lovelace": "aws_rek_face"}


def test_a_rejected_tag_never_comes_back(user):
    asset = _upload(user, images.jpeg(80, 40), addons=["aws_rek_tagging"], auto_tagging=0.5)
    analysis_services.analysis_run(asset_id=asset.pk)
    thing = AssetTag.objects.get(content_object=asset, tag__name="thing").tag
    tag_services.tag_reject(asset=asset, tag=thing, user=user)
    assert TagDecision.objects.filter(asset=asset, tag=thing).exists()
    analysis_services.analysis_request(asset=asset, addons=["aws_rek_tagging"], auto_tagging=0.1)
    analysis_services.analysis_run(asset_id=asset.pk)
    assert "thing" not in asset.tags.names()
    assert {"red", "colour"} <= set(asset.tags.names())


def test_permanent_detector_error_is_recorded(user, fake_backend):
    asset = _upload(user, addons=["aws_rek_tagging"], auto_tagging=0.5)
    fake_backend.fail_with = DetectorError("The image has no pixels we understand.")
    assert analysis_services.analysis_run(asset_id=asset.pk) == {"aws_rek_tagging": "failed"}
    result = AnalysisResult.objects.get(asset=asset)
    assert result.error == "The image has no pixels we understand."
    assert asset_info(asset) == {"categorization": {"aws_rek_tagging": {
        "status": "failed", "error": {"message": "The image has no pixels we understand."}}}}
    assert list(asset.tags.names()) == []


def test_unexpected_error_is_recorded_with_the_addon_name(user, fake_backend):
    asset = _upload(user, addons=["aws_rek_tagging"])
    fake_backend.fail_with = KeyError("boom")
    analysis_services.analysis_run(asset_id=asset.pk)
    assert AnalysisResult.objects.get(asset=asset).error == "The aws_rek_tagging detector failed: 'boom'"


def test_transient_error_leaves_it_pending_for_the_retry(user, fake_backend):
    asset = _upload(user, addons=["aws_rek_tagging"])
    fake_backend.fail_with = TransientDetectorError("throttled")
    with pytest.raises(TransientDetectorError):
        analysis_services.analysis_run(asset_id=asset.pk)
    result = AnalysisResult.objects.get(asset=asset)
    assert (result.status, result.attempts) == ("pending", 1)
    fake_backend.fail_with = None
    analysis_services.analysis_run(asset_id=asset.pk)
    result.refresh_from_db()
    assert (result.status, result.attempts) == ("complete", 2)


def test_a_stale_run_does_not_overwrite_a_newer_request(user):
    asset = _upload(user, addons=["aws_rek_tagging"], auto_tagging=0.5)
    old = AnalysisResult.objects.get(asset=asset)
    analysis_services.analysis_request(asset=asset, addons=["aws_rek_tagging"], auto_tagging=0.9)
    assert analysis_services._result_complete(old, [{"tag": "Stale", "confidence": 1.0}], "fake") == "skipped"
    assert AnalysisResult.objects.get(asset=asset).status == "pending"
    assert list(asset.tags.names()) == []


def test_a_damaged_original_fails_with_a_message(user):
    from django.core.files.storage import default_storage

    asset = _upload(user, addons=["aws_rek_tagging"])
    default_storage.delete(asset.file.name)
    default_storage.save(asset.file.name, upload_file(b"garbage"))
    analysis_services.analysis_run(asset_id=asset.pk)
    result = AnalysisResult.objects.get(asset=asset)
    assert result.status == "failed" and result.error.startswith("The image could not be read for analysis")


def test_image_is_decoded_once_at_the_size_the_detectors_need(user, monkeypatch, settings):
    big = images.encode(Image.new("RGB", (4000, 3000), (20, 200, 20)), "JPEG")
    asset = _upload(user, big, addons=["aws_rek_tagging", "aws_rek_face"])
    seen = []
    original = analysis_services.analysis_image

    def spy(asset, max_pixels):
        image = original(asset, max_pixels=max_pixels)
        seen.append(image.image.size)
        return image

    monkeypatch.setattr(analysis_services, "analysis_image", spy)
    monkeypatch.setattr(type(backend_for("aws_rek_tagging")), "decode_size", lambda self, addons: 300_000)
    analysis_services.analysis_run(asset_id=asset.pk)
    assert len(seen) == 1
    # 300,000 pixels wanted (632x474): libjpeg decodes at 1/4, the smallest scale that covers it.
    assert seen[0] == (1000, 750)
    assert AnalysisResult.objects.filter(asset=asset, status="complete").count() == 2


def test_sweep_requeues_stale_pending_results(user, monkeypatch):
    queued = []
    monkeypatch.setattr(analysis_services, "analysis_enqueue", lambda asset_id: queued.append(asset_id) or True)
    fresh = _upload(user, addons=["aws_rek_tagging"])
    stale = _upload(user, addons=["aws_rek_tagging"])
    AnalysisResult.objects.filter(asset=stale).update(queued_at=timezone.now() - timedelta(hours=1))
    assert analysis_services.analysis_sweep(older_than=timedelta(minutes=10)) == [stale.pk]
    assert queued == [stale.pk]
    # Queued again just now: the next sweep leaves it alone.
    assert analysis_services.analysis_sweep(older_than=timedelta(minutes=10)) == []
    assert fresh.pk not in queued


def test_sweep_leaves_running_work_alone_and_gives_up_after_max_attempts(user, monkeypatch, settings):
    monkeypatch.setattr(analysis_services, "analysis_enqueue", lambda asset_id: True)
    running = _upload(user, addons=["aws_rek_tagging"])
    hopeless = _upload(user, addons=["aws_rek_tagging"])
    long_ago = timezone.now() - timedelta(hours=1)
    AnalysisResult.objects.filter(asset=running).update(queued_at=long_ago, started_at=timezone.now())
    AnalysisResult.objects.filter(asset=hopeless).update(
        queued_at=long_ago, started_at=long_ago, attempts=settings.TAGGING_MAX_ATTEMPTS)
    assert analysis_services.analysis_sweep(older_than=timedelta(minutes=10)) == []
    result = AnalysisResult.objects.get(asset=hopeless)
    assert result.status == "failed" and "Gave up after" in result.error
    assert AnalysisResult.objects.get(asset=running).status == "pending"


def test_unknown_addon_is_refused(user):
    asset = _upload(user)
    with pytest.raises(ValueError, match="Unknown add-on"):
        analysis_services.analysis_request(asset=asset, addons=["nope"])


def test_an_analysis_the_broker_refused_is_queued_by_the_next_sweep_whatever_its_age(user, monkeypatch):
    from kombu.exceptions import OperationalError as BrokerDown

    from medialib.queueing import broker_pause_reset
    from tagging.tasks import analyze_asset

    asset = _upload(user, addons=["aws_rek_tagging"])
    sent = []

    def broker_down(args, retry):
        raise BrokerDown("[Errno 111] Connection refused")

    monkeypatch.setattr(analyze_asset, "apply_async", broker_down)
    assert analysis_services.analysis_enqueue(asset_id=asset.pk) is False
    assert AnalysisResult.objects.get(asset=asset).queued_at is None  # marked: not queued
    # The default age (minutes) has not passed, yet the next sweep (once the broker is back) queues it.
    monkeypatch.setattr(analyze_asset, "apply_async", lambda args, retry: sent.append(args))
    broker_pause_reset()
    assert analysis_services.analysis_sweep() == [asset.pk]
    assert sent == [(asset.pk,)]
    assert AnalysisResult.objects.get(asset=asset).queued_at is not None
    assert analysis_services.analysis_sweep() == []


def test_faces_found_queue_the_people_pages_crops_which_the_worker_makes(user, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    """Once aws_rek_face has found faces, the worker pre-makes their crops for the people and asset pages."""
    from medialib import renditions
    from medialib.models import DeliveredRendition
    from medialib.page_images import eager_transformations, page_image
    from tagging.models import Face
    from tests.tagging.helpers import face_photo

    queued = []
    monkeypatch.setattr(renditions, "eager_renditions_queue", lambda asset, eager: queued.append((asset.pk, eager)))
    with django_capture_on_commit_callbacks(execute=True):
        asset = face_photo(user)
    face = Face.objects.get(asset=asset)
    [(asset_id, eager)] = queued
    every_image = set(eager_transformations())
    assert asset_id == asset.pk and eager and not {text for text, _ in eager} & every_image
    # Exactly the strings the pages' face crops use (1x and 2x of each face size), so they are served from storage.
    urls = {url for name in ("face", "face_small") for url in page_image(asset, name, face=face).urls.values()}
    # .../image/upload/<transformation>/v<version>/<public_id>.<ext> (a public_id may itself start with "v")
    transformations = {re.split(r"/v\d+/", url.split("/image/upload/", 1)[1])[0] for url in urls}
    assert {text for text, _ in eager} == transformations
    assert renditions.eager_renditions_run(asset_id=asset.pk, version=asset.version, eager=eager) == len(eager)
    assert DeliveredRendition.objects.filter(asset=asset).exclude(file="").count() == len(eager)


def test_each_result_wakes_the_waiters_first_at_its_commit_before_crops_and_notices_are_queued(
        user, monkeypatch, django_capture_on_commit_callbacks):
    """The waiting answer is what a person watches: its wakeup is the first thing each add-on's commit does, before
    the people page's crops and the notifications go to the broker (each a round trip)."""
    from medialib import queueing
    from tests.tagging.helpers import RED

    events = []
    monkeypatch.setattr(analysis_services, "wakeup_send", lambda topic: events.append(("wakeup", topic)) or True)
    monkeypatch.setattr(queueing, "task_enqueue", lambda task, *args: events.append(("queue", task.name)) or True)
    asset = _upload(user, images.jpeg(80, 40, color=RED), addons=["aws_rek_tagging", "aws_rek_face"],
                    auto_tagging=0.6)
    with django_capture_on_commit_callbacks(execute=True):
        assert analysis_services.analysis_run(asset_id=asset.pk) == {"aws_rek_tagging": "complete",
                                                                     "aws_rek_face": "complete"}
    topic = analysis_services.analysis_topic(asset.pk)
    assert events.count(("wakeup", topic)) == 2  # one per add-on's commit, none after
    crops = events.index(("queue", "medialib.tasks.eager_renditions"))
    assert events[crops - 1] == ("wakeup", topic)  # the faces' commit: its wakeup, then its crops
    assert events[-1] == ("queue", "medialib.tasks.eager_renditions")


@pytest.mark.django_db(transaction=True)
def test_the_run_wakes_a_waiting_request_through_redis_after_its_commit(user, settings):
    """analysis_wait subscribes, the run publishes once its results are committed: the waiter answers within a
    round trip, not at its one-second recheck."""
    import threading
    import time

    settings.MEDIALIB_WAKEUP_REDIS_URL = "redis://127.0.0.1:6379/15"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"analysis-wakeup-{time.time_ns()}:"}
    asset = _upload(user, addons=["aws_rek_tagging"], auto_tagging=0.7)
    answer = {}

    def wait():
        answer["ready"] = analysis_services.analysis_wait(asset_id=asset.pk, addons=["aws_rek_tagging"], timeout=5)
        answer["at"] = time.monotonic()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)  # subscribed and asked once: still pending
    assert "ready" not in answer
    assert analysis_services.analysis_run(asset_id=asset.pk) == {"aws_rek_tagging": "complete"}
    finished = time.monotonic()
    waiter.join(5)
    assert answer["ready"] is True
    assert answer["at"] - finished < 0.3, answer["at"] - finished
    from django.db import connections

    connections.close_all()  # the waiter thread's connection, so the test database can be dropped


def test_a_wait_with_nothing_pending_answers_at_once_and_a_timeout_answers_false(user):
    asset = _upload(user, addons=["aws_rek_tagging"])
    assert analysis_services.analysis_wait(asset_id=asset.pk, addons=["aws_rek_tagging"], timeout=0.2) is False
    analysis_services.analysis_run(asset_id=asset.pk)
    assert analysis_services.analysis_wait(asset_id=asset.pk, addons=["aws_rek_tagging"], timeout=0) is True
