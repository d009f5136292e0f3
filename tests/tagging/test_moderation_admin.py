"""Moderation in the admin through the Django test client: every action with and without the permission, the queue's
filters and keyboard endpoint, tag and people management, the asset's tags inline, and the log."""
import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from medialib import services as media_services
from medialib.models import AssetTag, Tag
from tagging.models import (
    AnalysisResult,
    Face,
    FaceRejection,
    Person,
    TagDecision,
    TagSynonym,
)
from tagging.services import people as people_services
from tagging.services import tags as tag_services
from tests.tagging.helpers import (
    BLUE,
    GREEN,
    RED,
    analysed,
    face_photo,
    names_in,
    tags_of,
    use,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_backend")]

QUEUE = "admin:tagging_moderationitem_changelist"


@pytest.fixture(params=["moderator", "viewer"])
def who(request, client, moderator, viewer):
    """Each test runs twice: as a moderator (the change happens) and as staff without the permission (refused)."""
    person = moderator if request.param == "moderator" else viewer
    client.force_login(person)
    return request.param == "moderator", person


def post_action(client, url_name, action, objects, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(o.pk) for o in objects], "index": "0", **extra}
    return client.post(reverse(url_name), data)


def shown_actions(client, url_name) -> str:
    return client.get(reverse(url_name)).content.decode()


# --- The queue --------------------------------------------------------------------------------------------------------


def test_the_queue_lists_unreviewed_auto_tags_lowest_confidence_first(client, moderator, user):
    asset = analysed(user, tags=["holiday"])
    tag_services.tag_uses_approve(uses=AssetTag.objects.filter(tag__name="red"), user=moderator)
    client.force_login(moderator)
    response = client.get(reverse(QUEUE))
    assert response.status_code == 200
    rows = [str(item.tag) for item in response.context["cl"].result_list]
    assert rows == ["thing", "colour"]  # not the approved red, not the manual holiday
    page = response.content.decode()
    assert "<kbd>a</kbd> approve" in page and "js/moderation.js" in page
    assert asset.public_id in page
    approved = client.get(reverse(QUEUE) + "?review=approved").context["cl"].result_list
    assert [str(i.tag) for i in approved] == ["red"]


def test_the_queue_filters(client, moderator, user):
    red = analysed(user)
    blue = analysed(user, BLUE, auto_tagging=0.7)
    faces = face_photo(user, GREEN)
    people_services.face_name(face=faces.faces.get(), user=user, name="Ann")
    client.force_login(moderator)

    def listed(query):
        response = client.get(reverse(QUEUE) + query)
        assert response.status_code == 200, query
        return sorted(f"{i.content_object_id}:{i.tag}" for i in response.context["cl"].result_list)

    colour = Tag.objects.get(name="colour")
    assert listed(f"?tag={colour.pk}") == [f"{red.pk}:colour", f"{blue.pk}:colour"]
    assert listed("?addon=aws_rek_face") == [f"{faces.pk}:Ann"]
    assert listed("?confidence_min=0.7&confidence_max=0.8") == [f"{red.pk}:colour", f"{blue.pk}:colour"]
    assert listed("?confidence_max=0.6") == [f"{red.pk}:thing"]
    assert listed(f"?person={Person.objects.get().pk}") == [f"{faces.pk}:Ann"]
    assert len(listed("?asset_created_at__gte=2000-01-01+00:00:00%2B00:00")) == 6
    assert listed("?asset_created_at__lt=2000-01-01+00:00:00%2B00:00") == []
    assert listed("?q=thing") == [f"{red.pk}:thing"]


def test_queue_actions_approve_and_reject(client, who, user):
    is_moderator, person = who
    asset = analysed(user)
    page = shown_actions(client, QUEUE)
    assert ('value="approve"' in page) is is_moderator
    assert ("Can moderate tags" in page) is not is_moderator  # the note that explains why
    post_action(client, QUEUE, "approve", [use(asset, "red")])
    post_action(client, QUEUE, "reject", [use(asset, "thing"), use(asset, "colour")])
    if is_moderator:
        assert use(asset, "red").reviewed_by == person
        assert set(tags_of(asset)) == {"red"}
        assert TagDecision.objects.count() == 2
    else:
        assert use(asset, "red").reviewed_at is None
        assert set(tags_of(asset)) == {"red", "colour", "thing"}
        assert not TagDecision.objects.exists()


