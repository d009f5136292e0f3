"""The offline backend: EfficientNet-Lite0 + YOLOv3-tiny labels on ONNX Runtime, YuNet + dlib faces, models loaded once per process."""
from __future__ import annotations

from django.conf import settings

from ...contract import best_labels
from ..base import AnalysisImage, Backend, FacesResult, Label

# One decode serves both add-ons: the size the largest need requires, each model resizing its own copy from it.
# YuNet finds faces on a 960 px copy, but dlib's landmarks and embeddings need the face's detail: a JPEG draft at 1/2
# of a 12 MP photo (3 MP; a 25 px face on the 960 px copy drifts 0.42 from its full-size embedding). HOG and the CNN
# scan a copy of about 6 MP (tagging/backends/local/faces.py). Labels alone need a 256 px short side (Lite0) and a
# 416 px long side (YOLOv3-tiny's letterbox).
FACE_PIXELS = {"yunet": 3_000_000, "hog": 6_000_000, "cnn": 6_000_000}
LABEL_PIXELS = max(256 * 256 * 2, 416 * 416)
FACE_DETECTORS = ("yunet", "hog", "cnn")
PERSON_MIN_FACE_CONFIDENCE = {"yunet": 80.0}  # 0-100 by detector, see person_labels(); dlib's: every kept face


def face_option_problems(*, face_detector: str = "yunet", face_landmarks: int = 5, face_min_score=None,
                         **other) -> list[str]:
    """What is wrong with the local backend's face options (settings TAGGING_BACKENDS["local"]["OPTIONS"])."""
    problems = []
    if face_detector not in FACE_DETECTORS:
        problems.append(f"TAGGING_LOCAL_FACE_DETECTOR is {face_detector!r}; it must be one of {', '.join(FACE_DETECTORS)}.")
    if face_landmarks not in (5, 68):
        problems.append(f"TAGGING_LOCAL_FACE_LANDMARKS is {face_landmarks!r}; it must be 5 or 68.")
    if face_min_score is not None and (isinstance(face_min_score, bool) or not isinstance(face_min_score, (int, float))):
        problems.append(f"TAGGING_LOCAL_FACE_MIN_SCORE is {face_min_score!r}; it must be a number.")
    elif face_detector == "yunet" and face_min_score is not None and not 0 <= face_min_score <= 100:
        problems.append(f"TAGGING_LOCAL_FACE_MIN_SCORE is {face_min_score!r}; YuNet's scores are 0-100.")
    return problems


class LocalBackend(Backend):
    name = "local"

    def __init__(self, *, threads: int = 2, face_detector: str = "yunet", face_landmarks: int = 5,
                 face_min_score: float | None = None, **options):
        super().__init__(**options)
        self.threads = threads
        self.face_options = {"detector": face_detector, "landmarks": face_landmarks, "min_score": face_min_score}

    def decode_size(self, addons: list[str]) -> int | None:
        # Labels include Person/Face/People from the face detector, so both add-ons need the face size.
        return FACE_PIXELS.get(self.face_options["detector"], max(FACE_PIXELS.values())) if addons else LABEL_PIXELS

    def _faces(self, image: AnalysisImage):
        if "local_faces" not in image.memo:
            from .faces import face_model

            image.memo["local_faces"] = face_model(**self.face_options).detect(image.image)
        return image.memo["local_faces"]

    def labels(self, image: AnalysisImage) -> list[Label]:
        """Lite0, YOLOv3-tiny and the faces' Person merged and calibrated (tagging/backends/local/merge.py)."""
        from .labels import label_model
        from .merge import lite0_sources, merged_labels, yolo_sources
        from .objects import object_model

        lite0 = label_model(threads=self.threads)
        objects = object_model()  # one thread: 44 ms, and the worker processes are the parallelism
        min_face = PERSON_MIN_FACE_CONFIDENCE.get(self.face_options["detector"], 0.0)
        return merged_labels(
            lite0=lite0_sources(lite0.probabilities(image.image), lite0.table),
            yolo=yolo_sources(objects.detect(image.image), objects.classes),
            faces=person_labels(self._faces(image), min_face),
            min_confidence=settings.TAGGING_MIN_LABEL_CONFIDENCE,
            max_labels=settings.TAGGING_MAX_LABELS,
        )

    def faces(self, image: AnalysisImage) -> FacesResult:
        return FacesResult(faces=tuple(self._faces(image)))


def person_labels(faces, min_confidence: float = 0.0) -> list[Label]:
    """ImageNet has no person class: Person and Face come from the faces found, People from two or more.

    Person and Face take the surest face's confidence; People the second surest's (both faces must be real).
    Only faces of min_confidence or more count (PERSON_MIN_FACE_CONFIDENCE for YuNet): the faces add-on keeps YuNet's faces from 70 to find
    small ones, where a dog's face (77 on tests/photos/dogs.jpg) can pass; a photo's people are labelled from its
    clear faces (86-95 on every fixture photo).
    """
    confidences = sorted((f.confidence / 100 for f in faces if f.confidence >= min_confidence),
                         reverse=True)
    if not confidences:
        return []
    labels = [Label("Person", round(confidences[0], 4)), Label("Face", round(confidences[0], 4))]
    if len(confidences) >= 2:
        labels.append(Label("People", round(confidences[1], 4)))
    return labels


def merge_labels(*groups: list[Label]) -> list[Label]:
    """One label per name (case-insensitive), the highest confidence kept, best first."""
    return best_labels(label for group in groups for label in group)
