from django.apps import AppConfig


class MedialibConfig(AppConfig):
    name = "medialib"
    verbose_name = "Media library"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
