"""medialib.services: uploads, tags, renditions; on local files, a storage without paths, and S3."""
import hashlib
import io

import boto3
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from PIL import Image

from medialib import services
from medialib.models import Asset, AssetTag, DeliveredRendition, Rendition
from medialib.page_images import eager_transformations
from tests import images
from tests.conftest import stored_files, upload_file

pytestmark = pytest.mark.django_db


def test_upload_stores_the_original_unchanged_and_describes_it(user, media_root):
    data = images.photo_bytes("dogs.jpg")
    asset = services.asset_upload(file=upload_file(data, "dogs.jpg"), uploaded_by=user, tags=["Dogs", "park"])

    assert asset.format == "jpg"
    assert (asset.width, asset.height) == (900, 916)
    assert asset.bytes == len(data)
    assert asset.sha256 == hashlib.sha256(data).hexdigest()
    assert asset.original_filename == "dogs.jpg"
    assert asset.uploaded_by == user
    assert len(asset.public_id) == 20 and asset.public_id.isalnum()
    assert sorted(asset.tags.names()) == ["Dogs", "park"]
    assert set(AssetTag.objects.filter(content_object=asset).values_list("source", flat=True)) == {"manual"}
    with default_storage.open(asset.file.name) as stored:
        assert stored.read() == data
    assert stored_files(media_root) == [asset.file.name]


def test_upload_keeps_the_name_out_of_the_storage_key(user):
    asset = services.asset_upload(file=upload_file(images.jpeg(), "../../etc/passwd.jpg"), uploaded_by=user)
    assert asset.original_filename == "passwd.jpg"
    assert asset.file.name.startswith("originals/") and ".." not in asset.file.name


def test_exif_rotated_photo_is_stored_with_displayed_dimensions(user):
    asset = services.asset_upload(file=upload_file(images.exif_rotated_jpeg(6)), uploaded_by=user)
    assert (asset.width, asset.height) == (480, 360)


@pytest.mark.parametrize("public_id", ["trips/2024/beach", "a", "IMG_0001.final", "x" * 100])
def test_public_id_given_by_the_uploader(user, public_id):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, public_id=public_id)
    assert Asset.objects.get(public_id=public_id) == asset


@pytest.mark.parametrize(
    "public_id", ["../secret", "a/../../b", "/abs", "a//b", ".hidden", "a/./b", "a b", "x<script>", "a\\b", "x" * 101]
)
def test_hostile_public_ids_are_refused_and_leave_nothing(user, media_root, public_id):
    with pytest.raises(services.UploadError, match="public_id"):
        services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, public_id=public_id)
    assert not Asset.objects.exists()
    assert stored_files(media_root) == []


def test_taken_public_id_is_refused_and_leaves_nothing(user, media_root):
    first = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, public_id="taken")
    with pytest.raises(services.UploadError, match="already taken"):
        services.asset_upload(file=upload_file(images.png()), uploaded_by=user, public_id="taken")
    assert list(Asset.objects.all()) == [first]
    assert stored_files(media_root) == [first.file.name]


def test_database_failure_after_storing_deletes_the_file(user, media_root, monkeypatch):
    def broken_create(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Asset.objects, "create", broken_create)
    with pytest.raises(RuntimeError):
        services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    assert stored_files(media_root) == []


def test_tag_failure_rolls_back_the_row_and_deletes_the_file(user, media_root, monkeypatch):
    def broken_attach(**kwargs):
        raise RuntimeError("tag table locked")

    monkeypatch.setattr(services, "_tags_attach", broken_attach)
    with pytest.raises(RuntimeError):
        services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, tags=["x"])
    assert not Asset.objects.exists()
    assert stored_files(media_root) == []


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"", "empty.jpg", "empty.jpg is empty (0 bytes)"),
        (images.truncated_jpeg(), "cut.jpg", "cut.jpg is damaged or incomplete"),
        (b"hello, I am text", "notes.jpg", "notes.jpg is not an image this library reads"),
        (images.svg_with_script(), "evil.svg", "evil.svg is not an image this library reads"),
        (images.png_bomb(), "bomb.png", "bomb.png has more pixels than the limit"),
    ],
)
def test_bad_files_are_refused_with_their_name_in_the_message(user, media_root, data, name, message):
    with pytest.raises(services.UploadError) as caught:
        services.asset_upload(file=upload_file(data, name), uploaded_by=user)
    assert message in caught.value.messages[0]
    assert not Asset.objects.exists()
    assert stored_files(media_root) == []


