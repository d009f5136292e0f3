"""Benchmark: delivery renditions (issue 13), cold and warm, beside two floors and a real image server.

Run: .venv/bin/python bench/delivery.py [--quick] [--thumbor /work/venv-thumbor/bin/thumbor] [--clients 4]
Needs the `bench` extra for the libvips floor (pyvips, pyvips-binary); thumbor lives in its own venv
(`python3 -m venv /work/venv-thumbor && /work/venv-thumbor/bin/pip install thumbor 'opencv-python-headless<5'`:
its face detector needs cv2.CascadeClassifier, which OpenCV 5 no longer has) and is skipped with a note when
absent. Writes nothing outside a temporary folder; no network but loopback.

Images: a real group photo (shared fixtures' faces/bald_guys.jpg, 1986x1545) upscaled to 12 MP, and
tests/photos/two_people.jpg scaled to 1 MP, both JPEG q90. Face boxes come from the local detector
(tagging's `aws_rek_face` backend), run once per image outside every timing; the renderer gets them the
way the view does, as a `faces` callable, and the view path reads them from Face rows made from them.

Cold: per image and operation, N runs of each, interleaved run by run so that load from elsewhere on
the machine falls on all of them alike:
  ours     medialib.images.transformation_render on the original bytes (what the view calls)
  view     the full route through Django's test client, with no kept rendition (DeliveredRendition rows
           deleted before each request, outside the timing)
  pillow   Pillow with JPEG draft mode doing the same crop/resize/encode minimally (the floor)
  vips     pyvips thumbnail_buffer + crop + save (the other floor)
  thumbor  thumbor on loopback, file loader, no storage or result storage, its OpenCV Haar face detector
Each is timed by the wall clock and by CPU time (this process's for all but thumbor, thumbor's process'
from /proc for it, all threads included): with other work on the machine, CPU time is the steadier
figure; on an idle machine multi-threaded encoders (libaom, libvips) take less wall than CPU time.
thumbor's CPU time comes in 10 ms ticks from /proc/<pid>/stat: its column is the mean over the runs.
Every output has the same pixel size as ours (checked) and the same encoder quality (80; JPEG optimised
and progressive, as ours). The floors skip the r_max/bo_ drawing of the profile thumbnail (84 px: about
2 ms of _apply_shape), thumbor has no border and its smart crop frames the 84x84 differently.

Warm: the app under gunicorn (3 sync workers, MEDIALIB_DELIVERY_ACCESS=public) on loopback; each URL is
requested once, then by several client threads for some seconds: req/s, client latency p50/p95, the
server's own time from gunicorn's access log (%(D)s) p50/p95, and how many times the renderer ran during
the warm phase (counted by a gunicorn post_worker_init hook of this script that wraps
transformation_render; 0 means every warm response came from a kept rendition). DeliveredRendition rows
are counted at the end. A last row per image asks for the original itself (no transformation), which
the view streams from storage without rendering: the cost of serving a stored file on this stack.
"""
import argparse
import http.client
import io
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = tempfile.mkdtemp(prefix="medialib-bench-")
os.environ.update({
    "MEDIALIB_VAR_DIR": VAR, "DJANGO_SETTINGS_MODULE": "medialib.settings", "TAGGING_BACKEND": "local",
    "MEDIALIB_DELIVERY_ACCESS": "public", "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver", "LOG_LEVEL": "WARNING",
})
for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from PIL import Image  # noqa: E402

from medialib.images import transformation_render  # noqa: E402
from medialib.models import DeliveredRendition  # noqa: E402
from medialib.services import asset_upload  # noqa: E402
from medialib.transformations import Transformation  # noqa: E402
from tagging.backends import backend_for  # noqa: E402
from tagging.images import analysis_image_from_bytes  # noqa: E402
from tagging.models import Face  # noqa: E402

try:
    import pyvips

    pyvips.cache_set_max(0)  # every run does the work; no operation comes back from vips' cache
except ImportError:  # the `bench` extra is not installed
    pyvips = None

