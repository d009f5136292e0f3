"""Benchmark: uploads while the broker is down, and healing after faults, on a Redis broker of its own.

Run: .venv/bin/python bench/faults.py [--uploads 40] [--port 6392] [--heal]
Uses a throw-away SQLite database and media folder in a temporary directory, the fake detector, and its own
redis-server on --port (never the shared one), which it stops and starts to make the broker fail.

Without --heal: upload latency (asset_upload with the analysis add-on, each its own transaction so the
on-commit enqueues run, as in a request), broker up vs broker down (redis-server stopped).
With --heal as well: redis-server started again, a real worker (prefork, 2 processes, as the Procfile) and
beat; --uploads more uploads, the worker killed with SIGKILL (its whole process group) while it works on them,
a new worker started; then it waits until every asset has its renditions and a complete analysis (the uploads
made while the broker was down included: their enqueue failed) and prints lost (not done at the deadline),
doubled (rendition files beyond one per Rendition row), stuck (analyses still pending) and the minutes from
the kill to all done.
The sweeps' ages are set to 60 s here (TAGGING_SWEEP_AFTER_SECONDS, MEDIALIB_RENDITIONS_SWEEP_AFTER_SECONDS)
and the time limit to 60 s, so a run takes minutes; --default-ages keeps the settings' own (210 s).
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = tempfile.mkdtemp(prefix="medialib-faults-")
parser = argparse.ArgumentParser()
parser.add_argument("--uploads", type=int, default=40)
parser.add_argument("--port", type=int, default=6392)
parser.add_argument("--heal", action="store_true")
parser.add_argument("--deadline", type=float, default=600, help="seconds to wait for healing")
parser.add_argument("--outages", action="store_true",
                    help="with a worker running: the broker stopped for 60 s during uploads, then the database "
                         "refusing connections for 30 s (PostgreSQL through a TCP proxy this script runs)")
parser.add_argument("--proxy-port", type=int, default=6543)
parser.add_argument("--default-ages", action="store_true",
                    help="keep the settings' own time limit and sweep ages (210 s) instead of 60 s")
ARGS = parser.parse_args()
BROKER = f"redis://127.0.0.1:{ARGS.port}/0"
os.environ.update({
    "MEDIALIB_VAR_DIR": VAR, "DJANGO_SETTINGS_MODULE": "medialib.settings", "TAGGING_BACKEND": "fake",
    "CELERY_BROKER_URL": BROKER, "LOG_LEVEL": "ERROR",
})
if not ARGS.default_ages:
    os.environ.update({"TAGGING_TIME_LIMIT_SECONDS": "60", "TAGGING_SWEEP_AFTER_SECONDS": "60",
                       "MEDIALIB_RENDITIONS_SWEEP_AFTER_SECONDS": "60"})
os.environ.pop("DATABASE_URL", None)
PG_DATABASE = f"medialib_bench_faults_{os.getpid()}"
if ARGS.outages:
    # A database of its own on the local server, reached only through the proxy below (which it can cut).
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", PG_DATABASE], check=True)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{ARGS.proxy_port}/{PG_DATABASE}"

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402

from medialib.models import Asset, Rendition  # noqa: E402
try:
    from medialib.queueing import broker_pause_reset
except ImportError:  # the code before it (to measure the old behaviour)
    def broker_pause_reset():
        pass
from medialib.services import RENDITION_SPECS, asset_upload  # noqa: E402
from tagging.models import AnalysisResult  # noqa: E402
from tagging.services.analysis import analysis_on_upload  # noqa: E402
from tests import images  # noqa: E402

PROXY = None
HOOK = analysis_on_upload(addons=["aws_rek_tagging"], auto_tagging=0.5)


class Redis:
    def __init__(self, port):
        self.port, self.process = port, None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", VAR], stdout=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout == b"PONG\n":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Proxy:
    """A TCP proxy to PostgreSQL that can be cut: every open connection dropped and new ones refused."""

    def __init__(self, port, target=("127.0.0.1", 5432)):
        import socket
        import threading

        self.socket, self.threading, self.target = socket, threading, target
        self.cut = threading.Event()
        self.connections = []
        self.listener = socket.create_server(("127.0.0.1", port), reuse_port=True)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            if self.cut.is_set():
                client.close()  # refused: PostgreSQL "is down"
                continue
            try:
                server = self.socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.connections += [client, server]
            for a, b in ((client, server), (server, client)):
                self.threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(self.socket.SHUT_RDWR)
            except OSError:
                pass

    def down(self):
        self.cut.set()
        for connection in self.connections:
            try:
                connection.shutdown(self.socket.SHUT_RDWR)
            except OSError:
                pass
        self.connections = []

    def up(self):
        self.cut.clear()


def upload_tried(count, tag, pause=0.0):
    """Uploads during an outage: (latencies of those that worked, latencies of those refused)."""
    from django.db import close_old_connections

    done, refused = [], []
    for i in range(count):
        started = time.perf_counter()
        try:
            asset_upload(file=SimpleUploadedFile(f"{tag}-{i}.jpg", images.jpeg(640, 480), content_type="image/jpeg"),
                         on_create=HOOK)
            done.append(time.perf_counter() - started)
        except Exception:  # the database is down: the upload is refused (a 503 in a request)
            refused.append(time.perf_counter() - started)
            close_old_connections()
        time.sleep(pause)
    return done, refused


def wait_healed(since):
    deadline = since + ARGS.deadline
    while time.monotonic() < deadline:
        try:
            assets, with_renditions, complete, stuck = state()
        except Exception:
            from django.db import close_old_connections

            close_old_connections()
            time.sleep(2)
            continue
        if len(with_renditions) == len(complete) == len(assets):
            break
        time.sleep(2)
    return time.monotonic() - since


def report(title, since_fault):
    assets, with_renditions, complete, stuck = state()
    files = [p for p in (Path(VAR) / "media" / "renditions").rglob("*") if p.is_file()]
    originals = [p for p in (Path(VAR) / "media" / "originals").rglob("*") if p.is_file()]
    lost = len(set(assets) - (with_renditions & complete))
    doubled = len(files) - Rendition.objects.count()
    orphans = len(originals) - len(assets)
    print(f"{title}: assets {len(assets)}: lost {lost}, doubled {doubled} (extra rendition files), orphan originals "
          f"{orphans}, stuck {stuck} pending; all done {since_fault / 60:.1f} min after the fault ended")


def outages(redis):
    """Broker stopped 60 s, then the database cut 30 s, each while a worker and beat run."""
    worker, beat = start("worker"), start("beat")
    time.sleep(5)
    try:
        normal, _ = upload_tried(10, "normal")
        redis.stop()
        stopped = time.monotonic()
        during, refused = upload_tried(20, "broker-down", pause=2.5)
        while time.monotonic() - stopped < 60:
            time.sleep(0.5)
        redis.start()
        print(f"broker stopped 60 s: uploads {len(during)} done, {len(refused)} refused; latency {ms(during)} "
              f"(normal {ms(normal)}, {statistics.median(during) / statistics.median(normal):.2f}x)")
        report("broker outage", wait_healed(time.monotonic()))

        upload_tried(20, "before-db-cut")
        time.sleep(0.5)
        PROXY.down()
        cut = time.monotonic()
        during, refused = upload_tried(10, "db-down", pause=2.5)
        while time.monotonic() - cut < 30:
            time.sleep(0.5)
        PROXY.up()
        print(f"database cut 30 s: uploads {len(during)} done, {len(refused)} refused in {ms(refused)} each")
        report("database outage", wait_healed(time.monotonic()))
    finally:
        for process in (worker, beat):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)


def upload_many(count, tag):
    timings = []
    for i in range(count):
        started = time.perf_counter()
        asset_upload(file=SimpleUploadedFile(f"{tag}-{i}.jpg", images.jpeg(640, 480), content_type="image/jpeg"),
                     on_create=HOOK)
        timings.append(time.perf_counter() - started)
    return timings


def ms(values):
    return f"p50 {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"


def start(kind):
    log = open(Path(VAR) / f"{kind}.log", "a")
    command = [sys.executable, "-m", "celery", "-A", "medialib", kind, "--loglevel=WARNING"]
    if kind == "worker":
        command += ["--concurrency=2", "--queues=default,renditions,analysis"]
    else:
        command += ["--schedule", str(Path(VAR) / "beat-schedule")]
    return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def state():
    assets = list(Asset.objects.values_list("pk", flat=True))
    specs = len(RENDITION_SPECS)
    with_renditions = {a for a, n in _rendition_counts().items() if n >= specs}
    complete = set(AnalysisResult.objects.filter(status="complete").values_list("asset_id", flat=True))
    stuck = AnalysisResult.objects.filter(status="pending").count()
    return assets, with_renditions, complete, stuck


def _rendition_counts():
    counts = {}
    for asset_id in Rendition.objects.values_list("asset_id", flat=True):
        counts[asset_id] = counts.get(asset_id, 0) + 1
    return counts


def main():
    global PROXY
    if ARGS.outages:
        PROXY = Proxy(ARGS.proxy_port)
    call_command("migrate", verbosity=0)
    redis = Redis(ARGS.port)
    redis.start()
    try:
        if ARGS.outages:
            return outages(redis)
        up = upload_many(ARGS.uploads, "up")
        redis.stop()
        broker_pause_reset()
        down = upload_many(ARGS.uploads, "down")
        print(f"upload latency, broker up:   {ms(up)}")
        print(f"upload latency, broker down: {ms(down)}  ({statistics.median(down) / statistics.median(up):.2f}x)")
        if not ARGS.heal:
            return
        redis.start()
        worker, beat = start("worker"), start("beat")
        time.sleep(5)
        upload_many(ARGS.uploads // 2, "heal-a")
        # Kill the worker (every process of it, as a machine losing it would) while it works.
        time.sleep(0.5)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        upload_many(ARGS.uploads // 2, "heal-b")  # the broker queues them; nobody works
        worker = start("worker")
        last_fault = time.monotonic()
        deadline = last_fault + ARGS.deadline
        while time.monotonic() < deadline:
            assets, with_renditions, complete, stuck = state()
            if len(with_renditions) == len(complete) == len(assets):
                break
            time.sleep(2)
        healed = time.monotonic() - last_fault
        assets, with_renditions, complete, stuck = state()
        files = [p for p in (Path(VAR) / "media" / "renditions").rglob("*") if p.is_file()]
        lost = len(set(assets) - (with_renditions & complete))
        doubled = len(files) - Rendition.objects.count()
        print(f"assets {len(assets)}: lost {lost}, doubled {doubled} (extra rendition files), stuck {stuck} "
              f"pending; all done {healed / 60:.1f} min after the worker was killed")
        for process in (worker, beat):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
    finally:
        redis.stop()
        shutil.rmtree(VAR, ignore_errors=True)
        if ARGS.outages:
            from django.db import connections

            connections.close_all()
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", PG_DATABASE])


if __name__ == "__main__":
    main()
