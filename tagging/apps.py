from django.apps import AppConfig


class TaggingConfig(AppConfig):
    name = "tagging"
    verbose_name = "Tagging add-ons"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from . import people_cache

        people_cache.connect()  # the people page's cache follows every change of what it shows
