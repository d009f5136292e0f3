"""Benchmark: the analysis pipeline through a real Celery worker, against the models alone.

Run: .venv/bin/python bench/analysis.py [--repeat 2] [--big 4]
     .venv/bin/python bench/analysis.py --faces-sets [--workers 2] [--repeat 6] [--reference /work/wt-ref]
         [--renditions] [--detectors yunet,hog] [--broker redis://127.0.0.1:6379/11] [--database postgres://...]
--faces-sets (issue 16): 12 MP photos with 0, 2 and 7 faces (dogs.jpg, two_people.jpg, 2007_007763.jpg upscaled),
both add-ons, through WORKERS real Celery worker processes (solo pool each, one ONNX thread), and the same sets
through the workers of --reference (a worktree of main: `git worktree add --detach /work/wt-ref main` and a .venv
link) in the same run, for ratios on a shared machine. Beside photos/s (wall clock) it prints the worker processes'
CPU seconds per photo (utime+stime from /proc, less what they burn idle) and the model-only CPU time measured in
this process on the image the task decodes: overhead = worker CPU / model CPU - 1, and WORKERS / worker CPU per
photo is the rate on idle cores, both much less sensitive to other people's load than photos/s. --renditions: the
workers also take the renditions queue and a photo counts once its thumbnails, page renditions and face crops are
made (production's worker does all of it). --broker / --database: run on Redis / PostgreSQL (as production does)
instead of the throw-away filesystem broker and SQLite file (kombu's filesystem transport polls every 0.1 s, and
SQLite serialises the workers' writes: both add wall time that production does not have).
Without --faces-sets: a throw-away SQLite database, broker and media folder in a temporary directory, one worker
process on the `analysis` queue only (solo pool, the local backend with its default one ONNX thread; thumbnails
belong to the `renditions` queue and are not made here), and the photos of tests/photos.
Prints: images per second through the worker, upload-to-complete latency p50/p95, the model-only time
per image measured in this process on the same decoded images, the pipeline's overhead as a ratio of
model time, and the time to decode a 12 MP JPEG for analysis.
"""
import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = tempfile.mkdtemp(prefix="medialib-bench-")
os.environ.update({"MEDIALIB_VAR_DIR": VAR, "DJANGO_SETTINGS_MODULE": "medialib.settings", "TAGGING_BACKEND": "local"})
for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
    os.environ.pop(name, None)
# Read before Django starts: the workers and this process must share them.
for flag, name in (("--broker", "CELERY_BROKER_URL"), ("--database", "DATABASE_URL")):
    if flag in sys.argv[:-1]:
        os.environ[name] = sys.argv[sys.argv.index(flag) + 1]

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from PIL import Image  # noqa: E402

from fixture_photos import fixtures, upscaled  # noqa: E402

from medialib.services import asset_upload  # noqa: E402
from tagging.backends import backend_for  # noqa: E402
from tagging.images import analysis_image  # noqa: E402
from tagging.models import AnalysisResult  # noqa: E402
from tagging.services.analysis import analysis_on_upload  # noqa: E402

ADDONS = ["aws_rek_tagging", "aws_rek_face"]
BOTH = analysis_on_upload(addons=ADDONS, auto_tagging=None)


