"""One list of labels from the local backend's three sources: EfficientNet-Lite0, YOLOv3-tiny and the face detector.

Sources and what each is good at: Lite0 (labels.py) names scenes, breeds and things among ImageNet's 1000 classes,
with WordNet parents; its one softmax spreads over a photo that holds several things. YOLOv3-tiny (objects.py) finds
COCO's 80 everyday objects, how many and where, including the people, horses, cars and kites ImageNet lacks. The face
detector gives Person, Face and People (tagging/backends/local/__init__.py, person_labels).

Names: both tables use one readable name per concept (tagging/data/coco_labels.json maps COCO's names onto the
ImageNet table's: COCO "dog" is the breeds' parent Dog, COCO "kite" the toy Kite, ImageNet's "kite" the bird
"Kite (Bird)"), so one concept is one label whichever model saw it.

Confidences (0-1, Rekognition's meaning: how sure that this is in the photo):
1. Each source gives a raw score per name. Lite0: the summed softmax probability of the classes under the name
   (labels.py). YOLO: per class, its boxes combined (below); a parent (Vehicle over Car and Bus) takes its surest
   child's score.
2. Several boxes of one class are one label. They raise its score as a damped noisy-or over the three surest boxes:
   raw = 1 - (1 - s1) (1 - s2 / 2) (1 - s3 / 2). Why: four dogs at 0.58, 0.41, 0.38, 0.25 are surer evidence of
   "dog" than the best box alone (three sightings of one concept), but boxes of one photo are not independent
   evidence: a texture that fools the model once fools it in many places (the coins photo gives seven "bowl" boxes
   of 0.15-0.24), so each box after the first counts half and boxes past the third count nothing. The count of
   boxes is kept (LabelSource.instances) though Cloudinary's aws_rek_tagging shape has no field for it.
3. Calibration (tagging/data/label_calibration.json, written by scripts/calibrate_labels.py from hand-labelled
   photos, tagging/data/label_truth.json) maps each source's raw score to the fraction of that source's labels that
   were right at that score: a monotone, piecewise-linear map per source. So 0.7 means "about 7 in 10 labels like
   this one were right", the meaning the article's `auto_tagging=0.7` assumes.
4. The same name from two sources keeps the higher calibrated confidence (Rekognition style; adding them as if
   independent would over-trust two models that share their mistakes). Person from the faces keeps the face
   detector's own score (YuNet's precision on the fixtures was 72/72 at >= 70; faces under 80 are not used).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from tagging.backends.base import Label

from .labels import DATA_DIR, LabelTable
from .objects import CocoClass, Detection

CALIBRATION_PATH = DATA_DIR / "label_calibration.json"
SOURCES = ("lite0", "yolo")
BOXES_COUNTED = 3  # the surest boxes of a class that raise its score
LATER_BOX_WEIGHT = 0.5  # what a box after the first counts for
RAW_FLOOR = 0.01  # raw scores below this are not labels at all


@dataclass
class LabelSource:
    """One name's raw evidence from one source."""

    name: str
    source: str  # "lite0", "yolo", "faces"
    raw: float
    instances: int = 0  # boxes of this class (YOLO), faces (faces); 0 for Lite0
    confidence: float = 0.0  # after calibration


def combine_boxes(scores: Iterable[float]) -> float:
    """Several boxes of one class -> one raw score (the damped noisy-or of the module docstring)."""
    surest = sorted((min(max(float(s), 0.0), 1.0) for s in scores), reverse=True)[:BOXES_COUNTED]
    if not surest:
        return 0.0
    miss = 1.0 - surest[0]
    for s in surest[1:]:
        miss *= 1.0 - LATER_BOX_WEIGHT * s
    return 1.0 - miss


def lite0_sources(probabilities: np.ndarray, table: LabelTable, *, floor: float = RAW_FLOOR) -> list[LabelSource]:
    confidences = table.confidences(probabilities)
    return [LabelSource(table.label_names[i], "lite0", float(confidences[i]))
            for i in np.flatnonzero(confidences >= floor)]


