"""tagging's management commands: analyze (bulk, resumable) and analysis_sweep."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tagging.models import AnalysisResult
from tagging.services import analysis as analysis_services
from tests import images
from tests.conftest import asset_upload, upload_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fake_backend(settings):
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}


def _assets(user, n, **kwargs):
    return [asset_upload(file=upload_file(images.jpeg(80, 40)), uploaded_by=user, **kwargs)
            for _ in range(n)]


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command("analyze", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_analyze_all_now_then_resume_skips_what_is_done(user):
    assets = _assets(user, 3)
    out, err = _run("--all", "--addons", "aws_rek_tagging", "--auto-tagging", "0.6", "--now")
    assert "Analysed 3 asset(s) for aws_rek_tagging." in out
    assert "3/3" in err
    assert AnalysisResult.objects.filter(status="complete").count() == 3
    assert "red" in assets[0].tags.names()
    out, _ = _run("--all", "--addons", "aws_rek_tagging", "--now")
    assert "Analysed 0 asset(s)" in out
    out, _ = _run("--all", "--addons", "aws_rek_tagging", "--now", "--force")
    assert "Analysed 3 asset(s)" in out


def test_analyze_queues_by_default(user, monkeypatch):
    queued = []
    monkeypatch.setattr(analysis_services, "analysis_enqueue", lambda asset_id: queued.append(asset_id) or True)
    assets = _assets(user, 2)
    out, _ = _run("--ids", assets[1].public_id)
    assert "Queued 1 asset(s) for aws_rek_tagging, aws_rek_face." in out
    assert AnalysisResult.objects.filter(asset=assets[1], status="pending").count() == 2


def test_analyze_by_tag(user):
    _assets(user, 2)
    tagged = _assets(user, 1, tags=["beach"])[0]
    out, _ = _run("--tag", "beach", "--now", "--addons", "aws_rek_face")
    assert "Analysed 1 asset(s)" in out
    assert AnalysisResult.objects.get().asset == tagged


@pytest.mark.parametrize(
    "args, message",
    [
        (["--all", "--addons", "magic"], "Unknown add-on(s): magic"),
        (["--all", "--auto-tagging", "2"], "auto_tagging must be between 0 and 1"),
        (["--ids", "nope"], "No asset with public_id nope"),
    ],
)
def test_analyze_refuses_bad_input(user, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _run(*args)


def test_sweep_command(user, monkeypatch):
    queued = []
    monkeypatch.setattr(analysis_services, "analysis_enqueue", lambda asset_id: queued.append(asset_id) or True)
    asset = _assets(user, 1, addons=["aws_rek_tagging"])[0]
    out = StringIO()
    call_command("analysis_sweep", "--older-than", "0", stdout=out)
    assert "Queued 1 asset(s) again." in out.getvalue()
    assert queued == [asset.pk]


def test_admin_actions_queue_analysis(client, django_user_model, user, monkeypatch):
    from django.urls import reverse

    queued = []
    monkeypatch.setattr(analysis_services, "analysis_enqueue", lambda asset_id: queued.append(asset_id) or True)
    admin = django_user_model.objects.create_superuser("root", password="root-password-1")
    client.force_login(admin)
    asset = _assets(user, 1)[0]

    response = client.post(reverse("admin:medialib_asset_changelist"),
                           {"action": "analyse", "_selected_action": [asset.pk]})
    assert response.status_code == 302
    assert AnalysisResult.objects.filter(asset=asset, status="pending", auto_tagging=0.6).count() == 2
    result = AnalysisResult.objects.filter(asset=asset).first()
    AnalysisResult.objects.filter(pk=result.pk).update(status="failed")
    client.post(reverse("admin:tagging_analysisresult_changelist"),
                {"action": "analyse_again", "_selected_action": [result.pk]})
    assert AnalysisResult.objects.get(pk=result.pk).status == "pending"
    assert client.get(reverse("admin:tagging_analysisresult_changelist")).status_code == 200
    assert client.get(reverse("admin:tagging_tagdecision_changelist")).status_code == 200
