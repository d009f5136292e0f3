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


@dataclass(frozen=True)
class FacesResult:
    faces: tuple[DetectedFace, ...]  # every face that is not a celebrity match
    celebrities: tuple[CelebrityMatch, ...] = ()


class DetectorError(Exception):
    """A detector failed on this image and will fail again: recorded on the result, not retried."""


class TransientDetectorError(DetectorError):
    """A detector failed for a reason that may pass (a throttled or unreachable service): retried with backoff."""


class AnalysisImage:
    """One image as the detectors see it: decoded once per task, shared by every add-on of the run.

    `image` is RGB with EXIF orientation applied, possibly reduced for speed (ratios are unaffected).
    `open_original()` gives the stored bytes for backends that send the file elsewhere (Rekognition).
    `memo` lets a backend share work between add-ons of the same run (one face detection for both).
    `orientation` is the original's EXIF orientation as stored (None: not known), `bytes` its file size.
    """

    def __init__(self, image, *, open_original=None, format: str = "", storage_name: str = "",
                 width: int = 0, height: int = 0, orientation: int | None = None, bytes: int = 0):
        self.image = image
        self.open_original = open_original
        self.format = format
        self.storage_name = storage_name
        self.orientation = orientation
        self.bytes = bytes
        self.width = width or image.width  # the displayed size of the original
        self.height = height or image.height
        self.memo: dict = {}


class Backend:
    """The contract of a detector backend. Subclasses override what they offer."""

    name = "base"

    def __init__(self, **options):
        self.options = options

    def labels(self, image: AnalysisImage) -> list[Label]:
        raise DetectorError(f"The {self.name} backend does not detect labels.")

    def faces(self, image: AnalysisImage) -> FacesResult:
        raise DetectorError(f"The {self.name} backend does not detect faces.")

    def decode_size(self, addons: list[str]) -> int | None:
        """The fewest pixels the backend needs for these add-ons (None: the full image)."""
        return None
