"""The pages under their Content-Security-Policy in a real browser: nothing they need is blocked."""
import pytest

from medialib import services as media_services
from medialib.models import Asset
from tagging.services import analysis as analysis_services
from tests import images
from tests.conftest import asset_upload, upload_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Recorded from the first script on, before the page's own: every violation the browser reports.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture
def staff(page, live_server, django_user_model, settings):
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}
    user = django_user_model.objects.create_user(username="dora", password="dora-password-1", is_staff=True,
                                                 is_superuser=True)
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "dora")
    page.fill("#id_password", "dora-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Gallery')")
    return user


def _violations(page, console):
    return page.evaluate("window.__cspViolations") + [m for m in console if "Content Security Policy" in m]


def test_pages_work_under_the_csp(page, live_server, staff):
    console = []
    page.on("console", lambda message: console.append(message.text))
    asset = asset_upload(file=upload_file(images.jpeg(200, 120, color=(200, 10, 10)), "red.jpg"),
                         uploaded_by=staff, addons=["aws_rek_face"], auto_tagging=0.6)
    media_services.renditions_generate(asset_id=asset.pk)
    analysis_services.analysis_run(asset_id=asset.pk)

    response = page.goto(f"{live_server.url}/asset/{asset.public_id}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    box = page.locator("#face-overlay g.face rect").first.bounding_box()  # the face box over the photo
    assert box and box["width"] > 0
    assert _violations(page, console) == []

    # The delete button's confirmation comes from confirm.js now, not an inline onsubmit.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button:has-text('Delete image')")
    page.wait_for_timeout(300)
    assert Asset.objects.filter(pk=asset.pk).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Delete image')")
    page.wait_for_load_state("networkidle")
    assert not Asset.objects.filter(pk=asset.pk).exists()

    for path in ["/", "/upload/", "/search/?q=red", "/people/", "/admin/", "/admin/tagging/moderationitem/"]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert _violations(page, console) == [], path


def test_axe_runs_under_the_csp_and_finds_what_is_wrong(page, live_server, staff):
    from tests.browser.conftest import axe_violations

    page.goto(f"{live_server.url}/")
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == []
    # A control: an image without alt text and an unlabelled input are violations axe must report.
    page.evaluate("""() => { const i = document.createElement('img'); i.src = '/static/none.png';
        document.querySelector('main').append(i, document.createElement('input')); }""")
    ids = {v["id"] for v in axe_violations(page)}
    assert {"image-alt", "label"} <= ids, ids
    assert _violations(page, []) == []  # injecting axe broke no CSP rule
