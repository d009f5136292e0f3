"""Benchmark the offline label detector (tagging/backends/local/labels.py): model time and preprocessing time.

    .venv/bin/python bench/labels.py

Prints medians in milliseconds; writes nothing. The 1 MP and 12 MP JPEGs are made in memory by
resizing a fixture photo (tests/photos/cat.jpg) up, since no large photo is committed.
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


def main() -> None:
    x = preprocess(Image.open(FIXTURE).convert("RGB"))
    print(f"model only (224x224, batch 1, CPUExecutionProvider), median of {RUNS}:")
    for threads in (1, 2):
        model = LabelModel(threads=threads)
        print(f"  {threads} thread{'s' if threads > 1 else ''}: {median_ms(lambda: model.logits(x)):6.1f} ms")

    print(f"preprocessing, median of {RUNS}:")
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


if __name__ == "__main__":
    main()
