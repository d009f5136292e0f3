"""The upload page in headless Chromium at a phone's and a laptop's size, with a real worker."""
import pytest
from django.urls import reverse

from medialib import services
from medialib.models import Asset
from tests import images
from tests.browser.conftest import axe_violations
from tests.conftest import ROOT, upload_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = [pytest.param((390, 844), id="phone"), pytest.param((1366, 900), id="laptop")]


@pytest.fixture
def celery_worker_env():
    return {"TAGGING_BACKEND": "fake"}


def _open(browser, live_server, size, user):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "alice-password-1")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/upload/")
    return page


def _no_overflow(page):
    """Nothing of this page's own content is wider than the window. (The header is base.html's, made responsive
    on branch layout17; document.documentElement.scrollWidth is checked there, for every page.)"""
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('main *, #upload-form, #upload-form *'))
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map(e => e.tagName + '#' + e.id + '.' + e.className)""")
    assert wide == []


def _page_violations(page):
    """axe-core's violations on this page's own content (the header is base.html's, layout17's: at 390 px its
    "Log out" spills past the dark header today, which that branch fixes)."""
    found = []
    for violation in axe_violations(page):
        targets = [t for t in violation["targets"] if page.evaluate(
            "(selector) => { const e = document.querySelector(selector); return !!e && !e.closest('body > header'); }",
            t)]
        if targets:
            found.append({**violation, "targets": targets})
    return found


def _screenshot(page, name):
    (ROOT / "var" / "test").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ROOT / "var" / "test" / f"upload-{name}.png"), full_page=True)


@pytest.mark.worker
@pytest.mark.parametrize("size", SIZES)
def test_upload_a_batch_with_a_duplicate_see_the_summary_thumbnails_and_analysis(
        browser, live_server, celery_worker_process, user, size, tmp_path):
    page = _open(browser, live_server, size, user)
    _no_overflow(page)
    assert page.locator("#id_files").is_hidden() or page.locator("#id_files").bounding_box()["width"] <= 1
    assert page.locator("text=Faces and people").count() == 1 and page.locator("label.check:has-text('Labels')").count() == 1
    assert _page_violations(page) == []

    same = tmp_path / "same-again.jpg"
    same.write_bytes((images.PHOTOS / "dogs.jpg").read_bytes())
    page.set_input_files("#id_files", [str(images.PHOTOS / "dogs.jpg"), str(images.PHOTOS / "2008_001009.jpg"),
                                       str(same)])
    page.click("#upload-button")
    box = page.locator("#upload-results").bounding_box()
    assert box["y"] >= 0 and box["y"] + min(box["height"], 150) <= size[1], box
    page.wait_for_function("() => document.querySelectorAll('#upload-results .result.pending').length === 0",
                           timeout=60000)
    summary = page.inner_text("#upload-summary")
    assert summary == "2 of 3 uploaded, 1 already in your library", summary
    assert page.locator("#upload-results .upload-thumb").count() == 3
    assert page.locator("#upload-results img.upload-thumb").count() == 3
    duplicate = page.locator("#upload-results .result.duplicate")
    assert duplicate.count() == 1
    link = duplicate.locator("a:has-text('already in your library')")
    first = Asset.objects.get(original_filename__in=["dogs.jpg", "same-again.jpg"])  # whichever came first
    assert link.get_attribute("href") == reverse("medialib:asset_detail", args=[first.public_id])
    assert Asset.objects.count() == 2
    # The worker analyses both: each row turns from pending to complete.
    page.wait_for_function(
        "() => document.querySelectorAll('#upload-results .addon-status.status-complete').length === 4",
        timeout=90000)
    assert page.locator("#upload-results .addon-status.status-pending").count() == 0
    _no_overflow(page)
    assert _page_violations(page) == []
    _screenshot(page, f"{size[0]}x{size[1]}")

    # Keep both: the same photo stored again.
    page.check("#id_keep_both")
    page.set_input_files("#id_files", [str(same)])
    page.click("#upload-button")
    page.wait_for_function("() => document.querySelectorAll('#upload-results .result.ok').length === 1",
                           timeout=60000)
    assert page.inner_text("#upload-summary") == "1 of 1 uploaded"
    assert Asset.objects.count() == 3


@pytest.mark.parametrize("size", SIZES)
def test_an_empty_submit_says_so(browser, live_server, user, size):
    page = _open(browser, live_server, size, user)
    page.click("#upload-button")
    assert page.locator("#upload-error").is_visible()
    assert page.inner_text("#upload-error") == "Choose at least one file to upload."
    _no_overflow(page)


def test_without_javascript_the_form_posts_and_reports_the_duplicate(browser, live_server, user):
    services.asset_upload(file=upload_file((images.PHOTOS / "dogs.jpg").read_bytes(), "dogs.jpg"), uploaded_by=user)
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "alice-password-1")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/upload/")
    page.click("#upload-button")
    assert page.inner_text("#upload-error") == "Choose at least one file to upload."
    page.set_input_files("#id_files", [str(images.PHOTOS / "dogs.jpg")])
    page.click("#upload-button")
    assert page.inner_text("#upload-summary") == "0 of 1 uploaded, 1 already in your library"
    assert page.locator(".result.duplicate a").count() == 1
    assert Asset.objects.count() == 1
    _no_overflow(page)