PROFILE = "bo_1px_solid_rgb:eee,c_thumb,dpr_2.0,g_face,h_42,r_max,w_42,z_0.8"
QUALITY = 80  # our default (medialib.images._DEFAULT_QUALITY), given to every implementation
# (label, transformation, delivered format)
OPERATIONS = [
    ("fill 500 g_face", "c_fill,w_500,h_500,g_face", "jpg"),
    ("scale w_1600", "c_scale,w_1600", "jpg"),
    ("f_webp", "f_webp", "webp"),
    ("f_avif", "f_avif", "avif"),
    ("profile thumb", PROFILE, "jpg"),
]
PHOTO_12MP = ROOT.parent / "shared" / "fixtures" / "faces" / "bald_guys.jpg"
PHOTO_1MP = ROOT / "tests" / "photos" / "two_people.jpg"


def jpeg_of(path: Path, megapixels: float) -> bytes:
    with Image.open(path) as image:
        scale = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
        big = image.convert("RGB").resize((round(image.width * scale), round(image.height * scale)),
                                          Image.Resampling.BICUBIC)
    out = io.BytesIO()
    big.save(out, "JPEG", quality=90)
    return out.getvalue()


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def face_boxes_of(data: bytes) -> list[tuple[int, int, int, int]]:
    """The local detector's faces as (left, top, width, height) pixels, largest first (as tagging's face_boxes)."""
    image = analysis_image_from_bytes(data)
    found = backend_for("aws_rek_face").faces(image)
    boxes = [(round(f.bounding_box.left * image.width), round(f.bounding_box.top * image.height),
              max(1, round(f.bounding_box.width * image.width)), max(1, round(f.bounding_box.height * image.height)))
             for f in found.faces]
    return sorted(boxes, key=lambda b: -b[2] * b[3])


# --- the geometry of each operation, for the floors: (crop box in original pixels, output size) or None

def geometry(label, size, faces):
    w, h = size
    face = faces[0] if faces else (w / 2, h / 2, 0, 0)
    cx, cy = face[0] + face[2] / 2, face[1] + face[3] / 2
    if label.startswith("fill"):
        cover = max(500 / w, 500 / h)
        bw, bh = 500 / cover, 500 / cover
    elif label.startswith("scale"):
        return (0, 0, w, h), (1600, round(h * 1600 / w))
    elif label.startswith("profile"):
        side = max(face[2], face[3]) * 2.0 / 0.8  # c_thumb: the face box doubled, divided by z_0.8, square
        bw = bh = min(side, w, h)
    else:
        return None
    left, top = min(max(0.0, cx - bw / 2), w - bw), min(max(0.0, cy - bh / 2), h - bh)
    out = (84, 84) if label.startswith("profile") else (500, 500)
    return (left, top, left + bw, top + bh), out


