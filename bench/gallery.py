"""Benchmark: the photo grid's first page, its next page and opening the viewer, beside the gallery before the grid.

Run on a library seeded with manage.py seed_library (a separate database, never the test one):
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/g17_bench_1m   # or sqlite:////tmp/g17-bench-1k.sqlite3
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_library --assets 1000000 --no-refresh
    .venv/bin/python bench/gallery.py [--runs 40] [--rounds 3] [--reference /work/main] [--browser]

Server time, in-process through Django's test client (session, middleware, template; warm cache, one client),
p50 / p95 over --runs, and the bytes of each answer (as sent, and gzipped as a proxy would send them):
- "first page": GET / as a signed-in staff user (48 tiles);
- "next page": the next 48, as the grid's script asks for them (X-Fragment: 1; the whole page for the reference);
- "open a photo": the viewer's JSON (assets/viewer.json); for the reference, the detail page, which was how a
  photo opened before the viewer; the detail page is measured for both.
--reference DIR runs the same measurements on the code in DIR (main's checkout: the gallery before the grid) against
the same database and prints its figures beside these, with the ratios; the two are measured in turns, each in its
own process, --rounds times (the machine is shared: its speed drifts), each figure the median of its rounds.
--browser also starts gunicorn for each code tree and measures in headless Chromium (Debian's package) on
loopback the time from navigation start until the first 24 thumbnails are loaded and shown, and the bytes the
page took until then (HTML, CSS, scripts and images: the Resource Timing transfer sizes), with an empty browser
cache; the renditions are made once beforehand (the worker makes them eagerly after an upload), so this measures
the page, not the renderer. Seeded assets share one placeholder file, written here into the bench's media folder.
"""
import argparse
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
THUMBS = 24
# Production settings, but plain HTTP on loopback (no redirect to HTTPS, cookies without Secure).
BENCH_ENV = {"DEBUG": "false", "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "SECRET_KEY": "bench-only-" + "x" * 40,
             "SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
             "SECURE_HSTS_SECONDS": "0"}


def _setup(code: Path):
    sys.path.insert(0, str(code))
    os.chdir(code)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medialib.settings")
    os.environ.setdefault("MEDIALIB_VAR_DIR", "/tmp/g17-bench-gallery")
    os.environ.update(BENCH_ENV)
    import django

    django.setup()


def percentiles(values):
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return round(statistics.median(values) * 1000, 2), round(p95 * 1000, 2)


def bench_user():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="gallery-bench", defaults={"is_staff": True})
    if not user.check_password("gallery-bench-1"):
        user.is_staff = True
        user.set_password("gallery-bench-1")
        user.save()
    return user


