"""Named transformations (t_<name>): their admin, their lookup in delivery URLs, and strict transformations."""
import io

import cloudinary.utils
import pytest
from django.contrib.auth.models import Permission
from django.core import checks
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageChops

from medialib.models import DeliveredRendition, NamedTransformation
from medialib.selectors import named_transformation
from medialib.transformations import Transformation
from tests.medialib.test_delivery_views import _body, _get, _url, key, photo, sdk  # noqa: F401 (fixtures)

ADD_URL = reverse("admin:medialib_namedtransformation_add")


def _change_url(named):
    return reverse("admin:medialib_namedtransformation_change", args=[named.pk])


@pytest.fixture
def editor(db, django_user_model):
    """Staff with the model's permissions, nothing more (not a superuser)."""
    person = django_user_model.objects.create_user(username="ed", password="ed-password-1", is_staff=True)
    person.user_permissions.set(Permission.objects.filter(content_type__app_label="medialib",
                                                          codename__endswith="_namedtransformation"))
    client = Client()
    client.force_login(person)
    return client


def _post(client, url, name, transformation, allowed_unsigned=True):
    data = {"name": name, "transformation": transformation}
    if allowed_unsigned:
        data["allowed_unsigned"] = "on"
    return client.post(url, data)


def _form_errors(response):
    assert response.status_code == 200  # the form again, not a redirect (saved) nor a 500
    return response.context["adminform"].form.errors


# --- The admin ---

def test_the_admin_stores_the_canonical_string(editor):
    response = _post(editor, ADD_URL, "thumb-2", "w_0100,c_fill,h_0.50/dpr_2", allowed_unsigned=False)
    assert response.status_code == 302, _form_errors(response)
    named = NamedTransformation.objects.get(name="thumb-2")
    assert named.transformation == "c_fill,h_0.5,w_100/dpr_2.0"
    assert named.allowed_unsigned is False
    listing = editor.get(reverse("admin:medialib_namedtransformation_changelist") + "?q=thumb").content.decode()
    assert "thumb-2" in listing and "c_fill,h_0.5,w_100/dpr_2.0" in listing


@pytest.mark.parametrize("name, transformation, field, message", [
    ("thumb", "w_abc", "transformation", "Invalid value in 'w_abc' (not a number)"),
    ("thumb", "c_fill,w_100,sharpness_3", "transformation", "Unknown transformation parameter 'sharpness_3'"),
    ("thumb", "t_nope/w_100", "transformation", "Unknown named transformation 'nope'"),
    ("thumb", "t_thumb", "transformation", "Named transformation 'thumb' refers to itself"),
    ("thumb", "/", "transformation", "at least one parameter"),
    ("my thumb", "w_100", "name", "only letters, digits"),
    ("a/b", "w_100", "name", "only letters, digits"),
    ("thumb,w_5", "w_100", "name", "only letters, digits"),
])
def test_the_admin_refuses_what_would_not_work_in_a_url(editor, name, transformation, field, message):
    errors = _form_errors(_post(editor, ADD_URL, name, transformation))
    assert message in " ".join(errors[field]), errors
    assert not NamedTransformation.objects.exists()


def test_a_cycle_or_a_broken_user_is_refused_when_editing_or_renaming(editor):
    assert _post(editor, ADD_URL, "b", "c_scale,w_100").status_code == 302
    assert _post(editor, ADD_URL, "a", "t_b/e_grayscale").status_code == 302
    b = NamedTransformation.objects.get(name="b")
    # b made to use a, which uses b: a cycle through the one being saved.
    errors = _form_errors(_post(editor, _change_url(b), "b", "t_a"))
    assert "Named transformation 'b' refers to itself" in " ".join(errors["transformation"])
    # Renamed, b's old name would leave a with an unknown name.
    errors = _form_errors(_post(editor, _change_url(b), "c", "c_scale,w_100"))
    assert "t_a would no longer work: Unknown named transformation 'b'" in " ".join(errors["transformation"])
    b.refresh_from_db()
    assert (b.name, b.transformation) == ("b", "c_scale,w_100")  # nothing saved
    # A change a can live with is saved, and a sees it.
    assert _post(editor, _change_url(b), "b", "w_50,c_scale").status_code == 302
    assert str(Transformation.from_string("t_a").expand(named_transformation)) == "c_scale,w_50/e_grayscale"
    # Deleting b, which a uses, is refused with the reason; deleting a then b is fine.
    page = editor.post(reverse("admin:medialib_namedtransformation_delete", args=[b.pk]), {"post": "yes"})
    assert page.status_code == 200 and "t_a uses t_b" in page.content.decode()
    assert NamedTransformation.objects.filter(name="b").exists()
    both = editor.post(reverse("admin:medialib_namedtransformation_changelist"), {
        "action": "delete_selected", "_selected_action": [b.pk, NamedTransformation.objects.get(name="a").pk],
        "post": "yes"})
    assert both.status_code == 302 and not NamedTransformation.objects.exists()