def jpeg_save(image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def pillow_floor(data, fmt, geom):
    image = Image.open(io.BytesIO(data))
    if geom is None:  # a format change: decode whole, encode
        out = io.BytesIO()
        image.save(out, {"webp": "WEBP", "avif": "AVIF"}[fmt], quality=QUALITY)
        return out.getvalue(), image.size
    box, size = geom
    full = image.size
    scale = size[0] / (box[2] - box[0])
    image.draft("RGB", (math.ceil(full[0] * scale), math.ceil(full[1] * scale)))
    f = image.size[0] / full[0]
    result = image.resize(size, Image.Resampling.LANCZOS, box=tuple(v * f for v in box))
    return jpeg_save(result), result.size


def vips_floor(data, fmt, geom):
    if geom is None:
        image = pyvips.Image.new_from_buffer(data, "", access="sequential")
        if fmt == "webp":
            out = image.webpsave_buffer(Q=QUALITY)
        else:  # effort 3 is libaom's cpu-used 6, Pillow's default AVIF speed: the same encoder work as ours
            out = image.heifsave_buffer(Q=QUALITY, compression="av1", effort=3)
        return out, (image.width, image.height)
    box, size = geom
    width = pyvips.Image.new_from_buffer(data, "").width
    scale = size[0] / (box[2] - box[0])
    image = pyvips.Image.thumbnail_buffer(data, max(size[0], round(width * scale)), height=10_000_000)
    s = image.width / width
    left = min(max(0, round(box[0] * s)), image.width - size[0])
    top = min(max(0, round(box[1] * s)), image.height - size[1])
    image = image.crop(left, top, size[0], size[1])
    return image.jpegsave_buffer(Q=QUALITY, optimize_coding=True, interlace=True), (image.width, image.height)


def ours(data, transformation, fmt, faces):
    rendered = transformation_render(io.BytesIO(data), transformation, fmt=fmt, faces=lambda: faces,
                                     max_output_pixels=settings.MEDIALIB_MAX_OUTPUT_PIXELS)
    return rendered.data, (rendered.width, rendered.height)


def pixel_difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference per channel, 0-255, of two decoded images of the same size."""
    from PIL import ImageChops, ImageStat

    with Image.open(io.BytesIO(a)) as x, Image.open(io.BytesIO(b)) as y:
        return sum(ImageStat.Stat(ImageChops.difference(x.convert("RGB"), y.convert("RGB"))).mean) / 3


def size_of(data: bytes):
    with Image.open(io.BytesIO(data)) as image:
        return image.size


# --- thumbor on loopback

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, process, timeout=60, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}); see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not listen on {port}; see {log}")


def http_get(port, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


THUMBOR_PATHS = {
    "fill 500 g_face": "/unsafe/500x500/smart/{name}",
    "scale w_1600": "/unsafe/1600x0/{name}",
    "f_webp": "/unsafe/filters:format(webp)/{name}",
    "f_avif": "/unsafe/filters:format(avif)/{name}",
    "profile thumb": "/unsafe/84x84/smart/{name}",
}


class Thumbor:
    def __init__(self, executable, originals: dict[str, bytes]):
        self.folder = Path(VAR) / "thumbor"
        self.folder.mkdir()
        for name, data in originals.items():
            (self.folder / name).write_bytes(data)
        config = self.folder / "thumbor.conf"
        config.write_text(
            f"LOADER = 'thumbor.loaders.file_loader'\nFILE_LOADER_ROOT_PATH = {str(self.folder)!r}\n"
            "STORAGE = 'thumbor.storages.no_storage'\nRESULT_STORAGE = None\n"
            "DETECTORS = ['thumbor.detectors.face_detector']\nENGINE = 'thumbor.engines.pil'\n"
            f"QUALITY = {QUALITY}\nWEBP_QUALITY = {QUALITY}\nAVIF_QUALITY = {QUALITY}\nPROGRESSIVE_JPEG = True\n"
            "AUTO_WEBP = False\nAUTO_AVIF = False\nMAX_WIDTH = 0\nMAX_HEIGHT = 0\nALLOW_UNSAFE_URL = True\n"
            "RESPECT_ORIENTATION = True\nMAX_SOURCE_SIZE = 0\n")
        self.port = free_port()
        self.log = self.folder / "thumbor.log"
        self.process = subprocess.Popen([executable, "-p", str(self.port), "-i", "127.0.0.1", "-c", str(config),
                                         "-l", "warning"], stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        wait_port(self.port, self.process, log=self.log)

    def get(self, label, name):
        status, body, _ = http_get(self.port, THUMBOR_PATHS[label].format(name=name))
        if status != 200:
            raise RuntimeError(f"thumbor answered {status} for {label} of {name}; see {self.log}")
        return body, size_of(body)

    def cpu_seconds(self) -> float:
        """CPU time of thumbor's process so far, threads that have ended included (libaom's are made per
        image), in clock ticks of 10 ms: hence thumbor's CPU figure is a mean over the runs, not a median."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


# --- cold

def delivery_url(asset, transformation, fmt):
    return f"/{settings.MEDIALIB_CLOUD_NAME}/image/upload/" + (f"{transformation}/" if transformation else "") + \
        asset.public_id + (".jpg" if fmt == "jpg" else "")


# In the warm phase only: the original as stored, which the view streams from storage without rendering
# (FileResponse): what serving a kept file costs on this stack, measured in the same run.
STORED_FILE = ("original (stored file)", "", "jpg")


