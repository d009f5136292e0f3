"""The moderation queue in a real browser: a moderator rejects a tag with the keyboard, bulk-approves a selection,
and the photo's own page shows the result."""
import pytest
from django.contrib.auth.models import Group, Permission

from medialib import services as media_services
from medialib.models import AssetTag
from tagging.models import TagDecision
from tagging.services import analysis as analysis_services
from tests import images
from tests.conftest import ROOT, asset_upload, upload_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _moderators() -> Group:
    # The data migration made it, but an earlier transactional test's flush may have emptied the tables since
    # (permissions come back by post_migrate, groups do not).
    group, _ = Group.objects.get_or_create(name="Moderators")
    group.permissions.add(Permission.objects.get(codename="moderate_tags"))
    return group


def _analysed(user, color, auto_tagging):
    asset = asset_upload(file=upload_file(images.jpeg(60, 90, color=color)), uploaded_by=user,
                                        addons=["aws_rek_tagging"], auto_tagging=auto_tagging)
    media_services.renditions_generate(asset_id=asset.pk)
    analysis_services.analysis_run(asset_id=asset.pk)
    return asset


def _row(page, tag, asset):
    return page.locator("#result_list tbody tr", has=page.locator(f"a:text-is('{asset.public_id}')")).filter(
        has=page.locator(f"td.field-tag:text-is('{tag}')"))


def test_a_moderator_rejects_with_the_keyboard_and_approves_in_bulk(page, live_server, django_user_model, settings):
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}
    owner = django_user_model.objects.create_user(username="olga", password="olga-password-1")
    red = _analysed(owner, (240, 10, 10), 0.5)  # red 0.9, colour 0.75, thing 0.5
    blue = _analysed(owner, (10, 20, 240), 0.7)  # blue 0.9, colour 0.75
    moderator = django_user_model.objects.create_user(username="mona", password="mona-password-1", is_staff=True)
    moderator.groups.add(_moderators())

    page.goto(f"{live_server.url}/admin/login/?next=/admin/tagging/moderationitem/")
    page.fill("#id_username", "mona")
    page.fill("#id_password", "mona-password-1")
    page.click("button[type=submit]")  # the site's login page: /admin/login/ sends everyone there, keeping next
    page.wait_for_selector("#moderation-keys")
    assert "a approve" in page.inner_text("#moderation-keys .legend")
    tags = [t.strip() for t in page.locator("#result_list tbody td.field-tag").all_inner_texts()]
    assert tags[0] == "thing" and len(tags) == 5  # lowest confidence first
    assert page.locator("#result_list tbody tr").first.locator("img.moderation-thumb").count() == 1

    # The first row is current; j and k move, with a visible outline on the current row.
    first = page.locator("#result_list tbody tr").nth(0)
    assert "kb-current" in first.get_attribute("class")
    page.keyboard.press("j")
    assert "kb-current" in page.locator("#result_list tbody tr").nth(1).get_attribute("class")
    outline = page.evaluate("getComputedStyle(document.querySelector('tr.kb-current')).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("k")
    assert "kb-current" in first.get_attribute("class")
    (ROOT / "var" / "test").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ROOT / "var" / "test" / "moderation_queue.png"), full_page=True)

    page.keyboard.press("r")
    page.wait_for_selector("#result_list tbody tr.moderated.rejected")
    assert "Rejected “thing”" in page.inner_text("#moderation-status")
    assert TagDecision.objects.filter(asset=red, tag__name="thing").exists()
    assert not AssetTag.objects.filter(content_object=red, tag__name="thing").exists()

    # Select the two "colour" rows (x on the current one, then the next) and approve them with the admin action.
    assert page.locator("tr.kb-current td.field-tag").inner_text() == "colour"
    page.keyboard.press("x")
    page.keyboard.press("j")
    assert page.locator("tr.kb-current td.field-tag").inner_text() == "colour"
    page.keyboard.press("x")
    assert page.locator("#result_list input.action-select:checked").count() == 2
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist li.success")
    assert "Approved 2 auto tags." in page.inner_text("ul.messagelist")
    remaining = sorted(t.strip() for t in page.locator("#result_list tbody td.field-tag").all_inner_texts())
    assert remaining == ["blue", "red"]
    assert set(AssetTag.objects.filter(reviewed_by=moderator).values_list("content_object_id", "tag__name")) == {
        (red.pk, "colour"), (blue.pk, "colour")}
    page.screenshot(path=str(ROOT / "var" / "test" / "moderation_after.png"), full_page=True)

    page.goto(f"{live_server.url}/asset/{red.public_id}")
    page.wait_for_selector("#asset-tags")
    shown = [t.strip() for t in page.locator("#asset-tags .tag .tag-name").all_inner_texts()]
    assert sorted(shown) == ["colour", "red"]  # thing is gone, and stays gone
    analysis_services.analysis_request(asset=red, addons=["aws_rek_tagging"], auto_tagging=0.5)
    analysis_services.analysis_run(asset_id=red.pk)
    page.reload()
    shown = [t.strip() for t in page.locator("#asset-tags .tag .tag-name").all_inner_texts()]
    assert sorted(shown) == ["colour", "red"]
