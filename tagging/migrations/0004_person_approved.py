"""Person.approved and Face.example_approved: a name given by a user is recognised on other users' photos only once
a moderator approves it. Existing people stay recognised everywhere where staff (or the enrol command, or
Rekognition) vouched for them; the rest wait for a moderator."""
from django.db import migrations, models
from django.db.models import Q


def approve_trusted(apps, schema_editor):
    Face = apps.get_model("tagging", "Face")
    Person = apps.get_model("tagging", "Person")
    trusted = Face.objects.filter(person_source="user").filter(
        Q(asset__uploaded_by__isnull=True) | Q(asset__uploaded_by__is_staff=True))
    Face.objects.filter(pk__in=trusted.values("pk")).update(example_approved=True)
    Person.objects.filter(
        Q(pk__in=trusted.values("person_id")) | Q(pk__in=Face.objects.filter(person_source="rekognition")
                                                 .values("person_id"))
    ).update(approved=True)


class Migration(migrations.Migration):

    dependencies = [
        ('tagging', '0003_moderators_group'),
    ]

    operations = [
        migrations.AddField(
            model_name='face',
            name='example_approved',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='person',
            name='approved',
            field=models.BooleanField(default=False, help_text="Approved people are recognised on everyone's photos, from their approved example faces; the others only on the photos of whoever named them."),
        ),
        migrations.RunPython(approve_trusted, migrations.RunPython.noop),
    ]
