"""Fitting and checking the label calibration: which labels were right, a monotone map per source, precision/recall.

Used by scripts/calibrate_labels.py (writes tagging/data/label_calibration.json, which merge.py applies at run
time) and bench/labels.py (prints the figures). Pure functions over (raw score, right?) pairs; no models here.

The fit: raw scores in BIN_EDGES bins; each bin's fraction right, smoothed towards the bin's mean raw score with
PRIOR_WEIGHT pseudo-labels (a bin of 2 labels says little, and with no labels the raw score is all we know), then made non-decreasing by pool-adjacent-violators
(weighted by the bin's count), since a higher raw score must never mean a lower confidence. The knots are the
bins' mean raw scores, with (0, 0) below; np.interp between them, flat past the last.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from .labels import DATA_DIR

TRUTH_PATH = DATA_DIR / "label_truth.json"
BIN_EDGES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0000001)
PRIOR_WEIGHT = 2.0
THRESHOLDS = (0.5, 0.7, 0.9)


@dataclass(frozen=True)
class PhotoTruth:
    present: frozenset[str]  # casefolded names a tagger should find
    right: frozenset[str]  # casefolded names that are right (present, also_right, their parents, Face)


def ancestors_table() -> dict[str, list[str]]:
    """Every name of both label tables -> its parents (nearest first), casefolded."""
    chains: dict[str, list[str]] = {}
    for table, rows in ((DATA_DIR / "imagenet_labels.json", lambda d: [(n, p) for n, _w, p in d["classes"]]),
                        (DATA_DIR / "coco_labels.json", lambda d: [(n, p) for _c, n, p in d["classes"]])):
        for name, parents in rows(json.loads(table.read_text(encoding="utf-8"))):
            chain = [x.casefold() for x in (name, *parents)]
            for i, label in enumerate(chain):
                chains.setdefault(label, [])
                for parent in chain[i + 1:]:
                    if parent not in chains[label]:
                        chains[label].append(parent)
    return chains


def load_truth(path: Path = TRUTH_PATH, chains: Mapping[str, list[str]] | None = None) -> dict[str, PhotoTruth]:
    chains = chains if chains is not None else ancestors_table()
    out = {}
    for photo, entry in json.loads(Path(path).read_text(encoding="utf-8"))["photos"].items():
        present = {n.casefold() for n in entry["present"]}
        named = present | {n.casefold() for n in entry.get("also_right", [])}
        right = set(named)
        for name in named:
            right.update(chains.get(name, ()))
        if "person" in present:
            right.add("face")
        out[photo] = PhotoTruth(frozenset(present), frozenset(right))
    return out


def fit(pairs: Sequence[tuple[float, bool]], *, edges: Sequence[float] = BIN_EDGES,
        prior_weight: float = PRIOR_WEIGHT) -> tuple[list[float], list[float]]:
    """(raw, right) pairs -> monotone knots (raw, calibrated) as two lists."""
    if not pairs:
        return [0.0, 1.0], [0.0, 1.0]
    raw = np.clip(np.array([p[0] for p in pairs], dtype=np.float64), 0.0, 1.0)
    right = np.array([bool(p[1]) for p in pairs], dtype=np.float64)
    xs, ys, ws = [], [], []
    for lo, hi in zip(edges, edges[1:]):
        inside = (raw >= lo) & (raw < hi)
        n = int(inside.sum())
        if not n:
            continue
        mean = float(raw[inside].mean())
        xs.append(mean)
        ys.append((float(right[inside].sum()) + prior_weight * mean) / (n + prior_weight))
        ws.append(float(n))
    ys = pool_adjacent_violators(ys, ws)
    knots_x, knots_y = [0.0], [0.0]
    for x, y in zip(xs, ys):
        if round(x, 4) > knots_x[-1]:
            knots_x.append(round(x, 4))
            knots_y.append(round(max(y, knots_y[-1]), 4))
    if knots_x[-1] < 1.0:
        knots_x.append(1.0)
        knots_y.append(knots_y[-1])
    return knots_x, knots_y


def pool_adjacent_violators(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """The non-decreasing sequence closest to values in weighted least squares."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights):
        blocks.append([float(v), float(w), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, c2 = blocks.pop()
            v1, w1, c1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for mean, _w, count in blocks:
        out += [mean] * count
    return out


@dataclass(frozen=True)
class Scores:
    threshold: float
    right: int
    tagged: int
    found: int
    present: int

    @property
    def precision(self) -> float:
        return self.right / self.tagged if self.tagged else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.present if self.present else 1.0

    def __str__(self) -> str:
        precision = f"{self.precision:.2f}" if self.tagged else "-"
        return (f">= {self.threshold}: precision {precision} ({self.right}/{self.tagged}), "
                f"recall {self.recall:.2f} ({self.found}/{self.present})")


def score(tags: Mapping[str, Mapping[str, float]], truth: Mapping[str, PhotoTruth],
          thresholds: Iterable[float] = THRESHOLDS) -> list[Scores]:
    """Precision and recall of the tags (photo -> {name: confidence}) at each threshold."""
    out = []
    for t in thresholds:
        right = tagged = found = present = 0
        for photo, facts in truth.items():
            names = {n.casefold() for n, c in tags.get(photo, {}).items() if c >= t}
            tagged += len(names)
            right += len(names & facts.right)
            present += len(facts.present)
            found += len(names & facts.present)
        out.append(Scores(t, right, tagged, found, present))
    return out


# --- the sources on real photos --------------------------------------------------------------------------------


@dataclass
class Evidence:
    """What each source said about one photo, before calibration."""

    lite0: list  # [LabelSource]
    yolo: list  # [LabelSource]
    faces: list  # [Label]: Person, Face, People


def photo_evidence(image) -> Evidence:
    """Run the three sources on an RGB, EXIF-oriented image as the local backend does."""
    from . import PERSON_MIN_FACE_CONFIDENCE, person_labels
    from .faces import face_model
    from .labels import label_model
    from .merge import lite0_sources, yolo_sources
    from .objects import object_model

    lite0 = label_model()
    objects = object_model()
    return Evidence(
        lite0=lite0_sources(lite0.probabilities(image), lite0.table),
        yolo=yolo_sources(objects.detect(image), objects.classes),
        faces=person_labels(face_model().detect(image), PERSON_MIN_FACE_CONFIDENCE["yunet"]),
    )


def pairs_of(evidence: Mapping[str, Evidence], truth: Mapping[str, PhotoTruth], source: str) -> list[tuple[float, bool]]:
    return [(item.raw, item.name.casefold() in truth[photo].right)
            for photo, ev in evidence.items() if photo in truth for item in getattr(ev, source)]


def fit_all(evidence: Mapping[str, Evidence], truth: Mapping[str, PhotoTruth]):
    """A Calibration of both sources from these photos."""
    from .merge import SOURCES, Calibration

    return Calibration({s: tuple(map(tuple, fit(pairs_of(evidence, truth, s)))) for s in SOURCES})


def tags_of(ev: Evidence, cal, which: str) -> dict[str, float]:
    """One photo's {name: confidence} from one source ("lite0", "yolo"), raw Lite0 ("lite0-raw") or all ("merged")."""
    from .merge import merged_labels

    if which == "lite0-raw":
        return {s.name: s.raw for s in ev.lite0}
    sources = {"lite0": ev.lite0, "yolo": ev.yolo, "faces": ev.faces} if which == "merged" else {which: getattr(ev, which)}
    labels = merged_labels(**sources, cal=cal, min_confidence=0.0, max_labels=1000)
    return {label.name: label.confidence for label in labels}


def evaluate(evidence: Mapping[str, Evidence], truth: Mapping[str, PhotoTruth], *, leave_one_out: bool,
             thresholds: Iterable[float] = THRESHOLDS) -> dict[str, list[Scores]]:
    """Precision/recall per way of tagging. leave_one_out: each photo's tags from a calibration fitted without it."""
    thresholds = tuple(thresholds)
    photos = [p for p in evidence if p in truth]
    full = fit_all(evidence, truth)
    out = {}
    for which in ("lite0-raw", "lite0", "yolo", "merged"):
        tags = {}
        for photo in photos:
            cal = fit_all({p: e for p, e in evidence.items() if p != photo}, truth) if leave_one_out else full
            tags[photo] = tags_of(evidence[photo], cal, which)
        out[which] = score(tags, {p: truth[p] for p in photos}, thresholds)
    return out
