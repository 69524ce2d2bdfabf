"""Beat's schedule for the sync operator: a tick every 5 seconds (operators can edit it in the admin)."""

from django.db import migrations


def create(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=5, period="seconds")
    task_model.objects.get_or_create(
        name="devplat sync tick",
        defaults={
            "task": "control_plane.sync_tick",
            "interval": every,
            "description": "Starts a sync window for every enabled cluster whose lease nobody holds.",
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name="devplat sync tick").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("control_plane", "0002_inventory"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
