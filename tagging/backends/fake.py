"""A deterministic detector for unit tests: what it finds depends only on the image's pixels."""
from __future__ import annotations

import time

from .base import (
    AnalysisImage, Backend, BoundingBox, DetectedFace, DetectorError, FacesResult, Label, Landmark, Pose, Quality,
    TransientDetectorError,
)


class FakeBackend(Backend):
    """Labels from the image's dominant colour; one face in the middle of images wider than tall.

    Tests steer it through options or by monkeypatching: `fail_with` raises that error on every call.
    """

    name = "fake"
    fail_with: Exception | None = None

    def __init__(self, *, delay: float = 0.0, **options):
        super().__init__(**options)
        self.delay = delay

    def _check(self):
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with

    def labels(self, image: AnalysisImage) -> list[Label]:
        self._check()
        r, g, b = image.image.convert("RGB").resize((1, 1)).getpixel((0, 0))
        colour = max((("Red", r), ("Green", g), ("Blue", b)), key=lambda item: item[1])[0]
        return [Label(colour, 0.9), Label("Colour", 0.75), Label("Thing", 0.5)]

    def faces(self, image: AnalysisImage) -> FacesResult:
        self._check()
        if image.width <= image.height:
            return FacesResult(faces=())
        face = DetectedFace(
            bounding_box=BoundingBox(left=0.4, top=0.3, width=0.2, height=0.3),
            confidence=99.0,
            landmarks=(Landmark("eyeLeft", 0.45, 0.4), Landmark("eyeRight", 0.55, 0.4), Landmark("nose", 0.5, 0.47)),
            pose=Pose(roll=0.0, yaw=0.0, pitch=0.0),
            quality=Quality(brightness=50.0, sharpness=50.0),
            embedding=tuple([0.0] * 128),
        )
        return FacesResult(faces=(face,))


__all__ = ["FakeBackend", "DetectorError", "TransientDetectorError"]
