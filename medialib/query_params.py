"""Request parameters that name rows by id: read strictly, so that '²' or 30 nines is a 400, never a 500."""
from __future__ import annotations

import re

from django.core.exceptions import BadRequest

# Ids are 64-bit on every database; a larger number overflows the driver rather than matching nothing.
MAX_ID = 2**63 - 1
# ASCII digits only: str.isdigit() accepts '²' and '①', which int() then refuses.
_ID_RE = re.compile(r"[0-9]{1,19}")


def id_parse(value: str | None, *, name: str) -> int | None:
    """The id in `value`, None when it is empty; BadRequest (400) naming the parameter when it is not an id."""
    if value is None or value == "":
        return None
    if not _ID_RE.fullmatch(value) or not 0 < int(value) <= MAX_ID:
        raise BadRequest(f"{name} must be the id of a photo, face or person (a whole number); "
                         f"{value[:40]!r} is not one.")
    return int(value)


def id_or_none(value: str | None) -> int | None:
    """The id in `value`, or None when it is not one: for cursors and lists where a bad value means "none"."""
    return int(value) if value and _ID_RE.fullmatch(value) and 0 < int(value) <= MAX_ID else None


def ids_parse(values: list[str], *, name: str) -> list[int]:
    """Each value an id (empty ones left out); BadRequest naming the first that is not."""
    ids = [id_parse(value.strip(), name=name) for value in values]
    return [value for value in ids if value is not None]
