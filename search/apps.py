"""The tag search app: the query language, its compiler, autocomplete, facets and their upkeep."""
from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _sqlite_unicode_lower(sender, connection, **kwargs):
    # SQLite's lower() folds ASCII only; tag names are compared without case in any script ("Été" = "été").
    if connection.vendor == "sqlite":
        connection.connection.create_function("search_lower", 1, _lower, deterministic=True)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        connection_created.connect(_sqlite_unicode_lower, dispatch_uid="search_sqlite_unicode_lower")