def photos(big: int) -> list[tuple[str, bytes]]:
    found = fixtures()
    return found + [upscaled(name, data) for name, data in found[:big]]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def tree_cpu_seconds(pids) -> float:
    """utime + stime of these processes and every live descendant, plus what their reaped children used (/proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))  # fields[1]: the parent's pid
    total, todo = 0, list(pids)
    while todo:
        pid = todo.pop()
        fields = stats.get(pid)
        if fields is None:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
        todo += children.get(pid, [])
    return total / tick


def worker_run(items, workers: int = 1, env: dict | None = None, single_runs: int = 8, *, cwd: Path = ROOT,
               queues: str = "analysis", renditions: bool = False, uploaded_first: bool = False) -> tuple:
    """Upload `items` with both add-ons and wait for their results (and, with `renditions`, their thumbnails, page
    renditions and face crops) from `workers` solo Celery processes run from the source tree `cwd`.

    Returns (elapsed s, latencies, one-at-a-time latencies, the workers' CPU seconds over the timed uploads, less
    what they burn idle).
    """
    procs = []
    for n in range(workers):
        log = open(Path(VAR) / f"worker{n}.log", "w")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "medialib", "worker", "--pool=solo", "--loglevel=WARNING",
             f"--queues={queues}", "--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"bench{n}@%h"],
            cwd=cwd, env={**os.environ, "PYTHONPATH": str(cwd), **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
        ))
    pids = [p.pid for p in procs]
    try:
        # Every worker loads its models (and renders a first photo) before the clock starts.
        warm = [asset_upload(file=SimpleUploadedFile("warm.jpg", items[0][1]), on_create=BOTH)
                for _ in range(2 * workers)]
        wait(lambda: all_done(warm, renditions), 300)
        time.sleep(0.5)  # the last task's bookkeeping
        # What idle workers burn: kombu's filesystem transport polls its folder every 0.1 s (Redis would block in
        # BRPOP instead), subtracted below at this rate over the timed run.
        idle_start, idle_cpu = time.perf_counter(), tree_cpu_seconds(pids)
        time.sleep(3)
        idle_rate = (tree_cpu_seconds(pids) - idle_cpu) / (time.perf_counter() - idle_start)
        if uploaded_first:
            # The uploads (their validation decode, hash and storage write: the web's work) before the clock; the
            # timed run is the workers' alone, from the analyses being asked for to the last result.
            assets = [asset_upload(file=SimpleUploadedFile(name, data)) for name, data in items]
        cpu_before = tree_cpu_seconds(pids)
        start = time.perf_counter()
        if uploaded_first:
            for asset in assets:
                with transaction.atomic():
                    BOTH(asset)
        else:
            assets = [asset_upload(file=SimpleUploadedFile(name, data), on_create=BOTH) for name, data in items]
        wait(lambda: all_done(assets, renditions, pending_only=True), 900)
        elapsed = time.perf_counter() - start
        cpu = tree_cpu_seconds(pids) - cpu_before - idle_rate * elapsed
        failed = AnalysisResult.objects.filter(asset__in=assets, status="failed")
        if failed:
            print("FAILED:", [(r.asset.original_filename, r.error) for r in failed])
        latencies = []
        for asset in assets:
            rows = AnalysisResult.objects.filter(asset=asset)
            latencies.append(max((r.completed_at - r.requested_at).total_seconds() for r in rows))
        # One at a time, on an idle worker: the latency a person sees after an upload.
        single = []
        for name, data in items[: min(len(items), single_runs)]:
            asset = asset_upload(file=SimpleUploadedFile(name, data), on_create=BOTH)
            wait(lambda: AnalysisResult.objects.filter(asset=asset, status="complete").count() == 2, 120)
            rows = AnalysisResult.objects.filter(asset=asset)
            single.append(max((r.completed_at - r.requested_at).total_seconds() for r in rows))
        return elapsed, latencies, single, cpu
    finally:
        for worker in procs:
            worker.terminate()
        for worker in procs:
            worker.wait(30)


def all_done(assets, renditions: bool, pending_only: bool = False) -> bool:
    """Both add-ons written (complete, or failed when pending_only), and with `renditions` every rendition the
    upload and its faces queue: the thumbnails, the pages' renditions and the people page's face crops."""
    results = AnalysisResult.objects.filter(asset__in=assets)
    done = results.exclude(status="pending") if pending_only else results.filter(status="complete")
    if done.count() != 2 * len(assets):
        return False
    if not renditions:
        return True
    from medialib.models import Asset, DeliveredRendition
    from medialib.page_images import eager_transformations
    from tagging.models import Face

    if Asset.objects.filter(pk__in=[a.pk for a in assets], renditions_missing=True).exists():
        return False
    for asset in assets:
        wanted = len(eager_transformations(asset=asset, faces=Face.objects.filter(asset=asset)))
        if DeliveredRendition.objects.filter(asset=asset).exclude(file="").count() < wanted:
            return False
    return True


def wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out; see {VAR}/worker.log")
        time.sleep(0.05)


def model_only(items, backend=None, objects_times: list | None = None, cpu_times: list | None = None) -> list[float]:
    """Per image: the detectors alone (labels incl. faces for Person, faces), on the image the task decodes.

    objects_times, if given, gets YOLOv3-tiny's part (letterbox, model, decoding) timed apart on the same image;
    cpu_times the CPU seconds (this process, every thread) of the detectors.
    """
    backend = backend or backend_for("aws_rek_tagging")
    times = []
    for name, data in items:
        asset = asset_upload(file=SimpleUploadedFile(name, data))
        image = analysis_image(asset, max_pixels=backend.decode_size(ADDONS))
        cpu, start = time.process_time(), time.perf_counter()
        backend.labels(image)
        backend.faces(image)
        times.append(time.perf_counter() - start)
        if cpu_times is not None:
            cpu_times.append(time.process_time() - cpu)
        if objects_times is not None:
            from tagging.backends.local.objects import object_model

            start = time.perf_counter()
            object_model().detect(image.image)
            objects_times.append(time.perf_counter() - start)
    return times


def decode_times(data: bytes, max_pixels, runs=7) -> float:
    asset = asset_upload(file=SimpleUploadedFile("big.jpg", data))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        analysis_image(asset, max_pixels=max_pixels)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def big_photo(name: str) -> tuple[str, bytes]:
    with Image.open(ROOT / "tests" / "photos" / name) as image:
        scale = (12e6 / (image.width * image.height)) ** 0.5
        large = image.convert("RGB").resize((round(image.width * scale), round(image.height * scale)))
    out = io.BytesIO()
    large.save(out, "JPEG", quality=90)
    return f"12MP-{name}", out.getvalue()


def faces_sets(workers: int, repeat: int, *, detectors=("yunet",), reference: Path | None = None,
               renditions: bool = False, threads: int = 1, uploaded_first: bool = False) -> None:
    """12 MP photos with 0, 2 and 7 faces through real workers, with the workers' CPU time beside the wall time.

    The CPU seconds per photo are read from /proc (every worker process and its children, over the timed uploads):
    unlike photos/s they hardly move with other people's load, and `workers / CPU s per photo` is the rate the
    workers would reach on `workers` idle cores. Overhead = (worker CPU per photo - model-only CPU) / model-only CPU.
    `reference`: a source tree (a worktree of main) whose workers run the same sets in the same run, for ratios.
    """
    from tagging.backends.local import LocalBackend

    sets = {0: big_photo("dogs.jpg"), 2: big_photo("two_people.jpg"), 7: big_photo("2007_007763.jpg")}
    trees = [("this", ROOT)] + ([("ref", reference)] if reference else [])
    queues = "analysis,renditions" if renditions else "analysis"
    from django.conf import settings

    print(f"broker {settings.CELERY_BROKER_URL.split('://')[0]}, database {settings.DATABASES['default']['ENGINE']}")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; 12 MP photos, both add-ons, {workers} worker processes "
          f"(solo, TAGGING_LOCAL_THREADS={threads}) on queues {queues}, {repeat} uploads per set after a warm-up"
          + ("; uploaded before the clock starts, the analyses asked for on it" if uploaded_first else
             "; uploaded by this process while the clock runs"))
    print("trees: " + ", ".join(f"{label} = {path}" for label, path in trees))
    print("photos/s: wall clock, moves with the machine's other load; worker CPU: utime+stime of the worker processes "
          "per photo, less what they burn idle (the filesystem broker's polling); CPU-bound photos/s = workers / "
          "worker CPU per photo (what idle cores would give); model CPU: "
          "labels + faces on the decoded image, in this process; overhead = worker CPU / model CPU - 1")
    print("| tree | detector | faces | photos/s | worker CPU s/photo | CPU-bound photos/s | x ref | model CPU ms/photo "
          "| of which YOLOv3-tiny ms | overhead % (CPU) | overhead % (wall) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    results = {}
    for detector in detectors:
        backend = LocalBackend(threads=1, face_detector=detector)  # model CPU: one thread, the least CPU
        model_only([sets[0]], backend)  # load the models
        env = {"TAGGING_LOCAL_FACE_DETECTOR": detector, "TAGGING_LOCAL_THREADS": str(threads)}
        for n, item in sets.items():
            yolo, model_cpu = [], []
            models = model_only([item] * 3, backend, yolo, model_cpu)
            model, cpu_model = statistics.median(models), statistics.median(model_cpu)
            for label, tree in trees:
                elapsed, _, _, cpu = worker_run([item] * repeat, workers, env, single_runs=0, cwd=tree,
                                                queues=queues, renditions=renditions, uploaded_first=uploaded_first)
                rate, cpu_photo = repeat / elapsed, cpu / repeat
                bound = workers / cpu_photo
                results[label, detector, n] = bound
                ref = results.get(("ref", detector, n))
                ratio = f"{bound / ref:.2f}" if ref else ""
                wall_overhead = (workers * elapsed / repeat - model) / model * 100
                print(f"| {label} | {detector} | {n} | {rate:.2f} | {cpu_photo:.3f} | {bound:.2f} | {ratio} "
                      f"| {cpu_model * 1000:.0f} | {statistics.median(yolo) * 1000:.0f} "
                      f"| {(cpu_photo - cpu_model) / cpu_model * 100:.0f} | {wall_overhead:.0f} |", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1, help="Upload the photo set this many times.")
    parser.add_argument("--big", type=int, default=4, help="How many 12 MP upscaled photos to add.")
    parser.add_argument("--faces-sets", action="store_true", help="12 MP with 0, 2, 7 faces, YuNet beside HOG")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--detectors", default="yunet", help="--faces-sets: comma-separated, of yunet, hog, cnn")
    parser.add_argument("--reference", type=Path, help="--faces-sets: a source tree (a worktree of main, with its "
                        "own .venv link) whose workers run the same sets in the same run, for honest ratios")
    parser.add_argument("--threads", type=int, default=1, help="--faces-sets: the workers' TAGGING_LOCAL_THREADS")
    parser.add_argument("--broker", help="--faces-sets: a Redis URL of your own (its queues are purged first)")
    parser.add_argument("--database", help="--faces-sets: a PostgreSQL URL of your own database (migrated)")
    parser.add_argument("--renditions", action="store_true", help="--faces-sets: the workers also take the "
                        "renditions queue, and each photo counts once its thumbnails, page renditions and face "
                        "crops are made too (the production worker's whole job)")
    parser.add_argument("--uploaded-first", action="store_true", help="--faces-sets: upload the photos before the "
                        "clock starts and ask for their analyses on it, so the timed run is the workers' alone (not "
                        "this process's uploads on the same cores)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if args.broker:
        from medialib.celery import app

        with app.connection_for_write() as connection:  # what an earlier run left queued
            for queue in ("default", "renditions", "analysis"):
                connection.default_channel.queue_purge(queue)
    if args.faces_sets:
        faces_sets(args.workers, max(2, args.repeat), detectors=args.detectors.split(","), reference=args.reference,
                   renditions=args.renditions, threads=args.threads, uploaded_first=args.uploaded_first)
        return
    items = photos(args.big) * args.repeat
    small = [i for i in items if not i[0].startswith("12MP")]
    big = [i for i in items if i[0].startswith("12MP")]

    backend = backend_for("aws_rek_tagging")
    model_only(items[:1])  # load the models once, as the worker does
    print(f"photos: {len(small)} fixture photos (0.1-1 MP) + {len(big)} upscaled to 12 MP; worker: 1 process, solo")
    for label, group in (("fixture photos", small), ("12 MP photos", big)):
        if not group:
            continue
        models = model_only(group)
        elapsed, latencies, single, _ = worker_run(group)
        per_image = elapsed / len(group)
        model = statistics.mean(models)
        print(f"\n{label} ({len(group)} images)")
        print(f"  through the worker: {len(group) / elapsed:.2f} images/s ({per_image * 1000:.0f} ms per image)")
        print(f"  upload-to-complete latency: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
              f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms (all uploaded at once, so it includes queueing)")
        print(f"  one upload at a time: p50 {percentile(single, 0.5) * 1000:.0f} ms, "
              f"p95 {percentile(single, 0.95) * 1000:.0f} ms ({len(single)} uploads)")
        print(f"  model-only time: {model * 1000:.0f} ms per image (median {statistics.median(models) * 1000:.0f} ms)")
        print(f"  pipeline overhead: {(per_image - model) / model * 100:.1f}% of model time")
    if big:
        data = big[0][1]
        print("\ndecode of a 12 MP JPEG for analysis (EXIF-oriented RGB):")
        print(f"  labels only (draft to {backend.decode_size([]):,} px): {decode_times(data, backend.decode_size([])):.1f} ms")
        print(f"  labels + faces (draft to {backend.decode_size(ADDONS):,} px): {decode_times(data, backend.decode_size(ADDONS)):.1f} ms")
        print(f"  full decode: {decode_times(data, None):.1f} ms")


if __name__ == "__main__":
    main()
