"""Cloudinary transformation strings ("c_fill,g_face,h_42,w_42/dpr_2.0") as one small immutable value.

The parser and the value only; rendering is medialib.images.transformation_render. Syntax follows Cloudinary's
image transformation reference and how its Python SDK writes each parameter (cloudinary.utils.
generate_transformation_string). Canonical form (what str() gives, and parse(str(t)) == t):

- components joined by "/", empty components ("a//b", a leading or trailing "/") dropped;
- within a component the parameters sorted by key (the SDK's alphabetical order);
- integers without leading zeros ("w_0100" -> "w_100", "x_-0" -> "x_0");
- decimals with the fewest digits, at least one after the point ("w_0.50" -> "w_0.5", "w_.5" -> "w_0.5",
  "z_1." -> "z_1.0"); a decimal w_/h_ is relative (w_1.0 is 100%), so w_1.0 and w_1 stay different;
- dpr_ always a decimal, as the SDK and the docs write it ("dpr_2" -> "dpr_2.0");
- colors lower-cased ("rgb:EEE" -> "rgb:eee", "Red" -> "red"); f_jpeg -> f_jpg;
- everything else exactly as written (e_blur and e_blur:100 stay different, ar_16:9 is not reduced).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_LENGTH = 1000  # characters of a whole transformation string
MAX_COMPONENTS = 10  # components of a parsed string
MAX_EXPANDED_COMPONENTS = 20  # components once the named transformations are expanded
MAX_EXPANSION_DEPTH = 5  # named transformations within named transformations
MAX_PIXELS = 10000  # w_, h_ in pixels
MAX_RELATIVE = 10  # w_, h_ as a decimal (10.0 = 1000%)
MAX_OFFSET = 10000  # x_, y_ in pixels (and r_)
MAX_ZOOM = 100
MAX_BORDER = 1000
MAX_NAME = 64


class TransformationError(ValueError):
    """A transformation that cannot be parsed or done; `message` is readable (it goes in X-Cld-Error)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Component:
    """One step of a chain: its parameters as (key, value) pairs, sorted by key (the canonical order)."""

    params: tuple[tuple[str, str], ...]

    def get(self, key: str, default=None):
        return dict(self.params).get(key, default)

    def __str__(self):
        return ",".join(f"{key}_{value}" for key, value in self.params)


def _quote(text: str, limit: int = 40) -> str:
    """`text` for a message: ASCII, one line, short."""
    quoted = ascii(text[:limit + 1])[1:-1]
    if len(quoted) > limit:
        return "'" + quoted[:limit] + "...'"
    return "'" + quoted + "'"


_INT = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?([0-9]+\.[0-9]*|\.[0-9]+)")
_HEX_COLOR = re.compile(r"rgb:([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})")
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_BORDER = re.compile(r"([0-9]+)px_solid_(.+)")

CSS_COLORS = frozenset("""aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue
blueviolet brown burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan
darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon
darkseagreen darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue dimgray dimgrey
dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold goldenrod gray green greenyellow grey
honeydew hotpink indianred indigo ivory khaki lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral
lightcyan lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen lightskyblue
lightslategray lightslategrey lightsteelblue lightyellow lime limegreen linen magenta maroon mediumaquamarine mediumblue
mediumorchid mediumpurple mediumseagreen mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue
mintcream mistyrose moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid palegoldenrod palegreen
paleturquoise palevioletred papayawhip peachpuff peru pink plum powderblue purple rebeccapurple red rosybrown royalblue
saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue slategray slategrey snow springgreen
steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow yellowgreen transparent""".split())

CROPS = frozenset("scale fit limit mfit fill lfill pad lpad crop thumb".split())
GRAVITIES = frozenset(
    "center north north_east east south_east south south_west west north_west face faces auto".split())
FACE_GRAVITIES = frozenset({"face", "faces", "auto"})
FORMATS = frozenset({"jpg", "png", "webp", "avif", "gif"})
QUALITIES = frozenset({"auto", "auto:good", "auto:eco", "auto:low", "auto:best"})
ANGLE_MODES = frozenset({"auto_right", "auto_left", "ignore", "vflip", "hflip"})
EXTENSIONS = {"jpg": "jpg", "jpeg": "jpg", "png": "png", "webp": "webp", "avif": "avif", "gif": "gif"}


class _Bad(Exception):
    """A value a parameter refuses; from_string turns it into a TransformationError naming the parameter."""

    def __init__(self, why: str = ""):
        self.why = why


def _int_text(value: str) -> str:
    number = int(value)
    return str(number)


def _decimal_text(value: str) -> str:
    negative = value.startswith("-")
    whole, _, fraction = value.lstrip("-").partition(".")
    whole = str(int(whole or "0"))
    fraction = fraction.rstrip("0") or "0"
    text = f"{whole}.{fraction}"
    return "-" + text if negative and text.strip("0.") else text


