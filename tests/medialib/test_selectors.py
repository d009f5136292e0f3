"""medialib.selectors: keyset paging of the gallery, one asset, and who may edit."""
import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medialib import selectors, services
from medialib.templatetags.medialib import tile
from tagging.selectors import analyses_prefetch
from tests import images
from tests.conftest import upload_file

pytestmark = pytest.mark.django_db


def _assets(user, n):
    return [services.asset_upload(file=upload_file(images.jpeg(), f"a{i}.jpg"), uploaded_by=user, tags=[f"t{i}"])
            for i in range(n)]


def test_pages_walk_every_asset_once_newest_first(user):
    assets = _assets(user, 7)
    seen, before = [], None
    while True:
        page = selectors.gallery_page(before=before, limit=3)
        seen += [a.pk for a in page.assets]
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == [a.pk for a in reversed(assets)]


def test_previous_page_mirrors_next(user):
    _assets(user, 7)
    first = selectors.gallery_page(limit=3)
    assert first.prev_after is None
    second = selectors.gallery_page(before=first.next_before, limit=3)
    back = selectors.gallery_page(after=second.prev_after, limit=3)
    assert [a.pk for a in back.assets] == [a.pk for a in first.assets]


def test_empty_gallery(user):
    page = selectors.gallery_page(limit=3)
    assert page.assets == [] and page.next_before is None and page.prev_after is None


def test_a_page_uses_keyset_not_offset_and_a_fixed_number_of_queries(user):
    _assets(user, 12)
    first = selectors.gallery_page(limit=5)
    with CaptureQueriesContext(connection) as small:
        # The gallery view's prefetch: the tiles show the add-ons' statuses too.
        page = selectors.gallery_page(before=first.next_before, limit=5, prefetch=[analyses_prefetch(for_tiles=True)])
        for asset in page.assets:
            tile(asset)  # what the page does with each: tags, thumbnail, add-on statuses
    sql = " ".join(q["sql"] for q in small.captured_queries).upper()
    assert "OFFSET" not in sql
    assert f'"MEDIALIB_ASSET"."ID" < {first.next_before}' in sql
    with CaptureQueriesContext(connection) as large:
        page = selectors.gallery_page(before=first.next_before, limit=7, prefetch=[analyses_prefetch(for_tiles=True)])
        for asset in page.assets:
            tile(asset)  # what the page does with each: tags, thumbnail, add-on statuses
    assert len(small.captured_queries) == len(large.captured_queries)  # no query per asset


def test_asset_get(user):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user, public_id="a/b")
    assert selectors.asset_get(public_id="a/b") == asset
    assert selectors.asset_get(public_id="a/c") is None


def test_who_may_edit(user, other_user, staff_user):
    asset = services.asset_upload(file=upload_file(images.jpeg()), uploaded_by=user)
    assert selectors.asset_can_edit(user=user, asset=asset)
    assert selectors.asset_can_edit(user=staff_user, asset=asset)
    assert not selectors.asset_can_edit(user=other_user, asset=asset)
    assert not selectors.asset_can_edit(user=AnonymousUser(), asset=asset)
    user.is_active = False
    assert not selectors.asset_can_edit(user=user, asset=asset)
