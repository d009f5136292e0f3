"""Offline faces for the aws_rek_face add-on: YuNet (yuface) or dlib boxes, dlib landmarks, pose, quality, embeddings."""
from __future__ import annotations

import importlib.util
import math
import os
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

# YuNet (yuface) runs on its own copy of libgomp, which reads OMP_NUM_THREADS once, when the library is loaded (the first
# `import yuface`): pinned to one thread here, before that import, unless the operator chose otherwise. Two OpenMP
# threads per worker under load took 4x longer (MODELS.md); the worker processes are the parallelism.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import dlib  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image

from tagging.backends.base import BoundingBox, DetectedFace, Landmark, Pose, Quality

__all__ = [
    "FaceModel",
    "FaceOptions",
    "FaceModelsMissing",
    "face_model",
    "face_distance",
    "models_dir",
    "SAME_PERSON_DISTANCE",
]

# dlib's own rule of thumb for dlib_face_recognition_resnet_model_v1: two faces closer than this are the same person.
# The margin is thin (see MODELS.md); callers should read their threshold from a setting and use this as its default.
SAME_PERSON_DISTANCE = 0.6

# --- detection policy -----------------------------------------------------------------------------------------------
# dlib's HOG detector scans an 80x80 window over an image pyramid. It stops finding faces whose box is narrower than
# about 60 px (three photos shrunk step by step: found at 60 px, lost at 40-55 px), and it costs about 68 ms per
# megapixel scanned on one core, growing linearly with the pixels scanned (0.25 MP: 18 ms, 1 MP: 72 ms, 4 MP: 278 ms,
# 12 MP: 822 ms at upsample 0; each upsample quadruples it: 12 MP at upsample 1 is 4.5 s).
# "auto" therefore detects on a working copy of about AUTO_WORK_PIXELS pixels: big photos are scaled down to it, so the
# cost is bounded (~0.5 s including the resize, whatever the photo's size), and small photos are scaled up towards it,
# at most AUTO_MAX_UPSCALE times (what dlib's upsample=1 does), so that the small faces of small group photos reach
# the 60 px the detector needs. 6 MP keeps faces down to ~2.1% of a 4:3 photo's width (60 of 2828 px).
# Measured with bench/faces.py, the PASCAL photos of tests/photos tiled 3x3 and scaled to 12 MP (45 faces, 2.5% of
# the width): recall 0.22 with a 2 MP working copy, 0.33 with 3 MP, 0.58 with 4 MP, 0.98 with 6 MP (0.51 s); tiled
# 4x4 (1.8%): 0.38 with 6 MP. On the PASCAL photos themselves (0.19 MP, faces of 37-53 px): recall 15/15, precision
# 15/15 at 58 ms per photo, against 3/15 at upsample 0 (all four photos of the shared fixtures: 18/18 against 6/18).
AUTO_WORK_PIXELS = 6_000_000
AUTO_MAX_UPSCALE = 2.0
# The CNN (MMOD) detector is ~80x slower per pixel (two_people.jpg, 0.74 MP: 4.4 s) and also missed a 62 px face:
# its working copy is 1 MP, which finds faces down to ~7% of the width.
CNN_WORK_PIXELS = 1_000_000
CNN_MAX_UPSCALE = 2.0

