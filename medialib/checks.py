"""System checks: a wrong or missing setting stops the app at start with a message that names it."""
from django.conf import settings
from django.core.checks import Error, Tags, register

VALID_STORAGES = ("local", "s3")
VALID_VISIBILITIES = ("shared", "private")
VALID_DELIVERY_ACCESS = ("signed", "public")


@register(Tags.security, deploy=False)
def check_secret_key(app_configs, **kwargs):
    if not settings.DEBUG and not settings.SECRET_KEY_FROM_ENV:
        return [
            Error(
                "SECRET_KEY is not set. With DEBUG off, set the SECRET_KEY environment variable "
                "to a long random value shared by every web and worker process.",
                id="medialib.E001",
            )
        ]
    return []


@register()
def check_storage(app_configs, **kwargs):
    errors = []
    if settings.MEDIALIB_STORAGE not in VALID_STORAGES:
        errors.append(
            Error(
                f"MEDIALIB_STORAGE is {settings.MEDIALIB_STORAGE!r}; it must be one of {', '.join(VALID_STORAGES)}.",
                id="medialib.E002",
            )
        )
    elif settings.MEDIALIB_STORAGE == "s3" and not settings.AWS_STORAGE_BUCKET_NAME:
        errors.append(
            Error(
                "AWS_STORAGE_BUCKET_NAME is not set, but MEDIALIB_STORAGE=s3 needs a bucket.",
                id="medialib.E003",
            )
        )
    return errors


@register()
def check_visibility(app_configs, **kwargs):
    if settings.MEDIALIB_VISIBILITY not in VALID_VISIBILITIES:
        return [Error(f"MEDIALIB_VISIBILITY is {settings.MEDIALIB_VISIBILITY!r}; it must be one of "
                      f"{', '.join(VALID_VISIBILITIES)}.", id="medialib.E012")]
    if settings.MEDIALIB_DELIVERY_ACCESS not in VALID_DELIVERY_ACCESS:
        return [Error(f"MEDIALIB_DELIVERY_ACCESS is {settings.MEDIALIB_DELIVERY_ACCESS!r}; it must be one of "
                      f"{', '.join(VALID_DELIVERY_ACCESS)}.", id="medialib.E013")]
    return []


@register()
def check_limits(app_configs, **kwargs):
    errors = []
    for name in ("MEDIALIB_MAX_UPLOAD_BYTES", "MEDIALIB_MAX_PIXELS", "MEDIALIB_GALLERY_PAGE_SIZE"):
        if getattr(settings, name) <= 0:
            errors.append(Error(f"{name} must be a positive number.", id="medialib.E004"))
    return errors


@register()
def check_image_formats(app_configs, **kwargs):
    """Pillow builds differ; an accepted format that cannot be decoded would reject every such upload."""
    from PIL import features

    missing = [codec for codec in ("jpg", "zlib", "webp", "libtiff") if not features.check(codec)]
    if missing:
        return [Error(f"Pillow was built without {', '.join(missing)}; reinstall Pillow from its wheels.", id="medialib.E006")]
    return []


@register()
def check_allowed_transformations(app_configs, **kwargs):
    from .transformations import Transformation, TransformationError

    errors = []
    for text in settings.MEDIALIB_DELIVERY_ALLOWED_TRANSFORMATIONS:
        try:
            Transformation.from_string(text)
        except TransformationError as exc:
            errors.append(Error(f"MEDIALIB_DELIVERY_ALLOWED_TRANSFORMATIONS holds {text[:60]!r}: {exc.message}",
                                id="medialib.E014"))
    return errors


@register()
def check_webhooks(app_configs, **kwargs):
    from .notifications import retry_delays
    from .webhooks import allowed_entries

    errors = []
    try:
        allowed_entries()
    except ValueError as exc:
        errors.append(Error(f"MEDIALIB_WEBHOOK_ALLOWED_HOSTS holds {exc}; list host names, IP addresses or networks "
                            "(10.0.0.0/8), separated by commas or spaces.", id="medialib.E016"))
    try:
        retry_delays()
    except ValueError as exc:
        errors.append(Error(f"MEDIALIB_WEBHOOK_RETRY_DELAYS is {settings.MEDIALIB_WEBHOOK_RETRY_DELAYS!r}: {exc}; give "
                            "the waits in seconds separated by commas, e.g. 10,30,120.", id="medialib.E017"))
    if not 0 < settings.MEDIALIB_WEBHOOK_TIMEOUT_SECONDS <= 60:
        errors.append(Error("MEDIALIB_WEBHOOK_TIMEOUT_SECONDS must be more than 0 and at most 60.", id="medialib.E017"))
    return errors
