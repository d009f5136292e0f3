"""Benchmark: the people page (/people/) on PostgreSQL with a seeded library, beside main's page that clustered the
unnamed faces on every view, in the same run.

Run (a separate database, never the test one):
    createdb -h 127.0.0.1 -U postgres medialib_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/medialib_bench
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_library --assets 1000000 --no-refresh
    .venv/bin/python bench/pages.py [--unnamed-share 0.02] [--reference /work/main] [--runs 40] [--clients 16]

It adds unnamed faces with embeddings to the seeded photos (once: `--unnamed-share` of each seed uploader's
photos, look-alikes of a few hundred made-up people per uploader), then measures:
- the worker's side: one full regrouping of every owner (the `face_groups` command), and one regrouping after a
  face changed (what the task does after an analysis or a naming);
- main's clustering function (selectors.unnamed_face_groups before this change, copied below) on the same faces,
  in this process: the work the old page did on every view;
- /people/ under gunicorn (4 sync workers) as one seed uploader, logged in: one client `--runs` times, then
  `--clients` clients at once (3 rounds); the server's time per request from gunicorn's access log (%(D)s) and
  the client's, p50/p95; for this tree and, with `--reference`, another checkout (main) on the same database,
  served at the same time and taking turns, so that the machine's load weighs on both alike.
The page's sections come from the cache (tagging.people_cache: Redis when CACHE_URL is set, else a file cache
under MEDIALIB_VAR_DIR) while nothing changes, as between the views of a steady library; the in-process lines also
give the CPU time of a view from the cache and of the first view after a change (the cache's version bumped), and
last phases under gunicorn have every view of this tree follow a change (the library changing all the time): of
both parts of the page (a naming), then of the unnamed faces' part only (an analysis, the worker's regrouping).
"""
import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medialib.settings")
os.environ.setdefault("MEDIALIB_VAR_DIR", "/tmp/medialib-bench-pages")
os.environ.update({"DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1,testserver", "SECRET_KEY": "bench-only-" + "x" * 40})
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("Set DATABASE_URL to a PostgreSQL database seeded with manage.py seed_library.")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402

from medialib.models import Asset  # noqa: E402
from tagging.models import Face  # noqa: E402
from tagging.services import face_groups  # noqa: E402

BENCH_BACKEND = "bench-unnamed"
VAR = Path(os.environ["MEDIALIB_VAR_DIR"])


def percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    q = statistics.quantiles(values, n=20, method="inclusive")
    return statistics.median(values), q[18]


def unnamed_faces_seed(share: float, seed: int = 17) -> int:
    """Unnamed faces with embeddings on `share` of each seed uploader's photos, once; returns how many there are."""
    existing = Face.objects.filter(backend=BENCH_BACKEND).count()
    if existing:
        return existing
    rng = np.random.default_rng(seed)
    faces = []
    for user in get_user_model().objects.filter(username__startswith="seed-uploader-").order_by("pk"):
        ids = np.array(Asset.objects.filter(uploaded_by=user).values_list("pk", flat=True))
        if not len(ids):
            continue
        chosen = rng.choice(ids, size=max(2, int(len(ids) * share)), replace=False)
        identities = 300
        centres = rng.normal(size=(identities, 128))
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        weights = 1 / np.arange(1, identities + 1) ** 1.1
        who = rng.choice(identities, size=len(chosen), p=weights / weights.sum())
        embeddings = centres[who] + rng.normal(scale=0.02, size=(len(chosen), 128))  # ~0.3 apart: look-alikes
        faces += [Face(asset_id=int(asset_id), index=1, left=0.6, top=0.2, width=0.15, height=0.2, confidence=98.0,
                       landmarks=[], backend=BENCH_BACKEND, embedding=[round(float(x), 4) for x in embedding])
                  for asset_id, embedding in zip(chosen, embeddings)]
    # In the order photos of several uploaders are analysed: mixed, by photo.
    faces.sort(key=lambda face: face.asset_id)
    Face.objects.bulk_create(faces, batch_size=2000)
    made = len(faces)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Face._meta.db_table}")
    return made


def old_unnamed_face_groups(*, user, limit: int = 500, threshold: float = 0.5) -> list[list]:
    """main's tagging.selectors.unnamed_face_groups, as the page ran it on every view before the worker did."""
    faces = Face.objects.filter(person__isnull=True).select_related("asset").order_by("-pk")
    if not user.is_staff:
        faces = faces.filter(asset__uploaded_by=user)
    faces = list(faces[:limit])
    with_embedding = [f for f in faces if f.embedding]
    groups: dict[int, list] = {}
    if len(with_embedding) > 1:
        import dlib

        labels = dlib.chinese_whispers_clustering([dlib.vector(f.embedding) for f in with_embedding], threshold)
        for face, label in zip(with_embedding, labels):
            groups.setdefault(label, []).append(face)
    else:
        groups = {i: [f] for i, f in enumerate(with_embedding)}
    result = sorted(groups.values(), key=lambda g: (-len(g), -g[0].pk))
    result += [[f] for f in faces if not f.embedding]
    return result


