"""The JSON contract: detector dataclasses to the Cloudinary-shaped data of each add-on (see ARCHITECTURE.md)."""
from __future__ import annotations

from .backends.base import DetectedFace, FacesResult, Label


def _ratio(value: float) -> float:
    return round(float(value), 4)


def labels_data(labels: list[Label]) -> list[dict]:
    """[{"tag": "Dog", "confidence": 0.9117}, ...], one per name, best first."""
    seen: dict[str, dict] = {}
    for label in labels:
        key = label.name.lower()
        confidence = round(min(max(float(label.confidence), 0.0), 1.0), 4)
        if key not in seen or confidence > seen[key]["confidence"]:
            seen[key] = {"tag": label.name, "confidence": confidence}
    return sorted(seen.values(), key=lambda item: (-item["confidence"], item["tag"]))


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
