"""Search in a real browser (headless Chromium): autocomplete by keyboard, narrow by a facet, scroll and page,
share the URL."""
from datetime import timedelta

import pytest

from medialib import services as media_services
from medialib.models import Asset
from tests.browser.conftest import browser, chromium, page  # noqa: F401 (fixtures)
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
    newest = [str(pk) for pk in Asset.objects.order_by("-pk").values_list("pk", flat=True)[:4]]
    assert tile_ids(page)[:4] == newest  # and older ones as the grid's end nears

    # Narrow by the facet "beach".
    with page.expect_navigation():
        page.click("a.facet[data-tag=beach]")
    page.wait_for_selector("#search-count:has-text('15 photos')")
    assert page.locator("#search-q").input_value() == "dog beach"
    first = tile_ids(page)[:4]
    assert len(first) == 4
    assert page.locator("#gallery .tile .tags").nth(0).inner_text().count("beach") == 1
    assert page.locator('a.facet[data-tag="sunny day"]').inner_text() == "sunny day"

    # The older results come by themselves as the grid's end nears (infinite scroll): in order, each once.
    for _ in range(6):
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_timeout(200)
    page.wait_for_function("() => document.querySelectorAll('#gallery .tile').length === 15")
    every = tile_ids(page)
    assert every[:4] == first and len(set(every)) == 15
    assert every == sorted(every, key=int, reverse=True)  # newest first, as the pages are

    # Without the script the links page as before: older, older, then back to newer.
    plain = page.context.browser.new_context(java_script_enabled=False)
    plain.add_cookies(page.context.cookies())
    links = plain.new_page()
    links.goto(page.url)
    assert tile_ids(links) == first
    with links.expect_navigation():
        links.click("a[rel=next]")
    assert "before=" in links.url
    second = tile_ids(links)
    assert len(second) == 4 and not set(second) & set(first)
    with links.expect_navigation():
        links.click("a[rel=next]")
    third = tile_ids(links)
    assert len(third) == 4 and not set(third) & (set(first) | set(second))
    with links.expect_navigation():
        links.click("a[rel=prev]")
    assert tile_ids(links) == second
    links.screenshot(path=str(ROOT / "var" / "test" / "search.png"), full_page=True)

    # Share: the same URL in another page shows the same results (and, with the script, the older ones after).
    shared = links.url
    plain.close()
    other = page.context.new_page()
    other.goto(shared)
    assert tile_ids(other)[:4] == second
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
