"""The pages' pictures in a real browser at 1x and 2x device pixel ratio: every one loads through a delivery URL,
and a 2x screen picks the 2x candidate of the srcset, twice the pixels."""
import re

import pytest

from medialib.models import Asset
from medialib.page_images import SIZES
from tagging.models import Face, Person
from tagging.services import analysis as analysis_services
from tests import images
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHOTOS = ["dogs.jpg", "two_people.jpg", "2008_001009.jpg"]
DELIVERY = re.compile(r"/medialib/image/upload/[^?#]+/v[0-9]+/[^?#]+\.jpg$")

# For each <img> matching the selector, once it has loaded: what the browser chose from the srcset, and the
# pixels of that file (naturalWidth of the <img> itself is density-corrected: a 2x candidate of 640 pixels
# reports 320, so the chosen file is decoded again on its own to count them).
PICTURES_JS = """async (selector) => {
  const found = Array.from(document.querySelectorAll(selector));
  for (const img of found) { img.loading = "eager"; }
  await Promise.all(found.map(img => img.decode().catch(() => null)));
  return Promise.all(found.map(async img => {
    const probe = new Image();
    probe.src = img.currentSrc;
    await probe.decode().catch(() => null);
    return {src: img.getAttribute("src"), srcset: img.getAttribute("srcset"), currentSrc: img.currentSrc,
            complete: img.complete, naturalWidth: img.naturalWidth, fileWidth: probe.naturalWidth,
            fileHeight: probe.naturalHeight, width: img.width, height: img.height};
  }));
}"""


def _candidates(srcset):
    return {descriptor: url for url, descriptor in (item.split(" ") for item in srcset.split(", "))}


def _pictures(page, url, selector, *, expect):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url)
    found = page.evaluate(PICTURES_JS, selector)
    assert len(found) == expect, found
    for picture in found:
        assert picture["complete"] and picture["naturalWidth"] > 0, picture  # it loaded
        assert DELIVERY.search(picture["currentSrc"]), picture
        assert "/image/upload/" in picture["currentSrc"] and "/files/" not in picture["currentSrc"]
    return found, requested


@pytest.fixture
def library(page, live_server, django_user_model, settings):
    """Logged in through the login page, three real photos uploaded through the upload page, and the faces on
    the group photo found by the embedded face engine (in this process: no worker here)."""
    settings.TAGGING_BACKEND = "local"
    settings.TAGGING_ADDON_BACKENDS = {}
    django_user_model.objects.create_user(username="pia", password="pia-password-1")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "pia")
    page.fill("#id_password", "pia-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Gallery')")
    page.goto(f"{live_server.url}/upload/")
    page.uncheck("input[name=addons][value=aws_rek_tagging]")
    page.set_input_files("#id_files", [str(images.PHOTOS / name) for name in PHOTOS])
    page.click("#upload-button")
    page.wait_for_function("() => document.querySelectorAll('#upload-results .result.ok').length === 3")
    group = Asset.objects.get(original_filename="two_people.jpg")
    analysis_services.analysis_run(asset_id=group.pk)
    faces = Face.objects.filter(asset=group).order_by("index")
    assert faces.count() == 2
    # One named (the people page's card), one not (a face to name).
    Face.objects.filter(pk=faces[0].pk).update(person=Person.objects.create(name="Somebody"),
                                               person_source=Face.SOURCE_USER)
    return group


def test_pictures_load_through_delivery_urls_at_1x_and_2x(browser, page, live_server, library):
    state = page.context.storage_state()  # the signed-in session, for a context at each density
    seen = {}
    for density in (1, 2):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=density,
                                      storage_state=state)
        at = context.new_page()
        tiles, requested = _pictures(at, f"{live_server.url}/", "#gallery img.thumb", expect=len(PHOTOS))
        for tile in tiles:
            candidates = _candidates(tile["srcset"])
            assert tile["currentSrc"] == live_server.url + candidates[f"{density}x"], tile  # the right candidate
            assert "/c_fill,h_200,w_320/" in candidates["1x"] and "/c_fill,h_400,w_640/" in candidates["2x"]
            assert (tile["fileWidth"], tile["fileHeight"]) == (320 * density, 200 * density)
            assert tile["naturalWidth"] == 320  # density-corrected: the same CSS size at either density
        # Only the chosen candidate was fetched: a 2x screen does not also download the 1x files.
        other = {_candidates(tile["srcset"])[f"{3 - density}x"] for tile in tiles}
        assert not other & {url.removeprefix(live_server.url) for url in requested}
        seen[density] = {tile["src"]: tile["fileWidth"] for tile in tiles}
        at.screenshot(path=str(ROOT / "var" / "test" / f"gallery_{density}x.png"))

        faces, _ = _pictures(at, f"{live_server.url}/people/", ".person-card img, .face-strip img", expect=2)
        assert faces[0]["src"] != faces[1]["src"]  # two faces of one photo, each its own crop
        at.screenshot(path=str(ROOT / "var" / "test" / f"people_{density}x.png"))
        for face in faces:
            assert "/c_crop," in face["currentSrc"]
            assert face["currentSrc"] == live_server.url + _candidates(face["srcset"])[f"{density}x"]
            assert (face["fileWidth"], face["fileHeight"]) == (96 * density, 96 * density)

        [preview], _ = _pictures(at, f"{live_server.url}/asset/{library.public_id}", "#asset-image", expect=1)
        assert "/c_limit," in preview["currentSrc"]
        assert preview["currentSrc"] == live_server.url + _candidates(preview["srcset"])[f"{density}x"]
        assert (preview["fileWidth"], preview["fileHeight"]) == SIZES["preview"].output_size(
            library.width, library.height, density=density)
        assert (preview["naturalWidth"], preview["width"]) != (0, 0)
        small_faces, _ = _pictures(at, f"{live_server.url}/asset/{library.public_id}", "#face-list img", expect=2)
        for face in small_faces:
            # Each candidate is fine at 1x: the 2x of the 48 px face is the 96 px face the people page showed,
            # already in the memory cache, and Chromium then takes that (a shared rendition, one download).
            chosen = {live_server.url + url: int(d[:-1]) for d, url in _candidates(face["srcset"]).items()}
            assert chosen[face["currentSrc"]] >= density, face
            assert face["fileWidth"] == 48 * chosen[face["currentSrc"]], face
        context.close()
    # Each tile's 2x file has twice the pixels across of its 1x file.
    assert seen[1].keys() == seen[2].keys()
    for src, width in seen[1].items():
        assert seen[2][src] == 2 * width
