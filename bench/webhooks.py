"""Benchmark (issue 15): how soon a webhook reaches its receiver after the analysis it reports has finished, beside
the worker's own analysis time in the same run. Aim: within 1 s of completion.

Run: .venv/bin/python bench/webhooks.py [--uploads 20] [--concurrent 20] [--shared-worker]

The deployment's parts, on their own, as bench/upload_wait.py sets them up: a throw-away PostgreSQL database on the
shared server (dropped at the end), a Redis server of its own on a free port, gunicorn with docker-compose.yml's
workers and threads, the Procfile's worker command (prefork, two processes, every queue) and its `webhooks` worker
(threads, the default queue: a webhook never waits for a process busy with an analysis); with --shared-worker, no
webhooks worker (the webhooks then wait between the analyses and the thumbnails). Uploads go through the official Python SDK with
categorization=aws_rek_tagging, detection=aws_rek_face, auto_tagging=0.7, async=true and a notification_url on a
loopback receiver (tests/webhook_receiver.py, let in by MEDIALIB_WEBHOOK_ALLOWED_HOSTS=127.0.0.1).

Printed per set (one at a time, N at once):
- info after completion: the receiver's arrival of each add-on's `info` notification minus that result's
  `completed_at` (the commit that queued the delivery), p50/p95: the webhook's own delay (queue, claim, sign, POST);
- worker's analysis: started -> completed of the analysis, the reference;
- upload notification: arrival of the `upload` notification minus the asset's creation.
"""
import argparse
import io
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from stack import Stack, gunicorn_args, percentile, worker_command

STACK = Stack("webhooks")
STACK.environment(MEDIALIB_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
# the `async` upload parameter answers at once: what is measured is the webhooks, not the synchronous wait

import logging

logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


def upload_all(cloudinary, items, concurrent: int, tag: str, url: str) -> list[str]:
    def one(index_item):
        index, (name, data) = index_item
        return cloudinary.uploader.upload(io.BytesIO(data), public_id=f"{tag}/{index}", categorization="aws_rek_tagging",
                                          detection="aws_rek_face", auto_tagging=0.7, notification_url=url,
                                          timeout=300, **{"async": True})["public_id"]

    with ThreadPoolExecutor(concurrent) as pool:
        return list(pool.map(one, enumerate(items)))


def measured(public_ids: list[str], receiver, timeout: float = 600) -> dict:
    from medialib.models import Asset
    from tagging.models import AnalysisResult

    wanted = {(public_id, kind) for public_id in public_ids for kind in ("upload", "aws_rek_tagging", "aws_rek_face")}
    deadline = time.monotonic() + timeout
    while True:
        arrived = {}
        for got in receiver.received:
            body = json.loads(got.body)
            arrived.setdefault((body["public_id"], body.get("info_kind", body["notification_type"])), got.at)
        if wanted <= set(arrived) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    info, worker, upload = [], [], []
    for public_id in public_ids:
        asset = Asset.objects.get(public_id=public_id)
        if (public_id, "upload") in arrived:
            upload.append(arrived[(public_id, "upload")] - asset.created_at.timestamp())
        results = list(AnalysisResult.objects.filter(asset=asset))
        for result in results:
            if (public_id, result.addon) in arrived and result.completed_at:
                info.append(arrived[(public_id, result.addon)] - result.completed_at.timestamp())
        if all(r.completed_at for r in results):
            worker.append(max(r.completed_at for r in results).timestamp()
                          - min(r.started_at for r in results).timestamp())
    return {"info": info, "worker": worker, "upload": upload, "missing": len(wanted - set(arrived))}


def line(label: str, figures: dict) -> str:
    def ms(values, q):
        return f"{percentile(values, q) * 1000:.0f}" if values else "-"

    i, w, u = figures["info"], figures["worker"], figures["upload"]
    return (f"| {label} | {len(i)} | {ms(i, .5)} / {ms(i, .95)} | {ms(w, .5)} / {ms(w, .95)} "
            f"| {ms(u, .5)} / {ms(u, .95)} | {figures['missing']} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=20, help="uploads per set")
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--shared-worker", action="store_true",
                        help="no webhooks worker: the Procfile's worker sends them too, between analyses")
    args = parser.parse_args()

    webhooks_worker = worker_command("webhooks") if not args.shared_worker else None
    with STACK:
        port = STACK.start(workers=("worker", "webhooks") if webhooks_worker else ("worker",))

        import django

        django.setup()
        import cloudinary
        import cloudinary.uploader
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from fixture_photos import fixtures

        from medialib.api.services import api_key_create
        from tests.webhook_receiver import Receiver

        user = get_user_model().objects.create_user("bench", password="bench-webhooks")
        key = api_key_create(name="bench", user=user)
        cloudinary.config(cloud_name=settings.MEDIALIB_CLOUD_NAME, api_key=key.key, api_secret=key.secret,
                          upload_prefix=f"http://127.0.0.1:{port}")
        photos = fixtures()
        with Receiver() as receiver:
            # Every worker and web process loads its models and connections before the clock starts.
            measured(upload_all(cloudinary, photos[:4], 4, "warm", receiver.url), receiver)
            print(f"gunicorn {' '.join(gunicorn_args())}; worker: {' '.join(worker_command()[2:])}; webhooks: "
                  f"{' '.join(webhooks_worker[2:]) if webhooks_worker else 'the worker above'}; {os.cpu_count()} cores")
            print("| set | info notifications | info after completion p50 / p95 ms | worker's analysis p50 / p95 ms "
                  "| upload notification after creation p50 / p95 ms | missing |")
            print("| --- | --- | --- | --- | --- | --- |")
            chosen = [photos[i % len(photos)] for i in range(args.uploads)]
            single = []
            for index, item in enumerate(chosen):  # one at a time: the next upload once this one is told
                (public_id,) = upload_all(cloudinary, [item], 1, f"one-{index}", receiver.url)
                measured([public_id], receiver)
                single.append(public_id)
            print(line("fixtures, one at a time", measured(single, receiver)), flush=True)
            burst = upload_all(cloudinary, chosen, args.concurrent, "burst", receiver.url)
            print(line(f"fixtures, {args.concurrent} at once", measured(burst, receiver)), flush=True)


if __name__ == "__main__":
    main()
