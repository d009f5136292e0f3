"""Benchmark: validating uploads and making thumbnails, on a real photo at 1 MP and 12 MP.

Run: .venv/bin/python bench/renditions.py
Prints milliseconds per image (median of N runs); writes nothing outside a temporary folder.
"""
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MEDIALIB_VAR_DIR", tempfile.mkdtemp(prefix="medialib-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medialib.settings")

from PIL import Image, ImageOps  # noqa: E402

from medialib.images import image_inspect, thumbnail_render  # noqa: E402

PHOTO = ROOT / "tests" / "photos" / "dogs.jpg"


def jpeg_of(megapixels: float) -> bytes:
    with Image.open(PHOTO) as image:
        scale = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
        big = image.convert("RGB").resize((round(image.width * scale), round(image.height * scale)), Image.BICUBIC)
    out = io.BytesIO()
    big.save(out, "JPEG", quality=90)
    return out.getvalue()


def median_ms(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def thumbnail_without_draft(data: bytes, size: int):
    with Image.open(io.BytesIO(data)) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        image.save(io.BytesIO(), "JPEG", quality=82)


def main():
    print(f"{'image':<8} {'validate':>10} {'thumb 400':>10} {'preview 1600':>13} {'thumb, no draft':>16}")
    for mp, runs in ((1, 20), (12, 7)):
        data = jpeg_of(mp)
        validate = median_ms(lambda: image_inspect(io.BytesIO(data), max_pixels=10**9), runs)
        thumb = median_ms(lambda: thumbnail_render(io.BytesIO(data), max_size=400), runs)
        preview = median_ms(lambda: thumbnail_render(io.BytesIO(data), max_size=1600), runs)
        plain = median_ms(lambda: thumbnail_without_draft(data, 400), runs)
        print(f"{mp:>3} MP   {validate:>8.1f}ms {thumb:>8.1f}ms {preview:>11.1f}ms {plain:>14.1f}ms")


if __name__ == "__main__":
    main()
