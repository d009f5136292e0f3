"""Benchmark: peak memory of one accepted upload at the pixel limit (validation, then each rendition).

Run: .venv/bin/python bench/memory.py [MEGAPIXELS ...]   (default: 100 50 40 25)
Each step runs in a fresh process and reports its peak resident memory above what the process held
before the step (VmHWM after it less VmRSS before it, from /proc/self/status, the peak being reset by
/proc/self/clear_refs first: resource.getrusage's ru_maxrss would carry this script's own peak over
into its child processes, since Linux keeps it across fork and exec), for the cheapest file that reaches the limit: a PNG of
one colour with alpha (a few hundred KB for 100 MP), and a JPEG for comparison. Writes nothing outside a
temporary folder.
"""
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TMP = Path(tempfile.mkdtemp(prefix="medialib-bench-"))

STEP = """
import os, sys
sys.path.insert(0, {root!r})
os.environ.setdefault("MEDIALIB_VAR_DIR", {tmp!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medialib.settings")
import django; django.setup()
from django.conf import settings
from medialib.images import image_inspect, thumbnail_render
data = open({path!r}, "rb").read()
import io

def status_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets VmHWM to the current resident size
before = status_kb("VmRSS")
step = {step!r}
if step == "validate":
    image_inspect(io.BytesIO(data), max_pixels=10**10)
else:
    thumbnail_render(io.BytesIO(data), max_size=int(step))
print((status_kb("VmHWM") - before) / 1024)
"""


def sample(kind: str, megapixels: float) -> Path:
    from PIL import Image

    side = round((megapixels * 1e6) ** 0.5)
    path = TMP / f"{kind}-{megapixels:g}.{kind}"
    if kind == "png":
        Image.new("RGBA", (side, side), (30, 120, 200, 128)).save(path, "PNG")
    else:
        # Not one colour: a photo-like gradient, so the JPEG is not trivially small.
        small = Image.linear_gradient("L").resize((side, side)).convert("RGB")
        out = io.BytesIO()
        small.save(out, "JPEG", quality=85)
        path.write_bytes(out.getvalue())
    return path


def peak_mb(path: Path, step: str) -> float:
    code = STEP.format(root=str(ROOT), tmp=str(TMP), path=str(path), step=step)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main():
    sizes = [float(a) for a in sys.argv[1:]] or [100, 50, 40, 25]
    print("| image | file | validate | thumb 400 px | preview 1600 px |")
    print("| --- | --- | --- | --- | --- |")
    for megapixels in sizes:
        for kind in ("png", "jpeg"):
            path = sample(kind, megapixels)
            figures = [peak_mb(path, step) for step in ("validate", "400", "1600")]
            size_kb = path.stat().st_size / 1024
            print(f"| {megapixels:g} MP {kind.upper()}{' RGBA' if kind == 'png' else ''} | {size_kb:,.0f} KB | "
                  + " | ".join(f"{f:,.0f} MB" for f in figures) + " |", flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
