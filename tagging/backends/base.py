"""The detector contract: what every backend takes and the plain dataclasses it returns.

Backends never touch models or the database; services persist what they return.
Images come in already decoded, EXIF orientation applied, in RGB; every ratio is of that image.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Label:
    name: str  # as a person would write it: "Dog", "Mobile Phone"
    confidence: float  # 0-1


@dataclass(frozen=True)
class BoundingBox:
    left: float  # ratios of the image's width and height, 0-1 (may slightly exceed at the edges)
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class Landmark:
    type: str  # Rekognition's names: eyeLeft, eyeRight, nose, mouthLeft, mouthRight, ...
    x: float  # ratios, like the bounding box
    y: float


@dataclass(frozen=True)
class Pose:
    roll: float  # degrees
    yaw: float
    pitch: float


@dataclass(frozen=True)
class Quality:
    brightness: float  # 0-100
    sharpness: float  # 0-100


@dataclass(frozen=True)
class DetectedFace:
    bounding_box: BoundingBox
    confidence: float  # 0-100
    landmarks: tuple[Landmark, ...] = ()
    pose: Pose | None = None
    quality: Quality | None = None
    embedding: tuple[float, ...] | None = None  # for recognition by the local backend


@dataclass(frozen=True)
class CelebrityMatch:
    """A face that the detector itself recognised (Rekognition's celebrities)."""

    name: str
    id: str
    match_confidence: float  # 0-100
    face: DetectedFace
    urls: tuple[str, ...] = field(default_factory=tuple)
