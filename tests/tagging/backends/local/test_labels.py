"""The offline label detector: EfficientNet-Lite0 on ONNX Runtime, with WordNet parents. No database."""
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medialib.images import image_decode
from tagging.backends.local import labels as labels_module
from tagging.backends.local.labels import (
    DECODE_MIN_SIZE,
    MODEL_PATH,
    TABLE_PATH,
    LabelModel,
    ModelFileError,
    label_model,
    label_table,
    labels_from_probabilities,
    preprocess,
    verify_model_file,
)

PHOTOS = Path(__file__).resolve().parents[3] / "photos"  # tests/photos/
CAT_BREEDS = {"Tabby Cat", "Striped Tabby Cat", "Persian Cat", "Siamese Cat", "Egyptian Mau"}


def photo(name: str) -> Image.Image:
    with Image.open(PHOTOS / name) as im:
        return im.convert("RGB")


def by_name(result) -> dict[str, float]:
    return {label.name: label.confidence for label in result}


def index_of(name: str) -> int:
    return label_table().class_names.index(name)


def assert_well_formed(result, max_labels=20):
    names = [label.name for label in result]
    assert len(names) == len(set(names)), "duplicate label names"
    assert 0 < len(result) <= max_labels
    for label in result:
        assert 0.0 <= label.confidence <= 1.0
        assert round(label.confidence, 4) == label.confidence
    keys = [(-label.confidence, label.name) for label in result]
    assert keys == sorted(keys), "not best first, ties by name"


@pytest.fixture(scope="module")
def model():
    return label_model()


# --- the table -----------------------------------------------------------------------------


def test_the_table_has_1000_unique_readable_names():
    data = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    names = [name for name, _wnid, _parents in data["classes"]]
    assert len(names) == 1000
    assert len({n.casefold() for n in names}) == 1000
    assert {"Tabby Cat", "Espresso", "Golden Retriever", "Mobile Phone", "Daisy"} <= set(names)
    assert {"Crane (Bird)", "Construction Crane", "Missile", "Rocket", "Sunglasses", "Dark Glasses",
            "Leotard", "One-Piece Swimsuit"} <= set(names)
    assert "a cat having a striped coat" not in {n.lower() for n in names}
    assert all(n == n.strip() and (n[0].isupper() or n == "iPod") for n in names)
    assert data["sources"] and data["stop_list"]


def test_parents_come_from_wordnet_minus_the_stop_list():
    table = label_table()
    assert table.parents[index_of("Newfoundland Dog")][:2] == ("Dog", "Canine")
    newfoundland = set(table.parents[index_of("Newfoundland Dog")])
    assert {"Dog", "Canine", "Carnivore", "Mammal", "Animal"} <= newfoundland
    assert {"Coffee", "Beverage", "Food"} <= set(table.parents[index_of("Espresso")])
    assert {"Flower", "Plant"} <= set(table.parents[index_of("Daisy")])
    all_parents = {p for ps in table.parents for p in ps}
    for abstract in ("Entity", "Physical Entity", "Object", "Whole", "Artifact", "Organism",
                     "Living Thing", "Placental", "Chordate", "Instrumentality", "Matter"):
        assert abstract not in all_parents
    for i, name in enumerate(table.class_names):
        assert name not in table.parents[i]


# --- confidences: classes and parents ------------------------------------------------------


def test_a_parent_gets_the_sum_of_its_classes():
    probs = np.zeros(1000)
    probs[index_of("Tabby Cat")] = 0.39
    probs[index_of("Striped Tabby Cat")] = 0.36
    probs[index_of("Egyptian Mau")] = 0.17
    probs[index_of("Espresso")] = 0.08
    got = by_name(labels_from_probabilities(probs, max_labels=100))
    assert got["Cat"] == 0.92
    assert got["Feline"] == got["Pet"] == got["Mammal"] == 0.92
    assert got["Animal"] == 0.92
    assert got["Tabby Cat"] == 0.39 and got["Egyptian Mau"] == 0.17
    assert got["Espresso"] == got["Coffee"] == got["Beverage"] == got["Food"] == 0.08
    assert "Dog" not in got


def test_every_label_is_the_sum_over_the_classes_that_carry_its_name():
    data = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    carriers: dict[str, set[int]] = {}
    for i, (name, _wnid, parents) in enumerate(data["classes"]):
        for label in (name, *parents):
            carriers.setdefault(label, set()).add(i)
    probs = np.random.default_rng(7).dirichlet(np.full(1000, 0.05))
    got = by_name(labels_from_probabilities(probs, min_confidence=0.0, max_labels=10_000))
    assert set(got) == set(carriers)
    for name, members in carriers.items():
        assert got[name] == pytest.approx(round(sum(probs[i] for i in members), 4), abs=1e-12), name


def test_a_name_that_is_a_class_and_a_parent_is_one_label_with_the_sum():
    probs = np.zeros(1000)
    probs[index_of("Pig")] = 0.5
    probs[index_of("Wild Boar")] = 0.2
    probs[index_of("Warthog")] = 0.1
    probs[index_of("Mountain")] = 0.1  # WordNet "alp"
    probs[index_of("Volcano")] = 0.05
    probs[index_of("Dark Glasses")] = 0.05
    got = by_name(labels_from_probabilities(probs, max_labels=100))
    assert got["Pig"] == 0.8
    assert got["Mountain"] == 0.15
    assert got["Sunglasses"] == 0.05 and got["Dark Glasses"] == 0.05


