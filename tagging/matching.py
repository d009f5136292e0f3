"""Recognising faces, without writing anything: match confidence, the nearest example face, and box overlap.

Recognition compares a face's 128-d embedding with the faces people have named ("example faces", source
"user"), never with faces that recognition itself matched, so one wrong match cannot spread. The nearest
example within TAGGING_FACE_MATCH_DISTANCE wins, unless that person was rejected for this face.

Whose example faces count depends on whose photo it is: naming a face on your own photo is your say about your
photos only. An example face counts on everyone's photos only once shared: its person approved by a moderator and
the face itself approved (named by staff, enrolled, or there when a moderator approved the person). Otherwise it
counts only on photos of the owner of the photo it is on, so nobody changes another user's photos by naming.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from .models import Face

# A face of a new analysis that overlaps an old one this much is the same face: it keeps what people said of it.
CARRY_OVER_IOU = 0.5


def match_confidence(distance: float, threshold: float | None = None) -> float:
    """Embedding distance -> match confidence 0-100: 100 at distance 0, 50 at the threshold, 0 beyond.

    100 * (1 - 0.5 * (d / t)^2), monotonic decreasing in d. With t = 0.6: d 0.15 -> 96.9, 0.33 -> 84.9,
    0.42 -> 75.5, 0.5 -> 65.3. So auto_tagging=0.7 tags matches closer than 0.46.
    """
    t = threshold if threshold is not None else settings.TAGGING_FACE_MATCH_DISTANCE
    if distance >= t:
        return 0.0
    return round(100.0 * (1.0 - 0.5 * (distance / t) ** 2), 2)


# The owner id of a photo nobody owns (enrolled by the command, or its uploader deleted): such photos are one owner.
NO_OWNER = -1


@dataclass
class FaceReferences:
    """The example faces recognition compares with: person ids, embeddings, the owner of the photo each is on and
    whether it is shared (counts on everyone's photos), in parallel arrays."""

    person_ids: np.ndarray
    embeddings: np.ndarray  # (n, 128)
    owner_ids: np.ndarray
    shared: np.ndarray  # bool

    @classmethod
    def load(cls, person_ids=None) -> FaceReferences:
        faces = Face.objects.filter(person__isnull=False, person_source=Face.SOURCE_USER, embedding__isnull=False)
        if person_ids is not None:
            faces = faces.filter(person_id__in=person_ids)
        rows = list(faces.values_list("person_id", "embedding", "asset__uploaded_by_id", "example_approved",
                                      "person__approved"))
        if not rows:
            return cls(np.zeros(0, dtype=np.int64), np.zeros((0, 128)), np.zeros(0, dtype=np.int64),
                       np.zeros(0, dtype=bool))
        return cls(
            np.array([r[0] for r in rows]), np.array([r[1] for r in rows], dtype=np.float64),
            np.array([owner_key(r[2]) for r in rows], dtype=np.int64), np.array([r[3] and r[4] for r in rows]),
        )

    def nearest(self, embedding, exclude: set[int] = frozenset(), *, owner_id: int | None) -> tuple[int, float] | None:
        """(person_id, distance) of the nearest example face, of a person not in `exclude`, that counts on a photo
        of `owner_id`: shared, or on a photo of the same owner."""
        if not len(self.person_ids):
            return None
        distances = np.linalg.norm(self.embeddings - np.asarray(embedding, dtype=np.float64), axis=1)
        usable = self.shared | (self.owner_ids == owner_key(owner_id))
        distances = np.where(usable, distances, np.inf)
        if exclude:
            distances = np.where(np.isin(self.person_ids, list(exclude)), np.inf, distances)
        i = int(np.argmin(distances))
        if not np.isfinite(distances[i]):
            return None
        return int(self.person_ids[i]), float(distances[i])


def owner_key(owner_id: int | None) -> int:
    return NO_OWNER if owner_id is None else owner_id


def face_recognise(face: Face, references: FaceReferences, rejected: set[int], *, owner_id: int | None) -> bool:
    """Give the (unsaved) face on a photo of `owner_id` the nearest example's person that counts there, if near
    enough and not rejected for it."""
    match = references.nearest(face.embedding, exclude=rejected, owner_id=owner_id) if face.embedding else None
    if match is None or match[1] >= settings.TAGGING_FACE_MATCH_DISTANCE:
        return False
    face.person_id, face.person_source = match[0], Face.SOURCE_AUTO
    face.match_confidence = match_confidence(match[1])
    return True


def box_iou(a, b) -> float:
    """Intersection over union of two boxes with left, top, width and height (Face rows or bounding boxes)."""
    ax2, ay2 = a.left + a.width, a.top + a.height
    bx2, by2 = b.left + b.width, b.top + b.height
    w = max(0.0, min(ax2, bx2) - max(a.left, b.left))
    h = max(0.0, min(ay2, by2) - max(a.top, b.top))
    inter = w * h
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def face_carried_over(old_faces, face):
    """The old face (of an earlier analysis of the photo) that this new one is, if any: the most overlapping one,
    at IoU >= CARRY_OVER_IOU. What people said of it (a name, rejections) then carries over."""
    previous = max(old_faces, key=lambda old: box_iou(old, face), default=None)
    return previous if previous is not None and box_iou(previous, face) >= CARRY_OVER_IOU else None
