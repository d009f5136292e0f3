"""Every page at a phone's size (390x844) and a laptop's (1366x900): nothing wider than the screen, the header's
links on screen, readable on the header's background and working, and axe-core finding no WCAG A/AA violation.

One browser for the module, one page load per check set; screenshots go to var/screenshots/ (not committed)."""
from pathlib import Path

import pytest

from medialib import services as media_services
from tagging.models import Face
from tagging.services import analysis as analysis_services
from tagging.services import people as people_services
from tests import images
from tests.browser.conftest import axe_violations, sign_in
from tests.conftest import asset_upload, upload_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": (390, 844), "laptop": (1366, 900)}
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

# For each header link or button: its box, its colour and the first opaque background behind it.
HEADER_LINKS = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= .03928 ? c / 12.92 : ((c + .055) / 1.055) ** 2.4; };
                               return .2126 * f(r) + .7152 * f(g) + .0722 * f(b); };
  const background = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                                 if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; };
  return [...document.querySelectorAll('.site-header a, .site-header button')].map((el) => {
    const r = el.getBoundingClientRect(), fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    return {text: el.textContent.trim(), left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
            contrast: (Math.max(fg, bg) + .05) / (Math.min(fg, bg) + .05)};
  });
}"""


@pytest.fixture
def library(live_server, django_user_model, settings):
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}
    staff = django_user_model.objects.create_user(username="dora", password="dora-password-1", is_staff=True,
                                                  is_superuser=True)
    assets = []
    for n, color in enumerate([(200, 10, 10), (10, 10, 200), (10, 160, 10)]):
        asset = asset_upload(file=upload_file(images.jpeg(640, 420, color=color), f"photo-{n}.jpg"),
                             uploaded_by=staff, addons=["aws_rek_face", "aws_rek_tagging"], auto_tagging=0.6)
        media_services.renditions_generate(asset_id=asset.pk)
        analysis_services.analysis_run(asset_id=asset.pk)
        assets.append(asset)
    face = Face.objects.filter(asset=assets[0]).first()
    person = people_services.face_name(face=face, user=staff, name="Ada Lovelace").person if face else None
    return {"asset": assets[0], "person": person}


def _login(page, base):
    sign_in(page, base, "dora", "dora-password-1")


def _check(page, name, size, problems):
    page.wait_for_load_state("networkidle")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
    width, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    if width > inner:
        problems.append(f"{name} @{size}: {width} px wide in a {inner} px window")
    for link in page.evaluate(HEADER_LINKS):
        if link["width"] and not (0 <= link["left"] and link["right"] <= inner and link["top"] >= 0):
            problems.append(f"{name} @{size}: header link {link['text']!r} off screen {link}")
        if link["width"] and link["contrast"] < 4.5:
            problems.append(f"{name} @{size}: header link {link['text']!r} contrast {link['contrast']:.1f}")
    for violation in axe_violations(page):
        problems.append(f"{name} @{size}: axe {violation['id']} {violation['targets'][:3]}")


def test_every_page_fits_phones_and_laptops(browser, live_server, library):
    base, asset, person = live_server.url, library["asset"], library["person"]
    assert person is not None, "the fake detector found no face to name"
    pages = {
        "gallery": "/", "asset": f"/asset/{asset.public_id}", "upload": "/upload/",
        "search": "/search/?q=red", "search-none": "/search/?q=nosuchthingatall", "people": "/people/",
        "person": f"/people/{person.pk}/", "moderation": "/admin/tagging/moderationitem/", "404": "/no/such/page/",
    }
    problems = []
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(f"{base}/accounts/login/")
        _check(page, "login", size, problems)
        _login(page, base)
        for name, path in pages.items():
            page.goto(f"{base}{path}")
            _check(page, name, size, problems)
            if name == "moderation" and size == "laptop":
                # The queue fits its area: its last columns (Asset, Added, Review) are on screen, not scrolled off.
                right = page.evaluate("Math.max(...[...document.querySelectorAll('#result_list th')]"
                                      ".map((th) => th.getBoundingClientRect().right))")
                if right > width:
                    problems.append(f"moderation @laptop: the table ends at {right} px in a {width} px window")

        # Every header link works at this size: clicked, it reaches its page.
        for label, expected in [("Gallery", "/"), ("Search", "/search/"), ("Upload", "/upload/"),
                                ("People", "/people/"), ("Admin", "/admin/")]:
            page.goto(f"{base}/upload/")
            page.click(f".site-header nav a:text-is('{label}')")
            page.wait_for_load_state("networkidle")
            assert page.url == f"{base}{expected}", (size, label, page.url)
        page.goto(f"{base}/upload/")
        page.click(".site-header nav button:has-text('Log out')")
        page.wait_for_load_state("networkidle")
        page.goto(f"{base}/")
        assert "/accounts/login/" in page.url, size

        # The skip link is the first thing Tab reaches, and it moves focus to the content.
        _login(page, base)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "content"
        context.close()
    assert problems == [], "\n".join(problems)


FIRST_SCREEN = """() => {
  const panel = document.querySelector('.filters-panel'), tiles = [...document.querySelectorAll('.photo-days img')];
  const summary = panel.querySelector('summary').getBoundingClientRect();
  return {open: panel.open, summaryShown: summary.width > 0 && summary.height > 0,
          filtersShown: document.querySelector('.gallery-filters').checkVisibility(),
          tilesOnScreen: tiles.filter((img) => img.getBoundingClientRect().top < innerHeight).length,
          firstTileTop: tiles.length ? tiles[0].getBoundingClientRect().top : null,
          scrollWidth: document.documentElement.scrollWidth, innerWidth};
}"""


def test_the_gallery_s_filters_fold_on_a_phone_and_stay_open_on_a_laptop(browser, live_server, library):
    base = live_server.url
    problems = []
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        _login(page, base)
        page.goto(f"{base}/")
        _check(page, "gallery-filters", size, problems)
        state = page.evaluate(FIRST_SCREEN)
        assert state["scrollWidth"] <= state["innerWidth"], (size, state)
        assert state["tilesOnScreen"] >= 1, (size, state)  # the first screen shows photos
        if size == "phone":
            assert not state["open"] and state["summaryShown"] and not state["filtersShown"], state
            assert state["firstTileTop"] < height / 2, state  # the photos start high on the first screen
            page.click(".filters-panel > summary")  # one tap shows them
            state = page.evaluate(FIRST_SCREEN)
            assert state["open"] and state["filtersShown"], state
            _check(page, "gallery-filters-opened", size, problems)
        else:
            assert state["open"] and state["filtersShown"] and not state["summaryShown"], state
        # A filter in use: the panel is open at any size, and says so.
        page.goto(f"{base}/?status=failed")
        state = page.evaluate("() => ({open: document.querySelector('.filters-panel').open,"
                              " text: document.querySelector('.filters-panel > summary').textContent})")
        assert state["open"] and "on" in state["text"], (size, state)
        _check(page, "gallery-filtered", size, problems)
        context.close()
    assert problems == [], "\n".join(problems)