def _number(value: str, *, signed=False) -> tuple[str, float, bool]:
    """(canonical text, value, is_decimal) of an integer or a decimal; _Bad for anything else."""
    if len(value) > 20:
        raise _Bad("too long")
    if _INT.fullmatch(value):
        text, decimal = _int_text(value), False
    elif _DECIMAL.fullmatch(value):
        text, decimal = _decimal_text(value), True
    else:
        raise _Bad("not a number")
    if not signed and text.startswith("-"):
        raise _Bad("must not be negative")
    return text, float(text), decimal


def _size(value):
    text, number, decimal = _number(value)
    if number <= 0:
        raise _Bad("must be positive")
    if decimal and number > MAX_RELATIVE:
        raise _Bad(f"a relative size is at most {MAX_RELATIVE}")
    if not decimal and number > MAX_PIXELS:
        raise _Bad(f"at most {MAX_PIXELS} pixels")
    return text


def _offset(value):
    text, number, decimal = _number(value, signed=True)
    if abs(number) > (MAX_RELATIVE if decimal else MAX_OFFSET):
        raise _Bad("out of range")
    return text


def _zoom(value):
    text, number, _ = _number(value)
    if not 0 < number <= MAX_ZOOM:
        raise _Bad(f"must be above 0 and at most {MAX_ZOOM}")
    return text


def _aspect_ratio(value):
    if ":" in value:
        parts = value.split(":")
        if len(parts) != 2:
            raise _Bad("a ratio is <width>:<height>")
        texts = []
        for part in parts:
            text, number, _ = _number(part)
            if not 0 < number <= MAX_PIXELS:
                raise _Bad("out of range")
            texts.append(text)
        return ":".join(texts)
    text, number, _ = _number(value)
    if not 0 < number <= 100:
        raise _Bad("must be above 0 and at most 100")
    return text


def _dpr(value):
    text, number, _ = _number(value)
    if not 0.1 <= number <= 5:
        raise _Bad("must be from 0.1 to 5")
    return _decimal_text(text if "." in text else text + ".0")


def _radius(value):
    if value == "max":
        return value
    if not _INT.fullmatch(value) or len(value) > 20:
        raise _Bad("an integer or max")
    text, number, _ = _number(value)
    if number > MAX_OFFSET:
        raise _Bad("out of range")
    return text


def _color(value):
    color = value.lower()
    if color in CSS_COLORS or _HEX_COLOR.fullmatch(color):
        return color
    raise _Bad("a color name or rgb:<3, 6 or 8 hex digits>")


def _border(value):
    match = _BORDER.fullmatch(value)
    if not match or len(match[1]) > 20:
        raise _Bad("<width>px_solid_<color>")
    width = int(match[1])
    if not 0 < width <= MAX_BORDER:
        raise _Bad(f"a width from 1 to {MAX_BORDER}")
    return f"{width}px_solid_{_color(match[2])}"


def _angle(value):
    items = value.split(".")
    if len(items) > 4:
        raise _Bad("too many angles")
    texts = []
    for item in items:
        if item in ANGLE_MODES:
            text = item
        elif _INT.fullmatch(item) and len(item) <= 20:
            text = _int_text(item)
            if abs(int(text)) > 360:
                raise _Bad("degrees from -360 to 360")
        else:
            raise _Bad("degrees or auto_right, auto_left, ignore, vflip, hflip")
        if text in texts:
            raise _Bad("repeated")
        texts.append(text)
    return ".".join(texts)


def _effect(value):
    name, sep, strength = value.partition(":")
    if name not in {"grayscale", "blur", "sharpen"}:
        raise _Bad("grayscale, blur[:1-2000] or sharpen[:1-2000]")
    if not sep:
        return name
    if name == "grayscale" or not strength.isascii() or not strength.isdigit() or len(strength) > 20:
        raise _Bad("grayscale, blur[:1-2000] or sharpen[:1-2000]")
    if not 1 <= int(strength) <= 2000:
        raise _Bad("a strength from 1 to 2000")
    return f"{name}:{int(strength)}"


def _quality(value):
    if value in QUALITIES:
        return value
    if not _INT.fullmatch(value) or len(value) > 20 or not 1 <= int(value) <= 100:
        raise _Bad("1 to 100 or auto[:good|eco|low|best]")
    return _int_text(value)


def _format(value):
    if value == "auto":
        return value
    if value in EXTENSIONS:
        return EXTENSIONS[value]
    raise _Bad("jpg, png, webp, avif, gif or auto")


def _one_of(choices):
    def check(value):
        if value not in choices:
            raise _Bad("one of " + ", ".join(sorted(choices)))
        return value
    return check


def _name(value):
    if len(value) > MAX_NAME or not _NAME.fullmatch(value):
        raise _Bad("letters, digits, _ and -")
    return value


PARAMETERS: dict[str, Callable[[str], str]] = {
    "a": _angle,
    "ar": _aspect_ratio,
    "b": _color,
    "bo": _border,
    "c": _one_of(CROPS),
    "dpr": _dpr,
    "e": _effect,
    "f": _format,
    "g": _one_of(GRAVITIES),
    "h": _size,
    "q": _quality,
    "r": _radius,
    "t": _name,
    "w": _size,
    "x": _offset,
    "y": _offset,
    "z": _zoom,
}


