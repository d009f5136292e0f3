"""Fixtures shared by the whole suite: isolated storage, users, uploads, and a real Celery worker."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parent.parent

# Hypothesis keeps what it found under var/, like everything else that runs here; no deadline on a noisy machine.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(ROOT / "var" / "hypothesis"))
hypothesis_settings.register_profile("medialib", deadline=None)
hypothesis_settings.load_profile("medialib")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test writes its files into its own folder."""
    root = tmp_path / "media"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": "/media/"},
        },
    }
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture(autouse=True)
def cache_cleared():
    """Rate-limit counters (and anything else cached) start from nothing in each test."""
    from django.core.cache import caches

    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture(autouse=True)
def broker_pause_reset():
    """A broker failure one test provokes must not make the next test's enqueues skip (medialib.queueing)."""
    from medialib.queueing import broker_pause_reset as reset

    reset()
    yield
    reset()


def stored_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="alice", password="alice-password-1")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="bob", password="bob-password-1")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="stella", password="stella-password-1", is_staff=True)


def upload_file(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


class WorkerProcess:
    """A `celery worker` subprocess on the configured broker, reading the test database."""

    def __init__(self, log_path: Path, env: dict):
        self.log_path = log_path
        self.env = env
        self.process = None

    def start(self, timeout=60):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "medialib", "worker", "--pool=solo", "--loglevel=INFO",
                "--queues=default,renditions,analysis", "--without-mingle", "--without-gossip",
                "--without-heartbeat",
            ],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The worker exited at start:\n{self.log_path.read_text()}")
            if " ready." in self.log_path.read_text():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"The worker did not start in {timeout}s:\n{self.log_path.read_text()}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text()


def _purge_queues():
    from medialib.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in ("default", "renditions", "analysis"):
            try:
                channel.queue_purge(queue)
            except Exception:  # a queue that was never declared has nothing to purge
                pass


@pytest.fixture
def celery_worker_env() -> dict:
    """Extra environment for the worker process; override this fixture in a module, e.g. {"TAGGING_BACKEND": "fake"}."""
    return {}


@pytest.fixture
def celery_worker_process(transactional_db, media_root, tmp_path, celery_worker_env):
    """A real worker process. Tests using it see its writes only through the database and the files."""
    from django.db import connection

    _purge_queues()
    env = {
        **os.environ,
        **celery_worker_env,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "MEDIALIB_WORKER_DB_NAME": str(connection.settings_dict["NAME"]),
        "MEDIALIB_MEDIA_ROOT": str(media_root),
    }
    worker = WorkerProcess(tmp_path / "worker.log", env).start()
    yield worker
    worker.stop()


def wait_for(predicate, timeout=30, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")


def pytest_sessionfinish(session, exitstatus):
    """Remove this run's var/ folder (see tests/settings.py); keep it when the run failed, to look at."""
    import shutil

    from django.conf import settings

    run_dir = Path(settings.VAR_DIR)
    if exitstatus == 0 and run_dir.name.startswith("run-") and os.getpid() == int(run_dir.name[4:]):
        shutil.rmtree(run_dir, ignore_errors=True)


def asset_upload(*, addons=(), auto_tagging=None, **kwargs):
    """medialib's asset_upload asking for add-ons the way the upload page and the API do (tagging's hook)."""
    from medialib.services import asset_upload as upload
    from tagging.services.analysis import analysis_on_upload

    return upload(on_create=analysis_on_upload(addons=addons, auto_tagging=auto_tagging), **kwargs)
