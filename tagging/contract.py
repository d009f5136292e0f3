"""The JSON contract: detector dataclasses to the Cloudinary-shaped data of each add-on (see ARCHITECTURE.md)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from .backends.base import DetectedFace, FacesResult, Label

T = TypeVar("T")


def _ratio(value: float) -> float:
    return round(float(value), 4)


def best_per_name(items: Iterable[T], *, name: Callable[[T], str], confidence: Callable[[T], float]) -> list[T]:
    """One item per name, case-insensitively, the surest kept (the first of equals); surest first, then by name.

    How every list of findings reads: a detector's labels, the add-on's data, auto-tag candidates.
    """
    best: dict[str, T] = {}
    for item in items:
        key = name(item).lower()
        if key not in best or confidence(item) > confidence(best[key]):
            best[key] = item
    return sorted(best.values(), key=lambda item: (-confidence(item), name(item)))


def best_labels(labels: Iterable[Label]) -> list[Label]:
    """best_per_name of detector labels."""
    return best_per_name(labels, name=lambda label: label.name, confidence=lambda label: label.confidence)


def labels_data(labels: list[Label]) -> list[dict]:
    """[{"tag": "Dog", "confidence": 0.9117}, ...], one per name, best first."""
    return best_per_name(
        ({"tag": label.name, "confidence": round(min(max(float(label.confidence), 0.0), 1.0), 4)} for label in labels),
        name=lambda item: item["tag"], confidence=lambda item: item["confidence"],
    )


def face_data(face: DetectedFace) -> dict:
    box = face.bounding_box
    data = {
        "bounding_box": {"width": _ratio(box.width), "height": _ratio(box.height),
                         "left": _ratio(box.left), "top": _ratio(box.top)},
        "confidence": round(float(face.confidence), 3),
        "landmarks": [{"type": lm.type, "x": _ratio(lm.x), "y": _ratio(lm.y)} for lm in face.landmarks],
    }
    if face.pose is not None:
        data["pose"] = {"roll": round(face.pose.roll, 2), "yaw": round(face.pose.yaw, 2),
                        "pitch": round(face.pose.pitch, 2)}
    if face.quality is not None:
        data["quality"] = {"brightness": round(face.quality.brightness, 2),
                           "sharpness": round(face.quality.sharpness, 2)}
    return data


def faces_result_data(result: FacesResult) -> dict:
    """The aws_rek_face data of what a detector found, before this library's own recognition."""
    return {
        "celebrity_faces": [
            {"name": c.name, "id": c.id, "urls": list(c.urls), "match_confidence": round(float(c.match_confidence), 2),
             "face": face_data(c.face)}
            for c in result.celebrities
        ],
        "unrecognized_faces": [face_data(face) for face in result.faces],
    }
