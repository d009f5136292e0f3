"""The Search API (medialib/api/search_views.py) on a library whose answers are written by hand (search_library)."""
import base64
import json

import pytest
from django.conf import settings

from medialib.api.services import api_key_create

from .search_library import NAMES, NEWEST_FIRST, PUBLIC_IDS, library_create

URL = f"/v1_1/{settings.MEDIALIB_CLOUD_NAME}/resources/search"

# (expression, the names it finds, newest first). Worked out by hand from search_library.LIBRARY.
EXPECTED = [
    ("tags=dog", ["dog1", "dog2", "cat2"]),
    ("tags:dog", ["dog1", "dog2", "cat2"]),
    ("tag:DOG", ["dog1", "dog2", "cat2"]),
    ("tags=cat AND tags=dog", ["cat2"]),
    ("tags=cat OR tags=beach", ["dog1", "cat1", "cat2", "beach"]),
    ("tags=dog AND NOT tags=beach", ["dog2", "cat2"]),
    ("tags=dog -format:png", ["dog1", "cat2"]),
    ("!tags=dog AND public_id:animals/*", ["cat1"]),
    ("tags=dog && format=jpg || tags=city", ["dog1", "city"]),
    ("(tags=dog OR tags=cat) AND (format=jpg OR bytes>2mb)", ["dog1", "cat1", "cat2"]),
    ("tags=nosuchtag", []),
    ("tags:do*", ["dog1", "dog2", "cat2"]),
    ("tags:s*", ["cat1", "quote", "mountain", "beach"]),
    ('tags="snow peak"', ["mountain"]),
    (r'tags="say \"cheese\""', ["quote"]),
    ('tags="café crème"', ["cafe"]),
    ('"mobile phone"', ["mobile"]),
    ("mobile", ["mobile"]),  # a bare term: the public_id
    ("beach", ["dog1", "beach"]),  # a bare term: the tag (no public_id is just "beach")
    ("public_id:animals/*", ["dog1", "dog2", "cat1", "cat2"]),
    ("public_id=trips/beach", ["beach"]),
    ("public_id:animals/cats/*", ["cat1", "cat2"]),
    ("public_id=animals", []),
    ("filename=cat1", ["cat1"]),
    ("folder:animals", ["dog1", "dog2"]),
    ("folder:animals/*", ["dog1", "dog2", "cat1", "cat2"]),
    ('folder=""', ["mobile", "quote", "cafe", "portrait"]),
    ("asset_folder=trips", ["mountain", "beach"]),
    ("asset_folder:trips/*", ["mountain", "beach", "city"]),
    ("-public_id:animals/* AND -folder:trips/*", ["mobile", "scan", "quote", "cafe", "portrait"]),
    ("format:jpg", ["dog1", "cat1", "mobile", "quote", "portrait", "mountain", "beach"]),
    ("format=png OR format=gif", ["dog2", "cafe", "city"]),
    ("resource_type:image AND type:upload", NEWEST_FIRST),
    ("resource_type:video", []),
    ("bytes>1mb", ["dog2", "cat2", "scan", "beach"]),
    ("bytes:[100kb TO 1mb]", ["dog1", "mobile", "cafe", "portrait", "mountain"]),
    ("bytes<=50000", ["cat1", "city"]),
    ("bytes:{50000 TO 120000]", ["quote", "cafe"]),
    ("width>1000", ["mobile", "scan", "mountain", "beach"]),
    ("height>=1000 AND width<1200", ["cat2", "mobile"]),
    ("aspect_ratio>1.5", ["beach"]),
    ('aspect_ratio="4:3"', ["dog1", "cat1", "quote", "city"]),
    ("aspect_ratio<1", ["dog2", "mobile", "scan", "portrait", "mountain"]),
    ("uploaded_at>1d", ["dog1"]),
    ("uploaded_at>1w", ["dog1", "dog2"]),
    ("created_at>1m", ["dog1", "dog2", "cat1"]),
    ("uploaded_at<1w AND uploaded_at>2m", ["cat1", "cat2"]),
    ("created_at:[2w TO 1d]", ["dog2", "cat1"]),
    ("uploaded_at:[2024-01-01 TO 2024-12-31]", ["quote", "cafe", "portrait", "mountain", "beach"]),
    ("created_at<2024-03-02", ["beach", "city"]),
    ("created_at:2024-03-02", ["mountain"]),
    ('created_at:{"2024-03-01T12:00:00Z" TO 2024-06-01T12:00:00Z]', ["cafe", "portrait", "mountain"]),
    ("context.alt=Sea", ["beach"]),
    ("context.alt:Dog*", ["dog2"]),
    ("context.caption:*", ["dog2", "cafe"]),
    ('context.caption="coffee: hot"', ["cafe"]),
    ('person="Barack Obama"', ["portrait"]),
    ("person=Nobody", []),
    ("uploader=bob AND format=jpg", ["mobile", "quote", "portrait"]),
    ("tags=dog AND label_confidence>=0.8", ["dog1"]),
    ("label_confidence>=0.9", ["dog1", "cat1", "portrait", "beach"]),
    ("tags=dog AND uploaded_at>1w AND bytes<1mb", ["dog1"]),
    ("", NEWEST_FIRST),
]