def _component_parse(part: str) -> Component:
    params = {}
    for item in part.split(","):
        if not item:
            raise TransformationError(f"Empty parameter in {_quote(part)}")
        key, sep, value = item.partition("_")
        if key not in PARAMETERS:
            raise TransformationError(f"Unknown transformation parameter {_quote(item)}")
        if not value:
            raise TransformationError(f"Missing value in {_quote(item)}")
        if key in params:
            raise TransformationError(f"Repeated parameter {key}_ in {_quote(part)}")
        try:
            params[key] = PARAMETERS[key](value)
        except _Bad as bad:
            why = f" ({bad.why})" if bad.why else ""
            raise TransformationError(f"Invalid value in {_quote(item)}{why}") from None
    return Component(tuple(sorted(params.items())))


def _accepted(accept: str) -> set[str]:
    """The media types an Accept header names with a quality above 0."""
    types = set()
    for entry in (accept or "").split(","):
        media, *options = (piece.strip() for piece in entry.split(";"))
        quality = 1.0
        for option in options:
            name, _, number = option.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            types.add(media.lower())
    return types


@dataclass(frozen=True)
class Transformation:
    components: tuple[Component, ...] = ()

    @classmethod
    def from_string(cls, text: str) -> Transformation:
        """Parse; raises TransformationError. "" is the empty transformation (the original)."""
        if not isinstance(text, str):
            raise TransformationError("A transformation is a string")
        if len(text) > MAX_LENGTH:
            raise TransformationError(f"Transformation longer than {MAX_LENGTH} characters")
        parts = [part for part in text.split("/") if part]
        if len(parts) > MAX_COMPONENTS:
            raise TransformationError(f"More than {MAX_COMPONENTS} chained transformations")
        return cls(tuple(_component_parse(part) for part in parts))

    def __str__(self):
        return "/".join(str(component) for component in self.components if component.params)

    def __bool__(self):
        return bool(self.components)

    def named(self) -> list[str]:
        """The names of the named transformations (t_<name>) it refers to, in order, each once."""
        names = []
        for component in self.components:
            name = component.get("t")
            if name is not None and name not in names:
                names.append(name)
        return names

    def expand(self, lookup: Callable[[str], Transformation | None]) -> Transformation:
        """Replace every t_<name> with its definition (`lookup` gives None for an unknown name: an error).

        A component holding t_<name> and other parameters becomes the definition's components followed by a
        component of the other parameters."""

        def expanded(transformation: Transformation, stack: tuple[str, ...]) -> list[Component]:
            components = []
            for component in transformation.components:
                name = component.get("t")
                if name is None:
                    components.append(component)
                    if len(components) > MAX_EXPANDED_COMPONENTS:
                        raise TransformationError(
                            f"More than {MAX_EXPANDED_COMPONENTS} transformations once named ones are expanded")
                    continue
                if name in stack:
                    raise TransformationError(f"Named transformation {_quote(name)} refers to itself")
                if len(stack) >= MAX_EXPANSION_DEPTH:
                    raise TransformationError(f"Named transformations nested deeper than {MAX_EXPANSION_DEPTH}")
                definition = lookup(name)
                if definition is None:
                    raise TransformationError(f"Unknown named transformation {_quote(name)}")
                components.extend(expanded(definition, stack + (name,)))
                rest = tuple((key, value) for key, value in component.params if key != "t")
                if rest:
                    components.append(Component(rest))
                if len(components) > MAX_EXPANDED_COMPONENTS:
                    raise TransformationError(
                        f"More than {MAX_EXPANDED_COMPONENTS} transformations once named ones are expanded")
            return components

        if not self.named():
            return self
        return Transformation(tuple(expanded(self, ())))

    def uses_faces(self) -> bool:
        """Whether rendering needs the image's faces (g_face, g_faces, g_auto)."""
        return any(component.get("g") in FACE_GRAVITIES for component in self.components)

    def varies_on_accept(self) -> bool:
        """Whether the output format depends on the request's Accept header (f_auto)."""
        return any(component.get("f") == "auto" for component in self.components)

    def output_format(self, *, extension: str | None, source_format: str, accept: str = "") -> str:
        """The format delivered ("jpg", "png", "webp", "avif", "gif"): f_ wins (the last one), then the URL's
        extension, then the original's format (tiff, heic and others are delivered as jpg)."""
        source = EXTENSIONS.get((source_format or "").lower().lstrip("."), "jpg")
        fmt = None
        for component in self.components:
            fmt = component.get("f", fmt)
        if fmt == "auto":
            accepted = _accepted(accept)
            if "image/avif" in accepted:
                return "avif"
            if "image/webp" in accepted:
                return "webp"
            return "png" if source == "png" else "jpg"
        if fmt:
            return fmt
        if extension:
            ext = extension.lower().lstrip(".")
            if ext not in EXTENSIONS:
                raise TransformationError(f"Unsupported format {_quote(extension, 10)}")
            return EXTENSIONS[ext]
        return source
