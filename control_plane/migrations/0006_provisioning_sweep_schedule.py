"""Beat's schedule for provisioning: a sweep over waiting requests every 5 seconds (editable in the admin)."""

from django.db import migrations

NAME = "devplat provisioning sweep"


def create(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=5, period="seconds")
    task_model.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "control_plane.provisioning_sweep",
            "interval": every,
            "description": "Applies waiting provisioning requests whose dependencies are Ready.",
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("control_plane", "0005_provisioning_requests"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
