"""Analysis in a real browser: upload with labels on, watch the detail page go from pending to complete by itself."""
import pytest

from tagging.models import AnalysisResult, TagDecision
from tests import images
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_env():
    return {"TAGGING_BACKEND": "fake"}  # the deterministic detector: fast, and labels by dominant colour


def test_upload_with_labels_then_watch_the_analysis_finish_without_reloading(
    page, live_server, celery_worker_process, django_user_model
):
    django_user_model.objects.create_user(username="dora", password="dora-password-1")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "dora")
    page.fill("#id_password", "dora-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Gallery')")

    # Hold the worker back until the page shows the pending state, so the test sees the change happen live.
    celery_worker_process.stop()

    page.click("nav >> text=Upload")
    assert page.is_checked("input[name=addons][value=aws_rek_tagging]") and page.is_checked("input[name=addons][value=aws_rek_face]")
    assert page.input_value("#id_auto_tagging") == "0.6"
    page.uncheck("input[name=addons][value=aws_rek_face]")
    page.fill("#id_auto_tagging", "1.5")  # the browser refuses it before anything is sent
    page.set_input_files("#id_files", [str(images.PHOTOS / "dogs.jpg")])
    (ROOT / "var" / "test").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ROOT / "var" / "test" / "upload_addons.png"), full_page=True)
    page.click("#upload-button")
    page.wait_for_timeout(300)
    assert page.locator("#upload-results .result").count() == 0
    page.locator(".threshold-range").fill("0.7")  # the slider sets the number
    assert page.input_value("#id_auto_tagging") == "0.7"
    page.click("#upload-button")
    page.wait_for_selector("#upload-results .result.ok")
    result = AnalysisResult.objects.get()
    assert (result.addon, result.status, result.auto_tagging) == ("aws_rek_tagging", "pending", 0.7)

    page.click("#upload-results .result.ok a")
    page.wait_for_selector("#asset-panel")
    labels_status = "#addon-statuses .addon-status[data-addon=aws_rek_tagging]"
    assert "pending" in page.get_attribute(labels_status, "class")
    assert page.locator("#addon-statuses .addon-status").count() == 1  # faces were not asked for
    assert "Labels appear here when the analysis is done." in page.inner_text("#asset-labels")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    # The picture does not wait for the worker: its delivery URL is rendered on demand.
    page.wait_for_function("() => document.getElementById('asset-image').complete")
    assert page.evaluate("document.getElementById('asset-image').naturalWidth") > 0
    assert "/image/upload/c_limit," in page.evaluate("document.getElementById('asset-image').currentSrc")
    page.screenshot(path=str(ROOT / "var" / "test" / "asset_detail_pending.png"), full_page=True)

    celery_worker_process.start()
    try:
        page.wait_for_selector(f"{labels_status}.status-complete", timeout=30_000)
    except Exception:
        raise AssertionError(f"no live update; worker log:\n{celery_worker_process.output()}") from None
    assert page.evaluate("window.sameDocument") is True

    label_rows = page.locator("#asset-labels .label")
    rows = [" ".join(text.split()) for text in label_rows.all_inner_texts()]
    assert len(rows) == 3 and rows[1:] == ["Colour 0.75", "Thing 0.50"]
    colour, confidence = rows[0].split()
    assert colour in ("Red", "Green", "Blue") and confidence == "0.90"
    assert page.inner_text(labels_status).split()[-2:] == ["3", "labels"]

    auto_tags = page.locator("#asset-tags .tag.auto")
    assert auto_tags.count() == 2  # 0.9 and 0.75 are at least 0.7; 0.5 is not
    colour_tag = page.locator("#asset-tags .tag.auto", has_text="colour")
    assert colour_tag.locator(".tag-source").inner_text() == "aws_rek_tagging 0.75"
    assert page.locator("#asset-tags .tag.auto", has_text="0.90").count() == 1
    page.wait_for_function("() => document.getElementById('asset-image').complete")
    page.screenshot(path=str(ROOT / "var" / "test" / "asset_detail.png"), full_page=True)

    # The × of a tag the script drew posts like the server-drawn one: the tag is rejected for good.
    page.click("#asset-tags .tag.auto:has-text('colour') button")
    page.wait_for_selector(".messages >> text=re-analysis will not add it back")
    assert [d.tag.name for d in TagDecision.objects.all()] == ["colour"]
    assert "colour" not in page.inner_text("#asset-tags")

    # Re-run from the detail page, then follow it in the gallery: the tile updates by itself too.
    celery_worker_process.stop()
    page.click("#rerun-form button[type=submit]")
    page.wait_for_selector(".messages >> text=Analysis queued")
    page.click("nav >> text=Gallery")
    tile = page.locator("#gallery .tile").first
    assert "pending" in tile.locator(".addon-status").get_attribute("class")
    page.evaluate("window.sameDocument = true")
    celery_worker_process.start()
    # Done: the quiet tile drops its status row (it shows one only while an add-on is pending or failed).
    page.wait_for_function("() => { const t = document.querySelector('#gallery .tile');"
                           " return !('pending' in t.dataset) && !t.querySelector('.addon-statuses'); }", timeout=30_000)
    assert page.evaluate("window.sameDocument") is True
    assert "colour" not in tile.locator(".tags").inner_text()  # rejected: re-analysis did not bring it back
    assert tile.locator(".tag.auto").count() == 1
    page.screenshot(path=str(ROOT / "var" / "test" / "gallery_analysis.png"), full_page=True)
