"""Face gravity through the delivery route on images nobody analysed: a real worker finds the faces on demand with
the local detector (tagging.services.gravity), and the crops hold them: a portrait, and real group photos whose
every face box is known (tests/photos/face_boxes.xml, dlib's training.xml). Where each crop came from is found by
template matching it into the original, not computed from the renderer's own arithmetic."""
import io
import xml.etree.ElementTree as ET

import cloudinary.utils
import numpy as np
import pytest
from PIL import Image

from medialib.api.services import api_key_create
from medialib.services import asset_upload
from tagging.models import AnalysisResult, Face, GravityFaces
from tests import images
from tests.conftest import upload_file
from tests.medialib.test_delivery_views import _body, _get, sdk  # noqa: F401 - sdk: the SDK's config, autouse

# How far outside the located window a face box may reach: the crop is found to about a pixel of the output,
# which is 1-2.5 pixels of the original at these scales.
SLACK = 3


@pytest.fixture
def celery_worker_env():
    return {"TAGGING_BACKEND": "local"}


@pytest.fixture
def waits_for_the_worker(settings):
    # The worker's first detection loads dlib's models; later ones take well under a second.
    settings.MEDIALIB_DELIVERY_FACES_WAIT_SECONDS = 60


def _truth() -> dict[str, list[tuple[int, int, int, int]]]:
    root = ET.parse(images.PHOTOS / "face_boxes.xml").getroot()
    return {entry.get("file"): [(int(b.get("left")), int(b.get("top")), int(b.get("width")), int(b.get("height")))
                                for b in entry.iter("box")] for entry in root.iter("image")}


def _delivered(asset, key, **options) -> Image.Image:
    url = cloudinary.utils.cloudinary_url(asset.public_id, format="png", version=asset.version, sign_url=True,
                                          api_secret=key.secret, **options)[0]
    response = _get(url)
    assert response.status_code == 200, response.get("X-Cld-Error")
    return Image.open(io.BytesIO(_body(response))).convert("L")


def _best_offset(image: np.ndarray, template: np.ndarray) -> tuple[int, int, float]:
    """(x, y, mean squared difference) of the position where `template` fits best inside `image` (FFT)."""
    ih, iw = image.shape
    th, tw = template.shape
    correlation = np.fft.irfft2(np.fft.rfft2(image) * np.conj(np.fft.rfft2(template, s=image.shape)), s=image.shape)
    squares = np.pad(np.cumsum(np.cumsum(image ** 2, axis=0), axis=1), ((1, 0), (1, 0)))
    window_squares = squares[th:, tw:] - squares[:-th, tw:] - squares[th:, :-tw] + squares[:-th, :-tw]
    ssd = window_squares - 2 * correlation[: ih - th + 1, : iw - tw + 1] + (template ** 2).sum()
    y, x = np.unravel_index(np.argmin(ssd), ssd.shape)
    return int(x), int(y), float(ssd[y, x]) / template.size


