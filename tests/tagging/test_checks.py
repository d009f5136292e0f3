"""tagging.checks: a wrong detector backend setting is an error that names it (ids as when medialib held them)."""
from django.core import checks


def _errors():
    return {m.id: m.msg for m in checks.run_checks() if m.level >= checks.ERROR}


def test_unknown_backend(settings):
    settings.TAGGING_BACKEND = "magic"
    assert "TAGGING_BACKEND is 'magic'" in _errors()["medialib.E005"]


def test_unknown_backend_for_one_addon(settings):
    settings.TAGGING_ADDON_BACKENDS = {"aws_rek_face": "magic"}
    assert "TAGGING_BACKEND_AWS_REK_FACE is 'magic'" in _errors()["medialib.E005"]


def test_known_backends_pass(settings):
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {"aws_rek_tagging": "local"}
    assert "medialib.E005" not in _errors()
