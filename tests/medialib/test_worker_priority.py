"""The worker's pool processes run nicer than the web server (MEDIALIB_WORKER_NICENESS, medialib/celery.py)."""
import os
import subprocess
import sys
import time

from tests.conftest import ROOT


def _niceness(pid: int) -> int:
    # /proc/<pid>/stat: the 19th field is the nice value; the command name (2nd) is in parentheses.
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16])


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        path = f"/proc/{pid}/task/{task}/children"
        if os.path.exists(path):
            found += [int(child) for child in open(path).read().split()]
    return found


def test_prefork_pool_processes_give_way_to_the_web(tmp_path):
    """A real prefork worker (as the Procfile and docker-compose run it): its pool process is
    MEDIALIB_WORKER_NICENESS nicer than the worker's main process (which only hands out the tasks)."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(DJANGO_SETTINGS_MODULE="medialib.settings", MEDIALIB_VAR_DIR=str(tmp_path),
               MEDIALIB_WORKER_NICENESS="7")
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "medialib", "worker", "--pool=prefork", "--concurrency=1",
             "--loglevel=INFO", "--without-mingle", "--without-gossip", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        # "ready" is logged by the main process; the pool process may still be starting.
        [child] = _children(worker.pid)
        while _niceness(child) - _niceness(worker.pid) != 7 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _niceness(child) - _niceness(worker.pid) == 7
    finally:
        worker.terminate()
        worker.wait(30)
