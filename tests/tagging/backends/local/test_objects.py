"""The offline object detector: YOLOv3-tiny (COCO) on ONNX Runtime, decoded with numpy. No database."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tagging.backends.local import objects as objects_module
from tagging.backends.local.labels import ModelFileError, label_table, verify_model_file
from tagging.backends.local.objects import (
    ANCHORS,
    CLASSES_PATH,
    INPUT_SIZE,
    MODEL_PATH,
    ObjectModel,
    coco_classes,
    decode_head,
    detections_from_heads,
    iou,
    letterbox,
    nms,
    object_model,
)

PHOTOS = Path(__file__).resolve().parents[3] / "photos"  # tests/photos/


def photo(name: str) -> Image.Image:
    with Image.open(PHOTOS / name) as im:
        return im.convert("RGB")


@pytest.fixture(scope="module")
def model():
    return object_model()


# --- the files -------------------------------------------------------------------------------


def test_the_committed_model_matches_its_checksum():
    verify_model_file(MODEL_PATH)


def test_a_tampered_model_is_refused(tmp_path):
    copy = tmp_path / MODEL_PATH.name
    shutil.copyfile(MODEL_PATH, copy)
    shutil.copyfile(MODEL_PATH.with_name(MODEL_PATH.name + ".sha256"), tmp_path / (MODEL_PATH.name + ".sha256"))
    with copy.open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    with pytest.raises(ModelFileError, match="does not match its checksum"):
        ObjectModel(copy)


def test_the_coco_table_has_80_classes_with_readable_names():
    classes = coco_classes()
    assert len(classes) == 80
    assert len({c.name for c in classes}) == 80
    assert classes[0].name == "Person" and classes[16].name == "Dog" and classes[15].name == "Cat"
    assert json.loads(CLASSES_PATH.read_text())["classes"][3][:2] == ["motorbike", "Motorcycle"]


def test_the_toy_kite_is_not_the_bird_kite():
    kite = next(c for c in coco_classes() if c.coco_name == "kite")
    assert kite.name == "Kite" and "Toy" in kite.parents
    assert "Kite (Bird)" in label_table().class_names
    assert "Kite" not in label_table().label_names


def test_shared_concepts_share_the_imagenet_name_and_parents():
    table = label_table()
    by_coco = {c.coco_name: c for c in coco_classes()}
    assert by_coco["dog"].parents[:1] == ("Canine",)
    assert "Mammal" in by_coco["horse"].parents and "Animal" in by_coco["giraffe"].parents
    for name in ("Dog", "Cat", "Car", "Mobile Phone", "Television", "Cup", "Motorcycle"):
        assert name in table.label_names
        assert name in {c.name for c in coco_classes()}


# --- decoding --------------------------------------------------------------------------------


def test_letterbox_keeps_the_aspect_and_pads_grey():
    image = Image.new("RGB", (800, 400), (255, 0, 0))
    batch, scale, left, top = letterbox(image)
    assert batch.shape == (1, 3, INPUT_SIZE, INPUT_SIZE) and batch.dtype == np.float32
    assert scale == pytest.approx(INPUT_SIZE / 800) and left == 0 and top == 104
    assert batch[0, :, 0, 0].tolist() == [0.5, 0.5, 0.5]
    assert batch[0, :, 208, 208].tolist() == pytest.approx([1.0, 0.0, 0.0])


def _head(size, cell, anchor, cls, *, logit=6.0, tw=0.0, th=0.0):
    head = np.full((3, 85, size, size), -20.0, dtype=np.float32)
    gy, gx = cell
    head[anchor, 0, gy, gx] = 0.0  # centre of the cell
    head[anchor, 1, gy, gx] = 0.0
    head[anchor, 2, gy, gx] = tw
    head[anchor, 3, gy, gx] = th
    head[anchor, 4, gy, gx] = logit
    head[anchor, 5 + cls, gy, gx] = logit
    return head.reshape(1, 255, size, size)


def test_one_cell_decodes_to_its_box_class_and_score():
    boxes, scores, classes = decode_head(_head(13, (6, 6), 1, 16))
    assert classes.tolist() == [16]
    sig = 1 / (1 + np.exp(-6.0))
    assert scores[0] == pytest.approx(sig * sig, abs=1e-6)
    cx = cy = 6.5 * 32
    w, h = ANCHORS[13][1]
    assert boxes[0].tolist() == pytest.approx([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def test_boxes_come_back_as_ratios_of_the_original_photo():
    # 832x416 photo: scale 0.5, the letterbox adds 104 px above and below.
    heads = [_head(13, (6, 6), 1, 2), np.full((1, 255, 26, 26), -20.0, dtype=np.float32)]
    (d,) = detections_from_heads(heads, width=832, height=416, scale=0.5, left=0, top=104)
    w, h = ANCHORS[13][1]
    assert d.class_index == 2
    assert d.box.left == pytest.approx((208 - w / 2) / 0.5 / 832, abs=1e-4)
    assert d.box.top == pytest.approx((208 - h / 2 - 104) / 0.5 / 416, abs=1e-4)
    assert d.box.width == pytest.approx(w / 0.5 / 832, abs=1e-4)


def test_nothing_found_on_an_empty_head():
    heads = [np.full((1, 255, s, s), -20.0, dtype=np.float32) for s in (13, 26)]
    assert detections_from_heads(heads, width=100, height=100, scale=4.16, left=0, top=0) == []


box_strategy = st.tuples(st.floats(0, 400), st.floats(0, 400), st.floats(1, 200), st.floats(1, 200)).map(
    lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(box_strategy, st.floats(0.01, 1), st.integers(0, 3)), min_size=0, max_size=30))
def test_nms_keeps_no_two_overlapping_boxes_of_one_class(rows):
    boxes = np.array([r[0] for r in rows], dtype=np.float64).reshape(-1, 4)
    scores = np.array([r[1] for r in rows])
    classes = np.array([r[2] for r in rows], dtype=np.intp)
    keep = nms(boxes, scores, classes)
    assert len(set(keep)) == len(keep)
    assert [scores[i] for i in keep] == sorted((scores[i] for i in keep), reverse=True)
    for i in keep:
        same = [j for j in keep if j != i and classes[j] == classes[i]]
        if same:
            assert (iou(boxes[i], boxes[same]) <= 0.45 + 1e-9).all()
    # every dropped box overlaps a kept surer-or-equal box of its class
    for i in set(range(len(rows))) - set(keep):
        same = [j for j in keep if classes[j] == classes[i] and scores[j] >= scores[i]]
        assert same and (iou(boxes[i], boxes[same]) > 0.45).any()


# --- real photos -----------------------------------------------------------------------------


def test_the_dogs_match_opencvs_darknet_reader(model):
    """OpenCV 4.14's readNetFromDarknet on the same letterboxed input found these three dogs (scores and boxes)."""
    found = [d for d in model.detect(photo("dogs.jpg")) if d.score >= 0.3]
    assert [coco_classes()[d.class_index].name for d in found] == ["Dog"] * 3
    assert [d.score for d in found] == pytest.approx([0.5784, 0.4089, 0.3820], abs=2e-3)
    # OpenCV's first box, centre (111.8, 328.1) and size (167.0, 181.0) in the 416 px input (3 px bars left and
    # right), as ratios of the photo; its bottom edge passes the photo's and is clipped there.
    scale = 416 / 916
    box = found[0].box
    assert box.left == pytest.approx((111.8 - 167.0 / 2 - 3) / scale / 900, abs=2e-3)
    assert box.top == pytest.approx((328.1 - 181.0 / 2) / scale / 916, abs=2e-3)
    assert box.top + box.height == pytest.approx(1.0, abs=1e-3)


def test_people_and_a_cup(model):
    names = {coco_classes()[d.class_index].name for d in model.detect(photo("2008_001009.jpg")) if d.score >= 0.5}
    assert "Person" in names
    cup = [d for d in model.detect(photo("coffee.jpg")) if coco_classes()[d.class_index].name == "Cup"]
    assert cup and cup[0].score > 0.5


def test_the_model_is_loaded_once_per_process(model):
    assert object_model() is model
    assert objects_module.coco_classes() is objects_module.coco_classes()


@pytest.mark.parametrize("size, mode", [((1, 1), "RGB"), ((3, 2000), "L"), ((2000, 3), "RGBA"), ((416, 416), "P")])
def test_any_size_or_mode_is_detected_on_without_error(model, size, mode):
    found = model.detect(Image.new(mode, size))
    assert isinstance(found, list)
    for d in found:
        assert -0.01 <= d.box.left <= 1.01 and -0.01 <= d.box.top <= 1.01 and d.box.width >= 0 and d.box.height >= 0