def timed(function, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def cpu_timed(function, runs: int) -> list[float]:
    """This process's CPU time per call, ms: what the machine's other load changes least."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        function()
        times.append((time.process_time() - start) * 1000)
    return times


def session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"sessionid={session.session_key}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


GUNICORN_CONFIG = '''
workers = 4
worker_class = "sync"
timeout = 300
accesslog = {accesslog!r}
access_log_format = "%(U)s %(s)s %(D)s"
'''


class Server:
    """gunicorn serving one checkout on a free port, with its own access log."""

    def __init__(self, tree: Path, cookie: str):
        VAR.mkdir(parents=True, exist_ok=True)
        self.tree, self.cookie, name = tree, cookie, tree.name
        self.accesslog, config = VAR / f"access-{name}.log", VAR / f"gunicorn-{name}.py"
        config.write_text(GUNICORN_CONFIG.format(accesslog=str(self.accesslog)))
        self.accesslog.unlink(missing_ok=True)
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=str(tree), PYTHONPYCACHEPREFIX=str(VAR / f"pycache-{name}"))
        self.log = open(VAR / f"gunicorn-{name}.log", "w")
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "medialib.wsgi", "-c", str(config),
                                         "--bind", f"127.0.0.1:{self.port}"], cwd=tree, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"gunicorn from {tree} stopped: see {self.log.name}")
                time.sleep(0.2)
        for _ in range(8):  # every worker imports the app and warms its connection
            self.get()

    def get(self) -> float:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        start = time.perf_counter()
        conn.request("GET", "/people/", headers={"Cookie": self.cookie, "Host": "127.0.0.1",
                                                  "X-Forwarded-Proto": "https"})
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        conn.close()
        if response.status != 200 or b"Who are these?" not in body:
            raise SystemExit(f"/people/ from {self.tree} answered {response.status}: {body[:300]!r}")
        return elapsed

    def mark(self) -> int:
        time.sleep(0.3)  # the access log is written after the response
        return len(self.accesslog.read_text().splitlines())

    def server_ms(self, since: int) -> list[float]:
        time.sleep(0.3)
        lines = self.accesslog.read_text().splitlines()[since:]
        return [int(line.split()[2]) / 1000 for line in lines if line.startswith("/people/ 200")]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def measure(servers: dict, *, runs: int, clients: int, per_client: int, rounds: int = 3) -> dict:
    """{label: {"single": (server ms, client ms), "parallel": (...)}}. The trees take turns (one request each, or
    one round of `clients` at once each), so that the load of the machine weighs on all of them alike."""
    results = {label: {} for label in servers}
    marks = {label: server.mark() for label, server in servers.items()}
    client_ms = {label: [] for label in servers}
    for _ in range(runs):
        for label, server in servers.items():
            client_ms[label].append(server.get())
    for label, server in servers.items():
        results[label]["single"] = (server.server_ms(marks[label]), client_ms[label])
    marks = {label: server.mark() for label, server in servers.items()}
    client_ms = {label: [] for label in servers}
    for _ in range(rounds):
        for label, server in servers.items():
            lock = threading.Lock()

            def client(server=server, label=label):
                mine = [server.get() for _ in range(per_client)]
                with lock:
                    client_ms[label].extend(mine)

            threads = [threading.Thread(target=client) for _ in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    for label, server in servers.items():
        results[label]["parallel"] = (server.server_ms(marks[label]), client_ms[label])
    return results


def measure_after_changes(server, *, runs: int, faces_only: bool = False) -> tuple[list[float], list[float]]:
    """One client, each view the first after a change (the cache's versions bumped before it, as a naming does; or,
    `faces_only`, the faces part's alone, as an analysis storing unnamed faces or the worker's regrouping does):
    what the page costs while the library keeps changing. (server ms, client ms)"""
    from tagging import people_cache

    mark, client_ms = server.mark(), []
    for _ in range(runs):
        if faces_only:
            people_cache._bump_part_now(people_cache.FACES)
        else:
            people_cache._bump_now()
        client_ms.append(server.get())
    return server.server_ms(mark), client_ms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--unnamed-share", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=3, help="requests per client in each of 3 rounds")
    parser.add_argument("--reference", type=Path, default=None, help="another checkout to serve the same way (main)")
    args = parser.parse_args()

    photos = Asset.objects.count()
    faces = unnamed_faces_seed(args.unnamed_share)
    user = get_user_model().objects.filter(username__startswith="seed-uploader-").order_by("pk").first()
    mine = Face.objects.filter(person__isnull=True, asset__uploaded_by=user).count()
    print(f"{photos:,} photos, {Face.objects.count():,} faces ({faces:,} unnamed with embeddings); "
          f"as {user.username}: {mine:,} unnamed faces of theirs")

    rebuild = timed(lambda: face_groups.face_groups_rebuild(), 1)[0]
    owners = len(face_groups.owner_keys_all())
    key = user.pk
    face = Face.objects.filter(person__isnull=True, asset__uploaded_by=user).order_by("-pk").first()

    def one_change():
        face_groups.face_groups_touch(owner_ids=[key])  # outside a transaction: on_commit runs now, queues a task
        face_groups.face_groups_refresh(owner_key=key)

    from unittest import mock

    with mock.patch("tagging.services.face_groups._refresh_enqueue"):
        incremental = timed(one_change, 10)
    old = timed(lambda: old_unnamed_face_groups(user=user), 10)
    from django.test import Client

    client = Client()
    client.force_login(user)
    client.get("/people/", secure=True)
    page = timed(lambda: client.get("/people/", secure=True), 20)
    cpu_hit = cpu_timed(lambda: client.get("/people/", secure=True), 20)
    from tagging import people_cache

    def miss():  # what the first view after a change costs (a naming, a regrouping: the version moved on)
        people_cache.bump()
        client.get("/people/", secure=True)

    cpu_miss = cpu_timed(miss, 20)

    def faces_miss():
        people_cache._bump_part_now(people_cache.FACES)
        client.get("/people/", secure=True)

    cpu_faces_miss = cpu_timed(faces_miss, 20)
    print(f"worker: full regrouping of {owners} owners {rebuild:.0f} ms; after one change (touch + regroup one "
          f"owner's window of {face_groups.settings.TAGGING_FACE_GROUPS_WINDOW}) p50 {percentiles(incremental)[0]:.1f} "
          f"ms, p95 {percentiles(incremental)[1]:.1f} ms (face {face.pk})")
    print(f"main's per-view clustering (unnamed_face_groups) in this process: p50 {percentiles(old)[0]:.1f} ms, "
          f"p95 {percentiles(old)[1]:.1f} ms")
    print(f"this tree's /people/ in this process (Django's test client): min {min(page):.1f} ms, "
          f"p50 {percentiles(page)[0]:.1f} ms, p95 {percentiles(page)[1]:.1f} ms")
    print(f"this tree's /people/ in this process, CPU time per view: cached p50 {percentiles(cpu_hit)[0]:.1f} ms, "
          f"p95 {percentiles(cpu_hit)[1]:.1f} ms; first view after a change (cache version bumped) p50 "
          f"{percentiles(cpu_miss)[0]:.1f} ms, p95 {percentiles(cpu_miss)[1]:.1f} ms; after a change of unnamed faces "
          f"only p50 {percentiles(cpu_faces_miss)[0]:.1f} ms, p95 {percentiles(cpu_faces_miss)[1]:.1f} ms")

    cookie = session_cookie(user)
    trees = [("this tree", ROOT)] + ([("reference " + str(args.reference), args.reference)] if args.reference else [])
    servers = {}
    try:
        for label, tree in trees:
            servers[label] = Server(tree, cookie)
        results = measure(servers, runs=args.runs, clients=args.clients, per_client=args.per_client)
        changed = measure_after_changes(servers["this tree"], runs=args.runs)
        faces_changed = measure_after_changes(servers["this tree"], runs=args.runs, faces_only=True)
    finally:
        for server in servers.values():
            server.stop()
    print(f"\n/people/ under gunicorn (4 sync workers), {photos:,} photos, server time from the access log "
          f"(client time in brackets), ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'tree':<28} {'1 client p50':>16} {'1 client p95':>16} {f'{args.clients} clients p50':>18} "
          f"{f'{args.clients} clients p95':>18}")
    for label, phases in results.items():
        cells = []
        for phase in ("single", "parallel"):
            server, client = phases[phase]
            (s50, s95), (c50, c95) = percentiles(server), percentiles(client)
            cells += [f"{s50:.1f} ({c50:.1f})", f"{s95:.1f} ({c95:.1f})"]
        print(f"{label:<28} {cells[0]:>16} {cells[1]:>16} {cells[2]:>18} {cells[3]:>18}")
    phases = (("a change of both parts (a naming)", changed),
              ("a change of unnamed faces (an analysis, a regrouping)", faces_changed))
    for what, (server_times, client_times) in phases:
        (s50, s95), (c50, c95) = percentiles(server_times), percentiles(client_times)
        print(f"this tree, 1 client, every view the first after {what}: "
              f"p50 {s50:.1f} ({c50:.1f}), p95 {s95:.1f} ({c95:.1f})")
    if args.reference:
        ours, ref = results["this tree"], results["reference " + str(args.reference)]
        for phase in ("single", "parallel"):
            ratio = percentiles(ref[phase][0])[1] / max(percentiles(ours[phase][0])[1], 1e-6)
            print(f"ratio of p95 server time, reference / this tree, {phase}: {ratio:.1f}x")


if __name__ == "__main__":
    main()
