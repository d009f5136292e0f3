"""Measure the fixed shift and scale that turns a YuNet box into the box dlib's HOG detector gives for the same face.

dlib's 5-point shape predictor and ResNet embedding were trained on HOG boxes (square, from the brows to below the
mouth); a YuNet box is taller and higher. For every face both detectors find on the photos given (default: the
photos of tests/photos), this prints the HOG box's centre offset from the YuNet box's centre (as fractions of the
YuNet width and height) and the ratio of the HOG side to the YuNet width, then their medians: the constants
YUNET_SHIFT_X, YUNET_SHIFT_Y and YUNET_SCALE of tagging/backends/local/faces.py. Run:

    OMP_NUM_THREADS=1 .venv/bin/python scripts/yunet_box_mapping.py [photos...]
"""
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import dlib  # noqa: E402
import numpy as np  # noqa: E402
import yuface  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(paths):
    hog = dlib.get_frontal_face_detector()
    dx, dy, ds, big = [], [], [], []
    for path in paths:
        image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        # Up to 2x upsampled for HOG so that the small PASCAL faces are found; YuNet on the same pixels.
        upsample = 1 if image.width * image.height < 1_000_000 else 0
        pixels = np.asarray(image)
        rects, scores, _ = hog.run(pixels, upsample, 0.0)
        scale = min(1.0, 960 / max(image.size))
        work = image.resize((round(image.width * scale), round(image.height * scale))) if scale < 1 else image
        confs, boxes, _ = yuface.detect(np.ascontiguousarray(np.asarray(work)[..., ::-1]), conf=0.7)
        for x, y, w, h in boxes.astype(float) / scale:
            cx, cy = x + w / 2, y + h / 2
            for r in rects:
                hx, hy = (r.left() + r.right() + 1) / 2, (r.top() + r.bottom() + 1) / 2
                if abs(hx - cx) < w / 3 and abs(hy - cy) < h / 3:
                    dx.append((hx - cx) / w)
                    dy.append((hy - cy) / h)
                    ds.append(r.width() / w)
                    big.append(w >= 100)
                    print(f"{Path(path).name:24} yunet {w:6.1f}x{h:6.1f}  shift {dx[-1]:+.3f} {dy[-1]:+.3f}  "
                          f"scale {ds[-1]:.3f}")
    if not dx:
        sys.exit("no face found by both detectors")
    print(f"faces {len(dx)}: median shift x {statistics.median(dx):+.3f}, y {statistics.median(dy):+.3f}, "
          f"HOG side / YuNet width {statistics.median(ds):.3f}")
    # Faces of 100 px and more: the small PASCAL faces' boxes are quantised to a few pixels, so these set the values.
    pick = [i for i, b in enumerate(big) if b]
    if pick:
        print(f"faces >= 100 px {len(pick)}: median shift x {statistics.median(dx[i] for i in pick):+.3f}, "
              f"y {statistics.median(dy[i] for i in pick):+.3f}, "
              f"HOG side / YuNet width {statistics.median(ds[i] for i in pick):.3f}")


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(str(p) for p in (ROOT / "tests" / "photos").glob("*.jpg")))
