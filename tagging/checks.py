"""System checks of the tagging app: a wrong detector backend setting stops the app at start, naming the setting.

Their ids (medialib.E005, E007) are the ones these checks had when they lived in medialib: people's silenced checks
and scripts keep working.
"""
from django.conf import settings
from django.core.checks import Error, register

from .backends.local import face_option_problems  # dlib and yuface are imported only when a model is built
from .backends.rekognition import configuration_problems  # boto3 is imported only when a client is built

VALID_TAGGING_BACKENDS = ("local", "rekognition", "fake")


@register()
def check_tagging_backend(app_configs, **kwargs):
    errors = []
    configured = {"TAGGING_BACKEND": settings.TAGGING_BACKEND}
    configured.update({f"TAGGING_BACKEND_{addon.upper()}": alias for addon, alias in settings.TAGGING_ADDON_BACKENDS.items()})
    for name, alias in configured.items():
        if alias not in VALID_TAGGING_BACKENDS:
            errors.append(
                Error(f"{name} is {alias!r}; it must be one of {', '.join(VALID_TAGGING_BACKENDS)}.", id="medialib.E005")
            )
    return errors


@register()
def check_rekognition(app_configs, **kwargs):
    """With Rekognition chosen for an add-on, boto3 must find a region and the TAGGING_REKOGNITION_* values must fit."""
    if "rekognition" not in {settings.TAGGING_BACKEND, *settings.TAGGING_ADDON_BACKENDS.values()}:
        return []
    options = settings.TAGGING_BACKENDS.get("rekognition", {}).get("OPTIONS", {})
    return [Error(problem, id="medialib.E007") for problem in configuration_problems(**options)]


@register()
def check_local_face_options(app_configs, **kwargs):
    """The local backend's face_detector (yunet, hog, cnn), face_landmarks (5, 68) and face_min_score must fit."""
    options = settings.TAGGING_BACKENDS.get("local", {}).get("OPTIONS", {})
    return [Error(problem, id="tagging.E001") for problem in face_option_problems(**options)]
