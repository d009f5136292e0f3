"""medialib.templatetags.medialib: the <img> of a page size, with delivery URLs at 1x and 2x, escaped."""
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.template import Context, Template

from medialib.delivery import delivery_url

pytestmark = pytest.mark.django_db


def img_tags(html: str) -> list[dict]:
    """Every <img> of the HTML, as its attributes (entity references decoded, as a browser reads them)."""
    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "img":
                found.append(dict(attrs))

    Parser().feed(html)
    return found


def srcset_urls(srcset: str) -> dict[str, str]:
    """{"1x": url, "2x": url} of a srcset (its URLs hold commas but no spaces)."""
    return {descriptor: url for url, descriptor in (item.split(" ") for item in srcset.split(", "))}


def _asset(public_id="trips/beach", width=4000, height=3000, fmt="jpg", version=1700000000):
    return SimpleNamespace(pk=7, public_id=public_id, width=width, height=height, format=fmt, version=version,
                           original_filename="")


def _render(text, **context):
    return Template("{% load medialib %}" + text).render(Context(context))


def test_asset_img_has_both_densities_its_size_and_lazy_loading(settings):
    settings.MEDIALIB_CLOUD_NAME = "demo"
    html = _render('{% asset_img asset "tile" alt="A beach" class="thumb" %}', asset=_asset())
    [img] = img_tags(html)
    assert img["src"] == "/demo/image/upload/c_fill,h_200,w_320/v1700000000/trips/beach.jpg"
    assert srcset_urls(img["srcset"]) == {
        "1x": "/demo/image/upload/c_fill,h_200,w_320/v1700000000/trips/beach.jpg",
        "2x": "/demo/image/upload/c_fill,h_400,w_640/v1700000000/trips/beach.jpg",
    }
    assert (img["width"], img["height"]) == ("320", "200")  # c_fill: the size asked, whatever the photo's
    assert (img["loading"], img["decoding"], img["alt"], img["class"]) == ("lazy", "async", "A beach", "thumb")


@pytest.mark.parametrize("width, height, shown", [
    (4000, 3000, ("1000", "750")), (3000, 4000, ("750", "1000")), (640, 480, ("640", "480")),  # never enlarged
    (1001, 333, ("1000", "333")),
])
def test_preview_keeps_the_aspect_within_its_box(width, height, shown):
    [img] = img_tags(_render('{% asset_img asset "preview" loading=None id="asset-image" %}',
                             asset=_asset(width=width, height=height)))
    assert (img["width"], img["height"]) == shown
    assert "loading" not in img and img["id"] == "asset-image"  # the page's main picture is not lazy
    assert "c_limit,h_2000,w_2000" in srcset_urls(img["srcset"])["2x"]


def test_odd_public_ids_and_alt_texts_are_escaped(settings):
    """The pages' public_ids are validated, but the tag does not rely on it: HTML-escaped, URL-quoted."""
    odd = 'we"ird <b>&amp; ?#%~/ünï'
    html = _render('{% asset_img asset "tile" alt=alt %}', asset=_asset(public_id=odd, fmt="tiff"),
                   alt='"><script>alert(1)</script>')
    assert "<script>" not in html and "<b>" not in html and "we&quot;ird" not in html  # quoted in the URL
    [img] = img_tags(html)
    assert img["alt"] == '"><script>alert(1)</script>'
    expected = delivery_url(cloud=settings.MEDIALIB_CLOUD_NAME, public_id=odd, version=1700000000,
                            extension="jpg", transformation="c_fill,h_200,w_320")  # a TIFF is shown as JPEG
    assert img["src"] == expected
    assert expected.endswith("/we%22ird%20%3Cb%3E%26amp%3B%20%3F%23%25%7E/%C3%BCn%C3%AF.jpg")


def test_face_img_crops_to_that_face():
    face = SimpleNamespace(asset=_asset(width=1000, height=500), left=0.7, top=0.2, width=0.1, height=0.2)
    [img] = img_tags(_render('{% face_img face "face_small" alt="" %}', face=face))
    # The box's longer side (100 px) times 1.4, centred on the face (750, 150).
    crop = "c_crop,h_140,w_140,x_680,y_80"
    assert img["src"].endswith(f"/image/upload/{crop}/c_fill,h_48,w_48/v1700000000/trips/beach.jpg")
    # The 2x of the small face is the 1x of the bigger one: one rendition for both.
    assert srcset_urls(img["srcset"])["2x"].endswith(f"/{crop}/c_fill,h_96,w_96/v1700000000/trips/beach.jpg")
    assert (img["width"], img["height"], img["alt"]) == ("48", "48", "")
