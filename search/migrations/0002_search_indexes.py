"""Indexes the search's query shapes walk, on other apps' tables (SEARCH.md, "What made every results page fast").

- asset (created_at DESC, id DESC): the keyset walk of "every asset" (NOT-only queries, the sample's probes);
- asset (uploaded_by_id, created_at DESC, id DESC): uploader:name newest first;
- face (person_id, asset_id): person:"Name" without reading the faces themselves;
- PostgreSQL only: tag (lower(name) text_pattern_ops) for names compared without case and autocomplete
  prefixes (SQLite scans its small tag table with a Unicode-aware function instead); asset (id) INCLUDE
  (created_at), so that sorting a person's photos by date, and the sample's probes, never read the heap.
The tag walk's own index (assettag_tag_newest) and unique (asset, tag) are medialib's.
"""
from django.db import migrations

BOTH = [
    ("search_asset_newest", "medialib_asset (created_at DESC, id DESC)"),
    ("search_asset_uploader_newest", "medialib_asset (uploaded_by_id, created_at DESC, id DESC)"),
    ("search_face_person_asset", "tagging_face (person_id, asset_id)"),
]
POSTGRESQL = [
    ("search_tag_name_lower", "medialib_tag (lower(name) text_pattern_ops)"),
    ("search_asset_id_created", "medialib_asset (id) INCLUDE (created_at)"),
]


def _indexes(vendor):
    return BOTH + (POSTGRESQL if vendor == "postgresql" else [])


def create(apps, schema_editor):
    for name, target in _indexes(schema_editor.connection.vendor):
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop(apps, schema_editor):
    for name, _ in _indexes(schema_editor.connection.vendor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0001_initial"),
        ("medialib", "0001_initial"),
        ("tagging", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
