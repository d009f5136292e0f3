"""The people page in headless Chromium at a phone's size (390x844) and a laptop's (1366x900), with the groups the
worker made: nothing wider than the screen, axe-core finding no WCAG A/AA violation, the lone faces in one compact
strip, and a group named from the page. Screenshots go to var/screenshots/ (not committed)."""
import numpy as np
import pytest

from medialib import services as media_services
from tagging.models import Face
from tagging.services import analysis as analysis_services
from tagging.services import face_groups
from tagging.services import people as people_services
from tests import images
from tests.browser.conftest import axe_violations
from tests.browser.test_responsive import SHOTS, SIZES
from tests.conftest import asset_upload, upload_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _embedding(identity: int, noise: int) -> list[float]:
    centre = np.random.default_rng(identity).normal(size=128)
    centre /= np.linalg.norm(centre)
    return [float(x) for x in centre + np.random.default_rng(1000 + noise).normal(scale=0.02, size=128)]


@pytest.fixture
def library(live_server, django_user_model, settings):
    """Six photos of one user (not staff): one face named, two groups of look-alikes, two lone faces."""
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}
    user = django_user_model.objects.create_user(username="pia", password="pia-password-1")
    faces = []
    for n in range(6):
        asset = asset_upload(file=upload_file(images.jpeg(640, 420, color=(30 * n, 90, 200 - 30 * n)), f"trip-{n}.jpg"),
                             uploaded_by=user, addons=["aws_rek_face"], auto_tagging=0.6)
        media_services.renditions_generate(asset_id=asset.pk)
        analysis_services.analysis_run(asset_id=asset.pk)
        faces.append(asset.faces.get())
    people_services.face_name(face=faces[0], user=user, name="Ada Lovelace")
    # Their looks, as the local detector would give: 1-3 alike, 4-5 alike... and the second face of photo 1 alone.
    for face, (identity, noise) in zip(faces[1:], [(1, 1), (1, 2), (1, 3), (2, 4), (2, 5)]):
        Face.objects.filter(pk=face.pk).update(embedding=_embedding(identity, noise))
    lone = Face.objects.create(asset=faces[1].asset, index=1, left=0.7, top=0.1, width=0.2, height=0.3,
                               confidence=95.0, embedding=_embedding(3, 6))
    face_groups.face_groups_rebuild()  # what the worker does as faces change
    return {"user": user, "faces": faces, "lone": lone}


def test_the_people_page_at_phone_and_laptop_sizes(browser, live_server, library):
    problems = []
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "pia")
        page.fill("#id_password", "pia-password-1")
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/people/")
        page.wait_for_load_state("networkidle")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"people-groups-{size}.png"), full_page=True)
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        if scroll > inner:
            problems.append(f"@{size}: {scroll} px wide in a {inner} px window")
        problems += [f"@{size}: axe {v['id']} {v['targets'][:3]}" for v in axe_violations(page)]
        assert page.locator(".person-card").count() == 1
        legends = page.locator("form.face-group legend").all_inner_texts()
        assert legends == ["3 faces that look alike", "2 faces that look alike", "1 face not like any other"]
        # The lone face is in the strip, not ticked; the groups' faces are.
        strip = page.locator(".lone-faces input[type=checkbox]")
        assert strip.count() == 1 and not strip.first.is_checked()
        assert page.locator("form.face-group:not(.lone-faces) input[type=checkbox]:checked").count() == 5
        # Every face crop loaded, through a delivery URL.
        assert page.evaluate("[...document.querySelectorAll('.face-strip img')].every(i => i.complete && "
                             "i.naturalWidth > 0)")
        if size == "laptop":
            group = page.locator("form.face-group").first
            group.locator("input[name=name]").fill("Grace Hopper")
            group.locator("button[type=submit]").click()
            page.wait_for_load_state("networkidle")
            assert "Named 3 faces Grace Hopper." in page.content()
            assert page.locator(".person-card").count() == 2
            # The named group is gone from the page at once, before the worker regroups anything.
            assert page.locator("form.face-group legend").all_inner_texts() == [
                "2 faces that look alike", "1 face not like any other"]
            problems += [f"@{size} after naming: axe {v['id']} {v['targets'][:3]}" for v in axe_violations(page)]
        context.close()
    assert not problems, "\n".join(problems)
    assert Face.objects.filter(person__name="Grace Hopper").count() == 3
