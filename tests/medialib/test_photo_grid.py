"""The photo grid and its viewer through the Django test client and on their own: tiles by day
(selectors.tiles_by_day), the day headings, the keyset cursors (malformed: the first page, never a 500), the grid's
fragment, the queries of a page, and the viewer's JSON (who may see what)."""
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from medialib import selectors, services
from medialib.models import Asset
from medialib.templatetags.medialib import day_heading
from tagging.models import Face, Person
from tests import images
from tests.conftest import upload_file
from tests.fuzz import FUZZ, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client, user):
    client.force_login(user)
    return client


def _asset(user, name="photo.jpg", created=None, **kwargs):
    asset = services.asset_upload(file=upload_file(images.jpeg(), name), uploaded_by=user, **kwargs)
    if created is not None:
        Asset.objects.filter(pk=asset.pk).update(created_at=created)
        asset.refresh_from_db()
    return asset


def _fake(pk, when):
    return SimpleNamespace(pk=pk, created_at=when)


# --- tiles_by_day and the headings, on their own.

@given(st.lists(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 12, 31),
                             timezones=st.just(dt_timezone.utc)), max_size=40))
def test_days_keep_the_order_and_every_tile_once(moments):
    moments = sorted(moments, reverse=True)  # a page, newest first
    assets = [_fake(n, when) for n, when in enumerate(moments)]
    days = selectors.tiles_by_day(assets)
    assert [a for group in days for a in group.assets] == assets
    assert all(timezone.localdate(a.created_at) == group.day for group in days for a in group.assets)
    assert [group.day for group in days] == sorted({group.day for group in days}, reverse=True)  # one group a day


def test_days_follow_the_site_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    late = datetime(2024, 3, 2, 3, 0, tzinfo=dt_timezone.utc)  # still the 1st in New York
    [group] = selectors.tiles_by_day([_fake(2, late), _fake(1, late - timedelta(hours=1))])
    assert group.day == date(2024, 3, 1) and len(group.assets) == 2


def test_day_headings():
    today = timezone.localdate()
    assert day_heading(today) == "Today"
    assert day_heading(today - timedelta(days=1)) == "Yesterday"
    assert day_heading(date(2019, 7, 4)) == "Thu 4 July 2019"
    earlier = today - timedelta(days=2)
    expected = earlier.strftime("%a %-d %B") + ("" if earlier.year == today.year else earlier.strftime(" %Y"))
    assert day_heading(earlier) == expected  # the year only when it is not this one


# --- The gallery's pages.

def test_the_gallery_groups_a_page_by_day_newest_first(alice, user):
    old = _asset(user, "old.jpg", created=datetime(2024, 3, 1, 12, tzinfo=dt_timezone.utc))
    new = _asset(user, "new.jpg")
    html = alice.get(reverse("medialib:gallery")).content.decode()
    today = timezone.localdate().isoformat()
    assert html.index(f'<time datetime="{today}">Today</time></h2>') < html.index(f'data-public-id="{new.public_id}"')
    assert html.index(f'data-public-id="{new.public_id}"') < html.index('<time datetime="2024-03-01">Fri 1 March 2024</time>')
    assert html.index('Fri 1 March 2024</time>') < html.index(f'data-public-id="{old.public_id}"')
    assert 'id="viewer"' in html and "js/viewer.js" in html and "js/photo-grid.js" in html


def test_the_fragment_is_the_grid_alone_and_caches_apart(alice, user, settings):
    settings.MEDIALIB_GALLERY_PAGE_SIZE = 2
    assets = [_asset(user, f"p{i}.jpg") for i in range(5)]
    page = alice.get(reverse("medialib:gallery"))
    assert "X-Fragment" in page["Vary"]
    cursor = page.context["page"].next_before
    fragment = alice.get(reverse("medialib:gallery"), {"before": cursor}, HTTP_X_FRAGMENT="1")
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "X-Fragment" in fragment["Vary"]
    assert "<html" not in html and "<h1>" not in html and 'class="photo-day"' in html
    assert [f'data-public-id="{a.public_id}"' in html for a in assets] == [False, True, True, False, False]
    assert f'href="?before={assets[1].pk}" rel="next"' in html and f'href="?after={assets[2].pk}" rel="prev"' in html


@FUZZ
@given(before=text, after=text)
def test_a_malformed_cursor_gives_the_first_page_never_a_500(alice, user, before, after):
    if not Asset.objects.exists():
        _asset(user)
    for params in ({"before": before}, {"after": after}, {"before": before, "after": after},
                   {"before": before, "tag": "x"}, {"after": after, "tag": "x"}):
        for headers in ({}, {"HTTP_X_FRAGMENT": "1"}):
            response = alice.get(reverse("medialib:gallery"), params, **headers)
            assert response.status_code in (200, 400), (params, response.status_code)


def test_a_page_takes_the_same_queries_for_few_tiles_and_many(alice, user, settings):
    settings.MEDIALIB_GALLERY_PAGE_SIZE = 30
    _asset(user, "one.jpg", tags=["a"])
    alice.get(reverse("medialib:gallery"))  # the session and the user, once

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert alice.get(reverse("medialib:gallery"), HTTP_X_FRAGMENT="1").status_code == 200
        return len(captured)

    few = queries()
    for n in range(12):
        _asset(user, f"{n}.jpg", tags=[f"t{n}", "b"], created=timezone.now() - timedelta(days=n))
    assert queries() == few <= 8


