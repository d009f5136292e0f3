"""Settings for the test suite: the app's own, with everything it writes kept under var/test/."""
import os
from pathlib import Path

# One folder per test run (its database, broker and files), so two runs on one machine never meet; the
# worker processes a run starts inherit it through the environment. Removed at the end of the run.
os.environ.setdefault(
    "MEDIALIB_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test" / f"run-{os.getpid()}")
)
# Under pytest-xdist (-n), each of the run's pytest processes (gw0, gw1...) gets a folder of its own inside the run's,
# and so its own test database, broker keys, cache and files; the worker processes it starts inherit that folder.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER and Path(os.environ["MEDIALIB_VAR_DIR"]).name != _XDIST_WORKER:
    os.environ["MEDIALIB_VAR_DIR"] = str(Path(os.environ["MEDIALIB_VAR_DIR"]) / _XDIST_WORKER)

from medialib.settings import *  # noqa: E402,F403
from medialib.settings import CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES, VAR_DIR  # noqa: E402

# This run's name (with its xdist process's: run_1234_gw0), the same in the worker processes it starts.
RUN = (f"{VAR_DIR.parent.name}_{VAR_DIR.name}" if _XDIST_WORKER else VAR_DIR.name).replace("-", "_")

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory: the worker and browser tests share the database with another process.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    # Its own test database, so that two runs against one server never flush each other's tables.
    # (pytest-django adds the xdist process's suffix itself: test_medialib_run_1234_gw0.)
    DATABASES["default"]["TEST"] = {"NAME": f"test_medialib_{VAR_DIR.parent.name if _XDIST_WORKER else VAR_DIR.name}"
                                    .replace("-", "_")}
if CELERY_BROKER_URL.startswith("redis"):
    # Its own keys on a shared Redis: another run's worker never takes this run's tasks.
    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": f"{RUN}:"}

# A worker process started by the tests reads the test database, whose name only the test run knows.
if os.environ.get("MEDIALIB_WORKER_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["MEDIALIB_WORKER_DB_NAME"]

# pytest-django runs with DEBUG off, as production does; production is given its key like this.
SECRET_KEY = "tests-only-secret-key-" + "x" * 40
SECRET_KEY_FROM_ENV = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
WHITENOISE_USE_FINDERS = True

# Threads of the live server must not keep connections open past their request: the test database
# is dropped at the end of the run, and PostgreSQL refuses while anyone is still connected.
DATABASES["default"]["CONN_MAX_AGE"] = 0

# Most tests run no worker: a g_face on an image nobody analysed queues the detection and crops without faces at
# once instead of waiting 10 s for nobody (tagging.services.gravity); the tests with a worker wait for it.
MEDIALIB_DELIVERY_FACES_WAIT_SECONDS = 0.0

# No worker in most tests: the API answers "pending" at once; tests with a worker raise it (in a server process
# they start, through this variable).
MEDIALIB_API_RESULT_WAIT_SECONDS = float(os.environ.get("MEDIALIB_TEST_API_RESULT_WAIT_SECONDS", "0"))
