"""The analysis add-ons on the pages: asked for on upload, followed live through a JSON status, re-run, moderated."""
import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from medialib import services
from medialib.models import Asset, AssetTag
from tagging.backends import backend_for
from tagging.models import AnalysisResult, TagDecision
from tagging.services import analysis as analysis_services
from tagging.services import tags as tag_services
from tests import images
from tests.conftest import asset_upload, stored_files, upload_file

pytestmark = pytest.mark.django_db

BOTH = ["aws_rek_tagging", "aws_rek_face"]


@pytest.fixture(autouse=True)
def fake_backend(settings):
    """The deterministic detector: a red image is labelled Red 0.9, Colour 0.75, Thing 0.5, and has one face."""
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}
    backend = backend_for("aws_rek_tagging")
    yield backend
    backend.fail_with = None


@pytest.fixture
def alice(client, user):
    client.force_login(user)
    return client


def _asset(user, *, addons=(), auto_tagging=None, analysed=False, **kwargs):
    asset = asset_upload(
        file=upload_file(images.jpeg(), kwargs.pop("name", "red.jpg")), uploaded_by=user,
        addons=list(addons), auto_tagging=auto_tagging, **kwargs,
    )
    if analysed:
        analysis_services.analysis_run(asset_id=asset.pk)  # what the worker does
    return asset


def _results(asset):
    return {r.addon: r for r in AnalysisResult.objects.filter(asset=asset)}


# --- Upload


def test_upload_page_offers_both_addons_on_and_a_threshold_of_0_6(alice):
    html = alice.get(reverse("medialib:upload")).content.decode()
    assert "Labels" in html
    assert "Faces and people" in html and "Labels (aws_rek_tagging)" not in html  # human names, not internal ones
    assert 'name="addons" value="aws_rek_tagging" id="id_addons_0" checked' in html
    assert 'name="addons" value="aws_rek_face" id="id_addons_1" checked' in html
    assert 'name="auto_tagging" value="0.6"' in html