def test_one_already_broken_does_not_block_other_saves(editor):
    NamedTransformation.objects.create(name="old", transformation="t_gone")  # from before validation existed
    assert _post(editor, ADD_URL, "fresh", "w_100,c_scale").status_code == 302


def test_only_staff_with_the_permission_reach_it(db, user, staff_user):
    client = Client()
    assert client.get(ADD_URL).status_code == 302  # to the admin's login
    client.force_login(user)
    assert client.get(ADD_URL).status_code == 302
    assert _post(client, ADD_URL, "thumb", "w_100").status_code == 302
    client.force_login(staff_user)  # staff without the model's permissions
    assert client.get(ADD_URL).status_code == 403
    assert _post(client, ADD_URL, "thumb", "w_100").status_code == 403
    assert not NamedTransformation.objects.exists()


def test_the_change_page_links_to_a_preview_that_loads(editor, photo):
    named = NamedTransformation.objects.create(name="thumb", transformation="c_scale,w_40")
    html = editor.get(_change_url(named)).content.decode()
    preview = f"/medialib/image/upload/t_thumb/v{photo.version}/pets/cute_puppy.jpg"
    assert f'href="{preview}"' in html
    response = editor.get(preview)  # signed mode: the staff member is signed in
    assert response.status_code == 200, response.get("X-Cld-Error")
    assert Image.open(io.BytesIO(_body(response))).size == (40, 30)


# --- The lookup and delivery ---

def test_the_lookup_is_one_query_and_parses_the_stored_string(db, django_assert_num_queries):
    NamedTransformation.objects.create(name="thumb", transformation="c_fill,h_60,w_80")
    with django_assert_num_queries(1):
        assert named_transformation("thumb") == Transformation.from_string("w_80,h_60,c_fill")
    with django_assert_num_queries(1):
        assert named_transformation("nope") is None


@pytest.fixture
def public(settings):
    settings.MEDIALIB_DELIVERY_ACCESS = "public"


def _delivered(response):
    assert response.status_code == 200, response.get("X-Cld-Error")
    return _body(response)


def test_a_named_transformation_delivers_what_its_definition_does(photo, public):
    NamedTransformation.objects.create(name="thumb", transformation="c_fill,h_60,w_80")
    NamedTransformation.objects.create(name="grey_thumb", transformation="t_thumb/e_grayscale")
    named = _get(_url(photo, transformation="thumb"))
    assert "/t_thumb/" in _url(photo, transformation="thumb")
    explicit = _get(_url(photo, width=80, height=60, crop="fill"))
    named_body, explicit_body = _delivered(named), _delivered(explicit)
    assert named_body == explicit_body
    assert Image.open(io.BytesIO(named_body)).size == (80, 60)
    assert named["ETag"] == explicit["ETag"]  # computed from the expanded, canonical transformation
    # Nested, and a t_ with other parameters in its component (the definition first, then the rest).
    nested = _delivered(_get(_url(photo, raw_transformation="t_grey_thumb")))
    inline = _delivered(_get(_url(photo, transformation=[{"transformation": "thumb", "effect": "grayscale"}])))
    grey = _delivered(_get(_url(photo, raw_transformation="c_fill,h_60,w_80/e_grayscale")))
    assert nested == inline == grey != explicit_body
    assert _colourfulness(nested) <= 8  # grey, give or take JPEG
    assert _colourfulness(explicit_body) > 50


def _colourfulness(data):
    """The largest difference between two channels of a pixel."""
    red, green, blue = Image.open(io.BytesIO(data)).convert("RGB").split()
    return max(ImageChops.difference(a, b).getextrema()[1] for a, b in ((red, green), (green, blue), (red, blue)))


def test_an_unknown_name_is_a_400_naming_it(photo, public):
    response = _get(_url(photo, transformation="nope"))
    assert response.status_code == 400
    assert response["X-Cld-Error"] == "Unknown named transformation 'nope'"


