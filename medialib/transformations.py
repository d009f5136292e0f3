"""Cloudinary transformation strings ("c_fill,g_face,h_42,w_42/dpr_2.0") as one small immutable value.

INTERFACE SKELETON (issue 13): the parser/renderer helper replaces the body; the names and signatures below are
the contract the delivery view, the pages and the API share. Only w_, h_ and c_scale/c_fill work here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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


@dataclass(frozen=True)
class Transformation:
    components: tuple[Component, ...] = ()

    @classmethod
    def from_string(cls, text: str) -> Transformation:
        """Parse; raises TransformationError. "" is the empty transformation (the original)."""
        if not text:
            return cls()
        components = []
        for part in text.split("/"):
            params = {}
            for item in part.split(","):
                key, sep, value = item.partition("_")
                if not sep or key not in {"w", "h", "c"}:
                    raise TransformationError(f"Invalid transformation component: {item!r}")
                if key in {"w", "h"} and not value.isdigit():
                    raise TransformationError(f"Invalid {key}_ value: {value!r}")
                params[key] = value
            components.append(Component(tuple(sorted(params.items()))))
        return cls(tuple(components))

    def __str__(self):
        return "/".join(str(component) for component in self.components)

    def __bool__(self):
        return bool(self.components)

    def named(self) -> list[str]:
        """The names of the named transformations (t_<name>) it refers to."""
        return []

    def expand(self, lookup: Callable[[str], Transformation | None]) -> Transformation:
        """Replace every t_<name> with its definition (`lookup` gives None for an unknown name: an error)."""
        return self

    def uses_faces(self) -> bool:
        """Whether rendering needs the image's faces (g_face, g_faces, g_auto)."""
        return False

    def varies_on_accept(self) -> bool:
        """Whether the output format depends on the request's Accept header (f_auto)."""
        return False

    def output_format(self, *, extension: str | None, source_format: str, accept: str = "") -> str:
        """The format delivered ("jpg", "png", "webp", "avif", "gif"): f_ wins, then the URL's extension, then
        the original's format."""
        return extension or source_format
