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


def _local(settings, **options):
    settings.TAGGING_BACKENDS = {**settings.TAGGING_BACKENDS, "local": {
        **settings.TAGGING_BACKENDS["local"], "OPTIONS": {**settings.TAGGING_BACKENDS["local"]["OPTIONS"], **options}}}


def test_face_detector_yunet_is_the_default_and_passes(settings):
    assert settings.TAGGING_BACKENDS["local"]["OPTIONS"]["face_detector"] == "yunet"
    assert "tagging.E001" not in _errors()
    _local(settings, face_detector="hog", face_min_score=0.2)
    assert "tagging.E001" not in _errors()


def test_unknown_face_detector(settings):
    _local(settings, face_detector="haar")
    assert "TAGGING_LOCAL_FACE_DETECTOR is 'haar'" in _errors()["tagging.E001"]


def test_bad_landmarks_and_score(settings):
    _local(settings, face_landmarks=7)
    assert "TAGGING_LOCAL_FACE_LANDMARKS is 7" in _errors()["tagging.E001"]
    _local(settings, face_landmarks=5, face_min_score=170.0)
    assert "YuNet's scores are 0-100" in _errors()["tagging.E001"]