def server_figures(runs: int) -> dict:
    """{name: {"p50", "p95", "bytes", "gzip"}} of this process's code."""
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from medialib.models import Asset

    client = Client()
    client.force_login(bench_user())
    first = client.get("/")
    assert first.status_code == 200, first.status_code
    newest = Asset.objects.order_by("-pk").values_list("pk", "public_id")[:49]
    before = newest[47][0]  # the cursor of the second page: the first page's last id
    public_id = newest[5][1]
    try:
        viewer = reverse("medialib:asset_viewer")
    except NoReverseMatch:
        viewer = None
    requests = {
        "first page": ("/", {}),
        "next page": (f"/?before={before}", {"HTTP_X_FRAGMENT": "1"} if viewer else {}),
        "open a photo": ((f"{viewer}?public_id={public_id}", {}) if viewer else (f"/asset/{public_id}", {})),
        "detail page": (f"/asset/{public_id}", {}),
    }
    figures = {}
    for name, (url, headers) in requests.items():
        client.get(url, **headers)  # warm
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url, **headers)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        body = response.content
        p50, p95 = percentiles(times)
        figures[name] = {"p50": p50, "p95": p95, "bytes": len(body), "gzip": len(gzip.compress(body, 6)),
                         "what": "viewer JSON" if name == "open a photo" and viewer else None}
    return figures


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _placeholder(media_root: Path):
    """The one file every seeded asset points at: 4000 x 3000, as seed_library says they are."""
    from PIL import Image, ImageDraw

    path = media_root / "seed" / "placeholder.jpg"
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (4000, 3000), (90, 120, 160))
    draw = ImageDraw.Draw(image)
    for n in range(0, 4000, 250):
        draw.rectangle([n, 0, n + 120, 3000], fill=(40 + n // 40, 90, 200 - n // 40))
    image.save(path, quality=85)


def browser_figures(code: Path, runs: int) -> dict:
    """Time until the first 24 thumbnails show, and the bytes until then, on gunicorn serving `code`."""
    from playwright.sync_api import sync_playwright

    var = Path(f"/tmp/g17-bench-web-{code.name}")
    media = Path("/tmp/g17-bench-media")
    _placeholder(media)
    env = {**os.environ, **BENCH_ENV, "PYTHONPATH": str(code), "MEDIALIB_VAR_DIR": str(var),
           "MEDIALIB_MEDIA_ROOT": str(media), "DJANGO_SETTINGS_MODULE": "medialib.settings"}
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=code, env=env, check=True)
    port = _free_port()
    log = open(var / "gunicorn.log", "w")
    server = subprocess.Popen([python, "-m", "gunicorn", "medialib.wsgi", "--bind", f"127.0.0.1:{port}",
                               "--workers", "2", "--threads", "4", "--worker-class", "gthread"],
                              cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError((var / "gunicorn.log").read_text())
                time.sleep(.2)
        time.sleep(1)
        record = """
          window.__thumbs = null;
          (function check() {
            const imgs = Array.from(document.querySelectorAll('#gallery img.thumb')).slice(0, %d);
            if (imgs.length === %d && imgs.every(i => i.complete && i.naturalWidth > 0)) {
              window.__thumbs = performance.now();
            } else { requestAnimationFrame(check); }
          })();""" % (THUMBS, THUMBS)
        times, sizes = [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            login = browser.new_context(viewport={"width": 1366, "height": 900})
            page = login.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("#id_username", "gallery-bench")
            page.fill("#id_password", "gallery-bench-1")
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            cookies = login.cookies()
            page.goto(f"{base}/")  # makes the renditions of the first page, once
            page.wait_for_load_state("networkidle")
            login.close()
            for _ in range(runs + 1):
                context = browser.new_context(viewport={"width": 1366, "height": 900})  # an empty cache
                context.add_cookies(cookies)
                page = context.new_page()
                page.add_init_script(record)
                page.goto(f"{base}/")
                page.wait_for_function("() => window.__thumbs !== null", timeout=60_000)
                elapsed = page.evaluate("window.__thumbs")
                transferred = page.evaluate("""() => {
                  const nav = performance.getEntriesByType('navigation')[0];
                  const until = window.__thumbs;
                  return nav.transferSize + performance.getEntriesByType('resource')
                    .filter(r => r.responseEnd <= until).reduce((sum, r) => sum + r.transferSize, 0); }""")
                context.close()
                times.append(elapsed / 1000)
                sizes.append(transferred)
            browser.close()
        times, sizes = times[1:], sizes[1:]  # the first: the server's own warm-up
        p50, p95 = percentiles(times)
        return {"thumbs": {"p50": p50, "p95": p95, "bytes": int(statistics.median(sizes))}}
    finally:
        server.terminate()
        server.wait(15)
        log.close()


def measure(code: Path, runs: int, browser: bool, browser_runs: int) -> dict:
    _setup(code)
    from django.conf import settings
    from django.db import connection

    from medialib.models import Asset

    figures = server_figures(runs)
    if browser:
        figures.update(browser_figures(code, browser_runs))
    return {"figures": figures, "assets": Asset.objects.count(), "vendor": connection.vendor,
            "page_size": settings.MEDIALIB_GALLERY_PAGE_SIZE}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--browser-runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="turns of the two trees (medians of the rounds)")
    parser.add_argument("--reference", type=Path, help="another checkout (main's), measured the same way")
    parser.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.code.resolve(), args.runs, args.browser, args.browser_runs)))
        return
    # The machine is shared and its speed drifts: the two trees are measured in turns, each in its own process,
    # --rounds times, and each figure is the median of its rounds.
    def run(code: Path, browser: bool) -> dict:
        command = [sys.executable, str(Path(__file__).resolve()), "--json", "--code", str(code.resolve()),
                   "--runs", str(args.runs), "--browser-runs", str(args.browser_runs)] + (["--browser"] * browser)
        return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)

    trees = {"mine": ROOT} | ({"reference": args.reference} if args.reference else {})
    rounds = {name: [] for name in trees}
    for number in range(args.rounds):
        for name, code in trees.items():
            rounds[name].append(run(code, args.browser and number == 0))

    def combined(results: list[dict]) -> dict:
        out = dict(results[0])
        out["figures"] = {}
        for key in results[0]["figures"]:
            values = [r["figures"][key] for r in results if key in r["figures"]]
            out["figures"][key] = {**values[0], "p50": statistics.median(v["p50"] for v in values),
                                   "p95": statistics.median(v["p95"] for v in values)}
        return out

    mine = combined(rounds["mine"])
    reference = combined(rounds["reference"]) if args.reference else None
    print(f"{mine['assets']:,} assets on {mine['vendor']}, pages of {mine['page_size']}, {args.rounds} rounds of "
          f"{args.runs} runs (browser: {args.browser_runs}, first round); server time p50 / p95 ms (medians of the "
          f"rounds), bytes as sent / gzipped")
    names = list(mine["figures"])
    header = f"{'':14} {'grid + viewer':>34}"
    if reference:
        header += f" {'reference (' + str(args.reference) + ')':>34} {'ratio p50':>9} {'ratio bytes':>11}"
    print(header)
    for name in names:
        fig = mine["figures"][name]
        def size(f):
            return f"{f['bytes']:>8,} / {f['gzip']:>6,} B" if "gzip" in f else f"{f['bytes']:>8,} B (wire)"

        line = f"{name:14} {fig['p50']:>8.2f} / {fig['p95']:>7.2f} ms {size(fig)}"
        ref = reference and reference["figures"].get(name)
        if ref:
            line += (f" {ref['p50']:>8.2f} / {ref['p95']:>7.2f} ms {size(ref)}"
                     f" {fig['p50'] / ref['p50']:>9.2f} {fig['bytes'] / ref['bytes']:>11.2f}")
        print(line)
    if "thumbs" in mine["figures"]:
        print(f"'thumbs': time until the first {THUMBS} thumbnails show in Chromium (ms), bytes transferred until then")
    print("'open a photo': the viewer's JSON here; the detail page in the reference (how a photo opened before).")


if __name__ == "__main__":
    main()
