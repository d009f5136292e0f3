"""Fit the label calibration (tagging/data/label_calibration.json) from the hand-labelled photos, and report it.

For each photo of tagging/data/label_truth.json (the photos are in tests/photos/), run EfficientNet-Lite0, YOLOv3-tiny
and the face detector as the local backend does, mark each raw label right or wrong against the hand labels, fit
one monotone map per source from raw score to fraction right (tagging/backends/local/calibration.py), write it, and
print precision and recall of the tags at 0.5, 0.7 and 0.9: raw Lite0 (before this change), calibrated Lite0,
calibrated YOLO, and the merge, both on the photos the map was fitted on (optimistic) and leave-one-out (each
photo tagged with a map fitted on the other photos).

    PYTHONPATH=$PWD .venv/bin/python scripts/calibrate_labels.py            # fit, write, report
    PYTHONPATH=$PWD .venv/bin/python scripts/calibrate_labels.py --check    # report only; fail if the file is stale
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageOps  # noqa: E402

from tagging.backends.local.calibration import (  # noqa: E402
    TRUTH_PATH,
    evaluate,
    fit,
    load_truth,
    pairs_of,
    photo_evidence,
)
from tagging.backends.local.merge import CALIBRATION_PATH, SOURCES  # noqa: E402

PHOTOS = ROOT / "tests" / "photos"


def all_evidence(truth) -> dict:
    evidence = {}
    for photo in sorted(truth):
        with Image.open(PHOTOS / photo) as im:
            evidence[photo] = photo_evidence(ImageOps.exif_transpose(im).convert("RGB"))
    return evidence


def calibration_json(evidence, truth) -> dict:
    sources = {}
    for source in SOURCES:
        pairs = pairs_of(evidence, truth, source)
        xs, ys = fit(pairs)
        sources[source] = {"raw": xs, "calibrated": ys, "labels": len(pairs),
                           "right": sum(1 for _, r in pairs if r)}
    return {
        "about": "Raw score -> fraction of labels that were right at that score, per source; piecewise linear "
                 "between the knots, flat past the last. Fitted by scripts/calibrate_labels.py on the photos of "
                 "tagging/data/label_truth.json; do not edit by hand.",
        "photos": len(evidence),
        "sources": sources,
    }


def report(evidence, truth) -> None:
    for title, loo in (("fitted and measured on the same photos (optimistic)", False),
                       ("leave-one-out (each photo tagged by a map fitted without it)", True)):
        print(f"{title}:")
        for which, scores in evaluate(evidence, truth, leave_one_out=loo).items():
            print(f"  {which:10} " + "; ".join(str(s) for s in scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="do not write; fail if the committed file differs")
    args = parser.parse_args()
    truth = load_truth(TRUTH_PATH)
    evidence = all_evidence(truth)
    data = calibration_json(evidence, truth)
    text = json.dumps(data, indent=1) + "\n"
    if args.check:
        if CALIBRATION_PATH.read_text(encoding="utf-8") != text:
            raise SystemExit(f"{CALIBRATION_PATH} is not what this script fits now: re-run it without --check")
    else:
        CALIBRATION_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {CALIBRATION_PATH}")
    for source in SOURCES:
        entry = data["sources"][source]
        knots = ", ".join(f"{x:.2f}->{y:.2f}" for x, y in zip(entry["raw"], entry["calibrated"]))
        print(f"{source}: {entry['right']}/{entry['labels']} raw labels right; {knots}")
    report(evidence, truth)


if __name__ == "__main__":
    main()
