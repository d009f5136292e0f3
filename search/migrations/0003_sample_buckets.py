"""Indexes of the sample (search.sql.SAMPLE_BUCKETS): a tag's uses, and the assets, by the bucket of the asset id.

With them a sampled walk reads only the sampled rows: for a tag on 40% of a million photos, a sample of 1 in
50 is one range of 8,000 index entries, not a filter over 400,000. The expression is the one search.sql
writes (bucket_sql), character for character in meaning, so that PostgreSQL matches it; SQLite gets the same.
"""
from django.db import migrations

BUCKET = "(((%s * 2654435761) %% 4294967296) / 4194304)"


def _indexes(vendor):
    postgresql = vendor == "postgresql"
    return [
        # source and confidence ride along (PostgreSQL), so that `dog source:manual` or `dog>=0.9` is still read
        # from the index alone;
        ("search_assettag_tag_bucket",
         f"medialib_assettag (tag_id, ({BUCKET % 'content_object_id'}), content_object_id)"
         + (" INCLUDE (source, confidence)" if postgresql else "")),
        # and the uploader, so that a sample of one uploader's photos is read from this index alone too
        ("search_asset_bucket", f"medialib_asset (({BUCKET % 'id'}), id"
         + (") INCLUDE (created_at, uploaded_by_id)" if postgresql else ", created_at, uploaded_by_id)")),
    ]


def create(apps, schema_editor):
    for name, target in _indexes(schema_editor.connection.vendor):
        # No parameters: the % in the expression is SQL's modulo, not a placeholder.
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}", params=None)


def drop(apps, schema_editor):
    for name, _ in _indexes(schema_editor.connection.vendor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_search_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