def test_byte_limit(user, settings):
    settings.MEDIALIB_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(services.UploadError, match="more than the limit of 1 kB"):
        services.asset_upload(file=upload_file(images.photo_bytes("dogs.jpg"), "big.jpg"), uploaded_by=user)


def test_pixel_limit_from_settings(user, settings):
    settings.MEDIALIB_MAX_PIXELS = 1000
    with pytest.raises(services.UploadError, match="64×48 pixels, more than the limit of 1,000"):
        services.asset_upload(file=upload_file(images.jpeg(64, 48)), uploaded_by=user)


@pytest.mark.parametrize(
    "data, fmt, frames",
    [
        (images.sixteen_bit_png(), "png", 1),
        (images.cmyk_jpeg(), "jpg", 1),
        (images.animated_gif(3), "gif", 3),
        (images.html_jpeg_polyglot(), "jpg", 1),
    ],
)
def test_odd_but_valid_images_are_accepted(user, data, fmt, frames):
    asset = services.asset_upload(file=upload_file(data, "odd"), uploaded_by=user)
    assert (asset.format, asset.frames) == (fmt, frames)


def test_tags_add_and_remove_by_owner(user):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, tags=["beach"])
    assert services.asset_tags_add(asset=asset, names=["Sunset", "beach", " sunset "], user=user) == ["Sunset"]
    assert sorted(asset.tags.names()) == ["Sunset", "beach"]
    assert services.asset_tag_remove(asset=asset, name="BEACH", user=user) is True
    assert list(asset.tags.names()) == ["Sunset"]


def test_tags_reuse_existing_tag_whatever_the_case(user, other_user):
    a = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, tags=["Beach"])
    b = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=other_user, tags=["beach"])
    assert a.tags.get().pk == b.tags.get().pk


def test_other_users_cannot_change_tags_but_staff_can(user, other_user, staff_user):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, tags=["mine"])
    with pytest.raises(PermissionDenied):
        services.asset_tags_add(asset=asset, names=["theirs"], user=other_user)
    with pytest.raises(PermissionDenied):
        services.asset_tag_remove(asset=asset, name="mine", user=other_user)
    assert list(asset.tags.names()) == ["mine"]
    services.asset_tags_add(asset=asset, names=["checked"], user=staff_user)
    assert sorted(asset.tags.names()) == ["checked", "mine"]


def test_other_users_cannot_delete(user, other_user, staff_user):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    with pytest.raises(PermissionDenied):
        services.asset_delete(asset=asset, user=other_user)
    assert Asset.objects.filter(pk=asset.pk).exists()
    services.asset_delete(asset=asset, user=staff_user)
    assert not Asset.objects.filter(pk=asset.pk).exists()


def test_overlong_tag_is_refused(user):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    with pytest.raises(ValidationError, match="longer than 100"):
        services.asset_tags_add(asset=asset, names=["x" * 101], user=user)


def _assert_renditions(asset):
    renditions = {r.spec: r for r in Rendition.objects.filter(asset=asset)}
    assert set(renditions) == set(services.RENDITION_SPECS)
    for spec, size in services.RENDITION_SPECS.items():
        rendition = renditions[spec]
        with default_storage.open(rendition.file.name) as handle:
            image = Image.open(io.BytesIO(handle.read()))
        assert image.format == "JPEG"
        assert image.size == (rendition.width, rendition.height)
        assert max(image.size) == min(size, max(asset.width, asset.height))
    return renditions


def test_renditions_are_made_once(user, media_root):
    asset = services.asset_upload(file=upload_file(images.photo_bytes("dogs.jpg")), uploaded_by=user)
    made = services.renditions_generate(asset_id=asset.pk)
    assert len(made) == 2
    _assert_renditions(asset)
    files_after_first = stored_files(media_root)
    assert services.renditions_generate(asset_id=asset.pk) == []  # idempotent: nothing new
    assert stored_files(media_root) == files_after_first
    assert Rendition.objects.count() == 2