def test_rounding_threshold_order_and_cap():
    probs = np.full(1000, 0.5 / 998)
    probs[index_of("Golden Retriever")] = 0.3
    probs[index_of("Labrador Retriever")] = 0.2
    probs[[index_of("Golden Retriever"), index_of("Labrador Retriever")]] -= 0.5 / 998
    probs /= probs.sum()
    result = labels_from_probabilities(probs, min_confidence=0.05, max_labels=5)
    assert_well_formed(result, max_labels=5)
    assert len(result) == 5
    assert all(label.confidence >= 0.05 for label in result)
    assert labels_from_probabilities(probs, min_confidence=1.01) == []
    everything = labels_from_probabilities(probs, max_labels=100)
    ties = [label for label in everything if label.confidence == result[-1].confidence]
    assert [t.name for t in ties] == sorted(t.name for t in ties)


# --- real photos ---------------------------------------------------------------------------


def test_cat(model):
    result = model.labels(photo("cat.jpg"))
    assert_well_formed(result)
    got = by_name(result)
    assert got["Cat"] > 0.8
    assert "Cat" in [label.name for label in result[:8]]
    assert CAT_BREEDS & set(got)
    assert "Dog" not in got


def test_coffee(model):
    got = by_name(model.labels(photo("coffee.jpg")))
    assert got["Espresso"] > 0.8
    assert got["Coffee"] >= got["Espresso"]
    assert got["Beverage"] >= got["Coffee"]


def test_dogs(model):
    result = model.labels(photo("dogs.jpg"))
    assert_well_formed(result)
    assert by_name(result)["Dog"] > 0.3


def test_daisy(model):
    result = model.labels(photo("daisy.jpg"))
    assert_well_formed(result)
    got = by_name(result)
    assert got["Daisy"] > 0.2
    assert got["Flower"] >= got["Daisy"]
    assert "Flower" in [label.name for label in result[:3]]


def test_options_are_honoured(model):
    result = model.labels(photo("coffee.jpg"), min_confidence=0.5, max_labels=2)
    assert [label.name for label in result] == ["Food", "Beverage"]


# --- preprocessing -------------------------------------------------------------------------


def test_preprocess_shape_and_scale():
    x = preprocess(photo("daisy.jpg"))
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32 and x.flags.c_contiguous
    assert -1.0 <= x.min() and x.max() <= 1.0
    flat = preprocess(Image.new("RGB", (300, 200), (255, 0, 127)))
    assert np.allclose(flat[0, 0], 1.0)
    assert np.allclose(flat[0, 1], -127 / 128)
    assert np.allclose(flat[0, 2], 0.0)


def test_preprocess_takes_the_centre_and_any_size_or_mode():
    im = Image.new("RGB", (1200, 400), (0, 0, 0))
    im.paste((255, 255, 255), (450, 0, 750, 400))  # a white centre band, 3/4 of the short side wide
    x = preprocess(im)
    assert np.allclose(x[0, :, :, 20:204], 1.0)  # the crop is the centre 300 px square
    for small in (Image.new("L", (50, 80), 128), Image.new("RGBA", (3000, 2000))):
        assert preprocess(small).shape == (1, 3, 224, 224)


def test_draft_decodes_a_large_jpeg_small_but_not_below_the_model_input():
    buf = io.BytesIO()
    Image.new("RGB", (4000, 3000), (10, 200, 30)).save(buf, "JPEG", quality=80)
    im = image_decode(io.BytesIO(buf.getvalue()), min_size=DECODE_MIN_SIZE).image
    assert im.size == (500, 375)  # libjpeg's 1/8 scale; 256 is the floor
    assert preprocess(im).shape == (1, 3, 224, 224)


# --- the model file ------------------------------------------------------------------------


def test_the_committed_model_matches_its_checksum():
    verify_model_file(MODEL_PATH)


def test_a_tampered_model_is_refused(tmp_path):
    copy = tmp_path / MODEL_PATH.name
    shutil.copyfile(MODEL_PATH, copy)
    shutil.copyfile(MODEL_PATH.with_name(MODEL_PATH.name + ".sha256"), tmp_path / (MODEL_PATH.name + ".sha256"))
    with copy.open("r+b") as f:
        f.seek(copy.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelFileError, match=re.escape(str(copy)) + ".* does not match its checksum"):
        LabelModel(copy)


def test_a_model_without_its_checksum_is_refused(tmp_path):
    copy = tmp_path / "model.onnx"
    copy.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="checksum"):
        LabelModel(copy)
    with pytest.raises(ModelFileError, match="missing"):
        LabelModel(tmp_path / "absent.onnx")


def test_an_injected_model_path_with_a_good_checksum_loads(tmp_path):
    copy = tmp_path / "copy.onnx"
    shutil.copyfile(MODEL_PATH, copy)
    (tmp_path / "copy.onnx.sha256").write_text(MODEL_PATH.with_name(MODEL_PATH.name + ".sha256").read_text())
    assert LabelModel(copy, threads=1).labels(photo("coffee.jpg"))[0].name == "Food"


def test_the_model_is_loaded_once_per_process(model):
    assert label_model() is model
    assert label_model() is label_model()
    assert labels_module.label_table() is labels_module.label_table()
