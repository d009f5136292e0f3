"""Kept delivery renditions (medialib/renditions.py): made once, stored through the storage, served from there,
removed with their version or their asset."""
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import cloudinary
import cloudinary.utils
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from PIL import Image

from medialib import renditions
from medialib.models import Asset, DeliveredRendition
from medialib.renditions import delivered_renditions_purge
from medialib.services import asset_delete, asset_upload
from medialib.transformations import Transformation
from tests import images
from tests.conftest import stored_files, upload_file
from tests.medialib.test_delivery_views import _body
from tests.medialib.test_services import _keys, s3_server, s3_storage  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def public(settings):
    settings.MEDIALIB_DELIVERY_ACCESS = "public"
    cloudinary.reset_config()
    cloudinary.config(cloud_name="medialib", api_key="unused", api_secret="unused", cname="testserver")
    yield
    cloudinary.reset_config()


@pytest.fixture
def renders(monkeypatch):
    """Counts the renderer's computations (in every thread)."""
    calls = []
    lock = threading.Lock()
    real = renditions.transformation_render

    def counting(*args, **kwargs):
        with lock:
            calls.append(str(args[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr(renditions, "transformation_render", counting)
    return calls


def _path(asset, **options):
    url = cloudinary.utils.cloudinary_url(asset.public_id, format="jpg", version=asset.version, **options)[0]
    return url.split("testserver", 1)[1]


def _photo(user, public_id="pets/puppy"):
    return asset_upload(file=upload_file(images.jpeg(320, 240), "puppy.jpg"), uploaded_by=user, public_id=public_id)


def test_a_rendition_is_made_once_kept_in_storage_and_served_from_there(user, renders, media_root):
    asset = _photo(user)
    path = _path(asset, width=100, crop="scale")
    first = Client().get(path)
    assert first.status_code == 200, first.get("X-Cld-Error")
    data = _body(first)
    assert Image.open(io.BytesIO(data)).size == (100, 75)
    row = DeliveredRendition.objects.get(asset=asset)
    assert (row.version, row.transformation, row.format, row.width, row.height, row.bytes) == \
        (asset.version, "c_scale,w_100", "jpg", 100, 75, len(data))
    assert (media_root / row.file.name).read_bytes() == data
    for _ in range(3):
        again = Client().get(path)
        assert again.status_code == 200 and _body(again) == data
    assert renders == ["c_scale,w_100"]
    # The same transformation written differently is the same rendition (the canonical string is the key).
    assert _body(Client().get(path.replace("c_scale,w_100", "w_100,c_scale"))) == data
    assert len(renders) == 1 and DeliveredRendition.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_requests_for_a_new_rendition_compute_it_once(user, renders, monkeypatch):
    asset = _photo(user)
    path = _path(asset, width=200, height=200, crop="fill")
    start = threading.Barrier(10)
    real = renditions.rendition_render

    def slow(*args, **kwargs):
        result = real(*args, **kwargs)
        threading.Event().wait(0.3)  # long enough for every other request to find the claim
        return result

    monkeypatch.setattr(renditions, "rendition_render", slow)

    def get(_):
        try:
            start.wait()
            response = Client().get(path)
            return response.status_code, _body(response)
        finally:
            connection.close()

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(get, range(10)))
    assert [status for status, _ in results] == [200] * 10
    assert len({body for _, body in results}) == 1
    assert renders == ["c_fill,h_200,w_200"]
    assert DeliveredRendition.objects.filter(asset=asset).exclude(file="").count() == 1


def test_a_claim_left_by_a_dead_process_is_taken_over(user, renders, settings):
    asset = _photo(user)
    transformation = Transformation.from_string("c_scale,w_50")
    key = renditions.rendition_key(transformation=transformation, fmt="jpg")
    claim = DeliveredRendition.objects.create(asset=asset, version=asset.version, key=key,
                                              transformation=str(transformation), format="jpg")
    settings.MEDIALIB_DELIVERY_WAIT_SECONDS = 1
    # A live claim: the request waits, then renders without keeping (and does not take the claim).
    response = Client().get(_path(asset, width=50, crop="scale"))
    assert response.status_code == 200 and Image.open(io.BytesIO(_body(response))).size == (50, 38)
    assert DeliveredRendition.objects.get(pk=claim.pk).file.name == ""
    DeliveredRendition.objects.filter(pk=claim.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.MEDIALIB_DELIVERY_CLAIM_STALE_SECONDS + 1))
    response = Client().get(_path(asset, width=50, crop="scale"))
    assert response.status_code == 200
    row = DeliveredRendition.objects.get(pk=claim.pk)
    assert row.file.name and row.width == 50
    assert len(renders) == 2


def test_a_rendition_that_cannot_be_made_leaves_no_row_and_no_file(user, settings, media_root):
    asset = _photo(user)
    before = stored_files(media_root)
    settings.MEDIALIB_MAX_OUTPUT_PIXELS = 10_000
    response = Client().get(_path(asset, width=1000, height=1000, crop="scale"))
    assert response.status_code == 400 and "pixels" in response["X-Cld-Error"]
    assert not DeliveredRendition.objects.exists()
    assert stored_files(media_root) == before


def test_an_asset_deleted_while_its_rendition_is_made_leaves_no_file(user, media_root, monkeypatch):
    asset = _photo(user)
    real = renditions.rendition_render

    def delete_meanwhile(*args, **kwargs):
        result = real(*args, **kwargs)
        Asset.objects.filter(pk=asset.pk).delete()
        return result

    monkeypatch.setattr(renditions, "rendition_render", delete_meanwhile)
    result = renditions.delivered_rendition(asset=asset, transformation=Transformation.from_string("w_40"), fmt="png")
    assert Image.open(io.BytesIO(result.data)).size == (40, 30)  # rendered, not kept
    assert not DeliveredRendition.objects.exists()
    assert not [name for name in stored_files(media_root) if name.startswith("delivered/")]


def test_a_new_version_makes_old_renditions_unreachable_and_purge_removes_them(user, renders, media_root,
                                                                             django_capture_on_commit_callbacks):
    asset = _photo(user)
    old_path = _path(asset, width=60, crop="scale")
    assert Client().get(old_path).status_code == 200
    old = DeliveredRendition.objects.get(asset=asset)
    Asset.objects.filter(pk=asset.pk).update(version=asset.version + 1)  # what an overwrite does
    asset.refresh_from_db()
    assert Client().get(old_path).status_code == 404  # the old version's URL
    new = Client().get(_path(asset, width=60, crop="scale"))
    assert new.status_code == 200 and len(renders) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert delivered_renditions_purge(asset) == 1
    assert not (media_root / old.file.name).exists()
    assert list(DeliveredRendition.objects.values_list("version", flat=True)) == [asset.version]


def test_deleting_an_asset_removes_its_kept_renditions(user, media_root, django_capture_on_commit_callbacks):
    asset = _photo(user)
    for width in (30, 60):
        assert Client().get(_path(asset, width=width, crop="scale")).status_code == 200
    assert len([name for name in stored_files(media_root) if name.startswith("delivered/")]) == 2
    with django_capture_on_commit_callbacks(execute=True):
        asset_delete(asset=asset, user=user)
    assert not [name for name in stored_files(media_root) if name.startswith("delivered/")]
    assert not DeliveredRendition.objects.exists()


def test_one_image_keeps_at_most_the_configured_number_of_renditions(user, settings, renders):
    settings.MEDIALIB_DELIVERY_MAX_KEPT_PER_ASSET = 2
    asset = _photo(user)
    for width in (10, 20, 30, 30):
        response = Client().get(_path(asset, width=width, crop="scale"))
        assert response.status_code == 200 and Image.open(io.BytesIO(_body(response))).size[0] == width
    assert sorted(DeliveredRendition.objects.values_list("width", flat=True)) == [10, 20]
    assert renders.count("c_scale,w_30") == 2  # beyond the cap: rendered each time, never stored


def test_a_face_crop_made_before_the_faces_were_known_is_made_again_once_they_are(user, monkeypatch):
    from medialib import delivery_views

    asset = _photo(user)
    monkeypatch.setattr(delivery_views, "gravity_face_boxes", lambda a, wait_seconds: None if known is None else list(known))
    path = _path(asset, width=80, height=80, crop="thumb", gravity="face")
    known = None  # the worker has not found them yet: cropped without faces, not kept, not cached
    unknown = Client().get(path)
    assert unknown.status_code == 200 and unknown["Cache-Control"] == "no-store" and "ETag" not in unknown
    assert not DeliveredRendition.objects.exists()
    known = []
    before = Client().get(path)
    known = [(200, 20, 60, 60)]
    after = Client().get(path)
    assert before["ETag"] != after["ETag"]
    assert DeliveredRendition.objects.filter(asset=asset).exclude(file="").count() == 2


def test_kept_renditions_on_s3(user, s3_storage, renders, django_capture_on_commit_callbacks):
    client, bucket = s3_storage
    asset = _photo(user)
    path = _path(asset, width=120, crop="scale", fetch_format="webp")
    first = Client().get(path)
    assert first.status_code == 200 and first["Content-Type"] == "image/webp"
    row = DeliveredRendition.objects.get(asset=asset)
    assert row.file.name in _keys(client, bucket)
    stored = client.get_object(Bucket=bucket, Key=row.file.name)["Body"].read()
    assert _body(first) == stored
    assert _body(Client().get(path)) == stored and len(renders) == 1
    with django_capture_on_commit_callbacks(execute=True):
        asset_delete(asset=asset, user=user)
    assert _keys(client, bucket) == []


def _decodes(monkeypatch) -> list:
    """Every decode of an original's pixels (image_decode calls this once per decode it really makes)."""
    from medialib import images as module

    made = []
    flatten = module._flatten_reduced
    monkeypatch.setattr(module, "_flatten_reduced", lambda image, factor: made.append(image.size) or
                        flatten(image, factor))
    return made


def _big_jpeg() -> bytes:
    source = Image.linear_gradient("L").resize((2400, 1800))
    return images.encode(Image.merge("RGB", (source, source.transpose(Image.Transpose.FLIP_LEFT_RIGHT), source)),
                         "JPEG", quality=90)


def test_eager_face_crops_read_the_original_once_and_decode_each_scale_once(user, monkeypatch):
    """Two faces' crops at 1x and 2x: two reduced decodes (1/4 and 1/2) for the four, not four whole ones."""
    asset = asset_upload(file=upload_file(_big_jpeg()), uploaded_by=user)
    eager = [(str(Transformation.from_string(f"c_crop,h_600,w_600,x_{x},y_{y}/c_fill,h_{side},w_{side}")), "jpg")
             for x, y in ((100, 100), (1500, 900)) for side in (96, 192)]
    opened = []
    spooled = renditions.original_spooled
    monkeypatch.setattr(renditions, "original_spooled", lambda asset: opened.append(asset.pk) or spooled(asset))
    decodes = _decodes(monkeypatch)
    assert renditions.eager_renditions_run(asset_id=asset.pk, version=asset.version, eager=eager) == 4
    assert opened == [asset.pk]
    assert sorted(decodes) == [(600, 450), (1200, 900)]
    kept = DeliveredRendition.objects.filter(asset=asset).exclude(file="")
    assert sorted((row.width, row.height) for row in kept) == [(96, 96), (96, 96), (192, 192), (192, 192)]
