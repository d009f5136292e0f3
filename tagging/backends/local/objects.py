"""Offline objects: YOLOv3-tiny (COCO's 80 classes) on ONNX Runtime, boxes and raw scores per detection.

The model (tagging/data/yolov3_tiny.onnx, converted once from Redmon's public-domain Darknet weights by
scripts/export_object_model.py) sees the photo letterboxed into 416x416 (aspect kept, grey bars, as Darknet does) and
returns its two raw YOLO heads (13x13 and 26x26 cells, 3 anchors each). This module decodes them with numpy: a box's
score is objectness x class probability (both sigmoids), boxes of one class overlapping by IoU > NMS_IOU are one
detection (the surest kept), and boxes come back as ratios of the original photo. tagging/data/coco_labels.json gives
each class its readable name and parents; tagging/backends/local/merge.py turns detections into labels.

Run time needs onnxruntime, numpy and Pillow only; one ONNX thread (the worker processes are the parallelism; 44 ms
per photo measured in MODELS.md). Nothing is downloaded.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tagging.backends.base import BoundingBox

from .labels import DATA_DIR, verify_model_file

MODEL_PATH = DATA_DIR / "yolov3_tiny.onnx"
CLASSES_PATH = DATA_DIR / "coco_labels.json"
INPUT_SIZE = 416
N_CLASSES = 80
# From the model's yolov3-tiny.cfg: (anchor w, anchor h) in input pixels for each head, by head size.
ANCHORS = {13: ((81, 82), (135, 169), (344, 319)), 26: ((10, 14), (23, 27), (37, 58))}
# Detections below MIN_SCORE are dropped before NMS: they are almost never right (calibration puts raw scores under
# 0.1 far below any threshold a user would choose) and only cost time.
MIN_SCORE = 0.05
NMS_IOU = 0.45
DEFAULT_THREADS = 1


@dataclass(frozen=True)
class Detection:
    class_index: int
    score: float  # raw: objectness x class probability, 0-1 (not calibrated)
    box: BoundingBox  # ratios of the original image


@dataclass(frozen=True)
class CocoClass:
    coco_name: str
    name: str  # readable, shared with the ImageNet table where the concept is the same
    parents: tuple[str, ...]


@functools.cache
def coco_classes(path: Path = CLASSES_PATH) -> tuple[CocoClass, ...]:
    rows = json.loads(Path(path).read_text(encoding="utf-8"))["classes"]
    if len(rows) != N_CLASSES:
        raise ValueError(f"expected {N_CLASSES} COCO classes in {path}, got {len(rows)}")
    return tuple(CocoClass(coco, name, tuple(parents)) for coco, name, parents in rows)


def letterbox(image: Image.Image) -> tuple[np.ndarray, float, int, int]:
    """The model input (1, 3, 416, 416) float32 in 0-1, and the scale and left/top padding used to make it."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    scale = min(INPUT_SIZE / image.width, INPUT_SIZE / image.height)
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    factor = min(image.width // width, image.height // height)
    if factor >= 2:  # a fast integer box reduction first, as labels.preprocess does
        image = image.reduce(factor)
    resized = image.resize((width, height), Image.Resampling.BILINEAR)
    left, top = (INPUT_SIZE - width) // 2, (INPUT_SIZE - height) // 2
    canvas = np.full((INPUT_SIZE, INPUT_SIZE, 3), 0.5, dtype=np.float32)  # Darknet's grey
    canvas[top:top + height, left:left + width] = np.asarray(resized, dtype=np.float32) / 255.0
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[np.newaxis]), scale, left, top


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def decode_head(head: np.ndarray, *, min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One raw head (1, 255, S, S) -> boxes (N, 4: x0, y0, x1, y1 in input pixels), scores (N,), classes (N,).

    A cell and anchor gives one row per class whose objectness x class probability reaches min_score.
    """
    size = head.shape[-1]
    anchors = np.asarray(ANCHORS[size], dtype=np.float32)
    h = head.reshape(3, 5 + N_CLASSES, size, size).astype(np.float32)
    objectness = _sigmoid(h[:, 4])  # (3, S, S)
    candidates = objectness >= min_score
    if not candidates.any():
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.intp)
    a, gy, gx = np.nonzero(candidates)
    cells = h[a, :, gy, gx]  # (M, 85)
    scores = objectness[a, gy, gx][:, None] * _sigmoid(cells[:, 5:])  # (M, 80)
    row, cls = np.nonzero(scores >= min_score)
    cx = (gx[row] + _sigmoid(cells[row, 0])) * (INPUT_SIZE / size)
    cy = (gy[row] + _sigmoid(cells[row, 1])) * (INPUT_SIZE / size)
    w = np.exp(np.clip(cells[row, 2], -10, 10)) * anchors[a[row], 0]
    hh = np.exp(np.clip(cells[row, 3], -10, 10)) * anchors[a[row], 1]
    boxes = np.stack([cx - w / 2, cy - hh / 2, cx + w / 2, cy + hh / 2], axis=1)
    return boxes, scores[row, cls], cls


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, *, threshold: float = NMS_IOU) -> list[int]:
    """Indices kept, surest first: per class, a box overlapping a surer one of its class by more than threshold goes."""
    keep = []
    for cls in np.unique(classes):
        idx = np.flatnonzero(classes == cls)
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        while idx.size:
            best, idx = idx[0], idx[1:]
            keep.append(int(best))
            if idx.size:
                idx = idx[iou(boxes[best], boxes[idx]) <= threshold]
    return sorted(keep, key=lambda i: -scores[i])


def detections_from_heads(heads: list[np.ndarray], *, width: int, height: int, scale: float, left: int, top: int,
                          min_score: float = MIN_SCORE) -> list[Detection]:
    """Decoded, NMS'd detections of both heads, boxes as ratios of the original width x height, surest first."""
    decoded = [decode_head(h, min_score=min_score) for h in heads]
    boxes = np.concatenate([d[0] for d in decoded])
    scores = np.concatenate([d[1] for d in decoded])
    classes = np.concatenate([d[2] for d in decoded])
    out = []
    for i in nms(boxes, scores, classes):
        x0, y0, x1, y1 = boxes[i]
        x0, x1 = (np.clip([x0, x1], left, INPUT_SIZE - left) - left) / scale / width
        y0, y1 = (np.clip([y0, y1], top, INPUT_SIZE - top) - top) / scale / height
        out.append(Detection(int(classes[i]), round(float(scores[i]), 4),
                             BoundingBox(left=round(float(x0), 4), top=round(float(y0), 4),
                                         width=round(float(x1 - x0), 4), height=round(float(y1 - y0), 4))))
    return out


class ObjectModel:
    """YOLOv3-tiny (COCO) on ONNX Runtime's CPU provider. Thread-safe once built."""

    def __init__(self, model_path: Path | str = MODEL_PATH, *, checksum_path: Path | str | None = None,
                 threads: int = DEFAULT_THREADS):
        import onnxruntime as ort

        self.model_path = Path(model_path)
        verify_model_file(self.model_path, Path(checksum_path) if checksum_path else None)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.model_path), sess_options=options,
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.classes = coco_classes()

    def heads(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self.input_name: batch})

    def detect(self, image: Image.Image, *, min_score: float = MIN_SCORE) -> list[Detection]:
        """Objects in an RGB, EXIF-oriented image, surest first."""
        batch, scale, left, top = letterbox(image)
        return detections_from_heads(self.heads(batch), width=image.width, height=image.height, scale=scale,
                                     left=left, top=top, min_score=min_score)


@functools.cache
def object_model(threads: int = DEFAULT_THREADS) -> ObjectModel:
    """The process's ObjectModel: loaded (and checksummed) on first use, then shared."""
    return ObjectModel(threads=threads)