@pytest.fixture
def users(django_user_model):
    return {name: django_user_model.objects.create_user(username=name, password=f"{name}-password-1")
            for name in ("alice", "bob")}


@pytest.fixture
def library(db, users):
    return library_create(users)


@pytest.fixture
def key(users):
    return api_key_create(name="search", user=users["alice"])


def basic(key) -> dict:
    token = base64.b64encode(f"{key.key}:{key.secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def search(client, key, **params):
    return client.post(URL, json.dumps(params), content_type="application/json", **basic(key))


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [NAMES[resource["public_id"]] for resource in response.json()["resources"]]


@pytest.mark.parametrize("expression,expected", EXPECTED)
def test_expressions_find_the_known_answers_newest_first(client, library, key, expression, expected):
    response = search(client, key, expression=expression)
    assert names(response) == expected
    assert response.json()["total_count"] == len(expected)


@pytest.mark.parametrize("expression,expected", [(text, found) for text, found in EXPECTED
                                                 if "public_id:" in text or "folder:" in text or "folder=" in text])
def test_prefixes_walked_newest_first_when_they_have_many_assets(client, library, key, settings, expression, expected):
    """Up to 10 x SEARCH_EXACT_COUNT_MAX assets a prefix's are collected by the index and sorted; beyond, the
    assets are walked newest first and checked. Both find the same."""
    settings.SEARCH_EXACT_COUNT_MAX = 0
    assert names(search(client, key, expression=expression)) == expected


def test_there_are_at_least_25_expressions_checked():
    assert len(EXPECTED) >= 25


def test_get_with_query_parameters_as_newer_sdks_may_send(client, library, key):
    response = client.get(URL, {"expression": "tags=dog", "max_results": "2", "sort_by": "public_id:asc",
                                "with_field": "tags"}, **basic(key))
    assert names(response) == ["cat2", "dog1"]
    assert response.json()["resources"][0]["tags"] == ["cat", "dog"]


@pytest.mark.parametrize("sort_by,expected", [
    ([{"public_id": "asc"}], sorted(NEWEST_FIRST, key=lambda n: PUBLIC_IDS[n])),
    ([{"public_id": "desc"}], sorted(NEWEST_FIRST, key=lambda n: PUBLIC_IDS[n], reverse=True)),
    ([{"created_at": "asc"}], NEWEST_FIRST[::-1]),
    ([{"uploaded_at": "desc"}], NEWEST_FIRST),
    ([{"bytes": "desc"}], ["scan", "beach", "cat2", "dog2", "mountain", "mobile", "portrait", "dog1", "cafe", "quote",
                          "cat1", "city"]),
    ([{"format": "asc"}, {"public_id": "desc"}],
     ["city", "mountain", "beach", "quote", "portrait", "mobile", "dog1", "cat1", "cafe", "dog2", "scan", "cat2"]),
])
def test_sort_by_and_paging_through_next_cursor(client, library, key, sort_by, expected):
    """Pages of 5 walk every asset once, in the order asked for, for each order."""
    assert names(search(client, key, sort_by=sort_by, max_results=100)) == expected
    seen, cursor, pages = [], None, 0
    while True:
        params = {"sort_by": sort_by, "max_results": 5, **({"next_cursor": cursor} if cursor else {})}
        data = search(client, key, **params).json()
        seen += [NAMES[r["public_id"]] for r in data["resources"]]
        assert data["total_count"] == 12
        pages += 1
        cursor = data.get("next_cursor")
        if not cursor:
            break
    assert (seen, pages) == (expected, 3)


def test_paging_a_query_with_a_tag(client, library, key):
    first = search(client, key, expression="format:jpg", max_results=3).json()
    second = search(client, key, expression="format:jpg", max_results=3, next_cursor=first["next_cursor"]).json()
    third = search(client, key, expression="format:jpg", max_results=3, next_cursor=second["next_cursor"]).json()
    got = [NAMES[r["public_id"]] for page in (first, second, third) for r in page["resources"]]
    assert got == ["dog1", "cat1", "mobile", "quote", "portrait", "mountain", "beach"]
    assert "next_cursor" not in third


def test_a_cursor_is_stable_when_newer_assets_arrive(client, library, key, users):
    from medialib.models import Asset

    first = search(client, key, max_results=4).json()
    Asset.objects.create(public_id="late", file="test/late.jpg", format="jpg", width=1, height=1, bytes=1,
                         sha256="f" * 64, version=1, uploaded_by=users["alice"])
    second = search(client, key, max_results=4, next_cursor=first["next_cursor"]).json()
    assert [NAMES[r["public_id"]] for r in second["resources"]] == NEWEST_FIRST[4:8]


@pytest.mark.parametrize("cursor,message", [
    ("garbage", "next_cursor is not one this search returned"),
    (base64.urlsafe_b64encode(b'{"s":[["created_at","desc"]],"k":["x",1]}').decode(), "next_cursor is not one"),
])
def test_a_bad_cursor_is_a_400(client, library, key, cursor, message):
    response = search(client, key, next_cursor=cursor)
    assert response.status_code == 400 and message in response.json()["error"]["message"]


def test_a_cursor_of_another_order_is_refused(client, library, key):
    cursor = search(client, key, max_results=2).json()["next_cursor"]
    response = search(client, key, max_results=2, next_cursor=cursor, sort_by=[{"public_id": "asc"}])
    assert response.status_code == 400
    assert "another sort_by" in response.json()["error"]["message"]


def test_aggregate_format_and_tags(client, library, key):
    data = search(client, key, expression="public_id:animals/*", aggregate=["format", "tags"]).json()
    assert data["aggregations"] == {"format": {"jpg": 2, "png": 1, "webp": 1},
                                    "tags": {"dog": 3, "cat": 2, "beach": 1, "park": 1, "sofa": 1}}
    data = search(client, key, expression="resource_type:video", aggregate=["format"]).json()
    assert data["aggregations"] == {"format": {}}
    assert "aggregations" not in search(client, key, expression="tags=dog").json()


def test_the_resource_shape_and_with_field(client, library, key):
    data = search(client, key, expression="public_id=animals/dog2", with_field=["tags", "context"]).json()
    assert data["total_count"] == 1 and isinstance(data["time"], int)
    resource = data["resources"][0]
    asset = library["dog2"]
    assert resource["asset_id"] == asset.asset_id and len(asset.asset_id) == 32
    assert {k: resource[k] for k in ("public_id", "folder", "filename", "asset_folder", "format", "width", "height",
                                     "bytes", "resource_type", "type", "aspect_ratio", "pixels")} == {
        "public_id": "animals/dog2", "folder": "animals", "filename": "dog2", "asset_folder": "animals",
        "format": "png", "width": 600, "height": 800, "bytes": 1_500_000, "resource_type": "image", "type": "upload",
        "aspect_ratio": 0.75, "pixels": 480_000}
    assert resource["tags"] == ["dog", "park"]
    assert resource["context"] == {"alt": "Dog in park", "caption": "sunny"}
    assert resource["secure_url"].endswith("/image/upload/v1/animals/dog2.png")
    plain = search(client, key, expression="public_id=animals/dog2").json()["resources"][0]
    assert "tags" not in plain and "context" not in plain


def test_fields_limits_each_resource(client, library, key):
    resource = search(client, key, expression="public_id=animals/dog2", fields=["tags", "width"]).json()["resources"][0]
    assert set(resource) == {"asset_id", "public_id", "asset_folder", "created_at", "status", "type", "resource_type",
                             "tags", "width"}
    assert resource["tags"] == ["dog", "park"]


def test_image_metadata_is_read_from_the_original(client, db, users, key, media_root):
    import io

    from PIL import Image

    from medialib.services import asset_upload
    from tests.conftest import upload_file

    image = Image.new("RGB", (32, 24), "red")
    exif = Image.Exif()
    exif[0x010F] = "Medialib Camera"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    asset_upload(file=upload_file(out.getvalue()), uploaded_by=users["alice"], public_id="exif")
    resource = search(client, key, expression="public_id=exif", with_field=["image_metadata"]).json()["resources"][0]
    assert resource["image_metadata"]["Make"] == "Medialib Camera"


@pytest.mark.parametrize("params,message", [
    ({"expression": "tags=dog AND"}, "AND needs something on both sides"),
    ({"expression": "(tags=dog"}, "is not closed"),
    ({"expression": "colour:red"}, "The field “colour” is not supported"),
    ({"expression": "bytes>lots"}, "bytes takes a size"),
    ({"expression": "uploaded_at>yesterday"}, "is not a date"),
    ({"expression": "tags>dog"}, "tags is compared with : or ="),
    ({"max_results": 501}, "max_results must be from 1 to 500"),
    ({"max_results": "many"}, "max_results must be a whole number"),
    ({"sort_by": [{"colour": "asc"}]}, "sort_by 'colour' is not supported"),
    ({"sort_by": [{"public_id": "up"}]}, "asc or desc"),
    ({"with_field": ["faces"]}, "with_field 'faces' is not supported"),
    ({"aggregate": ["pixels"]}, "aggregate 'pixels' is not supported"),
    ({"colour": "red"}, "does not support the parameter(s): colour"),
])
def test_malformed_requests_are_a_400_saying_what(client, library, key, params, message):
    response = search(client, key, **params)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"], response.json()


def test_a_malformed_expression_says_where(client, library, key):
    message = search(client, key, expression="tags=dog AND (format=jpg OR").json()["error"]["message"]
    assert message.startswith("Invalid expression: ")
    assert "(at character 26)" in message


def test_prefixes_are_literal_text_whatever_they_hold(client, library, key, users):
    """LIKE's wildcards (on PostgreSQL) and case (SQLite's LIKE ignores it) in a prefix are plain characters."""
    from medialib.models import Asset

    for public_id in ("odd_1/x", "oddX1/y", "Odd_1/z", "100%/a", "1000/b"):
        Asset.objects.create(public_id=public_id, file="test/x.jpg", format="jpg", width=1, height=1, bytes=1,
                             sha256="e" * 64, version=1, uploaded_by=users["alice"], asset_folder=public_id[:-2])
    found = lambda expression: sorted(r["public_id"] for r in search(client, key, expression=expression).json()[
        "resources"])  # noqa: E731
    assert found("public_id:odd_*") == ["odd_1/x"]
    assert found("folder:odd_1") == ["odd_1/x"]
    assert found(r"public_id:100%*") == ["100%/a"]
    assert found("asset_folder:100%/*") == ["100%/a"]
    assert found("folder:ODD_1") == []


def test_a_tag_prefix_matching_too_many_tags_is_refused(client, library, key):
    from medialib.models import Tag

    Tag.objects.bulk_create([Tag(name=f"zz{i:03d}", slug=f"zz{i:03d}") for i in range(101)])
    response = search(client, key, expression="tags:zz*")
    assert response.status_code == 400 and "more than 100 tags" in response.json()["error"]["message"]


def test_credentials_are_required(client, library, key):
    response = client.post(URL, "{}", content_type="application/json")
    assert response.status_code == 401
    wrong = base64.b64encode(f"{key.key}:wrong".encode()).decode()
    response = client.post(URL, "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Basic {wrong}")
    assert response.status_code == 401


def test_in_private_mode_results_follow_the_keys_user(client, library, key, users, settings, staff_user):
    settings.MEDIALIB_VISIBILITY = "private"
    bob = api_key_create(name="bob", user=users["bob"])
    assert names(search(client, bob, expression="format:jpg")) == ["mobile", "quote", "portrait"]
    assert names(search(client, bob, expression="tags=dog")) == []
    assert search(client, bob, expression="tags=dog", aggregate=["tags"]).json()["aggregations"] == {"tags": {}}
    # bob's own tags only: alice's dogs and cats do not count
    assert search(client, bob, aggregate=["tags"]).json()["aggregations"]["tags"] == {
        "mobile phone": 1, "Barack Obama": 1, "Café Crème": 1, 'say "cheese"': 1}
    assert search(client, bob).json()["total_count"] == 5
    assert names(search(client, key, expression='person="Barack Obama"')) == []
    staff = api_key_create(name="staff", user=staff_user)
    assert search(client, staff).json()["total_count"] == 12
    settings.MEDIALIB_VISIBILITY = "shared"
    assert search(client, bob).json()["total_count"] == 12


def test_total_count_beyond_the_exact_limit_is_estimated_from_a_sample(client, library, key, settings):
    """As the search page counts: exact up to SEARCH_EXACT_COUNT_MAX, then a tag's usage_count, else the matches
    in a sample of the id buckets (search.sql.SAMPLE_BUCKETS), scaled."""
    from search import sql

    settings.SEARCH_EXACT_COUNT_MAX = 3
    # 12 assets at most (the id span), 3 wanted: a quarter of the buckets, counted and scaled by 4
    jpgs = [asset.pk for asset in library.values() if asset.format == "jpg"]
    in_sample = sum(1 for pk in jpgs if sql.bucket(pk) < sql.SAMPLE_BUCKETS // 4)
    assert search(client, key, expression="format:jpg").json()["total_count"] == 4 * in_sample
    assert search(client, key, expression="tags=dog", max_results=1).json()["total_count"] == 3  # usage_count
    settings.SEARCH_EXACT_COUNT_MAX = 7
    assert search(client, key, expression="format:jpg").json()["total_count"] == 7


# --- Through the official SDK against the live server.

@pytest.mark.django_db(transaction=True)
def test_the_sdk_searches_pages_and_aggregates(cloudinary_sdk, users):
    import cloudinary
    from cloudinary.search import Search

    library_create(users)
    cloudinary_sdk(api_key_create(name="sdk", user=users["alice"]))
    result = (Search().expression("tags=dog OR format=gif").sort_by("public_id", "asc").max_results(2)
              .with_field("tags").aggregate("format").execute())
    assert result["total_count"] == 4
    assert [r["public_id"] for r in result["resources"]] == ["animals/cats/cat2", "animals/dog1"]
    assert result["resources"][0]["tags"] == ["cat", "dog"]
    assert result["aggregations"] == {"format": {"jpg": 1, "png": 1, "webp": 1, "gif": 1}}
    rest = (Search().expression("tags=dog OR format=gif").sort_by("public_id", "asc").max_results(2)
            .next_cursor(result["next_cursor"]).execute())
    assert [r["public_id"] for r in rest["resources"]] == ["animals/dog2", "trips/2023/city"]
    assert "next_cursor" not in rest
    fields = Search().expression("mobile").fields("bytes").execute()["resources"]
    assert fields[0]["bytes"] == 400_000 and "width" not in fields[0]
    with pytest.raises(cloudinary.exceptions.BadRequest, match=r"Invalid expression: .*at character 10"):
        Search().expression("tags=dog AND").execute()
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired):
        cloudinary_sdk(api_key="nokey", api_secret="wrong")
        Search().expression("tags=dog").execute()


# --- Hypothesis through the endpoint: whatever the expression, a 200 or a 400 with a message, never a 500.

from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PIECES = st.sampled_from(["tags=dog", "tags:c*", "format:jpg", "bytes>1mb", "width<=800", "public_id:animals/*",
                          "folder=trips", "created_at>1w", "uploaded_at:[2024-01-01 TO 2w]", "context.alt:*",
                          'person="Barack Obama"', "label_confidence>=0.9", "aspect_ratio>1", "mobile", "AND", "OR",
                          "NOT", "-", "(", ")", '"', "\\", "*", "[", "]", "TO", ":", "=", ">", " ", "\x00", "é"])


@given(expression=st.lists(PIECES, max_size=14).map(" ".join) | st.text(max_size=40),
       sort=st.sampled_from([[], [{"public_id": "asc"}], [{"bytes": "desc"}, {"created_at": "asc"}]]),
       aggregate=st.sampled_from([[], ["format", "tags"]]))
@hypothesis_settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_expression_is_an_answer_or_a_400_never_a_500(client, library, key, expression, sort, aggregate):
    response = search(client, key, expression=expression, sort_by=sort, aggregate=aggregate, max_results=5)
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response.json()["error"]["message"]
    else:
        data = response.json()
        assert len(data["resources"]) <= 5 and data["total_count"] >= len(data["resources"])
