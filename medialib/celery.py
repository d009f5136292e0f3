"""The Celery application; tasks live in each app's tasks.py."""
import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medialib.settings")

app = Celery("medialib")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _refuse_misconfigured_worker(**kwargs):
    """A misconfigured worker must not start: Celery runs Django's checks but ignores what they find.

    Celery logs and swallows exceptions from signal handlers, so this exits instead of raising.
    """
    import sys

    from django.core import checks

    errors = [m for m in checks.run_checks() if m.level >= checks.ERROR]
    if errors:
        sys.stderr.write("The worker cannot start:\n" + "\n".join(f"  {e}" for e in errors) + "\n")
        raise SystemExit(1)


@worker_process_init.connect
def _give_way_to_the_web(**kwargs):
    """A pool process (prefork: the analysis, the renditions) runs at a lower CPU priority than the web server, by
    MEDIALIB_WORKER_NICENESS (0: the same): on a machine that serves both, a page or an API answer waiting for the
    CPU gets it before a detector does, and the detectors still get every cycle nobody else wants."""
    from django.conf import settings

    niceness = getattr(settings, "MEDIALIB_WORKER_NICENESS", 0)
    if niceness > 0:
        try:
            os.nice(niceness)
        except OSError:  # not allowed here (a locked-down container): run at the usual priority
            pass
