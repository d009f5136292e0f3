from django.apps import AppConfig


class MedialibApiConfig(AppConfig):
    name = "medialib.api"
    label = "medialib_api"
    verbose_name = "Cloudinary-compatible API"
    default_auto_field = "django.db.models.BigAutoField"
