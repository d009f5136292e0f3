"""Offline image labels: EfficientNet-Lite0 on ONNX Runtime, with WordNet parents.

The model (tagging/data/efficientnet_lite0.onnx, exported once by scripts/export_label_model.py)
classifies an image into the 1000 ImageNet classes; tagging/data/imagenet_labels.json (built by
scripts/build_label_table.py) gives each class a readable name and its WordNet parents, so that a
tabby photo is labelled "Tabby Cat" and also "Cat", "Pet", "Mammal", "Animal".

How a label's confidence is computed: the classes are mutually exclusive (one softmax), so the
probability that the photo shows a Cat is the sum of the probabilities of every class under Cat
(tabby 0.39 + striped tabby 0.36 + Egyptian Mau 0.17 = Cat 0.92). Each name stands for the set of
classes that carry it, as their own name or as a parent, and its confidence is the sum over that
set. A name that is both a class and a parent is one label: the class is one of its members (the
class Mountain, WordNet's "alp", and the class Volcano make Mountain), so the label gets the sum,
which is never below the class's own probability; taking the larger of the two would undercount
it whenever the other members have any weight.

Run time needs onnxruntime, numpy and Pillow only. Nothing is downloaded.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tagging.backends.base import Label

DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # tagging/data/
MODEL_PATH = DATA_DIR / "efficientnet_lite0.onnx"
TABLE_PATH = DATA_DIR / "imagenet_labels.json"

INPUT_SIZE = 224  # the model's input: a 224x224 centre crop...
RESIZE_SHORT_SIDE = 256  # ...of the image with its short side resized to 256
DEFAULT_THREADS = 2
N_CLASSES = 1000


class ModelFileError(RuntimeError):
    """The model file is missing, or is not the file its committed checksum names."""


# --- the label table -------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelTable:
    class_names: tuple[str, ...]  # by model output index
    parents: tuple[tuple[str, ...], ...]  # by model output index, nearest first
    label_names: tuple[str, ...]  # every name, sorted
    _members: np.ndarray  # class indices, grouped by label name in label_names order
    _starts: np.ndarray  # where each label's group starts in _members

    @classmethod
    def from_classes(cls, classes: list[tuple[str, list[str]]]) -> LabelTable:
        if len(classes) != N_CLASSES:
            raise ValueError(f"expected {N_CLASSES} classes, got {len(classes)}")
        members: dict[str, set[int]] = {}
        for index, (name, parents) in enumerate(classes):
            for label in (name, *parents):
                members.setdefault(label, set()).add(index)
        label_names = tuple(sorted(members))
        groups = [sorted(members[name]) for name in label_names]
        starts = np.cumsum([0] + [len(g) for g in groups[:-1]])
        return cls(
            class_names=tuple(name for name, _ in classes),
            parents=tuple(tuple(parents) for _, parents in classes),
            label_names=label_names,
            _members=np.array([i for g in groups for i in g], dtype=np.intp),
            _starts=starts.astype(np.intp),
        )

    def members(self, name: str) -> list[int]:
        """The class indices that a label counts (its own class and every class under it)."""
        i = self.label_names.index(name)
        end = self._starts[i + 1] if i + 1 < len(self._starts) else len(self._members)
        return self._members[self._starts[i]:end].tolist()

    def confidences(self, probabilities: np.ndarray) -> np.ndarray:
        """Each label's summed probability, in label_names order."""
        p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
        if p.shape != (N_CLASSES,):
            raise ValueError(f"expected {N_CLASSES} probabilities, got shape {p.shape}")
        return np.minimum(np.add.reduceat(p[self._members], self._starts), 1.0)


@functools.cache
def label_table(path: Path = TABLE_PATH) -> LabelTable:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return LabelTable.from_classes([(name, parents) for name, _wnid, parents in data["classes"]])