# YuNet (libfacedetection, the `yuface` wheel; BSD-3) finds faces on a working copy whose long side is YUNET_SIDE.
# YuNet scores are 0-100; YUNET_MIN_SCORE is the default threshold (TAGGING_LOCAL_FACE_MIN_SCORE) and the score is
# the face's confidence as it is. On the 12 MP 4x4 mosaic of the PASCAL photos (72 faces of ~1.8% of the width,
# ~18 px in the copy; tests/tagging/backends/local/test_yunet.py), found / detections:
#   side  960: 72/74 at >= 70, 68/68 at >= 75 and 80;  1000: 72/72 at 70, 70/70 at 75, 67/67 at 80;  1100: 72/72 at 75.
# True faces on the fixture photos scored 86-95 (and 52-63 for three half-hidden ones); a dog's face 77, a cat 26.
# 1000 px and 70 (the values measured for the issue) keep every small face, but also that dog's face. So a face under
# YUNET_SURE_SCORE is confirmed by dlib's HOG on a VERIFY_SIZE px crop of twice the box (about 2 ms): it must score
# above VERIFY_MIN_HOG. Measured: the 13 mosaic faces scoring 73-84 had HOG crop scores 0.74-1.99, the dog -0.70.
# yuface warns above 960 px that detection "may degrade": the mosaic says otherwise, so the warning is silenced.
YUNET_SIDE = 1000
YUNET_MIN_SCORE = 70.0
YUNET_SURE_SCORE = 85.0
VERIFY_SIZE = 160
VERIFY_MIN_HOG = 0.0
# dlib's 5-point model and embedding were trained on HOG boxes; a YuNet box is taller and sits higher. The HOG-like
# box is the YuNet box moved by (YUNET_SHIFT_X, YUNET_SHIFT_Y) of its width/height and scaled by YUNET_SCALE about its
# centre; measured by scripts/yunet_box_mapping.py on the faces both detectors find in tests/photos.
# Measured on the 11 faces of 100 px or more (all 27 faces: -0.026, +0.032, 1.106; the first estimate was
# 0.032, 0.061, 1.107). The HOG box is square: its side is YUNET_SCALE times the YuNet width.
YUNET_SHIFT_X = 0.027
YUNET_SHIFT_Y = 0.038
YUNET_SCALE = 1.075

# dlib's HOG detector is a linear SVM: its score is a margin, 0 on the decision boundary. On the test photos (with
# upsample "auto") every true face scored 0.17 or more and every false detection -0.23 or less (a dog's face, lips,
# a watch); MODELS.md's 0.5 would lose 2 of the 55 true faces. Precision on PASCAL: 18/19 at -0.3, 18/18 at 0.0.
DEFAULT_MIN_SCORE = 0.0

# Confidence (0-100) = 100 / (1 + exp(-CONFIDENCE_SLOPE * score)): monotonic in the detector's score, 50 on the
# detector's decision boundary (score 0), 82 at 0.5, 95 at 1.0, 99.75 at 2.0. This is a squashed SVM margin, not a
# calibrated probability; Rekognition reports 99+ for clear faces and this reports 95+ for scores above 1.
CONFIDENCE_SLOPE = 3.0

# --- pose -----------------------------------------------------------------------------------------------------------
# A weak-perspective model of an average head, in units of the distance between the eye centres (E): a nose point
# sits DEPTH * E in front of the eyes and DROP * E below the eye line on a frontal, level face. Turning the head by
# yaw t moves the nose sideways by DEPTH * E * sin t while the eyes close up to E * cos t, so
# (sideways offset / eye distance) = DEPTH * tan t. Nodding by pitch p puts the nose DROP * cos p - DEPTH * sin p below
# the eye line (in units of the true eye distance). estimate_pose() inverts both.
# Nose tip (68-point model, point 30): DEPTH 0.65 is the adult average (~40 mm in front of the eyes for a 63 mm eye
# distance) and agrees with Rekognition's published example (a nose offset of 0.34 eye distances reported as yaw 26:
# depth 0.69). DROP 0.55 is the median over the 55 faces of the test photos and their mirror images (109 found), i.e.
# the typical face in a photo is taken as level; the adult average would be ~0.62, 6 degrees further "up".
NOSE_TIP_DEPTH = 0.65
NOSE_TIP_DROP = 0.55
# Base of the nose (5-point model, point 4): closer to the face and lower than the tip. Its sideways offset is 0.64
# times the tip's on the same faces (least squares), so DEPTH = 0.64 * 0.65; DROP is again the median, 0.77.
NOSE_BASE_DEPTH = 0.42
NOSE_BASE_DROP = 0.77

# --- quality --------------------------------------------------------------------------------------------------------
# Sharpness: sharpness_ratio() (Laplacian energy over grey-level variance on a 128 px copy of the face) mapped through
# 100 * (1 - exp(-ratio / SHARPNESS_SCALE)). Measured ratios: sharp portraits 0.10-0.35 (-> 71-99), the same blurred
# by a 1 px Gaussian 0.01-0.14, 37 px faces from PASCAL 0.005-0.05 (-> 6-46).
QUALITY_SIZE = 128
SHARPNESS_SCALE = 0.08

MODEL_FILES = {
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
    "embedding": "dlib_face_recognition_resnet_model_v1.dat",
    "cnn": "mmod_human_face_detector.dat",
}


