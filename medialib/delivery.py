"""Delivery URLs as the Cloudinary SDKs build them: `[s--<signature>--/][<transformation>/...][v<version>/]
<public_id>[.<format>]`, the part after `/<cloud>/image/upload/`; and their signatures (`sign_url=True`).

Which segments are the transformation: everything before a `v<digits>` segment when there is one (the SDKs add
`v1` to a public_id in a folder unless told not to, for exactly this reason); without one, the leading
segments that parse as transformations, so `c_fill,w_300/sample.jpg` and `trips/beach.jpg` both read as meant
(a leading segment with a parameter's key that does not parse, `w_abc/sample.jpg`, is a malformed
transformation rather than a folder: a 400 saying why, not a 404).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .transformations import PARAMETERS, Transformation, TransformationError

SIGNATURE_RE = re.compile(r"^s--([A-Za-z0-9_-]{8}|[A-Za-z0-9_-]{32})--$")
VERSION_RE = re.compile(r"^v[0-9]{1,20}$")
# The formats a delivery URL's extension may ask for (TransformationError for others, via output_format).
EXTENSION_RE = re.compile(r"^(?P<stem>.+)\.(?P<ext>[A-Za-z0-9]{2,5})$")
MAX_PATH_LENGTH = 2000
# What cloudinary.utils.smart_escape leaves as it is in a public_id; everything else is percent-encoded (UTF-8).
_URL_UNSAFE_RE = re.compile(r"[^a-zA-Z0-9_.\-/:]+")


class DeliveryPathError(ValueError):
    """A delivery path that cannot name an image; `message` is readable (it goes in X-Cld-Error)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DeliveryPath:
    signature: str | None  # the 8 (SHA-1) or 32 (SHA-256) characters between "s--" and "--"
    transformation_text: str  # as written in the URL: what the signature covers
    transformation: Transformation
    version: int | None
    source: str  # public_id with its extension as in the URL: what the signature covers
    public_id: str  # without the extension
    extension: str | None

    @property
    def signed_part(self) -> str:
        """What the SDKs sign: the transformation and the source, without the version."""
        return "/".join(part for part in (self.transformation_text, self.source) if part)


def delivery_path_parse(path: str) -> DeliveryPath:
    if not path or len(path) > MAX_PATH_LENGTH:
        raise DeliveryPathError("The delivery path is empty or too long.")
    segments = [segment for segment in path.split("/") if segment]  # the SDKs collapse "//" the same way
    if not segments:
        raise DeliveryPathError("The delivery path names no image.")
    signature = None
    match = SIGNATURE_RE.match(segments[0])
    if match:
        signature = match.group(1)
        segments = segments[1:]
    version = None
    versions = [i for i, segment in enumerate(segments[:-1]) if VERSION_RE.match(segment)]
    if versions:
        at = versions[0]
        transformation_segments, version = segments[:at], int(segments[at][1:])
        rest = segments[at + 1:]
        transformation = Transformation.from_string("/".join(transformation_segments))  # may raise
    else:
        at = 0
        while at < len(segments) - 1 and _is_transformation(segments[at]):
            at += 1
        if at < len(segments) - 1 and _looks_like_transformation(segments[at]):
            Transformation.from_string(segments[at])  # a malformed transformation, not a folder: say what is wrong
        transformation_segments, rest = segments[:at], segments[at:]
        transformation = Transformation.from_string("/".join(transformation_segments))
    if not rest:
        raise DeliveryPathError("The delivery path names no image.")
    source = "/".join(rest)
    match = EXTENSION_RE.match(rest[-1])
    if match:
        public_id = "/".join([*rest[:-1], match.group("stem")])
        extension = match.group("ext").lower()
    else:
        public_id, extension = source, None
    return DeliveryPath(signature=signature, transformation_text="/".join(transformation_segments),
                        transformation=transformation, version=version, source=source, public_id=public_id,
                        extension=extension)


def public_id_quote(public_id: str) -> str:
    """A public_id as the SDKs write it in a URL (cloudinary.utils.smart_escape): "/" and ":" kept."""
    return _URL_UNSAFE_RE.sub(lambda match: "".join(f"%{byte:02X}" for byte in match.group().encode()), public_id)


def delivery_url(*, cloud: str, public_id: str, version: int, extension: str, transformation: str = "") -> str:
    """The site-relative delivery URL `/<cloud>/image/upload/[<transformation>/]v<version>/<public_id>.<ext>`, as
    the SDKs build it (unsigned, with the version, so a URL always means the same bytes)."""
    parts = [cloud, "image", "upload", transformation, f"v{int(version)}", f"{public_id_quote(public_id)}.{extension}"]
    return "/" + "/".join(part for part in parts if part)


def _is_transformation(segment: str) -> bool:
    try:
        Transformation.from_string(segment)
    except TransformationError:
        return False
    return True


def _looks_like_transformation(segment: str) -> bool:
    return any(item.partition("_")[0] in PARAMETERS for item in segment.split(",") if "_" in item)


def url_signature(signed_part: str, secret: str, *, long: bool = False) -> str:
    """The SDKs' URL signature: URL-safe base64 of SHA-1 (or, long, SHA-256) of the signed part and the secret,
    cut to 8 (or 32) characters."""
    digest = (hashlib.sha256 if long else hashlib.sha1)((signed_part + secret).encode()).digest()
    return base64.urlsafe_b64encode(digest)[: 32 if long else 8].decode()


def signature_valid(path: DeliveryPath, secrets: Iterable[str]) -> bool:
    """Whether the path's signature was made with one of `secrets` (the API keys' secrets)."""
    if path.signature is None:
        return False
    long = len(path.signature) == 32
    return any(hmac.compare_digest(url_signature(path.signed_part, secret, long=long), path.signature)
               for secret in secrets)
