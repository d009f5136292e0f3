"""medialib.views through the Django test client: pages, permissions, CSRF, files and their headers."""
import json

import pytest
from django.test import Client
from django.urls import reverse

from medialib import services
from medialib.models import Asset, Rendition
from tests import images
from tests.conftest import stored_files, upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client, user):
    client.force_login(user)
    return client


def _asset(user, data=None, name="photo.jpg", **kwargs):
    return services.asset_upload(file=upload_file(data or images.jpeg(), name), uploaded_by=user, **kwargs)


@pytest.mark.parametrize("name", ["medialib:gallery", "medialib:upload"])
def test_anonymous_users_are_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_users_cannot_see_an_asset_or_its_files(client, user):
    asset = _asset(user)
    for url in (
        reverse("medialib:asset_detail", args=[asset.public_id]),
        reverse("medialib:asset_original", args=[asset.pk, asset.version]),
    ):
        assert client.get(url).status_code == 302


def test_upload_page_takes_a_batch_and_reports_each_file(alice, media_root):
    response = alice.post(
        reverse("medialib:upload"),
        {
            "files": [
                upload_file(images.photo_bytes("dogs.jpg"), "dogs.jpg"),
                upload_file(b"not an image", "broken.jpg"),
                upload_file(images.png(), "green.png", "image/png"),
            ],
            "tags": "holiday, summer 2024",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="upload-name">broken.jpg</span>' in html
    assert '<span class="error">broken.jpg is not an image this library reads' in html
    assert "2 of 3 uploaded, 1 failed" in html
    assert Asset.objects.count() == 2
    for asset in Asset.objects.all():
        assert sorted(asset.tags.names()) == ["holiday", "summer 2024"]
    assert len(stored_files(media_root)) == 2


def test_upload_answers_json_per_file(alice):
    response = alice.post(
        reverse("medialib:upload"),
        {"files": [upload_file(images.truncated_jpeg(), "cut.jpg")]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    result = response.json()["results"][0]
    assert result["ok"] is False and "cut.jpg is damaged or incomplete" in result["error"]

    response = alice.post(
        reverse("medialib:upload"), {"files": [upload_file(images.jpeg(), "ok.jpg")]}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    result = response.json()["results"][0]
    asset = Asset.objects.get(public_id=result["public_id"])
    assert result["url"] == reverse("medialib:asset_detail", args=[asset.public_id])


def test_upload_without_files_says_so(alice):
    response = alice.post(reverse("medialib:upload"), {}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Choose at least one file to upload."


def test_upload_is_csrf_protected(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("medialib:upload"), {"files": [upload_file(images.jpeg())]})
    assert response.status_code == 403
    assert not Asset.objects.exists()


def test_gallery_shows_tiles_through_delivery_urls_newest_first(alice, user):
    older = _asset(user, name="older.jpg", tags=["first"])
    newer = _asset(user, images.photo_bytes("dogs.jpg"), name="newer.jpg")
    html = alice.get(reverse("medialib:gallery")).content.decode()
    assert html.index(f'data-public-id="{newer.public_id}"') < html.index(f'data-public-id="{older.public_id}"')
    assert "older.jpg" not in html  # no file names on the tiles: the alt text says what is in the photo
    for asset in (older, newer):  # whether the worker has made any rendition yet or not
        assert f'src="/medialib/image/upload/c_fill,h_200,w_320/v{asset.version}/{asset.public_id}.jpg"' in html
    assert "/files/" not in html and "thumbnail on its way" not in html
    assert '<li class="tag source-manual">first</li>' in html


def test_gallery_pages_by_keyset(alice, user, settings):
    settings.MEDIALIB_GALLERY_PAGE_SIZE = 2
    assets = [_asset(user, name=f"p{i}.jpg") for i in range(5)]  # p4 is the newest
    first = alice.get(reverse("medialib:gallery"))
    assert [a.original_filename for a in first.context["page"].assets] == ["p4.jpg", "p3.jpg"]
    second = alice.get(reverse("medialib:gallery"), {"before": first.context["page"].next_before})
    assert [a.original_filename for a in second.context["page"].assets] == ["p2.jpg", "p1.jpg"]
    back = alice.get(reverse("medialib:gallery"), {"after": second.context["page"].prev_after})
    assert [a.original_filename for a in back.context["page"].assets] == ["p4.jpg", "p3.jpg"]
    assert back.context["page"].prev_after is None
    assert len(assets) == 5


def test_detail_escapes_what_users_typed(alice, user):
    asset = _asset(user, name="<img src=x onerror=alert(1)>.jpg", tags=["<script>alert(1)</script>"])
    html = alice.get(reverse("medialib:asset_detail", args=[asset.public_id])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x onerror" not in html


def test_gallery_tiles_escape_what_users_typed_and_list_tags_by_name(alice, user):
    from django.utils import timezone
    from django.utils.formats import date_format

    from tagging.models import AnalysisResult

    asset = _asset(user, name="<img src=x onerror=alert(1)>.jpg", tags=["zebra", "<script>alert(1)</script>", "apple"])
    AnalysisResult.objects.create(asset=asset, addon="aws_rek_tagging", status=AnalysisResult.FAILED,
                                  error='<b onmouseover="x">bad</b>', requested_at=timezone.now())
    html = alice.get(reverse("medialib:gallery")).content.decode()
    assert "<script>alert(1)</script>" not in html and "<img src=x onerror" not in html
    assert '<b onmouseover="x">' not in html
    assert 'title="&lt;b onmouseover=&quot;x&quot;&gt;bad&lt;/b&gt;"' in html  # the failure, escaped
    tile = html[html.index(f'data-asset-id="{asset.pk}"'):]
    tile = tile[:tile.index("</figure>")]
    assert " data-pending" not in tile  # the failed analysis is done, and the picture waits for no worker
    assert tile.index("&lt;script&gt;") < tile.index(">apple<") < tile.index(">zebra<")  # by name, as stored
    assert "onerror=alert(1)&gt;.jpg" not in tile  # the file name is no caption and no alt text
    assert f'alt="Photo uploaded {date_format(asset.created_at, "j F Y")}: &lt;script&gt;' in tile
    assert '<ul class="addon-statuses compact" aria-label="Analysis">' in tile  # failed: the tile says so


def test_detail_of_a_foldered_public_id(alice, user):
    asset = _asset(user, public_id="trips/2024/beach")
    response = alice.get(reverse("medialib:asset_detail", args=[asset.public_id]))
    assert response.status_code == 200
    assert asset.sha256 in response.content.decode()
    assert alice.get("/asset/trips/2024/missing").status_code == 404


def test_owner_adds_and_removes_tags(alice, user):
    asset = _asset(user)
    response = alice.post(reverse("medialib:asset_tags_add", args=[asset.pk]), {"name": "cat, sofa"})
    assert response.status_code == 302
    assert sorted(asset.tags.names()) == ["cat", "sofa"]
    alice.post(reverse("medialib:asset_tag_remove", args=[asset.pk]), {"name": "cat"})
    assert list(asset.tags.names()) == ["sofa"]


def test_another_user_cannot_edit_tags(client, user, other_user):
    asset = _asset(user, tags=["mine"])
    client.force_login(other_user)
    detail = client.get(reverse("medialib:asset_detail", args=[asset.public_id])).content.decode()
    assert 'name="name"' not in detail  # no edit forms offered
    response = client.post(reverse("medialib:asset_tags_add", args=[asset.pk]), {"name": "theirs"})
    assert response.status_code == 403
    response = client.post(reverse("medialib:asset_tag_remove", args=[asset.pk]), {"name": "mine"})
    assert response.status_code == 403
    response = client.post(reverse("medialib:asset_delete", args=[asset.pk]))
    assert response.status_code == 403
    assert list(Asset.objects.get().tags.names()) == ["mine"]


def test_staff_can_edit_anyones_tags(client, user, staff_user):
    asset = _asset(user)
    client.force_login(staff_user)
    client.post(reverse("medialib:asset_tags_add", args=[asset.pk]), {"name": "reviewed"})
    assert list(asset.tags.names()) == ["reviewed"]


def test_tag_edits_need_post(alice, user):
    asset = _asset(user)
    assert alice.get(reverse("medialib:asset_tags_add", args=[asset.pk]), {"name": "x"}).status_code == 405


def test_original_is_served_unchanged_with_safe_headers(alice, user):
    data = images.html_jpeg_polyglot()
    asset = _asset(user, data, name="poly.jpg")
    response = alice.get(reverse("medialib:asset_original", args=[asset.pk, asset.version]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "max-age=31536000" in response["Cache-Control"]


def test_rendition_is_served_with_long_cache_headers(alice, user):
    asset = _asset(user, images.photo_bytes("dogs.jpg"))
    services.renditions_generate(asset_id=asset.pk)
    response = alice.get(reverse("medialib:asset_rendition", args=[asset.pk, "thumb", asset.version]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "immutable" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert body[:2] == b"\xff\xd8"
    # An old version's URL is gone, not silently answered with other bytes.
    stale = reverse("medialib:asset_rendition", args=[asset.pk, "thumb", asset.version - 1])
    assert alice.get(stale).status_code == 404
    assert Rendition.objects.count() == 2


def test_delete_by_owner(alice, user, media_root):
    asset = _asset(user)
    response = alice.post(reverse("medialib:asset_delete", args=[asset.pk]))
    assert response.status_code == 302
    assert not Asset.objects.exists()


def test_login_page_and_logout(client, user):
    response = client.post(reverse("login"), {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302 and response["Location"] == reverse("medialib:gallery")
    assert client.get(reverse("medialib:gallery")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("medialib:gallery")).status_code == 302


def test_admin_lists_assets_with_thumbnails_and_tags(client, staff_user, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="root-password-1")
    asset = _asset(staff_user, images.photo_bytes("dogs.jpg"), tags=["dog"])
    client.force_login(admin)
    html = client.get(reverse("admin:medialib_asset_changelist")).content.decode()
    assert f'src="/medialib/image/upload/c_fill,h_200,w_320/v{asset.version}/{asset.public_id}.jpg"' in html
    assert ">dog<" in html or "dog</td>" in html
    assert client.get(reverse("admin:medialib_asset_change", args=[asset.pk])).status_code == 200


def test_json_is_json(alice):
    response = alice.post(reverse("medialib:upload"), {"files": [upload_file(images.png(), "a.png")]},
                          HTTP_ACCEPT="application/json")
    json.loads(response.content)


def test_html_pages_carry_the_content_security_policy_and_files_keep_their_own(client, user, settings):
    client.force_login(user)
    response = client.get(reverse("medialib:gallery"))
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    asset = _asset(user, images.jpeg())
    original = client.get(reverse("medialib:asset_original", args=[asset.pk, asset.version]))
    assert original["Content-Security-Policy"] == "default-src 'none'; sandbox"
    settings.DEBUG = True  # Django's debug pages need inline script
    assert "Content-Security-Policy" not in client.get(reverse("medialib:gallery"))


# --- Input that used to give a 500

@pytest.mark.parametrize("query", ["before=%C2%B2", "after=%C2%B2", "before=" + "9" * 30, "after=" + "9" * 30])
def test_gallery_cursor_that_is_not_an_id_gives_the_first_page(alice, user, query):
    # As a cursor of "x" always has (and the search's cursors): str.isdigit() took "²", which int() refused.
    asset = _asset(user)
    response = alice.get("/?" + query)
    assert response.status_code == 200
    assert [a.pk for a in response.context["page"].assets] == [asset.pk]


@pytest.mark.parametrize("ids", ["%C2%B2", "9" * 30, "%C2%B2,9999999999999999999"])
def test_status_of_ids_that_are_not_ids_leaves_them_out(alice, user, ids):
    # As with ids that do not exist ("x" always was); 30 nines overflowed the database's integer.
    asset = _asset(user)
    response = alice.get(f"/assets/analysis.json?ids={asset.pk}," + ids)
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["assets"]] == [asset.pk]


def test_too_many_files_get_the_apps_message(alice, settings):
    settings.MEDIALIB_MAX_FILES_PER_REQUEST = settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = [upload_file(images.jpeg(), f"p{i}.jpg") for i in range(4)]
    response = alice.post(reverse("medialib:upload"), {"files": files})
    assert response.status_code == 400
    assert "Send at most 3 files at once." in response.content.decode()
    response = alice.post(reverse("medialib:upload"), {"files": files}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Send at most 3 files at once."}}
    assert Asset.objects.count() == 0


def test_101_files_with_the_default_limits_get_the_apps_message(alice):
    files = [upload_file(b"x", f"p{i}.jpg") for i in range(101)]
    response = alice.post(reverse("medialib:upload"), {"files": files})
    assert response.status_code == 400
    assert "Send at most 100 files at once." in response.content.decode()


def test_too_many_files_get_the_apps_message_through_csrf_too(user, settings):
    # A browser's POST is read by the CSRF check before the view: Django's count fires there.
    settings.MEDIALIB_MAX_FILES_PER_REQUEST = settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("medialib:upload"))
    files = [upload_file(images.jpeg(), f"p{i}.jpg") for i in range(4)]
    response = client.post(reverse("medialib:upload"), {"files": files},
                           HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 400
    assert "Send at most 3 files at once." in response.content.decode()


def test_a_nul_in_an_asset_path_is_not_found(alice):
    # PostgreSQL refuses to compare text holding NUL (a 500); no public_id holds one.
    assert alice.get("/asset/a%00b").status_code == 404


def test_a_nul_in_upload_tags_is_refused(alice):
    response = alice.post(reverse("medialib:upload"),
                          {"files": [upload_file(images.jpeg(), "x.jpg")], "tags": "a\x00b"})
    assert response.status_code == 400
    assert "Null characters are not allowed" in response.content.decode()
    assert Asset.objects.count() == 0


# --- Fuzzing every parameter of these pages: whatever comes, the answer is not a 500

from urllib.parse import quote as url_quote  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.fuzz import FUZZ, text  # noqa: E402


@pytest.fixture
def owned(user):
    return _asset(user)


@FUZZ
@given(before=text, after=text, ids=text)
def test_gallery_and_status_never_fail(alice, owned, before, after, ids):
    assert alice.get(reverse("medialib:gallery"), {"before": before, "after": after}).status_code == 200
    assert alice.get(reverse("medialib:assets_analysis"), {"ids": ids}).status_code == 200


@FUZZ
@given(public_id=text)
def test_asset_page_of_any_path_never_fails(alice, public_id):
    assert alice.get("/asset/" + url_quote(public_id, safe="/")).status_code in (200, 301, 302, 404)


@FUZZ
@given(name=text, tags=text, addons=st.lists(text, max_size=3), auto_tagging=text)
def test_asset_forms_never_fail(alice, owned, name, tags, addons, auto_tagging):
    for url, data in (
        (reverse("medialib:asset_tags_add", args=[owned.pk]), {"name": name}),
        (reverse("medialib:asset_tag_remove", args=[owned.pk]), {"name": name}),
        (reverse("medialib:asset_analysis_rerun", args=[owned.pk]), {"addons": addons, "auto_tagging": auto_tagging}),
        (reverse("medialib:upload"), {"tags": tags, "addons": addons, "auto_tagging": auto_tagging}),
    ):
        assert alice.post(url, data).status_code < 500


def test_admin_delete_selected_removes_assets_renditions_and_their_files(client, staff_user, django_user_model,
                                                                         media_root,
                                                                         django_capture_on_commit_callbacks):
    admin = django_user_model.objects.create_superuser("root", password="root-password-1")
    assets = [_asset(staff_user, images.photo_bytes("dogs.jpg")), _asset(staff_user, images.jpeg())]
    for asset in assets:
        services.renditions_generate(asset_id=asset.pk)
    assert Rendition.objects.count() > 0 and stored_files(media_root)
    kept = _asset(staff_user, images.png(), "kept.png")
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:medialib_asset_changelist"), {
            "action": "delete_selected", "_selected_action": [a.pk for a in assets], "post": "yes",
        })
    assert response.status_code == 302
    assert list(Asset.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Rendition.objects.filter(asset_id__in=[a.pk for a in assets]).exists()
    assert stored_files(media_root) == sorted({kept.file.name, *kept.renditions.values_list("file", flat=True)})


def test_admin_delete_of_one_asset_removes_its_renditions_and_files(client, staff_user, django_user_model,
                                                                    media_root, django_capture_on_commit_callbacks):
    admin = django_user_model.objects.create_superuser("root", password="root-password-1")
    asset = _asset(staff_user, images.photo_bytes("dogs.jpg"))
    services.renditions_generate(asset_id=asset.pk)
    assert Rendition.objects.filter(asset=asset).exists()
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:medialib_asset_delete", args=[asset.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Asset.objects.exists() and not Rendition.objects.exists()
    assert stored_files(media_root) == []
