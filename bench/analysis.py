"""Benchmark: the analysis pipeline through a real Celery worker, against the models alone.

Run: .venv/bin/python bench/analysis.py [--repeat 2] [--big 4]
     .venv/bin/python bench/analysis.py --faces-sets [--workers 2] [--repeat 6]
--faces-sets (issue 16): 12 MP photos with 0, 2 and 7 faces (dogs.jpg, two_people.jpg, 2007_007763.jpg upscaled),
both add-ons, through WORKERS real Celery worker processes (solo pool each), for YuNet and for HOG in the same run
(HOG is the reference: the machine is shared, so read the ratios); model-only time per photo measured in this process
on the images the task decodes; overhead = (WORKERS x wall time per photo - model time) / model time.
Uses a throw-away SQLite database, broker and media folder in a temporary directory, one worker process on
the `analysis` queue only (solo pool, the local backend with its default 2 ONNX threads; thumbnails belong to
the `renditions` queue and are not made here), and the photos of tests/photos.
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

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
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


def worker_run(items, workers: int = 1, env: dict | None = None, single_runs: int = 8) -> tuple[float, list[float]]:
    procs = []
    for n in range(workers):
        log = open(Path(VAR) / f"worker{n}.log", "w")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "medialib", "worker", "--pool=solo", "--loglevel=WARNING",
             "--queues=analysis", "--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"bench{n}@%h"],
            cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
        ))
    try:
        # Every worker loads its models before the clock starts.
        warm = [asset_upload(file=SimpleUploadedFile("warm.jpg", items[0][1]), on_create=BOTH) for _ in range(2 * workers)]
        wait(lambda: AnalysisResult.objects.filter(asset__in=warm, status="complete").count() == 2 * len(warm), 300)
        start = time.perf_counter()
        assets = [asset_upload(file=SimpleUploadedFile(name, data), on_create=BOTH) for name, data in items]
        wait(lambda: AnalysisResult.objects.filter(asset__in=assets).exclude(status="pending").count() == 2 * len(assets),
             900)
        elapsed = time.perf_counter() - start
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
        return elapsed, latencies, single
    finally:
        for worker in procs:
            worker.terminate()
        for worker in procs:
            worker.wait(30)


def wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out; see {VAR}/worker.log")
        time.sleep(0.05)


def model_only(items, backend=None, objects_times: list | None = None) -> list[float]:
    """Per image: the detectors alone (labels incl. faces for Person, faces), on the image the task decodes.

    objects_times, if given, gets YOLOv3-tiny's part (letterbox, model, decoding) timed apart on the same image.
    """
    backend = backend or backend_for("aws_rek_tagging")
    times = []
    for name, data in items:
        asset = asset_upload(file=SimpleUploadedFile(name, data))
        image = analysis_image(asset, max_pixels=backend.decode_size(ADDONS))
        start = time.perf_counter()
        backend.labels(image)
        backend.faces(image)
        times.append(time.perf_counter() - start)
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


def faces_sets(workers: int, repeat: int) -> None:
    from tagging.backends.local import LocalBackend

    sets = {0: big_photo("dogs.jpg"), 2: big_photo("two_people.jpg"), 7: big_photo("2007_007763.jpg")}
    print(f"12 MP photos, both add-ons, {workers} worker processes (solo), {repeat} uploads per set; shared machine")
    print("| detector | faces | photos/s | x HOG | model-only ms/photo | x HOG | of which YOLOv3-tiny ms "
          "| overhead % of model time |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    results = {}
    for detector in ("hog", "yunet"):
        backend = LocalBackend(threads=1, face_detector=detector)
        model_only([sets[0]], backend)  # load the models
        env = {"TAGGING_LOCAL_FACE_DETECTOR": detector, "TAGGING_LOCAL_THREADS": "1"}
        for n, item in sets.items():
            yolo = []
            models = model_only([item] * 3, backend, yolo)
            elapsed, _, _ = worker_run([item] * repeat, workers, env, single_runs=0)
            model = statistics.median(models)
            rate = repeat / elapsed
            overhead = (workers * elapsed / repeat - model) / model * 100
            results[detector, n] = (rate, model)
            ref = results.get(("hog", n), (rate, model))
            print(f"| {detector} | {n} | {rate:.2f} | {rate / ref[0]:.2f} | {model * 1000:.0f} | {model / ref[1]:.2f} "
                  f"| {statistics.median(yolo) * 1000:.0f} | {overhead:.0f} |", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1, help="Upload the photo set this many times.")
    parser.add_argument("--big", type=int, default=4, help="How many 12 MP upscaled photos to add.")
    parser.add_argument("--faces-sets", action="store_true", help="12 MP with 0, 2, 7 faces, YuNet beside HOG")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if args.faces_sets:
        faces_sets(args.workers, max(2, args.repeat))
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
        elapsed, latencies, single = worker_run(group)
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
