"""Flag the assets made before 0003 that lack a rendition of their current version, so the sweep re-makes it.

One set-based UPDATE (NOT EXISTS subqueries on rendition_unique_spec_version), no rows read into Python.
Assets already flagged are left as they are (the sweep already knows them; their queued time stays).
"""
from django.db import migrations
from django.db.models import Exists, OuterRef, Q

# The rendition specs as of this migration (medialib.services.RENDITION_SPECS); frozen, as migrations are.
SPECS = ("thumb", "preview")


def flag_missing(apps, schema_editor):
    Asset = apps.get_model("medialib", "Asset")
    Rendition = apps.get_model("medialib", "Rendition")
    db = schema_editor.connection.alias
    missing = Q()
    for spec in SPECS:
        has = Rendition.objects.using(db).filter(asset_id=OuterRef("pk"), spec=spec, version=OuterRef("version"))
        missing |= ~Exists(has)
    Asset.objects.using(db).filter(renditions_missing=False).filter(missing).update(
        renditions_missing=True, renditions_queued_at=None
    )


class Migration(migrations.Migration):

    dependencies = [
        ("medialib", "0003_renditions_missing"),
    ]

    operations = [
        migrations.RunPython(flag_missing, migrations.RunPython.noop, elidable=True),
    ]
