"""Beat schedules keep django-celery-beat's pages, audited like every other admin change."""

from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule

from devplat.core.admin import AuditedAdminMixin

for model, stock in (
    (PeriodicTask, beat_admin.PeriodicTaskAdmin),
    (IntervalSchedule, beat_admin.IntervalScheduleAdmin),
    (CrontabSchedule, beat_admin.CrontabScheduleAdmin),
    (ClockedSchedule, beat_admin.ClockedScheduleAdmin),
    (SolarSchedule, beat_admin.SolarScheduleAdmin),
):
    admin.site.unregister(model)
    admin.site.register(model, type(f"Audited{stock.__name__}", (AuditedAdminMixin, stock), {}))
