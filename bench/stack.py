"""The deployment's parts on their own, for benchmarks that measure through them (bench/upload_wait.py,
bench/webhooks.py): a throw-away PostgreSQL database on the local server, a Redis server of its own on a free port,
gunicorn with docker-compose.yml's arguments and the Procfile's workers, all stopped and removed afterwards.

Import it before Django is set up: `environment()` sets the variables every process reads; `Stack` starts them."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def wait_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None:
                raise SystemExit(log.read_text())
            time.sleep(0.2)
    raise SystemExit(f"port {port} never opened:\n{log.read_text()}")


def gunicorn_args() -> list[str]:
    """docker-compose.yml's gunicorn workers and threads."""
    line = next(line for line in (ROOT / "docker-compose.yml").read_text().splitlines() if "gunicorn medialib.wsgi" in line)
    args = re.findall(r"--(workers|threads|worker-class|timeout)[ =](\S+)", line)
    return [part for name, value in args for part in (f"--{name}", value.strip('"'))]


def worker_command(name: str = "worker") -> list[str] | None:
    """The Procfile's worker (or another of its processes), without its restarter; None if it has none so named."""
    line = next((line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith(f"{name}:")), None)
    return None if line is None else [sys.executable, "-m", *line.split("keep_running.py", 1)[1].split()]


class Stack:
    """One benchmark's database, Redis, web server and workers. `environment(**more)` before django.setup();
    `start()` creates the database, starts Redis, migrates, starts gunicorn and the workers; `stop()` ends them all
    and drops the database (also after a failure, when it prints the logs' last lines first)."""

    def __init__(self, name: str):
        self.var = Path(tempfile.mkdtemp(prefix=f"medialib-bench-{name}-"))
        self.db_name = f"bench_{name}_{os.getpid()}"
        self.redis_port = free_port()
        self.port = None
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def environment(self, **more: str) -> None:
        os.environ.update({
            "MEDIALIB_VAR_DIR": str(self.var), "MEDIALIB_MEDIA_ROOT": str(self.var / "media"),
            "DJANGO_SETTINGS_MODULE": "medialib.settings", "TAGGING_BACKEND": "local",
            "DATABASE_URL": f"{PG}/{self.db_name}", "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "SECRET_KEY": f"bench-{self.db_name}", "DEBUG": "false", "SECURE_SSL_REDIRECT": "false",
            "OMP_NUM_THREADS": "1", **more,
        })

    def _spawn(self, command: list[str], log_name: str) -> subprocess.Popen:
        log = self.var / log_name
        self.logs.append(log)
        process = subprocess.Popen(command, cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start(self, workers: tuple[str, ...] = ("worker",)) -> int:
        """Everything up; the web server's port."""
        import psycopg

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        redis = self._spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "",
                             "--appendonly", "no"], "redis.log")
        wait_port(self.redis_port, redis, self.logs[-1])
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
        self.port = free_port()
        web = self._spawn([sys.executable, "-m", "gunicorn", "medialib.wsgi", "--bind", f"127.0.0.1:{self.port}",
                           *gunicorn_args()], "gunicorn.log")
        wait_port(self.port, web, self.logs[-1])
        for name in workers:
            self._spawn(worker_command(name), f"{name}.log")
        return self.port

    def logs_print(self) -> None:
        for log in self.logs:
            if log.exists() and log.name != "redis.log":
                print(f"--- {log.name} (last lines)\n" + "\n".join(log.read_text().splitlines()[-40:]), file=sys.stderr)

    def stop(self) -> None:
        import psycopg
        from django.db import connections

        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        connections.close_all()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        shutil.rmtree(self.var, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is not None:
            self.logs_print()
        self.stop()
        return False
