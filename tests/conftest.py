"""Fixtures shared by the whole suite: isolated storage, users, uploads, and a real Celery worker."""
import os
import re
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
def media_root(settings, tmp_path, request):
    """Each test writes its files into its own folder; an empty one, the same each time, for the tests with a worker
    process (which is told the folder when it starts, and is kept from one such test to the next: WorkerPool)."""
    if "celery_worker_process" in request.fixturenames:
        import shutil

        root = Path(settings.VAR_DIR) / "worker-media"
        shutil.rmtree(root, ignore_errors=True)
    else:
        root = tmp_path / "media"
    root.mkdir(parents=True)
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
        self.log = None
        self._offset = 0  # output() starts here: what the worker wrote since mark()

    def start(self, timeout=60):
        self.log = open(self.log_path, "w")
        self._offset = 0
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
            time.sleep(0.1)
        raise RuntimeError(f"The worker did not start in {timeout}s:\n{self.log_path.read_text()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()

    def mark(self):
        """From now on output() shows only what the worker writes from here (the next test's part of the log)."""
        self._offset = self.log_path.stat().st_size if self.log_path.exists() else 0

    def output(self) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(self._offset)
            return log.read().decode(errors="replace")

    def busy(self) -> bool:
        """A task received (by the log) and not ended, or a message waiting on one of its queues."""
        started: dict[str, int] = {}
        for match in _TASK_LOG_LINE.finditer(self.output()):
            task_id = match.group("id") or match.group("revoked")
            started[task_id] = started.get(task_id, 0) + (1 if match.group("event") == "received" else -1)
        return any(n > 0 for n in started.values()) or _queued_messages() > 0

    def settle(self, timeout=10.0) -> bool:
        """Wait until the worker has finished all it was given (checked twice, 0.2 s apart); False if it has not."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline and self.alive():
            quiet = 0 if self.busy() else quiet + 1
            if quiet >= 2:
                return True
            time.sleep(0.2)
        return False


# The worker's INFO lines of a task: "Task name[id] received", "... succeeded in", "... retry:", "... raised
# unexpected:", "... ignored", and "Discarding revoked task: name[id]" for an expired one.
_TASK_LOG_LINE = re.compile(
    r"Task [\w.]+\[(?P<id>[0-9a-f-]{36})\] (?P<event>\w+)|Discarding revoked task: [\w.]+\[(?P<revoked>[0-9a-f-]{36})\]"
)
_QUEUES = ("default", "renditions", "analysis")


def _queued_messages() -> int:
    from medialib.celery import app

    try:
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            return sum(channel._size(queue) for queue in _QUEUES)
    except Exception:  # a transport without _size, or a queue never declared: the log alone says
        return 0


def _purge_queues():
    from medialib.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in _QUEUES:
            try:
                channel.queue_purge(queue)
            except Exception:  # a queue that was never declared has nothing to purge
                pass


class WorkerPool:
    """The one worker process of this pytest process, kept from one worker test to the next while they ask for the
    same environment (starting one costs ~3 s of CPU, and the first analysis loads the models again): each test
    still sees a worker with its module's environment, empty queues, an empty media folder and its own part of the
    log. A test that does not ask for a worker never has one running (it might take that test's tasks)."""

    def __init__(self):
        self.worker: WorkerProcess | None = None
        self.key = None

    def get(self, env: dict, log_path: Path) -> WorkerProcess:
        key = sorted((k, v) for k, v in env.items() if k not in _ENV_NOT_KEYED)
        if self.worker is not None and (key != self.key or not self.worker.alive()):
            self.stop()
        if self.worker is None:
            self.worker = WorkerProcess(log_path, env).start()
            self.key = key
        return self.worker

    def stop(self):
        if self.worker is not None:
            self.worker.stop()
        self.worker = self.key = None


_ENV_NOT_KEYED = {"PYTEST_CURRENT_TEST"}  # changes with every test; the worker never reads it
_POOL = WorkerPool()


@pytest.fixture(autouse=True)
def _no_worker_unless_asked(request):
    """A worker kept from an earlier test must not take the tasks of a test that runs none."""
    if "celery_worker_process" not in request.fixturenames:
        _POOL.stop()


@pytest.fixture(scope="session")
def celery_worker_pool(django_db_setup):
    """Stops the kept worker before the test database is dropped (it holds no connection between tasks)."""
    yield _POOL
    _POOL.stop()


def pytest_collection_modifyitems(items):
    """In each module, the tests with a worker run after the module's other transactional tests, one after another,
    so that they can share the worker process (WorkerPool). pytest-django's order (its hook runs first: tests in a
    transaction, then transactional ones, then the rest) is kept: only a module's consecutive tests are reordered.
    Every test still passes alone and in any order."""
    ordered, segment = [], []

    def flush():
        ordered.extend(i for i in segment if "celery_worker_process" not in getattr(i, "fixturenames", ()))
        groups: dict = {}  # those with the same fixtures (most likely the same worker environment) side by side
        for item in segment:
            if "celery_worker_process" in getattr(item, "fixturenames", ()):
                groups.setdefault(tuple(sorted(item.fixturenames)), []).append(item)
        ordered.extend(item for group in groups.values() for item in group)
        segment.clear()

    for item in items:
        if segment and getattr(segment[-1], "module", None) is not getattr(item, "module", None):
            flush()
        segment.append(item)
    flush()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # xdist (--dist loadfile) hands out whole files in this order: the long ones, with processes or a browser,
        # go first, so that no process is left alone with a long file at the end.
        modules: dict = {}
        for item in ordered:
            modules.setdefault(getattr(item, "module", None), []).append(item)
        slow = {"celery_worker_process", "browser", "live_server"}
        blocks = sorted(modules.values(), key=lambda block: not any(slow & set(i.fixturenames) for i in block))
        ordered = [item for block in blocks for item in block]
    items[:] = ordered


@pytest.fixture(autouse=True)
def migration_data(request):
    """What the data migrations put in the database (the Moderators group, tagging/migrations/0003) is there for
    every database test: a transactional test empties the tables when it ends, and under pytest-xdist a file's
    transactional tests can run before another file's tests in a transaction (pytest-django orders only within one
    process's list, xdist hands out whole files)."""
    names = set(request.fixturenames)
    if not (request.node.get_closest_marker("django_db") or names & {"db", "transactional_db", "live_server"}):
        return
    if not request.node.get_closest_marker("django_db"):  # the database fixture is asked for by name: set it up now
        request.getfixturevalue("transactional_db" if names & {"transactional_db", "live_server"} else "db")
    from importlib import import_module

    from django.contrib.auth.models import Group, Permission

    migration = import_module("tagging.migrations.0003_moderators_group")
    if not Group.objects.filter(name=migration.GROUP).exists():
        group = Group.objects.create(name=migration.GROUP)
        for app_label, codename in migration.PERMISSIONS:  # made again by the flush's post_migrate
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


@pytest.fixture
def celery_worker_env() -> dict:
    """Extra environment for the worker process; override this fixture in a module, e.g. {"TAGGING_BACKEND": "fake"}."""
    return {}


@pytest.fixture
def celery_worker_process(transactional_db, media_root, celery_worker_env, celery_worker_pool):
    """A real worker process. Tests using it see its writes only through the database and the files."""
    from django.conf import settings
    from django.db import connection

    _purge_queues()
    env = {
        **os.environ,
        **celery_worker_env,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "MEDIALIB_WORKER_DB_NAME": str(connection.settings_dict["NAME"]),
        "MEDIALIB_MEDIA_ROOT": str(media_root),
    }
    worker = celery_worker_pool.get(env, Path(settings.VAR_DIR) / "worker.log")
    worker.mark()
    yield worker
    # Done with everything this test gave it (a retry's countdown, say) before the tables are emptied; one that is
    # still busy is stopped, as every worker used to be after its test.
    if worker.alive() and not worker.settle():
        celery_worker_pool.stop()


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