def test_queue_select_across_all_pages(client, moderator, user):
    for color in (RED, GREEN, BLUE):
        analysed(user, color)
    client.force_login(moderator)
    data = {"action": "approve", ACTION_CHECKBOX_NAME: [str(AssetTag.objects.first().pk)], "index": "0",
            "select_across": "1"}
    client.post(reverse(QUEUE) + "?confidence_min=0.7", data)
    assert AssetTag.objects.filter(reviewed_at__isnull=False).count() == 6  # every 0.9 and 0.75, not the 0.5s


def test_keyboard_endpoint(client, who, user):
    is_moderator, person = who
    asset = analysed(user)
    thing, red = use(asset, "thing"), use(asset, "red")
    approve = reverse("admin:tagging_moderationitem_approve", args=[red.pk])
    reject = reverse("admin:tagging_moderationitem_reject", args=[thing.pk])
    assert client.get(approve).status_code == 405
    responses = [client.post(approve), client.post(reject)]
    if is_moderator:
        assert [r.status_code for r in responses] == [200, 200]
        assert json.loads(responses[1].content) == {"decision": "reject", "tag": "thing", "asset": asset.public_id}
        assert set(tags_of(asset)) == {"red", "colour"} and use(asset, "red").reviewed_by == person
        assert client.post(reject).status_code == 404  # already gone
    else:
        assert [r.status_code for r in responses] == [403, 403]
        assert set(tags_of(asset)) == {"red", "colour", "thing"}


