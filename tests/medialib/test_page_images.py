"""medialib.page_images: the one list of the pages' transformations, their delivery URLs (as the SDK builds them),
the sizes the pages state (as the renderer makes them), and every page getting its pictures through them."""
import io
import re
from types import SimpleNamespace

import cloudinary.utils
import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from medialib import page_images
from medialib.delivery import delivery_url
from medialib.transformations import Transformation
from tagging.models import Face, Person
from tests import images
from tests.conftest import asset_upload, upload_file
from tests.medialib.test_delivery_views import _body
from tests.medialib.test_templatetags import img_tags, srcset_urls

pytestmark = pytest.mark.django_db

DELIVERY_RE = re.compile(r"^/medialib/image/upload/[^?#]+/v[0-9]+/[^?#]+\.(jpg|png|webp|gif)$")


def test_eager_transformations_are_every_string_the_pages_use_once_and_canonical():
    strings = page_images.eager_transformations()
    assert strings == ["c_fill,h_200,w_320", "c_fill,h_400,w_640", "c_limit,h_1000,w_1000", "c_limit,h_2000,w_2000"]
    asset = SimpleNamespace(width=1000, height=500)
    faces = [SimpleNamespace(left=0.7, top=0.2, width=0.1, height=0.2), SimpleNamespace(left=0, top=0, width=1, height=1)]
    with_faces = page_images.eager_transformations(asset=asset, faces=faces)
    assert with_faces[:4] == strings
    # Per face: 96 px at 1x and 2x, and 48 px at 1x (its 2x is the 96 px one).
    assert with_faces[4:7] == ["c_crop,h_140,w_140,x_680,y_80/c_fill,h_96,w_96",
                               "c_crop,h_140,w_140,x_680,y_80/c_fill,h_192,w_192",
                               "c_crop,h_140,w_140,x_680,y_80/c_fill,h_48,w_48"]
    assert with_faces[7] == "c_crop,h_500,w_500,x_250,y_0/c_fill,h_96,w_96"  # no bigger than the photo, inside it
    assert len(with_faces) == len(set(with_faces)) == 10
    for text in with_faces:
        assert str(Transformation.from_string(text)) == text  # the key a kept rendition is stored under


@pytest.mark.parametrize("public_id", ["sample", "trips/2024/beach.day", "a b/ünï~(1)?#%"])
def test_delivery_url_is_the_one_the_cloudinary_sdk_builds(public_id):
    url, _ = cloudinary.utils.cloudinary_url(public_id, cloud_name="demo", version=1700000000, format="jpg",
                                             raw_transformation="c_fill,h_200,w_320", secure=True)
    ours = delivery_url(cloud="demo", public_id=public_id, version=1700000000, extension="jpg",
                        transformation="c_fill,h_200,w_320")
    assert url == "https://res.cloudinary.com" + ours


def test_api_url_of_an_upload_is_built_the_same_way(client, user, settings):
    """The API's `secure_url` and the pages' URLs come from one builder (medialib.delivery.delivery_url)."""
    from medialib.api.responses import resource_data

    asset = asset_upload(file=upload_file(images.jpeg(), "x.jpg"), uploaded_by=user, public_id="trips/x")
    request = SimpleNamespace(get_host=lambda: "media.test")
    data = resource_data(asset, request=request, secret="s", info=None)
    assert data["secure_url"] == f"https://media.test/medialib/image/upload/v{asset.version}/trips/x.jpg"


@pytest.mark.parametrize("size", [(1200, 800), (700, 1300), (500, 300), (2100, 2000)])
def test_the_size_the_pages_state_is_the_size_delivered(size, user, client):
    asset = asset_upload(file=upload_file(images.jpeg(*size), "p.jpg"), uploaded_by=user)
    client.force_login(user)
    face = SimpleNamespace(left=0.6, top=0.1, width=0.2, height=0.3)
    for name in page_images.SIZES:
        image = page_images.page_image(asset, name, face=face if page_images.SIZES[name].face else None)
        for density, url in image.urls.items():
            response = client.get(url)
            assert response.status_code == 200, (url, response.get("X-Cld-Error"))
            delivered = Image.open(io.BytesIO(_body(response))).size
            expected = page_images.SIZES[name].output_size(asset.width, asset.height, density=density)
            assert delivered == expected, (name, density)
            if density == 1:
                assert delivered == (image.width, image.height)


