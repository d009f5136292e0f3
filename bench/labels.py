"""Benchmark the offline labels: Lite0 and YOLOv3-tiny time per photo, preprocessing, and tag precision/recall.

    .venv/bin/python bench/labels.py              # everything
    .venv/bin/python bench/labels.py --quality    # only precision/recall on the hand-labelled photos

Prints medians in milliseconds and, on the photos of tagging/data/label_truth.json (tests/photos, labelled by
hand), precision and recall of the tags at 0.5, 0.7 and 0.9 for raw Lite0 (the labels before issue 16), calibrated
Lite0, calibrated YOLOv3-tiny and the merge, fitted and measured on the same photos and leave-one-out; writes
nothing. The 1 MP and 12 MP JPEGs are made in memory by resizing a fixture photo (tests/photos/cat.jpg) up, since
no large photo is committed.
"""
from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from medialib.images import image_decode  # noqa: E402
from tagging.backends.local.labels import DECODE_MIN_SIZE, LabelModel, preprocess  # noqa: E402
from tagging.backends.local.objects import ObjectModel, letterbox  # noqa: E402

FIXTURE = ROOT / "tests" / "photos" / "cat.jpg"
RUNS = 20


def median_ms(fn, runs: int = RUNS, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def jpeg_of(size: tuple[int, int]) -> bytes:
    with Image.open(FIXTURE) as im:
        big = im.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def decode(data: bytes, use_draft: bool) -> Image.Image:
    return image_decode(io.BytesIO(data), min_size=DECODE_MIN_SIZE if use_draft else None).image


def speed() -> None:
    image = Image.open(FIXTURE).convert("RGB")
    x = preprocess(image)
    print(f"model only (batch 1, CPUExecutionProvider), median of {RUNS}:")
    lite0 = {}
    for threads in (1, 2):
        model = LabelModel(threads=threads)
        lite0[threads] = median_ms(lambda: model.logits(x))
        print(f"  Lite0 224x224, {threads} thread{'s' if threads > 1 else ''}: {lite0[threads]:6.1f} ms")
    objects = ObjectModel(threads=1)
    batch = letterbox(image)[0]
    yolo = median_ms(lambda: objects.heads(batch))
    whole = median_ms(lambda: objects.detect(image))
    print(f"  YOLOv3-tiny 416x416, 1 thread: {yolo:6.1f} ms ({yolo / lite0[1]:.1f}x Lite0 on 1 thread); "
          f"with letterbox, decode and NMS on {image.width}x{image.height}: {whole:6.1f} ms")

    print(f"Lite0 preprocessing, median of {RUNS}:")
    for label, size in (("1 MP", (1224, 816)), ("12 MP", (4032, 3024))):
        data = jpeg_of(size)
        decoded = decode(data, use_draft=False)
        drafted = decode(data, use_draft=True)
        print(f"  {label} JPEG {size[0]}x{size[1]} ({len(data) // 1024} KB):")
        print(f"    preprocess() of the decoded image:        {median_ms(lambda: preprocess(decoded)):7.1f} ms")
        print(f"    full decode + preprocess():               "
              f"{median_ms(lambda: preprocess(decode(data, use_draft=False))):7.1f} ms")
        print(f"    draft decode to {drafted.width}x{drafted.height} + preprocess(): "
              f"{median_ms(lambda: preprocess(decode(data, use_draft=True))):7.1f} ms")


def quality() -> None:
    from PIL import ImageOps

    from tagging.backends.local.calibration import evaluate, load_truth, photo_evidence

    truth = load_truth()
    evidence = {}
    for photo in sorted(truth):
        with Image.open(ROOT / "tests" / "photos" / photo) as im:
            evidence[photo] = photo_evidence(ImageOps.exif_transpose(im).convert("RGB"))
    print(f"tags on {len(evidence)} hand-labelled photos (tagging/data/label_truth.json):")
    for title, loo in (("fitted and measured on the same photos (optimistic)", False),
                       ("leave-one-out", True)):
        print(f"  {title}:")
        for which, scores in evaluate(evidence, truth, leave_one_out=loo).items():
            print(f"    {which:10} " + "; ".join(str(s) for s in scores))


def main() -> None:
    if "--quality" not in sys.argv[1:]:
        speed()
    quality()


if __name__ == "__main__":
    main()
