"""Face detector benchmark: speed per photo size and per face, model load time, recall and precision on boxes.xml.

Run from the repository root: .venv/bin/python bench/faces.py [--photos DIR] [--repeat N] [--people DIR] [--detectors]
--detectors: only the side-by-side table of YuNet (the default), HOG and Haar, with ratios to HOG from the same run.
The Haar cascade baseline needs OpenCV 4, which the app must not depend on: install it apart, e.g.
`.venv/bin/pip install --target var/haar --no-deps 'opencv-python-headless>=4.10,<5'` and run with PYTHONPATH=var/haar.
DIR holds face_boxes.xml (or boxes.xml) and the photos it names; default tests/photos. Prints figures only.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tagging.backends.local import faces  # noqa: E402

IOU_MATCH = 0.3


def ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def load_boxes(folder: Path) -> dict[Path, list[tuple[int, int, int, int]]]:
    xml = folder / "face_boxes.xml"
    if not xml.exists():
        xml = folder / "boxes.xml"
    out = {}
    for image in ET.parse(xml).getroot().iter("image"):
        path = folder / image.get("file")
        if path.exists():
            out[path] = [
                (int(b.get("left")), int(b.get("top")), int(b.get("width")), int(b.get("height")))
                for b in image.iter("box")
            ]
    return out


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)


def match(found, truth) -> int:
    """Detections, best score first, each take the unmatched true box they overlap most if IoU >= 0.3."""
    free = list(truth)
    hits = 0
    for box, _ in sorted(found, key=lambda f: -f[1]):
        if not free:
            break
        best = max(free, key=lambda t: iou(box, t))
        if iou(box, best) >= IOU_MATCH:
            free.remove(best)
            hits += 1
    return hits


def detectors_report(folder: Path, repeat: int) -> None:
    """YuNet, HOG (auto, ~6 MP copy) and Haar side by side: recall, precision and ms per photo on the PASCAL photos,
    on the 4x4 mosaic at 12 MP (72 small faces), and from a 12 MP JPEG file to faces (decode included)."""
    import io

    from medialib.images import image_decode
    from tagging.backends.local import FACE_PIXELS

    truth = load_boxes(folder)
    images = [(Image.open(p).convert("RGB"), boxes) for p, boxes in truth.items()]
    sheet, boxes = mosaic([p for p, _ in images], [b for _, b in images], 4)
    big, big_boxes = scaled(sheet, boxes, 12)
    buffer = io.BytesIO()
    big.save(buffer, "JPEG", quality=90)
    detectors = {"yunet": faces.face_model(embeddings=False), "hog": faces.face_model(detector="hog", embeddings=False)}
    rows = {}
    for name, model in detectors.items():
        fixture = [evaluate(model, images) for _ in range(repeat)]
        small = [evaluate(model, [(big, big_boxes)]) for _ in range(max(1, repeat // 2))]

        def from_file(model=model, name=name):
            decoded = image_decode(buffer, min_pixels=FACE_PIXELS[name]).image
            return model.find(decoded)

        rows[name] = (fixture[0][:3], statistics.median(f[3] for f in fixture), small[0][:3],
                      statistics.median(f[3] for f in small), ms(from_file, max(1, repeat // 2)))
    haar = haar_rows(images, [(big, big_boxes)], repeat)
    if haar:
        rows["haar"] = haar
    print(f"\ndetectors side by side (match IoU >= {IOU_MATCH}; {len(images)} PASCAL photos, "
          f"{sum(len(b) for _, b in images)} faces; 4x4 mosaic at 12 MP, {len(big_boxes)} faces; ratio: ms / HOG's ms)")
    ref = rows["hog"]
    print("| detector | PASCAL recall | precision | ms/photo (x HOG) | mosaic recall | precision | ms (x HOG) "
          "| 12 MP JPEG file to faces ms (x HOG) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, ((h1, f1, t1), ms1, (h2, f2, t2), ms2, file_ms) in rows.items():
        print(f"| {name} | {h1}/{t1} | {h1}/{f1} | {ms1:.0f} ({ms1 / ref[1]:.2f}) | {h2}/{t2} | {h2}/{f2} "
              f"| {ms2:.0f} ({ms2 / ref[3]:.2f}) | {file_ms:.0f} ({file_ms / ref[4]:.2f}) |")


def haar_rows(images, mosaic_images, repeat):
    try:
        import cv2
    except ImportError:
        print("  Haar cascade: not measured (OpenCV 4 not importable; see the module's docstring)")
        return None
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def run(imgs):
        hits = n_found = n_true = 0
        t = 0.0
        for image, truth in imgs:
            t0 = time.perf_counter()
            gray = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY)
            found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(20, 20))
            t += time.perf_counter() - t0
            hits += match([((int(x), int(y), int(w), int(h)), 1.0) for x, y, w, h in found], truth)
            n_found += len(found)
            n_true += len(truth)
        return (hits, n_found, n_true), t * 1000 / len(imgs)

    a, ta = run(images)
    b, tb = run(mosaic_images)
    return a, ta, b, tb, float("nan")


def evaluate(model: faces.FaceModel, images: list[tuple[Image.Image, list]]) -> tuple[int, int, int, float]:
    hits = n_found = n_true = 0
    t = 0.0
    for image, truth in images:
        t0 = time.perf_counter()
        rects = model.find(image)
        t += time.perf_counter() - t0
        found = [((r.left(), r.top(), r.width(), r.height()), s) for r, s in rects]
        hits += match(found, truth)
        n_found += len(found)
        n_true += len(truth)
    return hits, n_found, n_true, t * 1000 / len(images)


def mosaic(images: list[Image.Image], truths: list[list], grid: int, size=(500, 375)):
    """A grid x grid tiling of the PASCAL photos (each fitted into 500x375), as a stand-in for a big group photo."""
    sheet = Image.new("RGB", (size[0] * grid, size[1] * grid))
    boxes = []
    for i in range(grid * grid):
        image, truth = images[i % len(images)], truths[i % len(images)]
        k = min(size[0] / image.width, size[1] / image.height)  # fit in the cell, keeping the aspect ratio
        ox, oy = (i % grid) * size[0], (i // grid) * size[1]
        sheet.paste(image.resize((round(image.width * k), round(image.height * k)), Image.Resampling.BICUBIC), (ox, oy))
        boxes += [(round(ox + x * k), round(oy + y * k), round(w * k), round(h * k)) for x, y, w, h in truth]
    return sheet, boxes


def scaled(image: Image.Image, boxes: list, megapixels: float):
    k = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
    big = image.resize((round(image.width * k), round(image.height * k)), Image.Resampling.BICUBIC)
    return big, [tuple(round(v * k) for v in b) for b in boxes]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=Path, default=ROOT / "tests" / "photos")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--people", type=Path, default=ROOT.parent / "shared" / "fixtures" / "people")
    parser.add_argument("--detectors", action="store_true", help="only the YuNet / HOG / Haar table")
    args = parser.parse_args()
    repeat = args.repeat
    detectors_report(args.photos, repeat)
    if args.detectors:
        return

    # model load
    for kind in ("hog", "landmarks5", "landmarks68", "embedding"):
        faces._load.cache_clear()
        t0 = time.perf_counter()
        faces._load(kind)
        print(f"load {kind}: {(time.perf_counter() - t0) * 1000:.0f} ms")
    faces._load.cache_clear()
    t0 = time.perf_counter()
    faces.FaceModel()
    print(f"load FaceModel() (hog, 5 points, embeddings): {(time.perf_counter() - t0) * 1000:.0f} ms")

    # The sections below are dlib HOG's policies (the detector before issue 16), as they were.
    auto = faces.face_model(detector="hog", embeddings=False)
    up0 = faces.face_model(detector="hog", upsample=0, embeddings=False)
    up1 = faces.face_model(detector="hog", upsample=1, embeddings=False)
    policies = {"auto": auto, "upsample 0": up0, "upsample 1": up1}

    # detection time per photo size
    source = Image.open(ROOT / "tests" / "photos" / "two_people.jpg").convert("RGB")
    print("\ndetection, ms per photo (median), faces found; two_people.jpg upscaled")
    for mp in (0.25, 1, 4, 12):
        image, _ = scaled(source, [], mp)
        row = []
        for name, model in policies.items():
            n = 1 if (name == "upsample 1" and mp > 4) else repeat
            found = model.find(image)
            row.append(f"{name} {ms(lambda: model.find(image), n):.0f} ms {len(found)} faces")
        scale, _ = auto.working_scale(*image.size)
        print(f"{mp:>5} MP ({image.width}x{image.height}, auto scale {scale:.2f}): " + "; ".join(row))
    image, _ = scaled(source, [], 12)
    print(f"12 MP: np.asarray {ms(lambda: np.asarray(image), repeat):.0f} ms")
    full = faces.face_model(detector="hog")
    print(f"12 MP: detect() with landmarks, pose, quality, embeddings: {ms(lambda: full.detect(image), 3):.0f} ms")

    # per face
    pixels = np.asarray(source)
    rects = [r for r, _ in auto.find(source)]
    shape5, shape68, embed = faces._load("landmarks5"), faces._load("landmarks68"), faces._load("embedding")
    n = len(rects)
    print(f"\nper face (median over {repeat} runs of {n} faces in two_people.jpg)")
    print(f"landmarks 5 points: {ms(lambda: [shape5(pixels, r) for r in rects], repeat * 20) / n:.2f} ms")
    print(f"landmarks 68 points: {ms(lambda: [shape68(pixels, r) for r in rects], repeat * 20) / n:.2f} ms")
    shapes = [shape5(pixels, r) for r in rects]
    print(
        "embedding: "
        f"{ms(lambda: [embed.compute_face_descriptor(pixels, s) for s in shapes], repeat) / n:.0f} ms"
    )
    print(f"quality: {ms(lambda: [faces.face_quality(pixels, r) for r in rects], repeat * 20) / n:.2f} ms")

    # recall and precision
    truth = load_boxes(args.photos)
    images = [(Image.open(p).convert("RGB"), boxes) for p, boxes in truth.items()]
    print(
        f"\nrecall / precision on {len(images)} photos of {args.photos.name}/face_boxes.xml "
        f"({sum(len(b) for b in truth.values())} faces; match: IoU >= {IOU_MATCH}, one detection per face)"
    )

    def report(label, model, imgs):
        hits, n_found, n_true, t = evaluate(model, imgs)
        precision = hits / n_found if n_found else 1.0
        print(f"{label}: recall {hits}/{n_true} = {hits / n_true:.2f}, precision {hits}/{n_found} = {precision:.2f}, "
              f"{t:.0f} ms per photo")

    for name, model in policies.items():
        report(f"  {name}", model, images)
    haar_report(images, repeat)
    for score in (-0.3, 0.5):
        report(f"  auto, min_score {score}", faces.face_model(detector="hog", embeddings=False, min_score=score), images)

    # group-photo stand-ins: the same faces smaller relative to the photo
    pascal = images
    print("\ngroup-photo stand-ins: PASCAL photos tiled, then scaled to 12 MP like a camera photo")
    for grid in (2, 3, 4):
        sheet, boxes = mosaic([p for p, _ in pascal], [b for _, b in pascal], grid)
        for mp in (sheet.width * sheet.height / 1e6, 12):
            image, scaled_boxes = scaled(sheet, boxes, mp)
            short = min(b[2] for b in scaled_boxes)
            share = short / image.width * 100
            print(f"{grid}x{grid} tiles at {mp:.1f} MP, {len(boxes)} faces, smallest {short} px, {share:.1f}% of width")
            for work in (2_000_000, 3_000_000, 4_000_000, 6_000_000):
                model = faces.face_model(detector="hog", embeddings=False, work_pixels=work)
                tag = " (default)" if work == faces.AUTO_WORK_PIXELS else ""
                report(f"  auto {work / 1e6:.0f} MP{tag}", model, [(image, scaled_boxes)])
            if mp < 4:
                report("  upsample 1", up1, [(image, scaled_boxes)])


    recognition_report(args.people)


def haar_report(images, repeat):
    """OpenCV's Haar cascade (what Wagtail uses), on the same photos and rule: the baseline to beat."""
    try:
        import cv2
    except ImportError:
        print("  Haar cascade: not measured (pip install 'opencv-python-headless<5')")
        return
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    hits = n_found = n_true = 0
    times = []
    for image, truth in images:
        gray = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2GRAY)
        detect = lambda: cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(20, 20))  # noqa: E731
        times.append(ms(detect, repeat))
        found = [((int(x), int(y), int(w), int(h)), 1.0) for x, y, w, h in detect()]
        hits += match(found, truth)
        n_found += len(found)
        n_true += len(truth)
    precision = hits / n_found if n_found else 1.0
    print(f"  Haar cascade (OpenCV {cv2.__version__}, scale 1.1, 5 neighbours): recall {hits}/{n_true} = "
          f"{hits / n_true:.2f}, precision {hits}/{n_found} = {precision:.2f}, {statistics.mean(times):.0f} ms per photo")