def cold(items, runs_for, thumbor):
    client = Client()
    rows = []
    for image_label, data, faces, asset, thumbor_name in items:
        size = size_of(data)
        for label, text, fmt in OPERATIONS:
            transformation = Transformation.from_string(text)
            geom = geometry(label, size, faces)
            url = delivery_url(asset, text, fmt)

            def view():
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code} {response.get('X-Cld-Error')}")
                body = b"".join(response) if response.streaming else response.content
                return body, size_of(body)

            impls = {"ours": lambda: ours(data, transformation, fmt, faces), "view": view,
                     "pillow": lambda: pillow_floor(data, fmt, geom)}
            if pyvips is not None:
                impls["vips"] = lambda: vips_floor(data, fmt, geom)
            if thumbor is not None:
                impls["thumbor"] = lambda: thumbor.get(label, thumbor_name)
            wall = {name: [] for name in impls}
            cpu = {name: [] for name in impls}
            outputs = {}
            for name, fn in impls.items():  # once untimed: imports, thumbor's first connection
                DeliveredRendition.objects.all().delete()
                outputs[name] = fn()
            for _ in range(runs_for(image_label, label)):
                for name, fn in impls.items():
                    if name == "view":
                        DeliveredRendition.objects.all().delete()  # no kept rendition: the view renders
                    # CPU time of every thread that did the work (vips' and libaom's threads too; thumbor's
                    # process for thumbor): what other load on the machine inflates least.
                    cpu_start = thumbor.cpu_seconds() if name == "thumbor" else time.process_time()
                    start = time.perf_counter()
                    fn()
                    wall[name].append((time.perf_counter() - start) * 1000)
                    cpu_end = thumbor.cpu_seconds() if name == "thumbor" else time.process_time()
                    cpu[name].append((cpu_end - cpu_start) * 1000)
            expected = outputs["ours"][1]
            rows.append({
                "image": image_label, "op": label, "wall": wall, "cpu": cpu, "size": expected,
                "bytes": {name: len(out[0]) for name, out in outputs.items()},
                "mismatched": {name: out[1] for name, out in outputs.items() if out[1] != expected},
            })
            print(f"  {image_label} {label}: " + ", ".join(
                f"{name} {statistics.median(wall[name]):.1f}/{statistics.median(cpu[name]):.1f}" for name in impls)
                + " ms wall/CPU", flush=True)
    return rows


