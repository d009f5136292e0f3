"""The face overlay in a real browser: boxes sit over the faces at any size and on a rotated photo; naming works."""
import io

import pytest
from PIL import Image

from medialib import services as media_services
from tagging.models import Face
from tagging.services import analysis as analysis_services
from tests import images
from tests.conftest import ROOT, asset_upload, upload_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def logged_in(page, live_server, django_user_model, settings):
    settings.TAGGING_BACKEND = "local"
    settings.TAGGING_ADDON_BACKENDS = {}
    user = django_user_model.objects.create_user(username="dora", password="dora-password-1")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "dora")
    page.fill("#id_password", "dora-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Gallery')")
    return user


def _analysed(user, data, name):
    asset = asset_upload(file=upload_file(data, name), uploaded_by=user,
                                        addons=["aws_rek_face"], auto_tagging=0.7)
    media_services.renditions_generate(asset_id=asset.pk)
    analysis_services.analysis_run(asset_id=asset.pk)
    return asset


def _rotated(name, orientation=6):
    """The photo stored turned a quarter, with the EXIF orientation that turns it back for display."""
    image = Image.open(io.BytesIO(images.photo_bytes(name))).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return images.encode(image, "JPEG", exif=exif.tobytes(), quality=90)


def _check_boxes(page, asset):
    page.wait_for_selector("#asset-image")
    page.wait_for_function("() => document.getElementById('asset-image').complete")
    image = page.locator("#asset-image").bounding_box()
    faces = list(Face.objects.filter(asset=asset).order_by("index"))
    assert faces
    for face in faces:
        box = page.locator(f'g.face[data-face="{face.pk}"] rect').bounding_box()
        # Where the face's ratios put it on the image as displayed, within 2 px (rounding to image pixels).
        assert box["x"] == pytest.approx(image["x"] + face.left * image["width"], abs=2)
        assert box["y"] == pytest.approx(image["y"] + face.top * image["height"], abs=2)
        assert box["width"] == pytest.approx(face.width * image["width"], abs=3)
        assert box["height"] == pytest.approx(face.height * image["height"], abs=3)
    return faces


def test_boxes_sit_over_the_faces_at_any_window_size(page, live_server, logged_in):
    asset = _analysed(logged_in, images.photo_bytes("two_people.jpg"), "two_people.jpg")
    page.goto(f"{live_server.url}/asset/{asset.public_id}")
    faces = _check_boxes(page, asset)
    assert len(faces) == 2
    page.set_viewport_size({"width": 700, "height": 900})
    _check_boxes(page, asset)
    page.screenshot(path=str(ROOT / "var" / "test" / "faces_narrow.png"), full_page=True)


def test_boxes_on_an_exif_rotated_photo_land_on_the_faces(page, live_server, logged_in):
    upright = _analysed(logged_in, images.photo_bytes("two_people.jpg"), "upright.jpg")
    turned = _analysed(logged_in, _rotated("two_people.jpg"), "turned.jpg")
    assert (turned.width, turned.height) == (upright.width, upright.height)
    # The same faces in the same places, as displayed, although the stored pixels are turned.
    for a, b in zip(upright.faces.order_by("left"), turned.faces.order_by("left")):
        assert (a.left, a.top) == pytest.approx((b.left, b.top), abs=0.02)
    page.goto(f"{live_server.url}/asset/{turned.public_id}")
    _check_boxes(page, turned)


def test_keyboard_and_screen_reader_and_highlight(page, live_server, logged_in):
    asset = _analysed(logged_in, images.photo_bytes("two_people.jpg"), "two_people.jpg")
    page.goto(f"{live_server.url}/asset/{asset.public_id}")
    first = asset.faces.order_by("index").first()
    labels = page.locator("g.face").evaluate_all("nodes => nodes.map(n => n.getAttribute('aria-label'))")
    assert labels == ["Unknown face 1", "Unknown face 2"]
    page.locator(f'g.face[data-face="{first.pk}"]').focus()
    assert "highlight" in page.locator(f'.face-item[data-face="{first.pk}"]').get_attribute("class")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == f"face-name-{first.pk}"
    page.locator(f'.face-item[data-face="{first.pk}"]').hover()
    assert "highlight" in page.locator(f'g.face[data-face="{first.pk}"]').get_attribute("class")
    assert not page.locator("circle.landmark").first.is_visible()
    page.check("#show-landmarks")
    assert page.locator("circle.landmark").first.is_visible()


def test_naming_a_face_shows_the_name(page, live_server, logged_in):
    asset = _analysed(logged_in, images.photo_bytes("obama.jpg"), "obama.jpg")
    face = asset.faces.get()
    page.goto(f"{live_server.url}/asset/{asset.public_id}")
    page.fill(f"#face-name-{face.pk}", "Barack Obama")
    page.click(f'.face-item[data-face="{face.pk}"] button:has-text("Name")')
    page.wait_for_selector(".face-item.known")
    assert page.inner_text(f'.face-item[data-face="{face.pk}"] .face-name') == "Barack Obama"
    assert page.locator(f'g.face[data-face="{face.pk}"]').get_attribute("aria-label").startswith("Barack Obama")
    assert "Barack Obama 100%" in page.inner_text(".overlay-frame")
    page.screenshot(path=str(ROOT / "var" / "test" / "face_named.png"), full_page=True)


def test_a_face_recognised_while_the_page_is_open_gets_its_caption_without_a_reload(page, live_server, logged_in):
    from tagging.services import people as people_services

    known = _analysed(logged_in, images.photo_bytes("obama.jpg"), "obama.jpg").faces.get()
    people_services.face_name(face=known, user=logged_in, name="Barack Obama")
    asset = asset_upload(file=upload_file(images.photo_bytes("obama2.jpg"), "obama2.jpg"), uploaded_by=logged_in,
                         addons=["aws_rek_face"], auto_tagging=0.7)
    media_services.renditions_generate(asset_id=asset.pk)
    page.goto(f"{live_server.url}/asset/{asset.public_id}")
    page.wait_for_selector('.addon-status[data-addon="aws_rek_face"].status-pending')
    assert page.locator("#face-captions .face-caption").count() == 0
    page.evaluate("window.__notReloaded = true")
    analysis_services.analysis_run(asset_id=asset.pk)
    page.wait_for_selector("#face-captions .face-caption", timeout=15_000)
    assert "Barack Obama" in page.inner_text("#face-captions")
    assert page.evaluate("window.__notReloaded") is True