def test_editing_the_definition_changes_the_output_and_the_etag(photo, public, editor):
    named = NamedTransformation.objects.create(name="thumb", transformation="c_scale,w_100")
    url = _url(photo, transformation="thumb")
    before = _get(url)
    assert Image.open(io.BytesIO(_delivered(before))).size == (100, 75)
    # A versioned URL whose output may change is not "immutable": caches revalidate it against the ETag.
    assert before["Cache-Control"] == "public, max-age=300"
    assert _get(url, HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304
    assert _post(editor, _change_url(named), "thumb", "c_scale,w_64").status_code == 302
    after = _get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert Image.open(io.BytesIO(_delivered(after))).size == (64, 48)
    assert after["ETag"] != before["ETag"]


# --- Strict transformations ---

@pytest.fixture
def strict(settings):
    settings.MEDIALIB_DELIVERY_STRICT_TRANSFORMATIONS = True
    settings.MEDIALIB_DELIVERY_ALLOWED_TRANSFORMATIONS = ["w_0050,c_scale"]  # compared canonically


def _refused(response, text):
    assert response.status_code == 401
    assert response["X-Cld-Error"] == f"Transformation {text} is not allowed"


def test_strict_in_public_mode_lets_strangers_have_only_what_is_allowed(photo, public, strict, key, user):
    NamedTransformation.objects.create(name="thumb", transformation="c_fill,h_60,w_80", allowed_unsigned=True)
    NamedTransformation.objects.create(name="secret", transformation="c_scale,w_90", allowed_unsigned=False)
    _refused(_get(_url(photo, width=70, crop="scale")), "c_scale,w_70")
    _refused(_get(_url(photo, transformation="secret")), "t_secret")
    _refused(_get(_url(photo, transformation=["thumb", {"width": 20, "crop": "scale"}])), "t_thumb/c_scale,w_20")
    _refused(_get(_url(photo, transformation=[{"transformation": "thumb", "width": 20, "crop": "scale"}])),
             "c_scale,t_thumb,w_20")  # an allowed name with more in its component is another transformation
    assert _get(_url(photo)).status_code == 200  # the original
    assert Image.open(io.BytesIO(_delivered(_get(_url(photo, transformation="thumb"))))).size == (80, 60)
    png = cloudinary.utils.cloudinary_url(photo.public_id, format="png", version=photo.version, transformation="thumb")[0]
    assert _delivered(_get(png))[:8] == b"\x89PNG\r\n\x1a\n"  # another extension
    assert _get(_url(photo, transformation=[{"transformation": "thumb", "fetch_format": "webp"}])).status_code == 200
    assert Image.open(io.BytesIO(_delivered(_get(_url(photo, width=50, crop="scale"))))).size == (50, 38)  # listed
    # Signed with a key's secret, or asked for by a signed-in user: anything.
    assert _get(_url(photo, width=70, crop="scale", sign_url=True, api_secret=key.secret)).status_code == 200
    _refused(_get(_url(photo, width=71, crop="scale", sign_url=True, api_secret="not-the-secret")), "c_scale,w_71")
    # The signed request made (and kept) c_scale,w_70: strangers may now have it, as on Cloudinary.
    assert _get(_url(photo, width=70, crop="scale")).status_code == 200
    client = Client()
    client.force_login(user)
    assert _get(_url(photo, width=70, crop="scale"), client).status_code == 200
    assert _get(_url(photo, transformation="secret"), client).status_code == 200


def test_strict_lets_strangers_have_a_rendition_already_kept(photo, public, strict):
    url = _url(photo, width=30, height=30, crop="fill")
    kept = DeliveredRendition.objects.create(asset=photo, version=photo.version, key="k" * 64,
                                             transformation="c_fill,h_30,w_30", format="jpg")
    _refused(_get(url), "c_fill,h_30,w_30")  # a claim (no file yet) is not a kept rendition
    kept.file = "delivered/kept.jpg"
    kept.save()
    assert Image.open(io.BytesIO(_delivered(_get(url)))).size == (30, 30)
    assert url.endswith(".jpg")
    _refused(_get(url[:-4] + ".png"), "c_fill,h_30,w_30")  # kept as jpg only: the extension must match too
    # Kept for an older version only (the fake row above and the one the request made).
    DeliveredRendition.objects.filter(asset=photo).update(version=photo.version - 1)
    _refused(_get(url), "c_fill,h_30,w_30")


def test_strict_off_delivers_any_transformation_in_public_mode(photo, public, settings):
    assert settings.MEDIALIB_DELIVERY_STRICT_TRANSFORMATIONS is False  # the default
    assert _get(_url(photo, width=70, crop="scale")).status_code == 200


def test_strict_in_signed_mode_changes_nothing_for_who_may_load(photo, strict, key, user):
    assert _get(_url(photo, width=70, crop="scale", sign_url=True, api_secret=key.secret)).status_code == 200
    unsigned = _get(_url(photo, width=70, crop="scale"))
    assert unsigned.status_code == 401 and "not signed" in unsigned["X-Cld-Error"]
    client = Client()
    client.force_login(user)
    assert _get(_url(photo, width=70, crop="scale"), client).status_code == 200


def test_an_allowed_transformation_that_does_not_parse_stops_the_start(settings):
    settings.MEDIALIB_DELIVERY_ALLOWED_TRANSFORMATIONS = ["c_scale,w_50", "w_abc"]
    errors = {m.id: m.msg for m in checks.run_checks() if m.level >= checks.ERROR}
    assert "MEDIALIB_DELIVERY_ALLOWED_TRANSFORMATIONS holds 'w_abc'" in errors["medialib.E014"]