class FaceModelsMissing(RuntimeError):
    """The face-recognition-models package (dlib's model files) is not installed."""


def models_dir() -> Path:
    """Where face-recognition-models keeps dlib's model files (without importing it: it imports pkg_resources)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelsMissing("install face-recognition-models==0.3.0 to detect faces")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@lru_cache(maxsize=None)
def _load(kind: str):
    """Each model file is read once per process and shared by every FaceModel that needs it."""
    if kind == "yunet":
        import yuface  # its model is compiled into the library; OMP_NUM_THREADS is set at the top of this module

        return yuface
    if kind == "hog":
        return dlib.get_frontal_face_detector()
    path = models_dir() / MODEL_FILES[kind]
    if not path.is_file():
        raise FaceModelsMissing(f"missing model file {path}")
    if kind == "embedding":
        return dlib.face_recognition_model_v1(str(path))
    if kind == "cnn":
        return dlib.cnn_face_detection_model_v1(str(path))
    return dlib.shape_predictor(str(path))


DETECTORS = ("yunet", "hog", "cnn")  # also tagging.backends.local.FACE_DETECTORS, for the system check


@dataclass(frozen=True)
class FaceOptions:
    """What a FaceModel does; also the cache key of face_model().

    detector: "yunet" (default; YuNet on a 960 px copy: small faces too, ~25 ms per photo), "hog" (dlib's HOG on a
        ~6 MP copy: frontal faces, ~0.5-0.7 s per big photo) or "cnn" (dlib's MMOD CNN: seconds per photo; opt-in).
    landmarks: 5 (default) or 68. The 68-point predictor was trained on the iBUG 300-W data set, whose licence
        excludes commercial use: it is opt-in, and whoever turns it on takes that licence on. The 5-point model has no
        such restriction (see MODELS.md); it is always run, since the embedding model is aligned with its points.
    upsample: "auto" (default, see AUTO_WORK_PIXELS) or a fixed number of dlib upsamplings of the original image
        (0-3; each one doubles the image's sides and quadruples the time).
    min_score: detections with a score at or below this are dropped (HOG SVM margin / MMOD score); None: the
        detector's default (0.0 for dlib, YUNET_MIN_SCORE for YuNet, whose scores are 0-100 and kept at or above it).
    work_pixels: the working size of "auto"; None for the detector's default.
    embeddings: compute the 128-d embedding (73-134 ms per face); turn off when only boxes are needed.
    """

    detector: str = "yunet"
    landmarks: int = 5
    upsample: str | int = "auto"
    min_score: float | None = None
    work_pixels: int | None = None
    embeddings: bool = True

    def __post_init__(self):
        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(DETECTORS)}, not {self.detector!r}")
        if self.min_score is not None and (isinstance(self.min_score, bool) or not isinstance(self.min_score, (int, float))):
            raise ValueError(f"min_score must be a number, not {self.min_score!r}")
        if self.landmarks not in (5, 68):
            raise ValueError(f"landmarks must be 5 or 68, not {self.landmarks!r}")
        if self.upsample != "auto" and (
            isinstance(self.upsample, bool) or not isinstance(self.upsample, int) or not 0 <= self.upsample <= 3
        ):
            raise ValueError(f"upsample must be 'auto' or 0-3, not {self.upsample!r}")
        if self.work_pixels is not None and self.work_pixels < 10_000:
            raise ValueError("work_pixels is too small")


class FaceModel:
    """dlib's face models, loaded once; detect() runs them on one photo.

    Build it through face_model(**options), which keeps one instance per set of options in the process. detect() is
    serialised by a lock (dlib's DNN keeps per-call buffers); run several worker processes for parallelism.
    """

    def __init__(self, options: FaceOptions | None = None, **kwargs):
        self.options = options if options is not None else FaceOptions(**kwargs)
        self._lock = threading.Lock()
        self._detector = _load(self.options.detector)
        self._shape5 = _load("landmarks5")
        self._shape68 = _load("landmarks68") if self.options.landmarks == 68 else None
        self._embedder = _load("embedding") if self.options.embeddings else None

    # -- the pipeline ------------------------------------------------------------------------------------------------
    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """Faces in an RGB image whose EXIF orientation is already applied, largest first.

        Boxes and landmarks are ratios of this image's width and height (they may slightly exceed 0-1 when a face
        touches the edge). Each face has a confidence (0-100), landmarks with Rekognition's names, a pose, a quality
        and, unless turned off, a 128-d embedding.
        """
        if image.mode != "RGB":
            image = image.convert("RGB")
        width, height = image.size
        if width < 2 or height < 2:
            return []
        with self._lock:
            found = self.find(image)
            if not found:
                return []
            pixels = np.asarray(image)
            faces = [self._describe(pixels, rect, score, points) for rect, score, points in self.found_points]
        faces.sort(key=lambda f: f.bounding_box.width * f.bounding_box.height, reverse=True)
        return faces

    @property
    def min_score(self) -> float:
        if self.options.min_score is not None:
            return float(self.options.min_score)
        return YUNET_MIN_SCORE if self.options.detector == "yunet" else DEFAULT_MIN_SCORE

    def find(self, image: Image.Image) -> list[tuple[dlib.rectangle, float]]:
        """Detector boxes in the image's own pixel coordinates, with their scores (above min_score).

        For YuNet the box is the HOG-like box dlib's models expect (see YUNET_SHIFT_X); its 5 points (pixels, or None
        for dlib's detectors) are left in self.found_points with the boxes, for detect().
        """
        if self.options.detector == "yunet":
            self.found_points = self._find_yunet(image)
        else:
            self.found_points = [(rect, score, None) for rect, score in self._find_dlib(image)]
        return [(rect, score) for rect, score, _ in self.found_points]

    def _find_yunet(self, image: Image.Image) -> list[tuple[dlib.rectangle, float, np.ndarray]]:
        width, height = image.size
        scale = min(1.0, YUNET_SIDE / max(width, height))
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            work = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0 if scale < 0.5 else None)
            sx, sy = size[0] / width, size[1] / height
        else:
            work, sx, sy = image, 1.0, 1.0
        bgr = np.ascontiguousarray(np.asarray(work)[..., ::-1])
        # yuface.detect() keeps scores strictly above its threshold: ask for everything and filter here (>=).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Image size", category=UserWarning)
            confs, boxes, points = self._detector.detect(bgr, conf=0.0)
        out = []
        for conf, (x, y, w, h), p in zip(confs.astype(float), boxes.astype(float), points.astype(float)):
            if conf < self.min_score or w < 1 or h < 1:
                continue
            x, w, y, h = x / sx, w / sx, y / sy, h / sy
            side = YUNET_SCALE * w
            cx, cy = x + w / 2 + YUNET_SHIFT_X * w, y + h / 2 + YUNET_SHIFT_Y * h
            rect = dlib.rectangle(round(cx - side / 2), round(cy - side / 2), round(cx + side / 2) - 1,
                                  round(cy + side / 2) - 1)
            # Half a working pixel: the centre of the pixel yuface reports.
            pts = (p.reshape(5, 2) + 0.5) / (sx, sy)
            if conf < YUNET_SURE_SCORE and not self._hog_confirms(image, rect):
                continue
            out.append((rect, float(conf), pts))
        return out

    def _hog_confirms(self, image: Image.Image, rect: dlib.rectangle) -> bool:
        side = rect.width()
        cx, cy = (rect.left() + rect.right() + 1) / 2, (rect.top() + rect.bottom() + 1) / 2
        crop = image.crop((round(cx - side), round(cy - side), round(cx + side), round(cy + side)))
        crop = crop.resize((VERIFY_SIZE, VERIFY_SIZE), Image.Resampling.BILINEAR)
        _, scores, _ = _load("hog").run(np.asarray(crop), 0, VERIFY_MIN_HOG)
        return any(score > VERIFY_MIN_HOG for score in scores)

    def _find_dlib(self, image: Image.Image) -> list[tuple[dlib.rectangle, float]]:
        width, height = image.size
        scale, upsample = self.working_scale(width, height)
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            work = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0 if scale < 0.5 else None)
            sx, sy = size[0] / width, size[1] / height
        else:
            work, sx, sy = image, 1.0, 1.0
        array = np.asarray(work)
        if self.options.detector == "cnn":
            found = [(d.rect, float(d.confidence)) for d in self._detector(array, upsample)]
        else:
            rects, scores, _ = self._detector.run(array, upsample, self.min_score)
            found = list(zip(rects, (float(s) for s in scores)))
        out = []
        for rect, score in found:
            if score <= self.min_score:
                continue
            if scale != 1.0:
                rect = dlib.rectangle(
                    round(rect.left() / sx), round(rect.top() / sy), round((rect.right() + 1) / sx) - 1,
                    round((rect.bottom() + 1) / sy) - 1,
                )
            out.append((rect, score))
        return out

    def working_scale(self, width: int, height: int) -> tuple[float, int]:
        """(resize factor for the working copy, dlib upsample count) for a photo of this size.

        A fixed upsample leaves the photo at its size and lets dlib upsample it. "auto" resizes the photo to about
        work_pixels (AUTO_WORK_PIXELS for HOG, CNN_WORK_PIXELS for the CNN), scaling up at most AUTO_MAX_UPSCALE times.
        """
        if self.options.upsample != "auto":
            return 1.0, int(self.options.upsample)
        cnn = self.options.detector == "cnn"
        budget = self.options.work_pixels or (CNN_WORK_PIXELS if cnn else AUTO_WORK_PIXELS)
        scale = min(CNN_MAX_UPSCALE if cnn else AUTO_MAX_UPSCALE, math.sqrt(budget / (width * height)))
        if abs(scale - 1.0) < 0.05:  # not worth a resize
            scale = 1.0
        return scale, 0

    def _describe(self, pixels: np.ndarray, rect: dlib.rectangle, score: float,
                  yunet_points: np.ndarray | None = None) -> DetectedFace:
        height, width = pixels.shape[:2]
        shape5 = self._shape5(pixels, rect)
        points5 = _points(shape5)
        if self._shape68 is not None:
            points68 = _points(self._shape68(pixels, rect))
            named = landmarks_68(points68)
            pose = estimate_pose(named["eyeLeft"], named["eyeRight"], named["nose"], NOSE_TIP_DEPTH, NOSE_TIP_DROP)
        elif yunet_points is not None:
            named = landmarks_yunet(points5, yunet_points)
            pose = estimate_pose(named["eyeLeft"], named["eyeRight"], named["nose"], NOSE_TIP_DEPTH, NOSE_TIP_DROP)
        else:
            named = landmarks_5(points5)
            pose = estimate_pose(named["eyeLeft"], named["eyeRight"], named["nose"], NOSE_BASE_DEPTH, NOSE_BASE_DROP)
        embedding = None
        if self._embedder is not None:
            embedding = tuple(float(v) for v in self._embedder.compute_face_descriptor(pixels, shape5))
        face_confidence = min(100.0, score) if self.options.detector == "yunet" else confidence(score)
        box = BoundingBox(
            left=rect.left() / width, top=rect.top() / height, width=rect.width() / width, height=rect.height() / height
        )
        return DetectedFace(
            bounding_box=box,
            confidence=face_confidence,
            landmarks=tuple(Landmark(type=k, x=float(x) / width, y=float(y) / height) for k, (x, y) in named.items()),
            pose=pose,
            quality=face_quality(pixels, rect),
            embedding=embedding,
        )


_models: dict[FaceOptions, FaceModel] = {}
_models_lock = threading.Lock()


def face_model(**options) -> FaceModel:
    """The process's FaceModel for these options (see FaceOptions), built and loaded on first use."""
    key = FaceOptions(**options)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = _models[key] = FaceModel(key)
        return model


def face_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Euclidean distance between two 128-d embeddings; under SAME_PERSON_DISTANCE (0.6) usually means one person."""
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if va.shape != vb.shape:
        raise ValueError(f"embeddings differ in shape: {va.shape} and {vb.shape}")
    return float(np.linalg.norm(va - vb))


# --- pieces, public so they can be tested and benchmarked alone -----------------------------------------------------
def confidence(score: float) -> float:
    """Detector score -> 0-100 through the logistic curve described at CONFIDENCE_SLOPE."""
    return 100.0 / (1.0 + math.exp(-CONFIDENCE_SLOPE * score))


def _points(shape) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def landmarks_5(p: np.ndarray) -> dict[str, np.ndarray]:
    """Rekognition names from dlib's 5-point model, in pixels.

    The model gives the two corners of each eye (0-1: the eye on the image's right, 2-3: the one on the image's left)
    and the base of the nose (4). Rekognition names left and right as the viewer sees the photo (its published
    responses put eyeLeft, mouthLeft, noseLeft and upperJawlineLeft at smaller x than their Right), so eyeLeft is the
    eye on the image's left, i.e. the subject's right eye on a frontal face. An eye is the midpoint of its corners;
    "nose" is the base of the nose (where it meets the upper lip), a little below Rekognition's nose tip. The model
    measures nothing else, so nothing else is reported (no mouth corners).
    """
    return {
        "eyeLeft": (p[2] + p[3]) / 2,
        "eyeRight": (p[0] + p[1]) / 2,
        "nose": p[4],
    }


def landmarks_yunet(dlib5: np.ndarray, yunet: np.ndarray) -> dict[str, np.ndarray]:
    """Rekognition names from dlib's 5-point model and YuNet's 5 points together, in pixels.

    YuNet gives an eye centre each, the nose tip and the two mouth corners (in that order: the eye on the image's
    left first, then the right; mouth corners likewise), on the 960 px working copy, in whole pixels. Kept from
    YuNet: the nose tip (Rekognition's "nose" is the tip; dlib's 5 points have only the base) and mouthLeft /
    mouthRight (dlib's 5 points have no mouth). Kept from dlib: the eyes, measured on the larger analysis copy to a
    fraction of a pixel (YuNet's are quantised to 1/960 of the photo: several pixels on a 12 MP photo), and the
    points the embedding is aligned with. Left and right are the viewer's, as in landmarks_5.
    """
    named = landmarks_5(dlib5)
    mouth = sorted([yunet[3], yunet[4]], key=lambda q: q[0])
    named["nose"] = yunet[2]
    named["mouthLeft"], named["mouthRight"] = mouth[0], mouth[1]
    return named


def landmarks_68(p: np.ndarray) -> dict[str, np.ndarray]:
    """Rekognition names from the iBUG 68-point model (opt-in, non-commercial licence), in pixels.

    Left and right are the viewer's, as in landmarks_5. Points (0-based iBUG numbering): jaw 0-16 (8 is the chin),
    brows 17-21 and 22-26, nose bridge 27-30 (30 the tip), nostrils 31-35, eyes 36-41 and 42-47, outer lips 48-59.
    Eye centres are the mean of each eye's six contour points. The jawline points are the nearest iBUG contour
    points (0/16 at the ear, 4/12 at the mouth's height). Pupils are not reported: the model does not find them.
    """

    def mean(*i):
        return p[list(i)].mean(axis=0)

    return {
        "eyeLeft": mean(36, 37, 38, 39, 40, 41),
        "eyeRight": mean(42, 43, 44, 45, 46, 47),
        "nose": p[30],
        "mouthLeft": p[48],
        "mouthRight": p[54],
        "leftEyeBrowLeft": p[17],
        "leftEyeBrowRight": p[21],
        "leftEyeBrowUp": p[19],
        "rightEyeBrowLeft": p[22],
        "rightEyeBrowRight": p[26],
        "rightEyeBrowUp": p[24],
        "leftEyeLeft": p[36],
        "leftEyeRight": p[39],
        "leftEyeUp": mean(37, 38),
        "leftEyeDown": mean(40, 41),
        "rightEyeLeft": p[42],
        "rightEyeRight": p[45],
        "rightEyeUp": mean(43, 44),
        "rightEyeDown": mean(46, 47),
        "noseLeft": p[31],
        "noseRight": p[35],
        "mouthUp": p[51],
        "mouthDown": p[57],
        "upperJawlineLeft": p[0],
        "midJawlineLeft": p[4],
        "chinBottom": p[8],
        "midJawlineRight": p[12],
        "upperJawlineRight": p[16],
    }


def pose_ratios(eye_left, eye_right, nose) -> tuple[float, float, float, float]:
    """(roll in degrees, sideways and downward nose offset from the eye midpoint in the face's own upright frame,
    both divided by the eye distance, eye distance in pixels)."""
    el, er, n = (np.asarray(v, dtype=np.float64) for v in (eye_left, eye_right, nose))
    d = er - el
    dist = float(np.hypot(*d))
    if dist < 1e-6:
        return 0.0, 0.0, 0.0, 0.0
    roll = math.atan2(d[1], d[0])
    c, s = math.cos(roll), math.sin(roll)
    v = n - (el + er) / 2
    across = (c * v[0] + s * v[1]) / dist  # along the eye line, + towards the image-right eye
    down = (-s * v[0] + c * v[1]) / dist  # perpendicular to it, + towards the chin
    return math.degrees(roll), across, down, dist


def estimate_pose(eye_left, eye_right, nose, depth: float, drop: float) -> Pose:
    """Roll, yaw and pitch in degrees from two eye centres and one nose point (pixels), with the head model above.

    Signs are those Rekognition's published example responses suggest (its documentation does not state them): roll
    > 0 when the face is turned clockwise as displayed (the image-right eye lower), yaw > 0 when the nose points to
    the image's right, pitch > 0 when the face tilts up. roll is the angle of the eye line: within a degree or two on
    faces over ~100 px, several degrees on 40 px faces. yaw inverts offset = depth * tan(yaw), and pitch inverts the
    nose's drop below the eye line (after undoing yaw's foreshortening of the eye distance) for an average head, so
    both are approximate. There is no ground truth here to measure them against; the 5- and 68-point estimates agree
    within ~6 degrees on the test portraits. Faces with unusual proportions, strong expressions or wide-angle
    close-ups read wrong by more, and past ~45 degrees of yaw the nose model breaks down (HOG rarely finds those).
    """
    roll, across, down, dist = pose_ratios(eye_left, eye_right, nose)
    if dist == 0.0:
        return Pose(roll=0.0, yaw=0.0, pitch=0.0)
    yaw = math.atan(across / depth)
    down *= math.cos(yaw)  # the eyes look closer together when the head is turned
    radius = math.hypot(drop, depth)
    pitch = math.atan2(drop, depth) - math.asin(max(-1.0, min(1.0, down / radius)))
    return Pose(roll=round(roll, 2), yaw=round(math.degrees(yaw), 2), pitch=round(math.degrees(pitch), 2))


def face_quality(pixels: np.ndarray, rect: dlib.rectangle) -> Quality:
    """Brightness and sharpness (0-100) of the face inside its box, the box clipped to the image.

    brightness: mean luma (ITU-R 601) of the face's pixels, 0-255 scaled to 0-100.
    sharpness: sharpness_ratio() through the saturating curve 100 * (1 - exp(-ratio / SHARPNESS_SCALE)).
    """
    luma = face_luma(pixels, rect)
    if luma is None:
        return Quality(brightness=0.0, sharpness=0.0)
    brightness = float(luma.mean()) / 255.0 * 100.0
    sharpness = 100.0 * (1.0 - math.exp(-sharpness_ratio(luma) / SHARPNESS_SCALE))
    return Quality(brightness=round(brightness, 2), sharpness=round(sharpness, 2))


def face_luma(pixels: np.ndarray, rect: dlib.rectangle) -> np.ndarray | None:
    """The face's box (clipped to the image) as float luma 0-255, or None when under 2x2 px."""
    height, width = pixels.shape[:2]
    left, top = max(0, rect.left()), max(0, rect.top())
    right, bottom = min(width, rect.right() + 1), min(height, rect.bottom() + 1)
    if right - left < 2 or bottom - top < 2:
        return None
    crop = pixels[top:bottom, left:right].astype(np.float32)
    return crop[..., 0] * 0.299 + crop[..., 1] * 0.587 + crop[..., 2] * 0.114


def sharpness_ratio(luma: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian over variance of the grey levels, on a QUALITY_SIZE px square copy.

    Resampling to a fixed size makes the measure independent of the face's size in pixels (a face is judged at the
    scale at which it is recognised); dividing by the grey-level variance makes it independent of contrast and
    exposure. Blur, heavy JPEG smoothing and small faces that were upscaled score low.
    """
    grey = Image.fromarray(np.clip(luma, 0, 255).astype(np.uint8), "L").resize(
        (QUALITY_SIZE, QUALITY_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0
    )
    g = np.asarray(grey, dtype=np.float32)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1]
    contrast = float(g[1:-1, 1:-1].var())
    return float(lap.var()) / contrast if contrast > 1.0 else 0.0