def window_of(crop: Image.Image, original: Image.Image) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the window of `original` that `crop` shows scaled down, found by trying
    scales and matching the crop into the original scaled by each: coarse on copies half as big, then fine around
    the best at full size."""

    def fit(scale, shrink=1):
        template = crop.resize((crop.width // shrink, crop.height // shrink), Image.Resampling.LANCZOS)
        size = (round(original.width * scale / shrink), round(original.height * scale / shrink))
        if size[0] < template.width or size[1] < template.height:
            return None
        scaled = np.asarray(original.resize(size, Image.Resampling.LANCZOS), dtype=np.float64)
        x, y, error = _best_offset(scaled, np.asarray(template, dtype=np.float64))
        return error, scale, x * shrink, y * shrink

    smallest = max(crop.width / original.width, crop.height / original.height)
    coarse = [fit(smallest * 1.03 ** step, shrink=2) for step in range(200) if smallest * 1.03 ** step <= 1.0]
    best = min(f for f in coarse if f)
    fine = [fit(best[1] * 1.003 ** step) for step in range(-12, 13)]
    error, scale, x, y = min(f for f in fine if f)
    assert error ** 0.5 < 12, f"the crop matches nowhere in the original (rms {error ** 0.5:.1f})"
    return x / scale, y / scale, (x + crop.width) / scale, (y + crop.height) / scale


def _holds(window, box) -> bool:
    left, top, width, height = box
    return (left >= window[0] - SLACK and top >= window[1] - SLACK and left + width <= window[2] + SLACK
            and top + height <= window[3] + SLACK)


def _detections(worker) -> int:
    """How many on-demand detections the worker was given."""
    return sum(1 for line in worker.output().splitlines() if "gravity_faces_detect[" in line and line.endswith("received"))


def test_g_face_on_a_portrait_nobody_analysed_crops_to_the_face_the_worker_finds_once(
        celery_worker_process, waits_for_the_worker, user):
    key = api_key_create(name="delivery", user=user)
    asset = asset_upload(file=upload_file(images.photo_bytes("obama.jpg"), "obama.jpg"), uploaded_by=user,
                         public_id="people/obama")
    crop = _delivered(asset, key, transformation=[{"crop": "thumb", "gravity": "face", "width": 200, "height": 200}])
    assert crop.size == (200, 200)
    row = GravityFaces.objects.get(asset=asset)
    assert row.status == "complete" and row.version == asset.version and len(row.boxes) == 1, row.error
    face = row.boxes[0]
    assert face[2] > 200  # the portrait's face (268 px in 910x1137), not a speck
    original = Image.open(io.BytesIO(images.photo_bytes("obama.jpg"))).convert("L")
    window = window_of(crop, original)
    assert _holds(window, face), (window, face)
    # c_thumb's window is the face doubled: much tighter than the 910 px of a crop without a face.
    assert window[2] - window[0] < 1.2 * 2 * face[2]
    assert _detections(celery_worker_process) == 1
    # Another crop of the same image costs no detection: the kept faces are used.
    again = _delivered(asset, key, transformation=[{"crop": "fill", "gravity": "faces", "width": 150, "height": 100}])
    assert again.size == (150, 100)
    assert _holds(window_of(again, original), face)
    assert _detections(celery_worker_process) == 1
    # The owner's analysis is untouched: a delivery request made no aws_rek_face result and no Face rows.
    assert not AnalysisResult.objects.filter(asset=asset).exists() and not Face.objects.exists()


def _on_a_wide_canvas(name: str) -> bytes:
    """The photo unchanged at the left of a grey canvas 1200x500: its faces far from the centre."""
    photo = Image.open(io.BytesIO(images.photo_bytes(name))).convert("RGB")
    canvas = Image.new("RGB", (1200, 500), (128, 128, 128))
    canvas.paste(photo, (0, 0))
    return images.encode(canvas, "PNG")


GROUPS = [
    # (photo, how it is uploaded, c_fill size, c_thumb size); the sizes are of another aspect than the photo's.
    ("2008_001009.jpg", images.photo_bytes, (260, 200), (200, 200)),  # 360x480, two faces in the upper half
    ("2007_007763.jpg", _on_a_wide_canvas, (200, 200), (200, 200)),  # seven faces
    ("2008_002079.jpg", images.photo_bytes, (400, 200), (400, 200)),  # six faces in a row, 41 to 486 px wide
]


def test_face_gravity_on_real_group_photos_holds_every_face_box(celery_worker_process, waits_for_the_worker, user):
    key = api_key_create(name="delivery", user=user)
    truth = _truth()
    missed_by_the_centre = 0
    for name, upload, fill, thumb in GROUPS:
        data = upload(name)
        asset = asset_upload(file=upload_file(data, name), uploaded_by=user, public_id=name.removesuffix(".jpg"))
        original = Image.open(io.BytesIO(data)).convert("L")
        boxes = truth[name]
        for crop, (width, height) in (("fill", fill), ("thumb", thumb)):
            delivered = _delivered(asset, key, transformation=[
                {"crop": crop, "gravity": "faces", "width": width, "height": height}])
            assert delivered.size == (width, height)
            window = window_of(delivered, original)
            outside = [box for box in boxes if not _holds(window, box)]
            assert not outside, f"{name} c_{crop}: window {window} leaves out {outside}"
        found = GravityFaces.objects.get(asset=asset)
        assert found.status == "complete" and len(found.boxes) == len(boxes), (name, found.boxes)
        # The same crop centred (no face gravity) leaves faces out where the faces are off-centre: the test can fail.
        centred = window_of(_delivered(asset, key, transformation=[
            {"crop": "fill", "gravity": "center", "width": fill[0], "height": fill[1]}]), original)
        missed_by_the_centre += not all(_holds(centred, box) for box in boxes)
    assert missed_by_the_centre >= 2
    assert _detections(celery_worker_process) == len(GROUPS)  # one detection per photo, however many crops
