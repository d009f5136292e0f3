"""The "Moderators" group: the moderate_tags permission, and what the admin needs to show them the library."""
from django.db import migrations

GROUP = "Moderators"
PERMISSIONS = [
    ("tagging", "moderate_tags"),
    ("tagging", "view_moderationitem"),
    ("tagging", "view_tagsynonym"),
    ("tagging", "view_person"),
    ("tagging", "view_face"),
    ("tagging", "view_tagdecision"),
    ("tagging", "view_analysisresult"),
    ("tagging", "view_moderationlogentry"),
    ("medialib", "view_tag"),
    ("medialib", "view_asset"),
    # Editing an asset's tags in its admin page, and the "analyse again" action, go through the asset's form.
    ("medialib", "change_asset"),
]


def _permissions_create(apps):
    # Permissions are normally made after all migrations (post_migrate); make them now so the group can hold them.
    from django.contrib.auth.management import create_permissions

    for label in ("medialib", "tagging"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def group_create(apps, schema_editor):
    _permissions_create(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, codename in PERMISSIONS:
        permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if permission is not None:
            group.permissions.add(permission)


def group_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("tagging", "0002_moderation"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(group_create, group_delete)]
