"""A person's first visit, in a real browser: log in, upload a batch with a broken file, browse the gallery."""
import pytest

from medialib.models import Asset
from tests import images
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_log_in_upload_two_photos_and_a_broken_file_then_browse(
    page, live_server, celery_worker_process, django_user_model, tmp_path
):
    django_user_model.objects.create_user(username="carol", password="carol-password-1")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a photo at all")

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "carol")
    page.fill("#id_password", "carol-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Gallery')")

    page.click("nav >> text=Upload")
    page.set_input_files(
        "#id_files", [str(images.PHOTOS / "dogs.jpg"), str(images.PHOTOS / "2008_001009.jpg"), str(broken)]
    )
    page.fill("#id_tags", "trip, family")
    page.click("#upload-button")
    page.wait_for_function("() => document.querySelectorAll('#upload-results .result.ok, #upload-results .result.failed').length === 3")

    assert page.locator("#upload-results .result.ok").count() == 2, page.inner_text("#upload-results")
    failed = page.locator("#upload-results .result.failed")
    assert failed.count() == 1
    assert "broken.jpg is not an image this library reads" in failed.inner_text()
    assert Asset.objects.count() == 2

    # The tiles come from delivery URLs, rendered on demand until the worker has made them.
    page.click("nav >> text=Gallery")
    for _ in range(60):
        loaded = page.evaluate(
            "Array.from(document.querySelectorAll('#gallery img.thumb')).filter(i => i.complete && i.naturalWidth > 0).length"
        )
        if loaded == 2:
            break
        page.wait_for_timeout(500)
        page.reload()
    else:
        raise AssertionError(f"thumbnails never appeared; worker log:\n{celery_worker_process.output()}")

    tiles = page.locator("#gallery .tile")
    assert tiles.count() == 2
    public_ids = tiles.evaluate_all("tiles => tiles.map(t => t.dataset.publicId)")
    names = [Asset.objects.get(public_id=public_id).original_filename for public_id in public_ids]
    assert names == ["2008_001009.jpg", "dogs.jpg"] or names == ["dogs.jpg", "2008_001009.jpg"]
    # The tags typed at upload, as people's own; the add-ons' tags join them whenever the worker gets there.
    assert tiles.first.locator(".tag.source-manual").all_inner_texts() == ["family", "trip"]
    shown = tiles.first.locator(".tag").all_inner_texts()
    assert shown == sorted(shown) and {"family", "trip"} <= set(shown)
    (ROOT / "var" / "test").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ROOT / "var" / "test" / "gallery.png"), full_page=True)

    # Open one: the viewer over the grid, and from it the detail page with the preview and its metadata.
    tiles.first.locator("a").click()
    page.wait_for_selector("#viewer[open] #viewer-detail[href^='/asset/']")
    page.click("#viewer-detail")
    page.wait_for_selector("#asset-image")
    page.wait_for_function("() => document.getElementById('asset-image').complete")
    assert page.evaluate("document.getElementById('asset-image').naturalWidth") > 0
    assert "SHA-256" in page.inner_text(".meta")