def recognition_report(folder: Path):
    """Leave-one-out on FOLDER/<person>/<photos>: enrol each photo in turn, recognise the person's other photos
    against everyone's enrolled faces; plus two_people.jpg and obama-240p.jpg where present."""
    if not folder.is_dir():
        print(f"\nrecognition: {folder} not found, not measured")
        return
    model = faces.face_model()
    people = {}
    for person_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for photo in sorted(person_dir.iterdir()):
            found = model.detect(Image.open(photo).convert("RGB"))
            if len(found) == 1:
                people.setdefault(person_dir.name, []).append(found[0].embedding)
    trials = correct = 0
    for name, embeddings in people.items():
        for i, probe in enumerate(embeddings):
            gallery = [(n, e) for n, es in people.items() for j, e in enumerate(es) if not (n == name and j == i)]
            if not any(n == name for n, _ in gallery):
                continue
            best, distance = min(((n, faces.face_distance(probe, e)) for n, e in gallery), key=lambda x: x[1])
            trials += 1
            correct += best == name and distance < faces.SAME_PERSON_DISTANCE
    print(f"\nrecognition on {folder}: {len(people)} people; leave-one-out {correct}/{trials} correct "
          f"(nearest enrolled face, distance < {faces.SAME_PERSON_DISTANCE})")
    enrolled = [(n, es[0]) for n, es in people.items()]
    for extra in ("two_people.jpg", "obama-240p.jpg"):
        path = folder / extra
        if path.exists():
            names = []
            for face in model.detect(Image.open(path).convert("RGB")):
                best, distance = min(((n, faces.face_distance(face.embedding, e)) for n, e in enrolled),
                                     key=lambda x: x[1])
                names.append(f"{best} ({distance:.2f})" if distance < faces.SAME_PERSON_DISTANCE else "unknown")
            print(f"  {extra}: {', '.join(names) or 'no face'}")


if __name__ == "__main__":
    main()
