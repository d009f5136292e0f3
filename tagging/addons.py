"""The add-on registry: each analysis add-on, the upload parameter that asks for it, and parsing of requests."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Addon:
    name: str
    parameter: str  # the Cloudinary upload parameter that names it
    title: str  # for people


LABELS_ADDON = "aws_rek_tagging"
FACES_ADDON = "aws_rek_face"
ADDONS = {
    LABELS_ADDON: Addon(LABELS_ADDON, "categorization", "Labels"),
    FACES_ADDON: Addon(FACES_ADDON, "detection", "Faces"),
}
PARAMETERS = ("categorization", "detection")
# The threshold offered when an asset was never analysed with one.
AUTO_TAGGING_DEFAULT = 0.6


class AddonError(ValueError):
    """An add-on request that cannot be honoured; the message names what is wrong."""


def addons_parse(*, categorization: str | None = None, detection: str | None = None) -> list[str]:
    """The add-ons asked for by Cloudinary's `categorization` and `detection` parameters.

    Each is a comma-separated list; an unknown name, or a name given to the wrong parameter, is an error.
    """
    requested: list[str] = []
    for parameter, value in (("categorization", categorization), ("detection", detection)):
        for name in (value or "").split(","):
            name = name.strip()
            if not name:
                continue
            addon = ADDONS.get(name)
            if addon is None:
                known = ", ".join(a.name for a in ADDONS.values() if a.parameter == parameter)
                raise AddonError(f"{parameter}: unknown add-on {name!r} (this server offers {known}).")
            if addon.parameter != parameter:
                raise AddonError(f"{name} is asked for with {addon.parameter}=, not {parameter}=.")
            if name not in requested:
                requested.append(name)
    return requested


def auto_tagging_parse(value) -> float | None:
    """Cloudinary's `auto_tagging`: a number from 0 to 1, or nothing."""
    if value is None or value == "":
        return None
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        raise AddonError(f"auto_tagging must be a number between 0 and 1, not {value!r}.") from None
    if not 0.0 <= threshold <= 1.0 or threshold != threshold:
        raise AddonError(f"auto_tagging must be between 0 and 1, not {value!r}.")
    return threshold
