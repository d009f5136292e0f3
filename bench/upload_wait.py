"""Benchmark (issue 15): how long a synchronous upload with both add-ons takes to answer, beside the worker's
own analysis time in the same run, so that the cost of waiting is visible.

Run: .venv/bin/python bench/upload_wait.py [--uploads 20] [--concurrent 20] [--big 1]

The deployment's parts, on their own: a throw-away PostgreSQL database on the shared server (dropped at the end),
a Redis server of its own on a free port (the broker and the wakeups), gunicorn with docker-compose.yml's workers and
threads, and the Procfile's worker command (prefork, two processes, every queue: thumbnails compete with the
analysis as they do in production). Uploads go through the official Python SDK with categorization=aws_rek_tagging,
detection=aws_rek_face and auto_tagging=0.7, on the photos of tests/photos and on 12 MP copies of some of them.

For every upload it records when the answer arrived (client clock) and, from the database, when the worker started
and finished the last add-on (worker clock: the same machine). Printed per set (one at a time, N at once):
- answer: upload-to-answer latency p50/p95 (what the client sees);
- worker: the worker's own analysis time (started -> completed, the longer of the two add-ons);
- after finish: answer arrival minus the worker's completion (the `completed_at` of the last add-on), p50/p95: the
  overhead of waiting (the worker's auto-tag writes and commit, the Redis wakeup, the web process' query and answer,
  HTTP). Aim (issue 15): p95 under 50 ms;
- after the wakeup: answer arrival minus the moment the worker's wakeup for that asset was heard on Redis (this
  process listens as the waiting requests do): the web's own part of that overhead.
"""
import argparse
import io
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stack import Stack, gunicorn_args, percentile, worker_command

STACK = Stack("upload_wait")
STACK.environment(MEDIALIB_API_RESULT_WAIT_SECONDS="120")

import logging

# The SDK keeps one connection per pool: with N threads it says so for every extra one; that is not a figure.
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


def photos(big: int) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    from fixture_photos import fixtures, upscaled

    found = fixtures()
    return found, [upscaled(name, data) for name, data in found[:big]]


def upload_all(cloudinary, items, concurrent: int, tag: str) -> list[dict]:
    def one(index_item):
        index, (name, data) = index_item
        sent = time.time()
        answer = cloudinary.uploader.upload(io.BytesIO(data), public_id=f"{tag}/{index}", categorization="aws_rek_tagging",
                                            detection="aws_rek_face", auto_tagging=0.7, timeout=300)
        return {"public_id": answer["public_id"], "sent": sent, "answered": time.time(), "answer": answer}

    with ThreadPoolExecutor(concurrent) as pool:
        return list(pool.map(one, enumerate(items)))


class WakeupListener:
    """Hears the worker's wakeups as the waiting requests do (a pattern subscription on the same channels), and
    keeps when each asset's arrived: that splits the time after the worker finished into the worker's part
    (auto-tag writes, commit, publish) and the web's part (wake, query, answer, HTTP)."""

    def __init__(self):
        import threading

        import redis

        from medialib.wakeups import channel

        self.heard: dict[int, float] = {}
        self._pubsub = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).pubsub(ignore_subscribe_messages=True)
        self._prefix = channel("analysis:")
        self._pubsub.psubscribe(self._prefix + "*")
        self._stopped = False
        threading.Thread(target=self._listen, daemon=True).start()

    def stop(self):
        self._stopped = True
        self._pubsub.close()

    def _listen(self):
        try:
            messages = self._pubsub.listen()
            for message in messages:
                self._heard(message)
        except Exception:
            if not self._stopped:
                raise

    def _heard(self, message):
        if message["type"] == "pmessage":
            asset_id = int(message["channel"].decode()[len(self._prefix):])
            self.heard[asset_id] = time.time()  # the last one: the wait ends when every add-on is written


def measured(rows: list[dict], listener: WakeupListener) -> dict:
    from medialib.models import Asset
    from tagging.models import AnalysisResult

    answer, worker, after, web = [], [], [], []
    incomplete = 0
    for row in rows:
        asset = Asset.objects.get(public_id=row["public_id"])
        results = list(AnalysisResult.objects.filter(asset=asset))
        statuses = {addon: value["status"] for kind in row["answer"].get("info", {}).values()
                    for addon, value in kind.items()}
        if set(statuses.values()) != {"complete"} or any(r.completed_at is None for r in results):
            incomplete += 1
            continue
        finished = max(r.completed_at for r in results).timestamp()
        started = min(r.started_at for r in results).timestamp()
        answer.append(row["answered"] - row["sent"])
        worker.append(finished - started)
        after.append(row["answered"] - finished)
        if asset.pk in listener.heard:
            web.append(row["answered"] - listener.heard[asset.pk])
    return {"answer": answer, "worker": worker, "after": after, "web": web, "incomplete": incomplete}


def line(label: str, figures: dict) -> str:
    def ms(values, q):
        return f"{percentile(values, q) * 1000:.0f}" if values else "-"

    a, w, f, h = figures["answer"], figures["worker"], figures["after"], figures["web"]
    return (f"| {label} | {len(a)} | {ms(a, .5)} / {ms(a, .95)} | {ms(w, .5)} / {ms(w, .95)} | {ms(f, .5)} / {ms(f, .95)} "
            f"| {ms(h, .5)} / {ms(h, .95)} | {figures['incomplete']} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=20, help="uploads per set")
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--big", type=int, default=1, help="12 MP photos made from the first N fixtures")
    args = parser.parse_args()

    with STACK:
        port = STACK.start()

        import django

        django.setup()
        import cloudinary
        import cloudinary.uploader
        from django.conf import settings
        from django.contrib.auth import get_user_model

        from medialib.api.services import api_key_create

        user = get_user_model().objects.create_user("bench", password="bench-upload-wait")
        key = api_key_create(name="bench", user=user)

        cloudinary.config(cloud_name=settings.MEDIALIB_CLOUD_NAME, api_key=key.key, api_secret=key.secret,
                          upload_prefix=f"http://127.0.0.1:{port}")

        fixtures, large = photos(args.big)
        # Every worker process and web process loads its models and connections before the clock starts.
        upload_all(cloudinary, fixtures[:4], 4, "warm")
        sets = [("fixtures", fixtures), ("12MP", large)]
        print(f"gunicorn {' '.join(gunicorn_args())}; worker: {' '.join(worker_command()[2:])}; {os.cpu_count()} cores")
        listener = WakeupListener()
        print("| set | uploads | answer p50 / p95 ms | worker's analysis p50 / p95 ms | answer after the worker finished "
              "p50 / p95 ms | answer after the wakeup p50 / p95 ms | not complete |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for label, items in sets:
            if not items:
                continue
            chosen = [items[i % len(items)] for i in range(args.uploads)]
            single = upload_all(cloudinary, chosen, 1, f"one-{label}")
            print(line(f"{label}, one at a time", measured(single, listener)), flush=True)
            burst = upload_all(cloudinary, chosen, args.concurrent, f"burst-{label}")
            print(line(f"{label}, {args.concurrent} at once", measured(burst, listener)), flush=True)
        listener.stop()


if __name__ == "__main__":
    main()
