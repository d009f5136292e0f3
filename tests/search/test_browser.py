"""Search in a real browser (headless Chromium): autocomplete by keyboard, narrow by a facet, page, share the URL."""
from datetime import timedelta

import pytest

from medialib import services as media_services
from tests.browser.conftest import browser, page  # noqa: F401 (fixtures)
from tests.conftest import ROOT

from .conftest import START, make_asset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tile_ids(page):  # noqa: F811
    return page.eval_on_selector_all("#gallery .tile", "tiles => tiles.map(t => t.dataset.assetId)")


def test_type_pick_a_suggestion_narrow_page_and_share(page, browser, live_server, django_user_model, settings):  # noqa: F811
    settings.MEDIALIB_GALLERY_PAGE_SIZE = 4
    user = django_user_model.objects.create_user(username="erin", password="erin-password-1")
    for i in range(30):
        tags = {"dog": ("aws_rek_tagging", 0.9)}
        if i % 2:
            tags["beach"] = ("manual", None)
        if i % 10 == 0:
            tags["door"] = ("manual", None)
        if i % 3 == 0:
            tags["sunny day"] = ("aws_rek_tagging", 0.7)
        make_asset(f"photo{i:02d}", user=user, created=START + timedelta(hours=i), tags=tags)
    media_services.tag_usage_refresh()

    page.goto(f"{live_server.url}/accounts/login/?next=/search/")
    page.fill("#id_username", "erin")
    page.fill("#id_password", "erin-password-1")
    page.click("main button[type=submit]")
    page.wait_for_selector("h1:has-text('Search')")

    # Type, see suggestions with counts, choose one with the keyboard.
    box = page.locator("#search-q")
    box.click()
    page.keyboard.type("do")
    page.wait_for_selector("#search-q[aria-expanded=true]")
    options = page.locator("[role=listbox] [role=option]")
    assert options.nth(0).inner_text().lower().split() == ["dog", "tag", "30"]
    assert options.nth(1).inner_text().lower().split() == ["door", "tag", "3"]
    page.keyboard.press("ArrowDown")
    assert options.nth(0).get_attribute("aria-selected") == "true"
    page.screenshot(path=str(ROOT / "var" / "test" / "search-suggestions.png"))
    assert box.get_attribute("aria-activedescendant") == options.nth(0).get_attribute("id")
    page.keyboard.press("Enter")
    assert box.input_value() == "dog "
    assert box.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")  # nothing chosen now: the form is sent
    page.wait_for_selector("#search-count:has-text('30 photos')")
    assert len(tile_ids(page)) == 4

    # Narrow by the facet "beach".
    with page.expect_navigation():
        page.click("a.facet[data-tag=beach]")
    page.wait_for_selector("#search-count:has-text('15 photos')")
    assert page.locator("#search-q").input_value() == "dog beach"
    first = tile_ids(page)
    assert len(first) == 4
    assert page.locator("#gallery .tile .tags").nth(0).inner_text().count("beach") == 1
    assert page.locator('a.facet[data-tag="sunny day"]').inner_text() == "sunny day"

    # Page through: older, older, then back to newer.
    with page.expect_navigation():
        page.click("a[rel=next]")
    assert "before=" in page.url
    second = tile_ids(page)
    assert len(second) == 4 and not set(second) & set(first)
    with page.expect_navigation():
        page.click("a[rel=next]")
    third = tile_ids(page)
    assert len(third) == 4 and not set(third) & (set(first) | set(second))
    with page.expect_navigation():
        page.click("a[rel=prev]")
    assert tile_ids(page) == second
    page.screenshot(path=str(ROOT / "var" / "test" / "search.png"), full_page=True)

    # Share: the same URL in another page shows the same results.
    shared = page.url
    other = page.context.new_page()
    other.goto(shared)
    assert tile_ids(other) == second
    assert other.locator("#search-q").input_value() == "dog beach"
    assert other.locator("#search-count").inner_text().startswith("15 photos")
    other.close()


def test_malformed_query_in_the_browser(page, live_server, django_user_model):  # noqa: F811
    django_user_model.objects.create_user(username="erin", password="erin-password-1")
    page.goto(f"{live_server.url}/accounts/login/?next=/search/")
    page.fill("#id_username", "erin")
    page.fill("#id_password", "erin-password-1")
    page.click("main button[type=submit]")
    page.wait_for_selector("h1:has-text('Search')")
    page.fill("#search-q", 'dog ("<b>x</b>"')
    page.press("#search-q", "Enter")
    alert = page.wait_for_selector("[role=alert]")
    assert "is not closed" in alert.inner_text()
    assert page.locator("#search-q").input_value() == 'dog ("<b>x</b>"'
    assert page.locator("mark").count() == 1
