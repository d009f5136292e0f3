"""Benchmark: the CPU time of each worker task one 12 MP upload makes, in one process, for a source tree.

Run: .venv/bin/python bench/worker_stages.py [TREE] [--photos two_people.jpg dogs.jpg 2007_007763.jpg]
TREE (default: this one) is a source tree such as a worktree of main, for a comparison in the same session.
For each photo (tests/photos upscaled to 12 MP): the analysis of both add-ons (analysis_run), the thumbnails and
the pages' sizes (renditions_generate) and the people page's face crops the analysis queues (eager_renditions_run),
each timed with time.process_time (CPU of this process: much less sensitive to other people's load than wall time),
median of 3 after 2 warm-ups. A throw-away SQLite database and media folder; one ONNX thread; nothing is queued.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

parser = argparse.ArgumentParser()
parser.add_argument("tree", nargs="?", type=Path, default=Path(__file__).resolve().parent.parent)
parser.add_argument("--photos", nargs="+", default=["two_people.jpg", "dogs.jpg", "2007_007763.jpg"])
args = parser.parse_args()
ROOT = args.tree.resolve()
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.chdir(ROOT)
os.environ.update({"MEDIALIB_VAR_DIR": tempfile.mkdtemp(prefix="medialib-stages-"),
                   "DJANGO_SETTINGS_MODULE": "medialib.settings", "TAGGING_BACKEND": "local",
                   "TAGGING_LOCAL_THREADS": "1"})
for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402

from analysis import BOTH, big_photo  # noqa: E402 (the tree's own bench/analysis.py)
from medialib import services  # noqa: E402
from medialib.renditions import eager_renditions_run  # noqa: E402
from tagging.services.analysis import analysis_run  # noqa: E402


def cpu_ms(function) -> float:
    start = time.process_time()
    function()
    return (time.process_time() - start) * 1000


def main():
    assert Path(services.__file__).resolve().is_relative_to(ROOT), "imported another tree's code"
    call_command("migrate", verbosity=0)
    print(f"{ROOT}: CPU ms per 12 MP photo (median of 3 after 2 warm-ups)")
    print("| photo | analysis | thumbnails + page sizes | face crops | total |")
    print("| --- | --- | --- | --- | --- |")
    for photo in args.photos:
        name, data = big_photo(photo)
        rows = []
        for run in range(5):
            queued = []
            with mock.patch("medialib.renditions.eager_renditions_queue",
                            lambda asset, eager: queued.append((asset.pk, asset.version, [list(e) for e in eager]))), \
                    mock.patch("medialib.services.task_enqueue", lambda *a: True), \
                    mock.patch("tagging.services.analysis.task_enqueue", lambda *a: True):
                asset = services.asset_upload(file=SimpleUploadedFile(name, data), on_create=BOTH)
                analysis = cpu_ms(lambda: analysis_run(asset_id=asset.pk))
                renditions = cpu_ms(lambda: services.renditions_generate(asset_id=asset.pk))
                crops = cpu_ms(lambda: [eager_renditions_run(asset_id=pk, version=v, eager=e) for pk, v, e in queued])
            if run >= 2:
                rows.append((analysis, renditions, crops))
        medians = [statistics.median(column) for column in zip(*rows)]
        print(f"| {photo} | " + " | ".join(f"{value:.0f}" for value in medians) + f" | {sum(medians):.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