def test_anonymous_cannot_reach_the_keyboard_endpoint(client, user):
    asset = analysed(user)
    response = client.post(reverse("admin:tagging_moderationitem_reject", args=[use(asset, "thing").pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert "thing" in tags_of(asset)


# --- Tags -------------------------------------------------------------------------------------------------------------

TAGS = "admin:medialib_tag_changelist"


def test_tag_rename_through_the_change_form(client, who, user):
    is_moderator, _ = who
    asset = analysed(user)
    thing = Tag.objects.get(name="thing")
    response = client.post(reverse("admin:medialib_tag_change", args=[thing.pk]),
                           {"name": "object", "blocked": "", "synonyms-TOTAL_FORMS": "0",
                            "synonyms-INITIAL_FORMS": "0"})
    if is_moderator:
        assert response.status_code == 302
        assert "object" in tags_of(asset)
        assert TagSynonym.objects.get().label == "thing"
        assert [e.get_change_message() for e in LogEntry.objects.all()] == ["Renamed from “thing” to “object”."]
        clash = client.post(reverse("admin:medialib_tag_change", args=[thing.pk]),
                            {"name": "RED", "synonyms-TOTAL_FORMS": "0", "synonyms-INITIAL_FORMS": "0"})
        assert "merge" in clash.content.decode().lower() and clash.status_code == 200
    else:
        assert response.status_code == 403
        assert "thing" in tags_of(asset)


def test_tag_actions(client, who, user):
    is_moderator, _ = who
    asset = analysed(user)
    other = analysed(user, GREEN)
    page = shown_actions(client, TAGS)
    for action in ("merge", "block", "remove_auto_uses", "delete_everywhere"):
        assert (f'value="{action}"' in page) is is_moderator
    assert 'value="delete_selected"' not in page

    post_action(client, TAGS, "merge", Tag.objects.filter(name__in=["red", "green"]), target="warm")
    post_action(client, TAGS, "block", Tag.objects.filter(name="thing"))
    post_action(client, TAGS, "remove_auto_uses", Tag.objects.filter(name="thing"))
    confirm = post_action(client, TAGS, "delete_everywhere", Tag.objects.filter(name="colour"))
    if is_moderator:
        assert tags_of(asset) == {"warm": ("aws_rek_tagging", 0.9), "colour": ("aws_rek_tagging", 0.75)}
        assert set(tags_of(other)) == {"warm", "colour"}
        assert Tag.objects.get(name="thing").blocked
        assert "Delete 1 tag and 2 uses" in confirm.content.decode()
        assert "colour" in tags_of(asset)  # not before the confirmation
        post_action(client, TAGS, "delete_everywhere", Tag.objects.filter(name="colour"), confirmed="yes")
        assert set(tags_of(asset)) == {"warm"}
        newer = analysed(user, RED)
        assert set(tags_of(newer)) == {"warm", "colour"}  # red -> warm (synonym), thing blocked
    else:
        assert set(tags_of(asset)) == {"red", "colour", "thing"}
        assert not Tag.objects.filter(blocked=True).exists()
        assert confirm.status_code in (200, 302)  # no action for them: the list again


def test_synonyms_in_the_admin(client, who, user):
    is_moderator, person = who
    asset = analysed(user)
    target = media_services.tag_get_or_create("object")
    response = client.post(reverse("admin:tagging_tagsynonym_add"), {"label": "Thing", "tag": target.pk})
    if is_moderator:
        assert response.status_code == 302
        synonym = TagSynonym.objects.get()
        assert (synonym.label, synonym.created_by) == ("thing", person)
        duplicate = client.post(reverse("admin:tagging_tagsynonym_add"), {"label": "THING", "tag": target.pk})
        assert duplicate.status_code == 200 and TagSynonym.objects.count() == 1
    else:
        assert response.status_code == 403
        TagSynonym.objects.create(label="thing", tag=target)
    post_action(client, "admin:tagging_tagsynonym_changelist", "apply", TagSynonym.objects.all())
    assert ("object" in tags_of(asset)) is is_moderator
    assert ("thing" in tags_of(asset)) is not is_moderator


# --- People and faces -------------------------------------------------------------------------------------------------


def test_people_rename_hide_and_merge(client, who, user):
    is_moderator, _ = who
    named = face_photo(user)
    people_services.face_name(face=named.faces.get(), user=user, name="Ann")
    bob_photo = face_photo(user, BLUE)
    people_services.face_name(face=bob_photo.faces.get(), user=user, name="Bob")
    ann = Person.objects.get(name="Ann")
    response = client.post(reverse("admin:tagging_person_change", args=[ann.pk]), {"name": "Anna", "hidden": ""})
    assert response.status_code == (302 if is_moderator else 403)
    post_action(client, "admin:tagging_person_changelist", "hide", Person.objects.filter(name="Bob"))
    if is_moderator:
        assert names_in(named) == ["Anna"] and "Anna" in tags_of(named)
        assert Person.objects.get(name="Bob").hidden and "Bob" not in tags_of(bob_photo)
        post_action(client, "admin:tagging_person_changelist", "merge", Person.objects.all(), target="Anna")
        assert list(Person.objects.values_list("name", flat=True)) == ["Anna"]
        assert names_in(bob_photo) == ["Anna"] and "Anna" in tags_of(bob_photo)
    else:
        assert names_in(named) == ["Ann"]
        assert not Person.objects.filter(hidden=True).exists()
        post_action(client, "admin:tagging_person_changelist", "merge", Person.objects.all(), target="Ann")
        assert Person.objects.count() == 2


def test_people_approve_and_withdraw(client, who, user, other_user):
    is_moderator, _ = who
    people_services.face_name(face=face_photo(user).faces.get(), user=user, name="Ann")
    theirs = face_photo(other_user, BLUE)
    page = shown_actions(client, "admin:tagging_person_changelist")
    assert ('value="approve"' in page) is is_moderator
    post_action(client, "admin:tagging_person_changelist", "approve", Person.objects.filter(name="Ann"))
    assert Person.objects.get(name="Ann").approved is is_moderator
    if is_moderator:
        people_services.faces_recheck(person_id=Person.objects.get(name="Ann").pk)  # what the action queued
        assert names_in(theirs) == ["Ann"]
        post_action(client, "admin:tagging_person_changelist", "withdraw_approval", Person.objects.filter(name="Ann"))
        assert not Person.objects.get(name="Ann").approved and names_in(theirs) == []
        client.post(reverse("admin:tagging_person_add"), {"name": "Cy", "hidden": ""})
        assert Person.objects.get(name="Cy").approved  # created by a moderator
    else:
        assert names_in(theirs) == []


def test_faces_clear_and_move(client, who, user):
    is_moderator, _ = who
    named = face_photo(user)
    people_services.face_name(face=named.faces.get(), user=user, name="Ann")
    wrong, also_wrong = face_photo(user, GREEN), face_photo(user, BLUE)
    faces_url = "admin:tagging_face_changelist"
    page = client.get(reverse(faces_url) + f"?person__id__exact={Person.objects.get().pk}")
    assert page.status_code == 200 and len(page.context["cl"].result_list) == 3
    post_action(client, faces_url, "clear", Face.objects.filter(asset=wrong))
    post_action(client, faces_url, "move", Face.objects.filter(asset=also_wrong), person_name="Cid")
    if is_moderator:
        assert names_in(wrong) == [] and FaceRejection.objects.filter(face__asset=wrong).exists()
        assert names_in(also_wrong) == ["Cid"] and "Cid" in tags_of(also_wrong)
    else:
        assert names_in(wrong) == ["Ann"] and names_in(also_wrong) == ["Ann"]


# --- The asset's page in the admin ------------------------------------------------------------------------------------


def _asset_form(asset, rows, delete=()):
    data = {
        "public_id": asset.public_id, "original_filename": asset.original_filename,
        "tagged_items-TOTAL_FORMS": str(len(rows)), "tagged_items-INITIAL_FORMS": str(len(rows)),
        "tagged_items-MIN_NUM_FORMS": "0", "tagged_items-MAX_NUM_FORMS": "1000",
        "renditions-TOTAL_FORMS": "0", "renditions-INITIAL_FORMS": "0",
        "renditions-MIN_NUM_FORMS": "0", "renditions-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data[f"tagged_items-{i}-id"] = str(row.pk)
        data[f"tagged_items-{i}-content_object"] = str(asset.pk)
        data[f"tagged_items-{i}-tag"] = str(row.tag_id)
        if row.tag.name in delete:
            data[f"tagged_items-{i}-DELETE"] = "on"
    return data


def test_asset_admin_shows_origin_confidence_and_review_and_rejects_removed_auto_tags(client, who, user):
    is_moderator, person = who
    if not is_moderator:
        from django.contrib.auth.models import Permission

        person.user_permissions.add(*Permission.objects.filter(codename__in=["view_asset", "change_asset"]))
    asset = analysed(user, tags=["holiday"])
    approver = type(person).objects.create_superuser("root", password="root-password-1")
    tag_services.tag_uses_approve(uses=AssetTag.objects.filter(tag__name="red"), user=approver)
    url = reverse("admin:medialib_asset_change", args=[asset.pk])
    page = client.get(url).content.decode()
    assert "add-on aws_rek_tagging" in page and "manual (a person)" in page
    assert "approved by root" in page and "not reviewed" in page
    assert "0.75" in page
    rows = list(AssetTag.objects.filter(content_object=asset).select_related("tag").order_by("pk"))
    response = client.post(url, _asset_form(asset, rows, delete={"thing", "holiday"}))
    assert response.status_code == 302
    if is_moderator:
        assert set(tags_of(asset)) == {"red", "colour"}
        assert list(TagDecision.objects.values_list("tag__name", flat=True)) == ["thing"]  # manual: just removed
    else:
        assert set(tags_of(asset)) == {"red", "colour", "thing", "holiday"}


def test_asset_admin_keeps_the_analyse_action(client, moderator, user, monkeypatch):
    asset = analysed(user)
    queued = []
    monkeypatch.setattr("tagging.services.analysis.analysis_enqueue", lambda *, asset_id: queued.append(asset_id))
    client.force_login(moderator)
    assert post_action(client, "admin:medialib_asset_changelist", "analyse", [asset]).status_code == 302
    assert AnalysisResult.objects.filter(asset=asset, status="pending").count() == 2


# --- The log ----------------------------------------------------------------------------------------------------------


def test_the_log_records_each_change_and_staff_can_read_it(client, moderator, viewer, user):
    asset = analysed(user)
    client.force_login(moderator)
    client.post(reverse("admin:tagging_moderationitem_reject", args=[use(asset, "thing").pk]))
    client.post(reverse("admin:tagging_moderationitem_approve", args=[use(asset, "red").pk]))
    post_action(client, TAGS, "block", Tag.objects.filter(name="colour"))
    entries = list(LogEntry.objects.order_by("pk"))
    assert [(e.user, e.action_flag, e.get_change_message()) for e in entries] == [
        (moderator, 3, "Rejected: taken off the photo; analysis will not add it again."),
        (moderator, 2, "Approved."),
        (moderator, 2, "Blocked: auto-tagging never assigns it."),
    ]
    assert all(e.action_time for e in entries)
    client.force_login(viewer)
    page = client.get(reverse("admin:tagging_moderationlogentry_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Rejected: taken off the photo" in html and "Blocked: auto-tagging never assigns it." in html
    assert f"thing (aws_rek_tagging) on {asset.public_id}" in html
    history = client.get(reverse("admin:medialib_tag_history", args=[Tag.objects.get(name="colour").pk]))
    assert "Blocked: auto-tagging never assigns it." in history.content.decode()


def test_staff_without_the_permission_see_every_moderation_page(client, viewer, user):
    asset = analysed(user)
    face_photo(user)
    client.force_login(viewer)
    index = client.get(reverse("admin:index")).content.decode()
    assert "Moderation queue" in index and "Tags" in index and "People" in index
    for name in (QUEUE, TAGS, "admin:tagging_tagsynonym_changelist", "admin:tagging_person_changelist",
                 "admin:tagging_face_changelist", "admin:tagging_tagdecision_changelist",
                 "admin:tagging_moderationlogentry_changelist"):
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("admin:medialib_tag_change", args=[Tag.objects.first().pk])).status_code == 200
    assert client.get(reverse("admin:tagging_tagsynonym_add")).status_code == 403
    assert asset


def test_unblock_recount_and_unhide(client, who, user):
    is_moderator, _ = who
    asset = face_photo(user)
    people_services.face_name(face=asset.faces.get(), user=user, name="Ann")
    Tag.objects.filter(name="Ann").update(blocked=True, usage_count=99)
    Person.objects.update(hidden=True)
    post_action(client, TAGS, "unblock", Tag.objects.filter(name="Ann"))
    post_action(client, TAGS, "refresh_counts", Tag.objects.filter(name="Ann"))
    post_action(client, "admin:tagging_person_changelist", "unhide", Person.objects.all())
    ann = Tag.objects.get(name="Ann")
    assert (ann.blocked, ann.usage_count) == ((False, 1) if is_moderator else (True, 99))
    assert Person.objects.get().hidden is not is_moderator


def test_moderators_see_the_people_awaiting_approval_and_approve_them_there(client, moderator, user):
    people_services.face_name(face=face_photo(user).faces.get(), user=user, name="<b>Ann</b>")
    Person.objects.create(name="Bonifacio", approved=True)
    client.force_login(moderator)
    people_page = client.get(reverse("tagging:people")).content.decode()
    pending_url = reverse("admin:tagging_person_changelist") + "?approval=pending"
    assert f'href="{pending_url}"' in people_page and "1 person awaiting approval" in people_page
    changelist = client.get(reverse("admin:tagging_person_changelist")).content.decode()
    assert "Awaiting approval (1)" in changelist  # the filter, always shown to moderators
    page = client.get(pending_url).content.decode()
    assert "&lt;b&gt;Ann&lt;/b&gt;" in page and "<b>Ann</b>" not in page and "Bonifacio" not in page
    assert 'value="approve"' in page
    response = client.post(pending_url, {"action": "approve", ACTION_CHECKBOX_NAME: [
        str(Person.objects.get(name="<b>Ann</b>").pk)], "index": "0"})
    assert response.status_code == 302
    assert Person.objects.get(name="<b>Ann</b>").approved
    assert "0 people awaiting approval" in client.get(reverse("tagging:people")).content.decode()


def test_others_do_not_see_the_people_awaiting_approval(client, viewer, user):
    people_services.face_name(face=face_photo(user).faces.get(), user=user, name="Ann")
    pending_url = reverse("admin:tagging_person_changelist") + "?approval=pending"
    for person in (viewer, user):  # staff without the permission; a user who is not staff
        client.force_login(person)
        assert "awaiting approval" not in client.get(reverse("tagging:people")).content.decode()
        assert client.get(pending_url).status_code in (302, 403)
        assert "Awaiting approval" not in client.get(reverse("admin:tagging_person_changelist")).content.decode()
    client.force_login(viewer)
    assert client.get(pending_url).status_code == 403
