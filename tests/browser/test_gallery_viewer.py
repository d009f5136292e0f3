"""The photo grid and the viewer in headless Chromium at a phone's size (390x844) and a laptop's (1366x900): day
headings, lazy thumbnails with a srcset, infinite scroll that keeps the order and joins a day over a page's edge, the
viewer opened by a click and by its shared URL, moved with the arrow keys and a swipe, faces on demand, Esc back to
the tile, axe-core with the viewer open, the place kept on Back. Screenshots go to var/screenshots/ (not committed)."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from medialib import services as media_services
from medialib.models import Asset
from tagging.models import Face
from tagging.services import analysis as analysis_services
from tagging.services import people as people_services
from tests import images
from tests.browser.conftest import axe_violations, sign_in
from tests.conftest import asset_upload, upload_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": (390, 844), "laptop": (1366, 900)}
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PAGE_SIZE = 9
# Oldest first: 8 photos of an old day, 8 of yesterday, 6 of today (pages of 9 cut yesterday and the old day).
DAYS = [8, 8, 6]


@pytest.fixture
def library(live_server, django_user_model, settings):
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}
    settings.MEDIALIB_GALLERY_PAGE_SIZE = PAGE_SIZE
    staff = django_user_model.objects.create_user(username="dora", password="dora-password-1", is_staff=True,
                                                  is_superuser=True)
    now = timezone.now()
    when = [datetime(2024, 3, 1, 12, tzinfo=dt_timezone.utc), now - timedelta(days=1), now]
    assets = []
    for day, count in enumerate(DAYS):
        for n in range(count):
            color = (40 * day + 20, 15 * n + 30, 200 - 30 * day)
            asset = asset_upload(file=upload_file(images.jpeg(640, 420, color=color), f"photo-{day}-{n}.jpg"),
                                 uploaded_by=staff, addons=["aws_rek_face", "aws_rek_tagging"], auto_tagging=0.6)
            media_services.renditions_generate(asset_id=asset.pk)
            analysis_services.analysis_run(asset_id=asset.pk)
            Asset.objects.filter(pk=asset.pk).update(created_at=when[day] - timedelta(minutes=count - n))
            assets.append(asset)
    newest = assets[-1]
    face = Face.objects.filter(asset=newest).first()
    people_services.face_name(face=face, user=staff, name="Ada Lovelace")
    return list(reversed(assets))  # newest first, as the grid shows them


def _login(page, base):
    sign_in(page, base, "dora", "dora-password-1")


def _context(browser, size):
    width, height = SIZES[size]
    phone = size == "phone"
    return browser.new_context(viewport={"width": width, "height": height}, has_touch=phone, is_mobile=phone,
                               device_scale_factor=1)


def _tile_ids(page):
    return page.eval_on_selector_all("#gallery .tile", "tiles => tiles.map(t => Number(t.dataset.assetId))")


def _viewing(page):
    return page.evaluate("document.getElementById('viewer').dataset.publicId")


def _wait_viewing(page, public_id):
    page.wait_for_function("(id) => document.getElementById('viewer').dataset.publicId === id", arg=public_id)
    page.wait_for_function("() => { const i = document.getElementById('viewer-image'); return i.complete && i.naturalWidth > 0; }")


def _no_overflow(page):
    width, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= inner, f"{width} px wide in a {inner} px window"


def _swipe(page, *, left: bool):
    """A finger's swipe across the viewer's photo through the DevTools protocol (real touch, pointer events)."""
    box = page.locator("#viewer-stage").bounding_box()
    y = box["y"] + box["height"] / 2
    start, end = (box["x"] + box["width"] * .8, box["x"] + box["width"] * .2)
    if not left:
        start, end = end, start
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start, "y": y}]})
    for step in range(1, 6):
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchMove", "touchPoints": [{"x": start + (end - start) * step / 5, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


@pytest.mark.parametrize("size", list(SIZES))
def test_grid_scrolls_and_the_viewer_opens_moves_and_closes(browser, live_server, library, size):
    context = _context(browser, size)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _login(page, live_server.url)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The next pages' requests wait until the first page is checked: on these screens the end of the first page
    # is near enough for the grid to ask for the next one at once.
    held = []
    page.route("**/*", lambda route: held.append(route) if route.request.headers.get("x-fragment") == "1"
               else route.continue_())
    page.goto(f"{live_server.url}/")
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.querySelectorAll('#gallery img.thumb').length > 0")

    # The first page: a heading per day, newest first, and quiet tiles with lazy thumbnails and their srcset.
    assert page.locator(".photo-day .day-heading").all_inner_texts() == ["Today", "Yesterday"]
    thumbs = page.eval_on_selector_all("#gallery img.thumb", """imgs => imgs.map(i => ({loading: i.loading,
        srcset: i.getAttribute('srcset'), width: i.getAttribute('width'), height: i.getAttribute('height'),
        alt: i.alt, box: i.getBoundingClientRect().height}))""")
    assert len(thumbs) == PAGE_SIZE
    for thumb in thumbs:
        assert thumb["loading"] == "lazy" and thumb["srcset"].endswith(" 2x") and " 1x, " in thumb["srcset"]
        assert (thumb["width"], thumb["height"]) == ("320", "200") and thumb["box"] > 50
        assert thumb["alt"].startswith("Photo uploaded ") and ".jpg" not in thumb["alt"]
    assert page.locator("#gallery .tile .addon-statuses").count() == 0  # all analysed: no status rows
    assert page.locator("#gallery .tile .name").count() == 0
    _no_overflow(page)
    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / f"gallery-grid-{size}.png"), full_page=False)

    # Infinite scroll: the next pages come as the end nears, in order, and a day cut by a page has one heading.
    assert len(held) == 1 and parse_qs(urlparse(held[0].request.url).query) == {"before": [str(library[PAGE_SIZE - 1].pk)]}
    held.pop().continue_()
    page.unroute("**/*")
    for expected in (2 * PAGE_SIZE, len(library)):
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_function(f"() => document.querySelectorAll('#gallery .tile').length === {expected}")
    assert _tile_ids(page) == [asset.pk for asset in library]
    days = page.eval_on_selector_all(".photo-day", "days => days.map(d => d.dataset.day)")
    assert len(days) == 3 and len(set(days)) == 3
    assert [page.locator(".photo-day").nth(n).locator(".tile").count() for n in range(3)] == DAYS[::-1]
    assert page.locator(".photo-pager a[rel=next]").count() == 0  # the end
    _no_overflow(page)

    # The viewer, opened by a click on the newest photo: full screen, its own URL, the photo loaded.
    page.evaluate("window.scrollTo(0, 0)")
    first, second = library[0], library[1]
    page.locator(f'.tile[data-public-id="{first.public_id}"] a').click()
    _wait_viewing(page, first.public_id)
    assert page.locator("#viewer").evaluate("d => d.open && d.matches(':modal')")
    assert parse_qs(urlparse(page.url).query) == {"view": [first.public_id]}
    box = page.locator("#viewer").bounding_box()
    assert (box["width"], box["height"]) == SIZES[size]
    frame = page.locator("#viewer-frame").bounding_box()
    assert frame["width"] > SIZES[size][0] * .5  # the photo fills its stage
    assert page.locator("#viewer-title").inner_text() == timezone.localtime(first.created_at).strftime("%A %-d %B %Y")

    # Faces and names on demand; the people, labels and tags in the panel (the panel opened on a phone).
    assert page.locator("#viewer-faces").is_hidden()
    page.click("#viewer-faces-toggle")
    assert page.locator("#viewer-faces g.face").count() == 1
    assert page.locator("#viewer-faces").is_visible()
    assert page.locator("#viewer-captions .face-caption").inner_text() == "Ada Lovelace"
    if size == "phone":
        assert page.locator("#viewer-panel").is_hidden()
        page.click("#viewer-info-toggle")
    assert page.locator("#viewer-panel").is_visible()
    assert page.locator("#viewer-people a").all_inner_texts() == ["Ada Lovelace"]
    assert page.locator("#viewer-labels li").count() >= 1
    assert "person%3A%22Ada+Lovelace%22" in page.locator("#viewer-people a").get_attribute("href")
    _no_overflow(page)
    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / f"gallery-viewer-{size}.png"))

    # The keyboard: ArrowRight to the next (older) photo, ArrowLeft back; the URL follows.
    page.keyboard.press("ArrowRight")
    _wait_viewing(page, second.public_id)
    assert parse_qs(urlparse(page.url).query) == {"view": [second.public_id]}
    assert page.locator("#viewer-faces g.face").count() == 1
    assert page.locator("#viewer-captions .face-caption").inner_text() == "Unknown"
    page.keyboard.press("ArrowLeft")
    _wait_viewing(page, first.public_id)
    page.keyboard.press("ArrowLeft")  # the newest: nowhere to go, said so
    page.wait_for_selector("#viewer-status:has-text('newest photo')")
    assert _viewing(page) == first.public_id

    if size == "phone":  # a swipe to the left is the next photo, to the right the previous one
        _swipe(page, left=True)
        _wait_viewing(page, second.public_id)
        _swipe(page, left=False)
        _wait_viewing(page, first.public_id)

    # Focus stays inside the viewer; Esc closes it and gives the focus back to the photo's tile.
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('viewer').contains(document.activeElement)")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.getElementById('viewer').open")
    assert page.evaluate("document.activeElement.closest('.tile').dataset.publicId") == first.public_id
    assert "view" not in parse_qs(urlparse(page.url).query)
    assert errors == []
    context.close()


def test_a_shared_url_opens_the_viewer_and_back_keeps_the_place(browser, live_server, library):
    context = _context(browser, "phone")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _login(page, live_server.url)

    # A photo beyond the first page, by its URL: the viewer opens on it and moves among its gallery neighbours.
    shared, older = library[PAGE_SIZE + 2], library[PAGE_SIZE + 3]
    page.goto(f"{live_server.url}/?view={shared.public_id}")
    _wait_viewing(page, shared.public_id)
    assert page.locator("#shared-photo").is_hidden()  # the link for browsers without script
    page.keyboard.press("ArrowRight")
    _wait_viewing(page, older.public_id)
    page.click("#viewer-close")
    page.wait_for_function("() => !document.getElementById('viewer').open")
    assert "view" not in page.url

    # One that is not there: the viewer says so, nothing breaks.
    page.goto(f"{live_server.url}/?view=no-such-photo")
    page.wait_for_selector("#viewer-status:has-text('not there')")
    page.keyboard.press("Escape")

    # Scrolled down two pages, to a detail page and Back: the same tiles and about the same place.
    page.goto(f"{live_server.url}/")
    for _ in range(3):
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_timeout(300)
    page.wait_for_function(f"() => document.querySelectorAll('#gallery .tile').length === {len(library)}")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_timeout(400)  # the scroll position is recorded after 150 ms of calm
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 300
    page.goto(f"{live_server.url}/asset/{library[-1].public_id}")
    page.go_back()
    page.wait_for_function(f"() => document.querySelectorAll('#gallery .tile').length === {len(library)}")
    page.wait_for_function(f"() => Math.abs(window.scrollY - {scrolled}) < 50")
    assert _tile_ids(page) == [asset.pk for asset in library]
    assert errors == []
    context.close()


def test_without_script_the_grid_pages_by_links_and_tiles_open_the_detail_page(browser, live_server, library):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    _login(page, live_server.url)
    page.goto(f"{live_server.url}/?view={library[0].public_id}")
    assert page.locator("#shared-photo a").get_attribute("href") == f"/asset/{library[0].public_id}"
    page.click("text=Older photos")
    assert _tile_ids(page) == [asset.pk for asset in library[PAGE_SIZE:2 * PAGE_SIZE]]
    assert page.locator(".day-heading").all_inner_texts()[0] == "Yesterday"  # the day goes on, headed again
    page.locator("#gallery .tile a").first.click()
    page.wait_for_selector("#asset-image")
    assert page.url.endswith(f"/asset/{library[PAGE_SIZE].public_id}")
    context.close()