def yolo_sources(detections: Sequence[Detection], classes: Sequence[CocoClass], *,
                 floor: float = RAW_FLOOR) -> list[LabelSource]:
    by_class: dict[int, list[float]] = {}
    for d in detections:
        by_class.setdefault(d.class_index, []).append(d.score)
    found: dict[str, LabelSource] = {}
    for index, scores in by_class.items():
        cls = classes[index]
        raw = combine_boxes(scores)
        if raw < floor:
            continue
        found[cls.name] = LabelSource(cls.name, "yolo", raw, instances=len(scores))
    for index in by_class:  # a parent (every ancestor is listed): its surest child's score
        child = found.get(classes[index].name)
        if child is None:
            continue
        for parent in classes[index].parents:
            have = found.get(parent)
            if have is None:
                found[parent] = LabelSource(parent, "yolo", child.raw)
            elif have.raw < child.raw:
                have.raw = child.raw  # a parent that is also a class (Sandwich over Hot Dog) keeps its boxes' count
    return list(found.values())


# --- calibration -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """Per source, a monotone piecewise-linear map from raw score to the fraction right: knots (raw, fraction)."""

    knots: Mapping[str, tuple[tuple[float, ...], tuple[float, ...]]] = field(default_factory=dict)

    def apply(self, source: str, raw: float) -> float:
        if source not in self.knots:
            return raw  # uncalibrated (the faces: the detector's own score)
        xs, ys = self.knots[source]
        return float(np.interp(raw, xs, ys))

    @classmethod
    def from_json(cls, data: dict) -> Calibration:
        knots = {}
        for source, entry in data["sources"].items():
            xs, ys = tuple(map(float, entry["raw"])), tuple(map(float, entry["calibrated"]))
            if len(xs) != len(ys) or len(xs) < 2:
                raise ValueError(f"calibration of {source}: raw and calibrated must be two lists of the same length >= 2")
            if any(b < a for a, b in zip(xs, xs[1:])) or any(b < a for a, b in zip(ys, ys[1:])):
                raise ValueError(f"calibration of {source} is not monotone")
            if not all(0.0 <= v <= 1.0 for v in xs + ys):
                raise ValueError(f"calibration of {source} has values outside 0-1")
            knots[source] = (xs, ys)
        return cls(knots)


@functools.cache
def calibration(path: Path = CALIBRATION_PATH) -> Calibration:
    return Calibration.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


# --- the merge -------------------------------------------------------------------------------------------------


def merged_sources(groups: Iterable[Iterable[LabelSource]], cal: Calibration) -> dict[str, LabelSource]:
    """Calibrate every source's evidence, then keep the surest per name (case-insensitive)."""
    best: dict[str, LabelSource] = {}
    for group in groups:
        for item in group:
            item = replace(item, confidence=round(cal.apply(item.source, item.raw), 4))
            key = item.name.casefold()
            if key not in best or item.confidence > best[key].confidence:
                best[key] = item
    return best


def merged_labels(*, lite0: Iterable[LabelSource] = (), yolo: Iterable[LabelSource] = (),
                 faces: Iterable[Label] = (), cal: Calibration | None = None, min_confidence: float = 0.01,
                 max_labels: int = 20) -> list[Label]:
    """The aws_rek_tagging list: one label per name, calibrated, best first, ties by name."""
    cal = cal or calibration()
    face_sources = [LabelSource(label.name, "faces", label.confidence) for label in faces]
    best = merged_sources([lite0, yolo, face_sources], cal)
    ranked = sorted((s for s in best.values() if s.confidence >= min_confidence),
                    key=lambda s: (-s.confidence, s.name))
    return [Label(s.name, s.confidence) for s in ranked[:max(0, max_labels)]]