def test_upload_page_passes_addons_and_threshold_to_the_analysis(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = alice.post(
            reverse("medialib:upload"),
            {"files": [upload_file(images.jpeg(), "a.jpg"), upload_file(images.png(), "b.png", "image/png")],
             "addons": BOTH, "auto_tagging": "0.75"},
        )
    assert response.status_code == 200
    assert Asset.objects.count() == 2
    rows = AnalysisResult.objects.order_by("asset_id", "addon")
    assert [(r.addon, r.status, r.auto_tagging) for r in rows] == [
        ("aws_rek_face", "pending", 0.75), ("aws_rek_tagging", "pending", 0.75),
    ] * 2
    assert len(callbacks) == 4  # per asset: renditions and analysis, queued once committed


def test_upload_json_with_labels_only_and_no_threshold(alice):
    response = alice.post(
        reverse("medialib:upload"),
        {"files": [upload_file(images.jpeg(), "a.jpg")], "addons": ["aws_rek_tagging"], "auto_tagging": ""},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    asset = Asset.objects.get(public_id=response.json()["results"][0]["public_id"])
    assert [(r.addon, r.auto_tagging) for r in asset.analyses.all()] == [("aws_rek_tagging", None)]


def test_upload_without_addons_asks_for_no_analysis(alice):
    alice.post(reverse("medialib:upload"), {"files": [upload_file(images.jpeg())], "auto_tagging": "0.6"})
    assert Asset.objects.count() == 1
    assert not AnalysisResult.objects.exists()


@pytest.mark.parametrize("threshold", ["2", "-0.1", "abc", "nan", "0.5.1"])
def test_a_bad_threshold_is_a_form_error_and_nothing_is_stored(alice, media_root, threshold):
    response = alice.post(
        reverse("medialib:upload"),
        {"files": [upload_file(images.jpeg())], "addons": BOTH, "auto_tagging": threshold},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The auto-tagging threshold must be a number from 0 to 1" in html
    assert 'value="aws_rek_tagging" id="id_addons_0" checked' in html  # what was asked is kept
    assert not Asset.objects.exists() and not AnalysisResult.objects.exists()
    assert stored_files(media_root) == []

    response = alice.post(
        reverse("medialib:upload"),
        {"files": [upload_file(images.jpeg())], "addons": BOTH, "auto_tagging": threshold},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert "threshold must be a number from 0 to 1" in response.json()["error"]["message"]
    assert not Asset.objects.exists()


def test_an_unknown_addon_is_a_form_error(alice):
    response = alice.post(
        reverse("medialib:upload"), {"files": [upload_file(images.jpeg())], "addons": ["aws_rek_everything"]}
    )
    assert response.status_code == 400
    assert "aws_rek_everything is not one of the available choices" in response.content.decode()
    assert not Asset.objects.exists()


# --- The JSON status


def test_status_json_while_pending(alice, user):
    asset = _asset(user, addons=BOTH, auto_tagging=0.6, tags=["mine"])
    response = alice.get(reverse("medialib:asset_analysis", args=[asset.pk]))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == {
        "id": asset.pk,
        "public_id": asset.public_id,
        "analyses": {
            "aws_rek_tagging": {"title": "Labels", "status": "pending", "summary": "in progress…",
                                "auto_tagging": 0.6, "labels": []},
            "aws_rek_face": {"title": "Faces", "status": "pending", "summary": "in progress…", "auto_tagging": 0.6},
        },
        "tags": [{"name": "mine", "source": "manual", "auto": False, "source_title": "manual", "confidence": None}],
        # Delivery URLs, which answer before the worker has made any rendition.
        "thumb": f"/medialib/image/upload/c_fill,h_200,w_320/v{asset.version}/{asset.public_id}.jpg",
        "preview": f"/medialib/image/upload/c_limit,h_1000,w_1000/v{asset.version}/{asset.public_id}.jpg",
        "pending": True,
    }


def test_status_json_when_complete(alice, user):
    asset = _asset(user, addons=BOTH, auto_tagging=0.6, analysed=True, tags=["mine"])
    body = alice.get(reverse("medialib:asset_analysis", args=[asset.pk])).json()
    assert body["pending"] is False
    assert body["thumb"] == f"/medialib/image/upload/c_fill,h_200,w_320/v{asset.version}/{asset.public_id}.jpg"
    assert alice.get(body["thumb"]).status_code == 200
    labels = body["analyses"]["aws_rek_tagging"]
    assert labels["status"] == "complete" and labels["summary"] == "3 labels"
    assert labels["labels"] == [
        {"tag": "Red", "confidence": 0.9}, {"tag": "Colour", "confidence": 0.75}, {"tag": "Thing", "confidence": 0.5},
    ]
    faces = body["analyses"]["aws_rek_face"]
    assert (faces["status"], faces["faces"], faces["people"], faces["summary"]) == (
        "complete", 1, [], "1 face found",
    )
    assert body["tags"] == [
        {"name": "colour", "source": "aws_rek_tagging", "auto": True,
         "source_title": "Labels (aws_rek_tagging)", "confidence": 0.75},
        {"name": "mine", "source": "manual", "auto": False, "source_title": "manual", "confidence": None},
        {"name": "red", "source": "aws_rek_tagging", "auto": True,
         "source_title": "Labels (aws_rek_tagging)", "confidence": 0.9},
    ]


def test_status_json_of_a_failed_addon_says_why(alice, user, fake_backend):
    from tagging.backends.base import DetectorError

    fake_backend.fail_with = DetectorError("The detector refused this image.")
    asset = _asset(user, addons=["aws_rek_tagging"], analysed=True)
    body = alice.get(reverse("medialib:asset_analysis", args=[asset.pk])).json()
    assert body["analyses"]["aws_rek_tagging"] == {
        "title": "Labels", "status": "failed", "summary": "The detector refused this image.",
        "auto_tagging": None, "error": {"message": "The detector refused this image."}, "labels": [],
    }
    assert body["pending"] is False


def test_status_json_needs_login_and_a_real_asset(client, user, other_user):
    asset = _asset(user, addons=BOTH)
    url = reverse("medialib:asset_analysis", args=[asset.pk])
    response = client.get(url)
    assert response.status_code == 401 and "error" in response.json()
    assert client.get(reverse("medialib:assets_analysis"), {"ids": asset.pk}).status_code == 401
    client.force_login(other_user)  # everyone signed in sees the library, as on the pages
    assert client.get(url).status_code == 200
    assert client.get(reverse("medialib:asset_analysis", args=[asset.pk + 1])).status_code == 404
    assert client.post(url).status_code == 405


def test_gallery_status_json_for_several_assets_in_a_fixed_number_of_queries(
    alice, user, django_assert_max_num_queries
):
    assets = [_asset(user, addons=BOTH, auto_tagging=0.6, analysed=i % 2 == 0, name=f"{i}.jpg") for i in range(6)]
    url = reverse("medialib:assets_analysis")
    ids = ",".join(str(a.pk) for a in assets) + ",999999,x"
    with django_assert_max_num_queries(8) as few:
        alice.get(url, {"ids": ",".join(str(a.pk) for a in assets[:2])})
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = alice.get(url, {"ids": ids}).json()
    assert [a["id"] for a in body["assets"]] == [a.pk for a in reversed(assets)]
    assert [a["pending"] for a in body["assets"]] == [True, False] * 3
    assert "labels" not in body["assets"][1]["analyses"]["aws_rek_tagging"]  # the gallery does not show them
    assert alice.get(url).json() == {"assets": []}


# --- Gallery and detail pages


def test_gallery_shows_each_addons_status_in_a_fixed_number_of_queries(
    alice, user, fake_backend, django_assert_max_num_queries
):
    from tagging.backends.base import DetectorError

    _asset(user, addons=BOTH, name="waiting.jpg")
    _asset(user, addons=BOTH, auto_tagging=0.6, analysed=True, name="done.jpg")
    with django_assert_max_num_queries(12) as few:
        html = alice.get(reverse("medialib:gallery")).content.decode()
    assert 'class="addon-status status-pending" data-addon="aws_rek_tagging"' in html
    assert 'class="addon-status status-pending" data-addon="aws_rek_face"' in html
    assert "status-complete" not in html  # tiles are quiet once their add-ons are done (issue 17)
    assert '<li class="tag source-aws_rek_tagging auto" title="aws_rek_tagging 0.90">red</li>' in html
    assert html.count("data-pending") == 1  # the one still analysed; neither waits for a thumbnail
    assert 'data-status-url="/assets/analysis.json"' in html

    fake_backend.fail_with = DetectorError("Nothing <b>could</b> be read.")
    for i in range(4):
        _asset(user, addons=["aws_rek_tagging"], analysed=True, name=f"more{i}.jpg")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = alice.get(reverse("medialib:gallery")).content.decode()
    assert "Nothing &lt;b&gt;could&lt;/b&gt; be read." in html
    assert "<b>could</b>" not in html


def test_detail_shows_labels_best_first_tag_sources_and_faces(alice, user):
    asset = _asset(user, addons=BOTH, auto_tagging=0.6, analysed=True, tags=["holiday"])
    services.renditions_generate(asset_id=asset.pk)
    html = alice.get(reverse("medialib:asset_detail", args=[asset.public_id])).content.decode()
    assert html.index(">Red<") < html.index(">Colour<") < html.index(">Thing<")
    assert '<span class="confidence">0.90</span>' in html and '<span class="confidence">0.50</span>' in html
    assert "1 face found" in html
    assert '<li class="tag source-aws_rek_tagging auto"><span class="tag-name">red</span>' in html
    assert '<small class="tag-source" title="Added by Labels (aws_rek_tagging)">aws_rek_tagging 0.90</small>' in html
    assert '<li class="tag source-manual"><span class="tag-name">holiday</span>' in html
    assert "analysis will not add it back" in html
    assert "data-pending" not in html.split('id="asset-panel"')[1].split(">")[0]  # the worker has nothing left


def test_detail_while_pending_and_without_analysis(alice, user):
    asset = _asset(user, addons=["aws_rek_tagging"])
    html = alice.get(reverse("medialib:asset_detail", args=[asset.public_id])).content.decode()
    assert "Labels appear here when the analysis is done." in html
    assert 'data-pending' in html and "js/analysis-status.js" in html
    plain = _asset(user, name="plain.jpg")
    html = alice.get(reverse("medialib:asset_detail", args=[plain.public_id])).content.decode()
    assert "Not analysed yet." in html and "Not analysed for labels." in html


def test_detail_escapes_labels_and_errors(alice, user):
    asset = _asset(user, addons=BOTH)
    AnalysisResult.objects.filter(asset=asset, addon="aws_rek_tagging").update(
        status="complete", data=[{"tag": "<script>alert(1)</script>", "confidence": 0.9}]
    )
    AnalysisResult.objects.filter(asset=asset, addon="aws_rek_face").update(
        status="failed", error="<img src=x onerror=alert(2)>"
    )
    html = alice.get(reverse("medialib:asset_detail", args=[asset.public_id])).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html


def test_rerun_form_defaults_to_what_was_last_asked(alice, user):
    asset = _asset(user, addons=["aws_rek_face"], auto_tagging=0.85)
    html = alice.get(reverse("medialib:asset_detail", args=[asset.public_id])).content.decode()
    assert 'value="aws_rek_tagging" id="rerun_addons_0">' in html  # not checked
    assert 'value="aws_rek_face" id="rerun_addons_1" checked' in html
    assert 'name="auto_tagging" value="0.85"' in html

    fresh = _asset(user, name="fresh.jpg")
    html = alice.get(reverse("medialib:asset_detail", args=[fresh.public_id])).content.decode()
    assert 'id="rerun_addons_0" checked' in html and 'id="rerun_addons_1" checked' in html
    assert 'name="auto_tagging" value="0.6"' in html


# --- Re-running


def test_owner_reruns_analysis_with_a_new_threshold(alice, user, django_capture_on_commit_callbacks):
    asset = _asset(user, addons=BOTH, auto_tagging=0.6, analysed=True)
    before = _results(asset)
    with django_capture_on_commit_callbacks() as callbacks:
        response = alice.post(
            reverse("medialib:asset_analysis_rerun", args=[asset.pk]),
            {"addons": ["aws_rek_tagging"], "auto_tagging": "0.8"},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == reverse("medialib:asset_detail", args=[asset.public_id])
    assert "Analysis queued" in response.content.decode()
    after = _results(asset)
    assert (after["aws_rek_tagging"].status, after["aws_rek_tagging"].auto_tagging) == ("pending", 0.8)
    assert after["aws_rek_tagging"].request_id != before["aws_rek_tagging"].request_id
    assert after["aws_rek_face"].status == "complete"  # not asked for: left alone
    assert len(callbacks) == 1

    analysis_services.analysis_run(asset_id=asset.pk)
    assert sorted(asset.tags.names()) == ["red"]  # colour (0.75) is under the new threshold


def test_staff_may_rerun_anyones_analysis(client, user, staff_user):
    asset = _asset(user, addons=BOTH, analysed=True)
    client.force_login(staff_user)
    client.post(reverse("medialib:asset_analysis_rerun", args=[asset.pk]), {"addons": BOTH, "auto_tagging": ""})
    assert {r.status for r in _results(asset).values()} == {"pending"}


def test_another_user_cannot_rerun(client, user, other_user):
    asset = _asset(user, addons=BOTH, auto_tagging=0.6, analysed=True)
    client.force_login(other_user)
    html = client.get(reverse("medialib:asset_detail", args=[asset.public_id])).content.decode()
    assert "Re-run analysis" not in html
    response = client.post(reverse("medialib:asset_analysis_rerun", args=[asset.pk]), {"addons": BOTH})
    assert response.status_code == 403
    assert {r.status for r in _results(asset).values()} == {"complete"}
    with pytest.raises(PermissionDenied):  # the service checks, not only the view
        analysis_services.analysis_rerun(asset=asset, addons=BOTH, auto_tagging=None, user=other_user)


def test_rerun_needs_login_post_and_csrf(client, user):
    asset = _asset(user, addons=BOTH, analysed=True)
    url = reverse("medialib:asset_analysis_rerun", args=[asset.pk])
    assert client.post(url, {"addons": BOTH}).status_code == 302  # to the login page
    client.force_login(user)
    assert client.get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(url, {"addons": BOTH}).status_code == 403
    assert {r.status for r in _results(asset).values()} == {"complete"}


@pytest.mark.parametrize(
    "data, message",
    [({"auto_tagging": "0.5"}, "Choose at least one add-on to run."),
     ({"addons": BOTH, "auto_tagging": "1.5"}, "The auto-tagging threshold must be a number from 0 to 1")],
)
def test_rerun_with_bad_input_says_why_and_changes_nothing(alice, user, data, message):
    asset = _asset(user, addons=BOTH, analysed=True)
    response = alice.post(reverse("medialib:asset_analysis_rerun", args=[asset.pk]), data, follow=True)
    assert message in response.content.decode()
    assert {r.status for r in _results(asset).values()} == {"complete"}


# --- Removing tags


def test_removing_an_auto_tag_rejects_it_for_good(alice, user):
    asset = _asset(user, addons=["aws_rek_tagging"], auto_tagging=0.6, analysed=True)
    assert sorted(asset.tags.names()) == ["colour", "red"]
    response = alice.post(reverse("medialib:asset_tag_remove", args=[asset.pk]), {"name": "red"}, follow=True)
    assert "Removed red. An add-on had found it, so re-analysis will not add it back." in response.content.decode()
    decision = TagDecision.objects.get()
    assert (decision.asset, decision.tag.name, decision.decided_by) == (asset, "red", user)
    assert list(asset.tags.names()) == ["colour"]

    tag_services.auto_tags_apply(asset=asset, addon="aws_rek_tagging", candidates=[("red", 0.9), ("colour", 0.75)])
    assert list(asset.tags.names()) == ["colour"]
    alice.post(reverse("medialib:asset_analysis_rerun", args=[asset.pk]), {"addons": ["aws_rek_tagging"],
                                                                           "auto_tagging": "0.1"})
    analysis_services.analysis_run(asset_id=asset.pk)
    assert sorted(asset.tags.names()) == ["colour", "thing"]


def test_removing_a_manual_tag_just_removes_it(alice, user):
    asset = _asset(user, addons=["aws_rek_tagging"], auto_tagging=0.6, analysed=True, tags=["holiday"])
    response = alice.post(reverse("medialib:asset_tag_remove", args=[asset.pk]), {"name": "Holiday"}, follow=True)
    html = response.content.decode()
    assert "Removed Holiday." in html and "will not add it back" not in html.split("messages")[1][:300]
    assert not TagDecision.objects.exists()
    assert sorted(asset.tags.names()) == ["colour", "red"]


def test_another_user_cannot_reject_a_tag(client, user, other_user):
    asset = _asset(user, addons=["aws_rek_tagging"], auto_tagging=0.6, analysed=True)
    client.force_login(other_user)
    response = client.post(reverse("medialib:asset_tag_remove", args=[asset.pk]), {"name": "red"})
    assert response.status_code == 403
    assert not TagDecision.objects.exists()
    assert AssetTag.objects.filter(content_object=asset, tag__name="red").exists()
    with pytest.raises(PermissionDenied):
        tag_services.tag_remove_or_reject(asset=asset, name="red", user=other_user)


def test_staff_need_moderate_tags_to_reject_on_another_users_asset(client, user, django_user_model):
    from django.contrib.auth.models import Group

    asset = _asset(user, addons=["aws_rek_tagging"], auto_tagging=0.6, analysed=True, tags=["holiday"])
    staff = django_user_model.objects.create_user(username="sam", password="pw-sam-12345", is_staff=True)
    client.force_login(staff)
    page = client.get(reverse("medialib:asset_detail", args=[asset.public_id])).content.decode()
    assert 'aria-label="Remove tag holiday"' in page and 'aria-label="Remove tag red;' not in page
    assert 'data-can-reject="false"' in page
    response = client.post(reverse("medialib:asset_tag_remove", args=[asset.pk]), {"name": "red"})
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        tag_services.tag_remove_or_reject(asset=asset, name="red", user=staff)
    assert not TagDecision.objects.exists()
    assert AssetTag.objects.filter(content_object=asset, tag__name="red").exists()
    # A manual tag is still theirs to remove, as staff could before.
    assert tag_services.tag_remove_or_reject(asset=asset, name="holiday", user=staff) == "removed"

    staff.groups.add(Group.objects.get(name="Moderators"))
    staff = django_user_model.objects.get(pk=staff.pk)  # permissions are cached per user object
    client.force_login(staff)
    page = client.get(reverse("medialib:asset_detail", args=[asset.public_id])).content.decode()
    assert 'aria-label="Remove tag red;' in page and 'data-can-reject="true"' in page
    response = client.post(reverse("medialib:asset_tag_remove", args=[asset.pk]), {"name": "red"})
    assert response.status_code == 302
    assert TagDecision.objects.get().decided_by == staff


def test_the_owner_rejects_on_their_own_asset_without_moderate_tags(user):
    asset = _asset(user, addons=["aws_rek_tagging"], auto_tagging=0.6, analysed=True)
    assert tag_services.tag_remove_or_reject(asset=asset, name="red", user=user) == "rejected"


def test_removing_a_tag_the_asset_does_not_have_changes_nothing(alice, user):
    asset = _asset(user, tags=["kept"])
    alice.post(reverse("medialib:asset_tag_remove", args=[asset.pk]), {"name": "absent"})
    assert list(asset.tags.names()) == ["kept"] and not TagDecision.objects.exists()
