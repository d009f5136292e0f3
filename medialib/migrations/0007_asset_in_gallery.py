"""Asset.in_gallery: False for the photos `enroll_people` uploads only to learn faces from. Existing assets: True."""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("medialib", "0006_asset_id_context_folder")]

    operations = [
        migrations.AddField("asset", "in_gallery", models.BooleanField(db_default=True, default=True)),
    ]