def labels_from_probabilities(
    probabilities: np.ndarray,
    *,
    min_confidence: float = 0.01,
    max_labels: int = 20,
    table: LabelTable | None = None,
) -> list[Label]:
    """Labels for one image from its 1000 class probabilities: classes and parents, summed.

    Confidences are rounded to 4 decimals; labels below min_confidence (after rounding) are
    dropped; the rest come best first, ties by name, at most max_labels of them.
    """
    table = table or label_table()
    confidences = np.round(table.confidences(probabilities), 4)
    keep = np.flatnonzero(confidences >= min_confidence)
    ranked = sorted(keep.tolist(), key=lambda i: (-confidences[i], table.label_names[i]))
    return [Label(table.label_names[i], float(confidences[i])) for i in ranked[:max(0, max_labels)]]


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    e = np.exp(z - z.max())
    return e / e.sum()


# --- preprocessing ---------------------------------------------------------------------------


# medialib.images.image_decode(..., min_size=DECODE_MIN_SIZE) decodes a JPEG straight to a scale (1/2, 1/4, 1/8)
# whose short side still covers the model's input: far faster for a large photo.
DECODE_MIN_SIZE = (RESIZE_SHORT_SIDE, RESIZE_SHORT_SIDE)


def preprocess(image: Image.Image) -> np.ndarray:
    """The model input for an RGB image: short side to 256, centre 224 crop, (x - 127) / 128, NCHW.

    Returns a float32 array of shape (1, 3, 224, 224).
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    short = min(image.size)
    factor = short // RESIZE_SHORT_SIDE
    if factor >= 2:  # a fast integer box reduction first; the short side stays >= 256
        image = image.reduce(factor)
        short = min(image.size)
    # Resize only the centre square that the crop keeps: the same pixels as resizing the whole
    # image to a 256 short side and cropping 224 from its centre, without resizing the rest.
    half = INPUT_SIZE / 2 * short / RESIZE_SHORT_SIDE
    cx, cy = image.width / 2, image.height / 2
    crop = image.resize(
        (INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, box=(cx - half, cy - half, cx + half, cy + half)
    )
    x = (np.asarray(crop, dtype=np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis])


# --- the model -------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model_file(model_path: Path, checksum_path: Path | None = None) -> None:
    """Raise ModelFileError unless model_path's SHA-256 is the one in its committed .sha256 file."""
    model_path = Path(model_path)
    checksum_path = Path(checksum_path or model_path.with_name(model_path.name + ".sha256"))
    if not model_path.is_file():
        raise ModelFileError(f"model file {model_path} is missing")
    try:
        expected = checksum_path.read_text(encoding="ascii").split()[0].lower()
    except (OSError, IndexError, UnicodeDecodeError) as e:
        raise ModelFileError(f"cannot read the checksum of {model_path} from {checksum_path}: {e}") from e
    actual = _sha256(model_path)
    if actual != expected:
        raise ModelFileError(
            f"model file {model_path} does not match its checksum in {checksum_path} "
            f"(sha256 {actual}, expected {expected}); restore it from the repository "
            f"or re-export it (scripts/export_label_model.py, scripts/export_object_model.py)"
        )


class LabelModel:
    """EfficientNet-Lite0 (ImageNet-1k) on ONNX Runtime's CPU provider. Thread-safe once built."""

    def __init__(
        self,
        model_path: Path | str = MODEL_PATH,
        *,
        checksum_path: Path | str | None = None,
        threads: int = DEFAULT_THREADS,
        table: LabelTable | None = None,
    ):
        import onnxruntime as ort

        self.model_path = Path(model_path)
        verify_model_file(self.model_path, Path(checksum_path) if checksum_path else None)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name
        self.threads = threads
        self.table = table or label_table()

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw model output for a preprocessed (N, 3, 224, 224) float32 batch: (N, 1000)."""
        (out,) = self.session.run(None, {self.input_name: batch})
        return out

    def probabilities(self, image: Image.Image) -> np.ndarray:
        return softmax(self.logits(preprocess(image))[0])

    def labels(
        self, image: Image.Image, *, min_confidence: float = 0.01, max_labels: int = 20
    ) -> list[Label]:
        """Labels for an RGB, EXIF-oriented image: ImageNet classes and their parents, best first."""
        return labels_from_probabilities(
            self.probabilities(image), min_confidence=min_confidence, max_labels=max_labels,
            table=self.table,
        )


@functools.cache
def label_model(threads: int = DEFAULT_THREADS) -> LabelModel:
    """The process's LabelModel: loaded (and checksummed) on first use, then shared."""
    return LabelModel(threads=threads)
