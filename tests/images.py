"""Images made in memory for tests: ordinary ones, odd ones, and hostile ones."""
import io
import struct
import zlib
from pathlib import Path

from PIL import Image

PHOTOS = Path(__file__).resolve().parent / "photos"


def photo_bytes(name: str = "dogs.jpg") -> bytes:
    return (PHOTOS / name).read_bytes()


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def jpeg(width=64, height=48, color=(200, 30, 30), **params) -> bytes:
    return encode(Image.new("RGB", (width, height), color), "JPEG", **params)


def png(width=64, height=48, mode="RGB", color=(30, 200, 30)) -> bytes:
    return encode(Image.new(mode, (width, height), color), "PNG")


def exif_rotated_jpeg(orientation=6) -> bytes:
    """A real photo with an EXIF orientation that turns it a quarter when displayed."""
    image = Image.open(io.BytesIO(photo_bytes("2008_001009.jpg")))  # a 360x480 portrait
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes(), quality=85)


def truncated_jpeg() -> bytes:
    data = photo_bytes("dogs.jpg")
    return data[: len(data) // 2]


def sixteen_bit_png() -> bytes:
    image = Image.new("I;16", (80, 60))
    image.putdata([(x * 800) % 65536 for x in range(80 * 60)])
    return encode(image, "PNG")


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (90, 70), (0, 255, 255, 0)), "JPEG")


def animated_gif(frames=3) -> bytes:
    images = [Image.new("RGB", (40, 30), (i * 60 % 256, 255 - i * 60 % 256, 0)) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


def svg_with_script() -> bytes:
    return (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        b'<script>alert(document.cookie)</script><rect width="100" height="100"/></svg>'
    )


def html_jpeg_polyglot() -> bytes:
    """A decodable JPEG that carries HTML with a script in a comment segment and after its end."""
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    data = jpeg(32, 32)
    comment = b"\xff\xfe" + struct.pack(">H", len(html) + 2) + html
    return data[:2] + comment + data[2:] + html


def png_bomb(width=100_000, height=100_000) -> bytes:
    """A tiny PNG whose header claims huge dimensions: a decompression bomb."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    # A few rows of zeros, compressed: the file stays tiny whatever it claims.
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