def test_renditions_of_a_deleted_asset_are_a_no_op(user):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    asset.delete()
    assert services.renditions_generate(asset_id=asset.pk) == []


def test_delete_removes_files_after_commit(user, media_root, django_capture_on_commit_callbacks):
    asset = services.asset_upload(file=upload_file(images.photo_bytes("dogs.jpg")), uploaded_by=user)
    services.renditions_generate(asset_id=asset.pk)
    # The original, the two fixed renditions and the pages' four kept delivery renditions (tile, preview; 1x, 2x).
    assert len(stored_files(media_root)) == 7
    assert len([name for name in stored_files(media_root) if name.startswith("delivered/")]) == 4
    with django_capture_on_commit_callbacks(execute=True):
        services.asset_delete(asset=asset, user=user)
    assert stored_files(media_root) == []
    assert not Asset.objects.exists()


def test_upload_and_renditions_on_a_storage_without_paths(settings, user):
    # Like S3, this storage has no .path(): code that assumes local files fails here.
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tests.storages.NoPathStorage"}}
    with pytest.raises(NotImplementedError):
        default_storage.path("x")  # the double really forbids paths
    asset = services.asset_upload(file=upload_file(images.exif_rotated_jpeg()), uploaded_by=user)
    services.renditions_generate(asset_id=asset.pk)
    renditions = _assert_renditions(asset)
    assert renditions["thumb"].width > renditions["thumb"].height


# --- S3, served by moto over HTTP


@pytest.fixture(scope="session")
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, s3_server, monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    bucket = f"medialib-test-{id(settings)}"
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": bucket, "endpoint_url": s3_server, "region_name": "us-east-1",
                        "file_overwrite": False},
        },
    }
    return client, bucket


def _keys(client, bucket):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_upload_and_renditions_on_s3(user, s3_storage):
    client, bucket = s3_storage
    data = images.photo_bytes("dogs.jpg")
    asset = services.asset_upload(file=upload_file(data, "dogs.jpg"), uploaded_by=user)
    assert _keys(client, bucket) == [asset.file.name]
    assert client.get_object(Bucket=bucket, Key=asset.file.name)["Body"].read() == data

    services.renditions_generate(asset_id=asset.pk)
    renditions = _assert_renditions(asset)
    kept = [r.file.name for r in DeliveredRendition.objects.filter(asset=asset)]
    assert len(kept) == len(eager_transformations())  # the pages' kept delivery renditions, on S3 too
    assert _keys(client, bucket) == sorted([asset.file.name, *(r.file.name for r in renditions.values()), *kept])


