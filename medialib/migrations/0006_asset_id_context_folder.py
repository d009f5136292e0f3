"""Cloudinary's asset_id (one per existing asset, then unique), contextual metadata and asset_folder."""
import uuid

from django.db import migrations, models

import medialib.models


def asset_ids_fill(apps, schema_editor):
    Asset = apps.get_model("medialib", "Asset")
    batch = []
    for pk in Asset.objects.filter(asset_id__isnull=True).values_list("pk", flat=True).iterator(chunk_size=2000):
        batch.append(Asset(pk=pk, asset_id=uuid.uuid4().hex))
        if len(batch) >= 2000:
            Asset.objects.bulk_update(batch, ["asset_id"])
            batch = []
    if batch:
        Asset.objects.bulk_update(batch, ["asset_id"])


class Migration(migrations.Migration):
    dependencies = [("medialib", "0005_delivery")]

    operations = [
        migrations.AddField("asset", "asset_id", models.CharField(max_length=32, null=True, editable=False)),
        migrations.RunPython(asset_ids_fill, migrations.RunPython.noop),
        migrations.AlterField("asset", "asset_id", models.CharField(
            max_length=32, unique=True, default=medialib.models.asset_id_new, editable=False)),
        migrations.AddField("asset", "context", models.JSONField(blank=True, default=dict)),
        migrations.AddField("asset", "asset_folder", models.CharField(
            max_length=255, blank=True, default="", db_index=True)),
    ]
