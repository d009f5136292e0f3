from django.apps import AppConfig


class TaggingConfig(AppConfig):
    name = "tagging"
    verbose_name = "Tagging add-ons"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from django.contrib.auth import get_user_model

        from medialib.models import Asset

        from . import people_cache
        from .models import Face, FaceGroup, Person

        # The people page's cache follows every change of what it shows.
        people_cache.connect(page_models=(Face, Person, FaceGroup), asset_model=Asset, user_model=get_user_model())
