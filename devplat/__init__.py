"""devplat: the project package and the bottom layer. It knows no domain; apps are named only by string."""

from devplat.celery import app as celery_app

__all__ = ["celery_app"]
