"""The benchmarks' photos: the fixtures of tests/photos, and large copies of them made in memory."""
import io
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def fixtures() -> list[tuple[str, bytes]]:
    """(file name, bytes) of every JPEG in tests/photos, by name."""
    return [(p.name, p.read_bytes()) for p in sorted((ROOT / "tests" / "photos").glob("*.jp*g"))]


def upscaled(name: str, data: bytes, pixels: float = 12e6) -> tuple[str, bytes]:
    """A JPEG copy of the photo scaled to about `pixels` pixels, named "12MP-<name>"."""
    with Image.open(io.BytesIO(data)) as image:
        scale = (pixels / (image.width * image.height)) ** 0.5
        large = image.convert("RGB").resize((round(image.width * scale), round(image.height * scale)))
    out = io.BytesIO()
    large.save(out, "JPEG", quality=90)
    return f"{round(pixels / 1e6)}MP-{name}", out.getvalue()
