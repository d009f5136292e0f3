"""The Celery application; tasks live in each app's tasks.py."""
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medialib.settings")

app = Celery("medialib")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _refuse_misconfigured_worker(**kwargs):
    """A worker does not run Django's system checks by itself; a misconfigured one must not start."""
    from django.core import checks
    from django.core.management.base import SystemCheckError

    errors = [m for m in checks.run_checks() if m.level >= checks.ERROR]
    if errors:
        raise SystemCheckError("\n".join(str(e) for e in errors))