def test_failed_upload_leaves_no_object_on_s3(user, s3_storage, monkeypatch):
    client, bucket = s3_storage

    def broken_attach(**kwargs):
        raise RuntimeError("tag table locked")

    monkeypatch.setattr(services, "_tags_attach", broken_attach)
    with pytest.raises(RuntimeError):
        services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, tags=["x"])
    assert _keys(client, bucket) == []
    assert not Asset.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_uploads_with_the_same_new_tags_all_succeed(user):
    """Two requests making the same new tag at once: one creates it, the other reuses it."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def upload(i):
        try:
            return services.asset_upload(file=upload_file(images.jpeg(), f"p{i}.jpg"), uploaded_by=user,
                                         tags=[f"Race {n}" for n in range(5)]).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(upload, range(8)))
    assert len(set(ids)) == 8
    for asset in Asset.objects.all():
        assert len(asset.tags.names()) == 5
    from medialib.models import Tag
    assert Tag.objects.filter(name__startswith="Race").count() == 5


def test_tag_uses_carry_the_assets_date_for_search(user):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, tags=["beach"])
    use = AssetTag.objects.get(content_object=asset)
    assert use.asset_created_at == asset.created_at
    services.asset_tags_add(asset=asset, names=["sea"], user=user)
    assert set(AssetTag.objects.values_list("asset_created_at", flat=True)) == {asset.created_at}


def test_a_nul_in_a_tag_is_refused_and_in_a_file_name_dropped(user):
    # PostgreSQL cannot store text holding NUL: a tag says so, a file's name (only shown) loses it.
    with pytest.raises(ValidationError, match="NUL character"):
        services.asset_upload(file=upload_file(images.jpeg(), "x.jpg"), uploaded_by=user, tags=["a\x00b"])
    asset = services.asset_upload(file=upload_file(images.jpeg(), "x.jpg"), uploaded_by=user,
                                  original_filename="a\x00b.jpg")
    assert asset.original_filename == "ab.jpg"
    with pytest.raises(ValidationError, match="NUL character"):
        services.asset_tags_add(asset=asset, names=["dog\x00"], user=user)


# --- Faults: an exception at any step of an upload leaves the file and its row both present or both absent.
# A SystemExit (gunicorn's timeout) or a KeyboardInterrupt can arrive anywhere, after the commit too; on-commit
# callbacks only run inside asset_upload in a transactional test (pytest-django's usual test is one transaction).

def _raise(exc_type):
    def raising(*args, **kwargs):
        raise exc_type("interrupted")
    return raising


def _commit_then(exc_type):
    """The connection commits, then the exception arrives, before Django has run the on-commit callbacks."""
    from django.db import connection

    real_commit = connection._commit

    def commit_then_raise(*args, **kwargs):
        real_commit(*args, **kwargs)
        raise exc_type("interrupted after COMMIT")
    return commit_then_raise


def _raised(exc_type, committed):
    """What the caller sees. Stopped inside COMMIT (committed None), PostgreSQL's connection is left mid-transaction
    and Django's clean-up raises a DatabaseError of its own instead; the files must still match the rows."""
    from django.db import DatabaseError

    return exc_type if committed is not None else (exc_type, DatabaseError)


def _connection_renew(committed):
    """After a stop inside COMMIT the next process would have a new connection; so does the rest of the test."""
    if committed is None:
        from django.db import connection

        connection.close()


