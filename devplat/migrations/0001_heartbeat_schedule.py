"""Beat's one schedule in the foundation: the heartbeat (operators can edit it in the admin)."""

from django.db import migrations


def create(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=30, period="seconds")
    task_model.objects.get_or_create(
        name="devplat heartbeat",
        defaults={"task": "devplat.heartbeat", "interval": every, "description": "Proves beat and a worker run."},
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name="devplat heartbeat").delete()


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