def test_a_face_crop_shows_that_face_not_the_largest(user, client):
    """On a group photo g_face crops to the largest face; the people page means one face: its own box."""
    asset = asset_upload(file=upload_file(images.photo_bytes("two_people.jpg"), "two.jpg"), uploaded_by=user)
    big = SimpleNamespace(left=0.1, top=0.2, width=0.3, height=0.4)
    small = SimpleNamespace(left=0.7, top=0.3, width=0.1, height=0.15)
    text = page_images.page_transformation("face", width=asset.width, height=asset.height, face=small)
    crop = Transformation.from_string(text).components[0]
    x, y, side = int(crop.get("x")), int(crop.get("y")), int(crop.get("w"))
    # The window holds the small face's box whole, and not the big face's centre.
    assert x <= small.left * asset.width and (small.left + small.width) * asset.width <= x + side
    assert y <= small.top * asset.height and (small.top + small.height) * asset.height <= y + side
    assert not x <= (big.left + big.width / 2) * asset.width <= x + side
    client.force_login(user)
    response = client.get(page_images.page_image(asset, "face", face=small).src)
    assert response.status_code == 200 and Image.open(io.BytesIO(_body(response))).size == (96, 96)


# --- The pages


@pytest.fixture
def library(user):
    """Two photos of the user's, tagged; two faces on the group photo, one of them named."""
    group = asset_upload(file=upload_file(images.photo_bytes("two_people.jpg"), "two people.jpg"), uploaded_by=user,
                         tags=["beach"], public_id="trips/2024/two_people")
    dogs = asset_upload(file=upload_file(images.photo_bytes("dogs.jpg"), "dogs.jpg"), uploaded_by=user,
                        tags=["beach"])
    ada = Person.objects.create(name="Ada")
    Face.objects.create(asset=group, index=0, left=0.15, top=0.2, width=0.2, height=0.3, confidence=99.0,
                        person=ada, person_source=Face.SOURCE_USER)
    Face.objects.create(asset=group, index=1, left=0.6, top=0.25, width=0.15, height=0.25, confidence=98.0)
    return SimpleNamespace(group=group, dogs=dogs, ada=ada)


def _page_images(client, url) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200
    found = img_tags(response.content.decode())
    assert found, f"no <img> on {url}"
    return found


def _check_delivered(images_, owner, anonymous):
    urls = set()
    for img in images_:
        srcset = srcset_urls(img["srcset"])
        assert set(srcset) == {"1x", "2x"} and srcset["1x"] == img["src"] and srcset["2x"] != img["src"]
        assert img["width"].isdigit() and img["height"].isdigit()
        urls.update(srcset.values())
    for url in urls:
        assert DELIVERY_RE.match(url), url
        assert "/files/" not in url and "/faces/" not in url
        response = owner.get(url)
        assert response.status_code == 200, (url, response.get("X-Cld-Error"))
        assert response["Content-Type"] == "image/jpeg"
        assert anonymous.get(url).status_code == 401  # signed mode: unsigned URLs are for signed-in users
    return urls


@pytest.mark.parametrize("page", ["gallery", "search", "asset", "person", "people"])
def test_every_page_gets_its_pictures_through_delivery_urls(page, library, user, client):
    owner = Client()
    owner.force_login(user)
    url = {
        "gallery": reverse("medialib:gallery"),
        "search": reverse("search:search") + "?q=beach",
        "asset": reverse("medialib:asset_detail", args=[library.group.public_id]),
        "person": reverse("tagging:person_detail", args=[library.ada.pk]),
        "people": reverse("tagging:people"),
    }[page]
    found = _page_images(owner, url)
    urls = _check_delivered(found, owner, client)
    if page in ("gallery", "search"):
        assert len(found) == 2 and {img["class"] for img in found} == {"thumb"}
        assert all("/c_fill,h_200,w_320/" in img["src"] for img in found)
    elif page == "asset":
        preview = next(img for img in found if img.get("id") == "asset-image")
        assert "/c_limit,h_1000,w_1000/" in preview["src"] and "loading" not in preview
        assert (int(preview["width"]), int(preview["height"])) == page_images.SIZES["preview"].output_size(
            library.group.width, library.group.height)
        faces = [img for img in found if img is not preview]
        assert len(faces) == 2 and all(re.search(r"/c_crop,[^/]+/c_fill,h_48,w_48/", img["src"]) for img in faces)
    elif page == "person":
        assert [img["class"] for img in found] == ["thumb"]
    else:  # Ada's card, and the unnamed face to name
        assert len(found) == 2 and all(re.search(r"/c_crop,[^/]+/c_fill,h_96,w_96/", img["src"]) for img in found)
        assert len({img["src"] for img in found}) == 2  # each its own face, on the same photo
    assert urls <= {delivery_url(cloud="medialib", public_id=asset.public_id, version=asset.version, extension="jpg",
                                 transformation=text)
                    for asset in (library.group, library.dogs)
                    for text in page_images.eager_transformations(asset=asset, faces=asset.faces.all())}


def test_another_users_signed_in_client_is_not_delivered_a_private_photo(library, client, other_user, settings):
    settings.MEDIALIB_VISIBILITY = "private"
    owner = Client()
    owner.force_login(library.group.uploaded_by)
    [img, *_] = _page_images(owner, reverse("medialib:gallery"))
    client.force_login(other_user)
    assert client.get(img["src"]).status_code == 404
    assert client.get(srcset_urls(img["srcset"])["2x"]).status_code == 404