UPLOAD_STEPS = {
    # step: (what to patch, how, whether the upload's row is committed when the exception arrives; None: the
    # database decides, e.g. SQLite commits the open transaction when Django turns autocommit back on)
    "before: validating": ("medialib.services.image_inspect", _raise, False),
    "before: naming the file": ("medialib.services._storage_name", _raise, False),
    "inside: creating the row": ("medialib.services.Asset.objects.create", _raise, False),
    "inside: attaching tags": ("medialib.services._tags_attach", _raise, False),
    "inside: the on_create hook": ("tagging.services.analysis.analysis_request", _raise, False),
    "commit: before it": ("django.db.connection._commit", _raise, None),
    "commit: after it": ("django.db.connection._commit", _commit_then, True),
    "on-commit: renditions enqueue": ("medialib.services._renditions_enqueue", _raise, True),
    "on-commit: analysis enqueue": ("tagging.services.analysis.analysis_enqueue", _raise, True),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
@pytest.mark.parametrize("step", list(UPLOAD_STEPS))
def test_an_interrupted_upload_keeps_its_file_exactly_when_its_row_is_committed(
    user, media_root, monkeypatch, step, exc_type
):
    from tests.conftest import asset_upload

    target, make, committed = UPLOAD_STEPS[step]
    module_path, attr = target.rsplit(".", 1)
    if target.startswith("django.db.connection"):
        from django.db import connection as owner
    elif target == "medialib.services.Asset.objects.create":
        owner = Asset.objects
    else:
        owner = __import__(module_path, fromlist=[attr])
    monkeypatch.setattr(owner, attr, make(exc_type))

    with pytest.raises(_raised(exc_type, committed)):
        asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, tags=["x"], addons=["aws_rek_tagging"])
    monkeypatch.undo()
    _connection_renew(committed)

    rows = list(Asset.objects.values_list("file", flat=True))
    if committed is None:
        # Stopped inside COMMIT the service cannot know; it keeps the file: never a row without its file.
        assert set(rows) <= set(stored_files(media_root))
    else:
        assert stored_files(media_root) == rows  # both present or both absent
        assert len(rows) == (1 if committed else 0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_an_exception_after_the_upload_returned_leaves_both(user, media_root, exc_type):
    with pytest.raises(exc_type):
        services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
        raise exc_type("the request was stopped after the upload")  # e.g. in the view, while rendering
    assert stored_files(media_root) == list(Asset.objects.values_list("file", flat=True)) != []


@pytest.mark.django_db(transaction=True)
def test_a_database_that_cannot_answer_after_the_commit_keeps_the_file(user, media_root, monkeypatch):
    from django.db import OperationalError, connection

    monkeypatch.setattr(connection, "_commit", _commit_then(KeyboardInterrupt))
    monkeypatch.setattr(services.Asset.objects, "filter", _raise(OperationalError))
    with pytest.raises(KeyboardInterrupt):
        services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    monkeypatch.undo()
    assert stored_files(media_root) == list(Asset.objects.values_list("file", flat=True)) != []


def _fixed_files(root):
    """The stored files but the kept delivery renditions (medialib.renditions: tested on their own)."""
    return [name for name in stored_files(root) if not name.startswith("delivered/")]


RENDITION_STEPS = {
    "rendering": ("medialib.services.thumbnail_render", _raise, False),
    "recording the row": ("medialib.services.Rendition.objects.get_or_create", _raise, False),
    "commit: before it": ("django.db.connection._commit", _raise, None),
    "commit: after it": ("django.db.connection._commit", _commit_then, True),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
@pytest.mark.parametrize("step", list(RENDITION_STEPS))
def test_an_interrupted_rendition_keeps_its_file_exactly_when_its_row_is_committed(
    user, media_root, monkeypatch, step, exc_type
):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    target, make, committed = RENDITION_STEPS[step]
    attr = target.rsplit(".", 1)[1]
    if target.startswith("django.db.connection"):
        from django.db import connection as owner
    elif "Rendition.objects" in target:
        owner = Rendition.objects
    else:
        owner = services
    monkeypatch.setattr(owner, attr, make(exc_type))
    with pytest.raises(_raised(exc_type, committed)):
        services.renditions_generate(asset_id=asset.pk)
    monkeypatch.undo()
    _connection_renew(committed)

    renditions = list(Rendition.objects.values_list("file", flat=True))
    if committed is None:  # as for the upload: never a row without its file
        assert {asset.file.name, *renditions} <= set(_fixed_files(media_root))
    else:
        assert _fixed_files(media_root) == sorted([asset.file.name, *renditions])
        assert len(renditions) == (1 if committed else 0)
    # What was left undone is made by the next run, once.
    services.renditions_generate(asset_id=asset.pk)
    assert Rendition.objects.count() == 2
    assert set(Rendition.objects.values_list("file", flat=True)) <= set(_fixed_files(media_root))
    if committed is not None:
        assert len(_fixed_files(media_root)) == 3
    # The pages' kept delivery renditions are made too, each once.
    assert DeliveredRendition.objects.exclude(file="").count() == len(eager_transformations())


# --- Deleting an asset while the worker makes its renditions: safe in both orders.

@pytest.mark.django_db(transaction=True)
def test_asset_deleted_while_its_renditions_are_being_made(user, media_root, monkeypatch):
    """The delete commits between the worker storing a rendition file and recording it."""
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    real_save = services.default_storage.save

    def save_then_delete(name, content):
        stored = real_save(name, content)
        if Asset.objects.filter(pk=asset.pk).exists():
            services.asset_delete(asset=Asset.objects.get(pk=asset.pk), user=user)
        return stored

    monkeypatch.setattr(services.default_storage, "save", save_then_delete)
    assert services.renditions_generate(asset_id=asset.pk) == []  # no foreign-key error
    monkeypatch.undo()
    assert not Asset.objects.exists() and not Rendition.objects.exists()
    assert stored_files(media_root) == []  # no orphan rendition file


@pytest.mark.django_db(transaction=True)
def test_renditions_recorded_while_the_asset_is_being_deleted(user, media_root, monkeypatch):
    """A worker records renditions while asset_delete is between reading the list of files and deleting."""
    import threading

    from django.db import connection

    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    outcome = {}

    def worker():
        try:
            outcome["made"] = services.renditions_generate(asset_id=asset.pk)
        except Exception as exc:  # pragma: no cover - what the test is looking for
            outcome["error"] = exc
        finally:
            connection.close()

    real_delete = Asset.delete

    def delete_with_a_worker_running(self, *args, **kwargs):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(3)  # it finishes here if nothing holds it back
        result = real_delete(self, *args, **kwargs)
        outcome["thread"] = thread
        return result

    monkeypatch.setattr(Asset, "delete", delete_with_a_worker_running)
    services.asset_delete(asset=asset, user=user)
    outcome["thread"].join(30)
    monkeypatch.undo()
    assert "error" not in outcome
    assert outcome["made"] == []
    assert not Asset.objects.exists() and not Rendition.objects.exists()
    assert stored_files(media_root) == []


# --- The renditions sweep: thumbnails lost to a fault are made again without a person.

def _broker(monkeypatch, *, down: bool, sent: list | None = None):
    from kombu.exceptions import OperationalError as BrokerDown

    from medialib.queueing import broker_pause_reset
    from medialib.tasks import renditions_generate

    def apply_async(args, retry):
        if down:
            raise BrokerDown("[Errno 111] Connection refused")
        sent.append(args)

    broker_pause_reset()
    monkeypatch.setattr(renditions_generate, "apply_async", apply_async)


def test_renditions_the_broker_refused_are_queued_by_the_next_sweep(user, monkeypatch):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    _broker(monkeypatch, down=True)
    assert services._renditions_enqueue(asset.pk) is False  # what the upload's on-commit callback runs
    asset.refresh_from_db()
    assert asset.renditions_missing and asset.renditions_queued_at is None

    sent = []
    _broker(monkeypatch, down=False, sent=sent)
    assert services.renditions_sweep() == [asset.pk]  # at once, not after the default age
    assert sent == [(asset.pk,)]
    assert services.renditions_sweep() == []  # queued just now: left alone until it is old


def test_the_sweep_queues_renditions_lost_after_they_were_queued_and_stops_once_they_exist(user, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    lost = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    recent = services.asset_upload(file=upload_file(images.png()), uploaded_by=user)
    done = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    services.renditions_generate(asset_id=done.pk)
    long_ago = timezone.now() - timedelta(hours=1)
    Asset.objects.filter(pk__in=[lost.pk, done.pk]).update(renditions_queued_at=long_ago)
    sent = []
    _broker(monkeypatch, down=False, sent=sent)
    assert services.renditions_sweep() == [lost.pk]
    services.renditions_generate(asset_id=lost.pk)
    assert not Asset.objects.get(pk=lost.pk).renditions_missing
    assert services.renditions_sweep(older_than=timedelta(0)) == [recent.pk]


def test_the_renditions_sweep_reads_a_partial_index():
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL's planner picks by table size")
    query = Asset.objects.filter(renditions_missing=True).filter(renditions_queued_at__isnull=True)
    with connection.cursor() as cursor:
        sql, params = query.values("pk").query.sql_with_params()
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "asset_renditions_missing" in plan, plan


def test_renditions_share_the_decodes_of_one_scale_and_are_all_made(user, monkeypatch):
    """The thumbnails and the pages' sizes of a 2400x1800 JPEG need libjpeg's 1/4, 1/2 and whole scales: three
    decodes for the six, each one the pixels a decode of its own would give."""
    from medialib import images as module

    source = Image.linear_gradient("L").resize((2400, 1800))
    data = images.encode(Image.merge("RGB", (source, source.transpose(Image.Transpose.FLIP_LEFT_RIGHT), source)),
                         "JPEG", quality=90)
    asset = services.asset_upload(file=upload_file(data), uploaded_by=user)
    decodes = []
    flatten = module._flatten_reduced
    monkeypatch.setattr(module, "_flatten_reduced", lambda image, factor: decodes.append(image.size) or
                        flatten(image, factor))
    assert len(services.renditions_generate(asset_id=asset.pk)) == 2
    _assert_renditions(asset)
    assert sorted(decodes) == [(600, 450), (1200, 900), (2400, 1800)]
    kept = DeliveredRendition.objects.filter(asset=asset).exclude(file="")
    assert {row.transformation for row in kept} == set(eager_transformations())
    assert sorted((row.width, row.height) for row in kept) == [(320, 200), (640, 400), (1000, 750), (2000, 1500)]