def cold_table(rows, kind):
    names = [n for n in ("ours", "view", "pillow", "vips", "thumbor") if n in rows[0][kind]]
    header = ["image", "operation", "output"] + [
        f"{n} {'mean' if kind == 'cpu' and n == 'thumbor' else 'p50'} / p95" for n in names] + [
        "ours / floor", "ours / thumbor"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        med = {n: statistics.median(row[kind][n]) for n in names}
        if kind == "cpu" and "thumbor" in med:
            med["thumbor"] = statistics.mean(row[kind]["thumbor"])  # whole 10 ms ticks: a median would be one
        p95 = {n: percentile(row[kind][n], 0.95) for n in names}
        floor = min(med[n] for n in ("pillow", "vips") if n in med)
        cells = [row["image"], row["op"], f"{row['size'][0]}x{row['size'][1]}"]
        cells += [f"{med[n]:.1f} / {p95[n]:.1f}" for n in names]
        cells.append(f"{med['ours'] / floor:.2f}x")
        cells.append(f"{med['ours'] / med['thumbor']:.2f}x" if "thumbor" in med else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cold_notes(rows):
    names = [n for n in ("ours", "view", "pillow", "vips", "thumbor") if n in rows[0]["wall"]]
    lines = ["output KB: " + "; ".join(
        f"{row['image']} {row['op']}: " + ", ".join(f"{n} {row['bytes'][n] / 1024:.0f}" for n in names)
        for row in rows)]
    mismatches = [f"{row['image']} {row['op']}: {row['mismatched']}" for row in rows if row["mismatched"]]
    lines.append("output sizes differing from ours: " + ("; ".join(mismatches) if mismatches else "none"))
    return "\n".join(lines)


# --- warm, under gunicorn

GUNICORN_CONFIG = '''
import os

workers = 3
worker_class = "sync"
timeout = 300
accesslog = {accesslog!r}
access_log_format = "%(U)s %(s)s %(D)s"
COUNTER = {counter!r}


def post_worker_init(worker):
    """Count every renderer computation: wrap transformation_render wherever a loaded medialib module holds it."""
    import importlib
    import sys

    from django.conf import settings

    from medialib import images

    importlib.import_module(settings.ROOT_URLCONF)  # the views, and what they import, are loaded by now

    original = images.transformation_render

    def counted(*args, **kwargs):
        fd = os.open(COUNTER, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, b"r\\n")
        finally:
            os.close(fd)
        return original(*args, **kwargs)

    images.transformation_render = counted
    for name, module in list(sys.modules.items()):
        if (name == "medialib" or name.startswith("medialib.")) and \\
                getattr(module, "transformation_render", None) is original:
            module.transformation_render = counted
'''


def renders_counted(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def load_phase(port, url, clients, seconds, accesslog):
    """`clients` threads requesting `url` for `seconds`: client latencies, and the server's own from its log."""
    log_offset = accesslog.stat().st_size
    latencies, statuses = [], []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client_loop():
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            code, _, _ = http_get(port, url)
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(elapsed)
                statuses.append(code)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    time.sleep(0.2)  # the access log line is written after the response
    with open(accesslog, "rb") as handle:
        handle.seek(log_offset)
        server_ms = [int(line.split()[2]) / 1000 for line in handle.read().decode().splitlines()
                     if line.split()[0] == url]
    nan = float("nan")
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
            "server_p50": percentile(server_ms, 0.5) if server_ms else nan,
            "server_p95": percentile(server_ms, 0.95) if server_ms else nan,
            "errors": sum(1 for code in statuses if code != 200)}


def warm(items, clients, seconds):
    port = free_port()
    counter = Path(VAR) / "renders.count"
    accesslog = Path(VAR) / "access.log"
    config = Path(VAR) / "gunicorn_conf.py"
    config.write_text(GUNICORN_CONFIG.format(accesslog=str(accesslog), counter=str(counter)))
    log = Path(VAR) / "gunicorn.log"
    env = os.environ.copy()
    env["PYTHONPATH"] = str(ROOT)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "medialib.wsgi", "-c", str(config),
                               "--bind", f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                              stdout=open(log, "w"), stderr=subprocess.STDOUT)
    rows = []
    try:
        wait_port(port, server, log=log)
        http_get(port, "/")  # every worker has imported the app by now; this only checks it answers
        for image_label, _data, _faces, asset, _name in items:
            for label, text, fmt in OPERATIONS + [STORED_FILE]:
                url = delivery_url(asset, text, fmt)
                start = time.perf_counter()
                status, body, headers = http_get(port, url)
                first = (time.perf_counter() - start) * 1000
                if status != 200:
                    raise RuntimeError(f"{url}: {status} {headers.get('X-Cld-Error')}")
                renders_before = renders_counted(counter)
                # One client first: the server's time per request without queueing behind the others.
                alone = load_phase(port, url, 1, min(2.0, seconds), accesslog)
                many = load_phase(port, url, clients, seconds, accesslog)
                rows.append({
                    "image": image_label, "op": label, "first": first, "requests": alone["requests"] + many["requests"],
                    "rps": many["rps"], "p50": many["p50"], "p95": many["p95"],
                    "server_p50": many["server_p50"], "server_p95": many["server_p95"],
                    "alone_p50": alone["server_p50"], "alone_p95": alone["server_p95"],
                    "renders": renders_counted(counter) - renders_before,
                    "errors": alone["errors"] + many["errors"],
                })
                r = rows[-1]
                print(f"  {image_label} {label}: first {first:.0f} ms; {r['rps']:.1f} req/s, p95 {r['p95']:.1f} ms, "
                      f"server p95 {r['server_p95']:.1f} ms, {r['renders']} renders in {r['requests']} requests",
                      flush=True)
    finally:
        server.terminate()
        server.wait(30)
    return rows, renders_counted(counter)


def warm_table(rows):
    header = ["image", "operation", "first request", "server p50 / p95, 1 client", "req/s, N clients",
              "client p50 / p95, N clients", "server p50 / p95, N clients", "renders / requests (warm)"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for r in rows:
        lines.append(f"| {r['image']} | {r['op']} | {r['first']:.0f} ms | {r['alone_p50']:.1f} / "
                     f"{r['alone_p95']:.1f} ms | {r['rps']:.1f} | {r['p50']:.1f} / "
                     f"{r['p95']:.1f} ms | {r['server_p50']:.1f} / {r['server_p95']:.1f} ms | "
                     f"{r['renders']} / {r['requests']}" + (f" ({r['errors']} errors)" if r["errors"] else "") + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="Fewer runs and shorter warm phases.")
    parser.add_argument("--thumbor", default="/work/venv-thumbor/bin/thumbor", help="thumbor's executable.")
    parser.add_argument("--clients", type=int, default=4, help="Concurrent clients in the warm phase.")
    parser.add_argument("--seconds", type=float, default=None, help="Length of each warm phase.")
    args = parser.parse_args()
    seconds = args.seconds or (1.5 if args.quick else 5.0)

    def runs_for(image_label, op_label):
        runs = 3 if args.quick else (9 if image_label == "12 MP" else 15)
        return max(2, runs // 2) if op_label == "f_avif" else runs

    call_command("migrate", verbosity=0)
    originals = {"12 MP": jpeg_of(PHOTO_12MP if PHOTO_12MP.exists() else PHOTO_1MP, 12),
                 "1 MP": jpeg_of(PHOTO_1MP, 1)}
    items = []
    for image_label, data in originals.items():
        start = time.perf_counter()
        faces = face_boxes_of(data)
        detect = (time.perf_counter() - start) * 1000
        asset = asset_upload(file=SimpleUploadedFile(f"bench-{image_label.replace(' ', '')}.jpg", data))
        w, h = asset.width, asset.height
        for index, (left, top, fw, fh) in enumerate(faces):
            Face.objects.create(asset=asset, index=index, left=left / w, top=top / h, width=fw / w, height=fh / h,
                                confidence=99.0, backend="bench")
        items.append((image_label, data, faces, asset, f"{image_label.replace(' ', '').lower()}.jpg"))
        print(f"{image_label}: {w}x{h}, {len(data) // 1024} KB, {len(faces)} faces from the local detector "
              f"({detect:.0f} ms, not timed below); largest {faces[0] if faces else None}")

    thumbor = None
    if Path(args.thumbor).exists():
        thumbor = Thumbor(args.thumbor, {name: data for (_l, data, _f, _a, name) in items})
        version = subprocess.run([str(Path(args.thumbor).with_name("python")), "-c",
                                  "import thumbor, cv2; print(thumbor.__version__, 'OpenCV', cv2.__version__)"],
                                 capture_output=True, text=True).stdout.strip()
        print(f"thumbor {version} on 127.0.0.1:{thumbor.port} (PIL engine, Haar face detector, no storage)")
    else:
        print(f"thumbor not found at {args.thumbor}: skipped")
    if pyvips is None:
        print("pyvips not installed (pip install -e '.[bench]'): the libvips floor is skipped")
    else:
        print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, concurrency "
              f"{pyvips.concurrency_get()}; Pillow {Image.__version__}; {os.cpu_count()} CPUs")

    print("\ncold (ms, median / p95):", flush=True)
    try:
        rows = cold(items, runs_for, thumbor)
    finally:
        if thumbor is not None:
            thumbor.stop()
    print("\nCPU time (ms):")
    print(cold_table(rows, "cpu"))
    print("\nwall time (ms):")
    print(cold_table(rows, "wall"))
    print()
    print(cold_notes(rows))

    print(f"\nwarm, gunicorn 3 sync workers; per URL 1 client for {min(2.0, seconds):g} s, then N = {args.clients} "
          f"clients for {seconds:g} s:", flush=True)
    warm_rows, renders = warm(items, args.clients, seconds)
    print()
    print(warm_table(warm_rows))
    urls = len(warm_rows) - len(items)  # the stored files are not rendered
    print(f"\nrenderer computations in gunicorn: {renders} for {urls} URLs of renditions "
          f"({renders - urls} more than one per URL); DeliveredRendition rows: {DeliveredRendition.objects.count()}")
    shutil.rmtree(VAR, ignore_errors=True)


if __name__ == "__main__":
    main()
