"""Every parameter the official SDK can send with an upload either changes the result as Cloudinary documents or is
refused with a 400 that names it: the list is the SDK's own (cloudinary.utils.upload_params), read at test time, so a
parameter a new SDK adds cannot be silently ignored."""
import re
import time
from pathlib import Path

import cloudinary.uploader
import cloudinary.utils
import pytest
from cloudinary import exceptions

from medialib.api.params import UPLOAD_PARAMETERS
from medialib.api.services import api_key_create
from medialib.models import Asset
from tagging.models import AnalysisResult
from tests import images

pytestmark = pytest.mark.django_db(transaction=True)

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "red car.jpg"
    path.write_bytes(images.jpeg(80, 40, color=(200, 10, 10)))
    return path


def _upload(photo, **options):
    return cloudinary.uploader.upload(str(photo), **options)


def _answers_at_once(photo):
    """Without async the call waits for the add-ons (no worker here: the whole wait); with it, it does not."""
    from django.test import override_settings

    with override_settings(MEDIALIB_API_RESULT_WAIT_SECONDS=1.5):
        started = time.monotonic()
        _upload(photo, categorization="aws_rek_tagging")
        waited = time.monotonic() - started
        started = time.monotonic()
        result = _upload(photo, categorization="aws_rek_tagging", **{"async": True})
        at_once = time.monotonic() - started
    return waited >= 1.5 > at_once + 0.5 and result["info"]["categorization"]["aws_rek_tagging"]["status"] == "pending"


def _taken(photo):
    _upload(photo, public_id="walk/taken", tags=["first"])
    return _upload(photo, public_id="walk/taken", overwrite=False)