def test_a_shared_view_url_links_to_the_detail_page_for_browsers_without_script(alice, user, other_user, settings):
    settings.MEDIALIB_VISIBILITY = "private"
    mine, theirs = _asset(user, "mine.jpg"), _asset(other_user, "theirs.jpg")
    html = alice.get(reverse("medialib:gallery"), {"view": mine.public_id}).content.decode()
    assert f'<p class="shared-photo" id="shared-photo"><a href="/asset/{mine.public_id}">' in html
    for missing in ("nope", "\x00", theirs.public_id):
        html = alice.get(reverse("medialib:gallery"), {"view": missing}).content.decode()
        assert 'id="shared-photo"' not in html


# --- The viewer's JSON.

def test_the_viewer_json_has_the_picture_faces_labels_tags_and_neighbours(alice, user):
    older = _asset(user, "older.jpg")
    asset = _asset(user, "middle.jpg", tags=['say "cheese"', "<b>bold</b>"])
    newer = _asset(user, "newer.jpg")
    person = Person.objects.create(name="Ada Lovelace")
    Face.objects.create(asset=asset, index=0, left=.1, top=.2, width=.3, height=.4, confidence=99.0, person=person,
                        person_source=Face.SOURCE_USER)
    Face.objects.create(asset=asset, index=1, left=.6, top=.2, width=.2, height=.2, confidence=98.0)
    response = alice.get(reverse("medialib:asset_viewer"), {"public_id": asset.public_id})
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    data = response.json()
    assert (data["public_id"], data["newer"], data["older"]) == (asset.public_id, newer.public_id, older.public_id)
    assert data["detail_url"] == f"/asset/{asset.public_id}"
    assert data["image"]["src"].startswith("/medialib/image/upload/c_limit,h_1000,w_1000/")
    assert data["image"]["srcset"].endswith(" 2x") and (data["image"]["width"], data["image"]["height"]) == (64, 48)
    assert [(face["name"], face["left"]) for face in data["faces"]] == [("Ada Lovelace", .1), (None, .6)]
    assert data["faces"][0]["url"] == "/search/?q=person%3A%22Ada+Lovelace%22"
    assert {tag["name"]: tag["url"] for tag in data["tags"]} == {
        "<b>bold</b>": "/search/?q=%22%3Cb%3Ebold%3C%2Fb%3E%22", 'say "cheese"': "/search/?q=%22say+%5C%22cheese%5C%22%22"}
    assert data["alt"].startswith("Photo uploaded ") and "middle.jpg" not in json_text(data)
    ends = alice.get(reverse("medialib:asset_viewer"), {"public_id": newer.public_id}).json()
    assert ends["newer"] is None and ends["older"] == asset.public_id


def json_text(data) -> str:
    import json

    return json.dumps(data)


def test_the_viewer_json_shows_only_what_the_user_may_see(client, alice, user, other_user, settings):
    settings.MEDIALIB_VISIBILITY = "private"
    mine, theirs = _asset(user, "mine.jpg"), _asset(other_user, "theirs.jpg")
    url = reverse("medialib:asset_viewer")
    assert alice.get(url, {"public_id": theirs.public_id}).status_code == 404
    assert alice.get(url, {"public_id": mine.public_id}).json()["newer"] is None  # theirs is newer, and unseen
    for odd in ("", "\x00", "../x", "x" * 600):
        assert alice.get(url, {"public_id": odd}).status_code == 404
    assert alice.post(url, {"public_id": mine.public_id}).status_code == 405
    client.logout()
    assert client.get(url, {"public_id": mine.public_id}).status_code == 401


@hypothesis_settings(FUZZ, max_examples=15)
@given(st.lists(st.sampled_from(["", "a", "b", "a/b", "Z", "é", "trips/2024", "a b", "%", "_"]), max_size=8))
def test_folders_by_the_loose_index_scan_are_the_distinct_ones(user, other_user, settings, names):
    Asset.objects.all().delete()
    for n, name in enumerate(names):
        asset = _asset(user if n % 2 else other_user, f"{n}.jpg")
        Asset.objects.filter(pk=asset.pk).update(asset_folder=name)
    plain = list(Asset.objects.exclude(asset_folder="").order_by("asset_folder").values_list("asset_folder", flat=True)
                 .distinct())
    settings.MEDIALIB_VISIBILITY = "shared"
    assert selectors.asset_folders(user=user) == plain
    assert selectors.asset_folders(user=user, limit=2) == plain[:2]
    settings.MEDIALIB_VISIBILITY = "private"  # only one's own: the plain DISTINCT
    mine = list(Asset.objects.filter(uploaded_by=user).exclude(asset_folder="").order_by("asset_folder")
                .values_list("asset_folder", flat=True).distinct())
    assert selectors.asset_folders(user=user) == mine and set(mine) == {n for i, n in enumerate(names) if i % 2 and n}