def _stale(photo, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(cloudinary.utils, "now", lambda: str(int(time.time()) - 2 * 3600))
        with pytest.raises(exceptions.BadRequest, match="Stale request"):
            _upload(photo)
    return True


def _notifies(photo, monkeypatch):
    from django.conf import settings

    from medialib.api.models import WebhookDelivery

    monkeypatch.setattr(settings, "MEDIALIB_WEBHOOK_ALLOWED_HOSTS", ["127.0.0.1"])
    public_id = _upload(photo, notification_url="http://127.0.0.1:9/hook")["public_id"]
    return WebhookDelivery.objects.filter(url="http://127.0.0.1:9/hook", payload__public_id=public_id).exists()


def _eager_notifies(photo, monkeypatch):
    from django.conf import settings

    from medialib.api.models import WebhookDelivery

    monkeypatch.setattr(settings, "MEDIALIB_WEBHOOK_ALLOWED_HOSTS", ["127.0.0.1"])
    public_id = _upload(photo, eager=["c_scale,w_10"], eager_notification_url="http://127.0.0.1:9/eager")["public_id"]
    delivery = WebhookDelivery.objects.filter(url="http://127.0.0.1:9/eager", payload__public_id=public_id).first()
    return delivery is not None and delivery.payload["eager"][0]["width"] == 10


def _readme_says_no_op(name):
    row = next(line for line in README.read_text().splitlines() if line.startswith(f"| `{name}`"))
    return "no-op" in row


# How each implemented parameter changes the answer (or what it is checked for): name -> check(photo, monkeypatch).
EXPECTED = {
    "public_id": lambda p, m: _upload(p, public_id="walk/given")["public_id"] == "walk/given",
    "public_id_prefix": lambda p, m: _upload(p, public_id_prefix="pre")["public_id"].startswith("pre/"),
    "folder": lambda p, m: _upload(p, folder="fold", public_id="x")["public_id"] == "fold/x",
    "asset_folder": lambda p, m: _upload(p, asset_folder="Album")["asset_folder"] == "Album",
    "use_asset_folder_as_public_id_prefix": lambda p, m: _upload(
        p, asset_folder="album", use_asset_folder_as_public_id_prefix=True)["public_id"].startswith("album/"),
    "use_filename": lambda p, m: re.fullmatch(r"red_car_[a-z0-9]{6}", _upload(p, use_filename=True)["public_id"]),
    "unique_filename": lambda p, m: _upload(p, use_filename=True, unique_filename=False)["public_id"] == "red_car",
    "filename_override": lambda p, m: _upload(p, filename_override="x.jpg")["original_filename"] == "x",
    "discard_original_filename": lambda p, m: Asset.objects.get(
        public_id=_upload(p, discard_original_filename=True)["public_id"]).original_filename == "",
    "type": lambda p, m: _upload(p, type="upload")["type"] == "upload",  # and any other type is refused (below)
    "faces": lambda p, m: _upload(p, faces=True)["faces"] == [],
    "overwrite": lambda p, m: _taken(p)["existing"] is True,
    "invalidate": lambda p, m: "public_id" in _upload(p, invalidate=True) and _readme_says_no_op("invalidate"),
    "categorization": lambda p, m: _upload(p, categorization="aws_rek_tagging")["info"]["categorization"][
        "aws_rek_tagging"]["status"] == "pending",
    "detection": lambda p, m: "aws_rek_face" in _upload(p, detection="aws_rek_face")["info"]["detection"],
    "auto_tagging": lambda p, m: _upload(p, categorization="aws_rek_tagging", auto_tagging=0.42) and
    AnalysisResult.objects.filter(auto_tagging=0.42).exists(),
    "eager": lambda p, m: _upload(p, eager=["c_scale,w_10"])["eager"][0]["width"] == 10,
    "async": lambda p, m: _answers_at_once(p),
    "eager_async": lambda p, m: _upload(p, eager=["c_scale,w_10"], eager_async=True)["eager"][0]["status"]
    == "processing",
    "tags": lambda p, m: _upload(p, tags=["a", "b"])["tags"] == ["a", "b"],
    "context": lambda p, m: _upload(p, context={"alt": "x"})["context"] == {"custom": {"alt": "x"}},
    "allowed_formats": lambda p, m: pytest.raises(exceptions.BadRequest, _upload, p, allowed_formats=["png"]) and
    _upload(p, allowed_formats=["jpg"])["format"] == "jpg",
    "timestamp": _stale,
    "notification_url": _notifies,
    "eager_notification_url": _eager_notifies,
}
# What to send for a parameter to be refused; anything not listed is sent as True (the SDK sends "1").
REFUSED_SAMPLES = {
    "type": "private", "callback": "https://example.com/cb", "format": "png", "display_name": "Car",
    "eval": "upload_options['tags'] = 'x'", "on_success": "current_asset.update({tags: ['x']})",
    "proxy": "http://proxy.example.com", "moderation": "manual", "raw_convert": "aspose", "quality_override": "auto",
    "ocr": "adv_ocr", "background_removal": "cloudinary_ai", "upload_preset": "preset", "batch_id": "b1",
    "transformation": {"width": 100, "crop": "scale"}, "headers": {"X-Robots-Tag": "noindex"},
    "face_coordinates": [[1, 2, 3, 4]], "custom_coordinates": [[1, 2, 3, 4]], "regions": {"box": [[1, 2], [3, 4]]},
    "responsive_breakpoints": [{"max_images": 2}], "access_control": [{"access_type": "anonymous"}],
    "metadata": {"field": "value"}, "auto_transcription": {"translate": ["fr"]},
}


def test_every_sdk_upload_parameter_is_implemented_or_refused(cloudinary_sdk, user, photo, monkeypatch):
    cloudinary_sdk(api_key_create(name="walk", user=user))
    sdk_params = list(dict.fromkeys(cloudinary.utils.upload_params))
    assert len(sdk_params) > 50 and "public_id" in sdk_params  # the SDK's list, not an empty stand-in
    unaccounted = []
    for name in sdk_params:
        if name in EXPECTED:
            assert EXPECTED[name](photo, monkeypatch), f"{name} did not change the answer as expected"
            if name != "type":
                continue
        before = Asset.objects.count()
        try:
            result = _upload(photo, **{name: REFUSED_SAMPLES.get(name, True)})
        except exceptions.BadRequest as exc:
            assert re.search(rf"\b{re.escape(name)}\b", str(exc)), f"{name}: refused without naming it: {exc}"
            assert Asset.objects.count() == before, f"{name}: refused, yet something was stored"
            continue
        unaccounted.append(f"{name} (accepted: {sorted(result)[:5]}…)")
    assert not unaccounted, f"accepted, but this test does not know how they change the result: {unaccounted}"


def test_the_server_table_and_the_readme_cover_the_sdk_list():
    sdk_params = set(cloudinary.utils.upload_params)
    # A new SDK parameter is refused by the server as unknown; listing it here and in the README is the reminder.
    assert sdk_params - set(UPLOAD_PARAMETERS) == set()
    readme = README.read_text()
    missing = [name for name in sorted(sdk_params) if f"| `{name}`" not in readme]
    assert not missing, f"README's Upload parameters table lacks {missing}"


def test_false_flags_ask_for_nothing_and_unknown_names_are_refused(cloudinary_sdk, user, photo):
    cloudinary_sdk(api_key_create(name="walk", user=user))
    # What an SDK sends for False ("0") asks for nothing this server would not do anyway.
    assert _upload(photo, exif=False, backup=False, return_delete_token=False)["public_id"]
    # A parameter no SDK sends today (the SDK passes only its own names on, so it is sent by hand, signed).
    with pytest.raises(exceptions.BadRequest, match=r"shiny_new_option \(this server does not know it\)"):
        cloudinary.uploader.call_api("upload", {"timestamp": cloudinary.utils.now(), "shiny_new_option": "1"},
                                     file=str(photo))
