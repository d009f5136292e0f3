"""The Amazon Rekognition backend: labels through DetectLabels, faces and celebrities through RecognizeCelebrities.

Region and credentials come from boto3's usual chain (environment, ~/.aws files, an instance or task role); the
client is built on first use and shared by every thread of the process (boto3 clients are thread-safe).

The image sent respects Rekognition's limits: JPEG or PNG (anything else is converted to JPEG), at most 5 MB as
bytes (re-encoded, then downscaled keeping the aspect ratio, so returned ratios still fit the original), at least
80 and at most 10,000 pixels a side. An original already in the S3 bucket of the default storage, a JPEG or PNG of
at most 15 MB, is passed as an S3Object instead, so Rekognition reads it straight from S3.

Orientation. Rekognition's current models ignore EXIF orientation and report boxes and landmarks on the pixels as
stored (OrientationCorrection has been null since August 2021), while parts of its reference still describe
coordinates corrected by EXIF. So that the frame is certain either way, a photo whose EXIF turns or mirrors it is
never sent with that tag: its stored pixels go as bytes with the EXIF (and XMP) segments cut out, losslessly, and the
returned ratios are mapped through the orientation (all eight) to the image as displayed, which is what every ratio
in this library is measured on. Such photos are never passed as an S3Object, whose tag we could not remove.
"""
from __future__ import annotations

import io
import math
import threading

from django.core.exceptions import ImproperlyConfigured
from PIL import Image

from ..contract import best_labels
from .base import (
    AnalysisImage, Backend, BoundingBox, CelebrityMatch, DetectedFace, DetectorError, FacesResult, Label, Landmark,
    Pose, Quality, TransientDetectorError,
)

MAX_BYTES = 5 * 1024 * 1024  # an image passed as bytes (the API's ImageBlob maximum, 5242880)
MAX_S3_BYTES = 15 * 1024 * 1024  # an image read from S3
MIN_SIDE = 80
MAX_SIDE = 10_000
S3_OBJECT_MODES = ("auto", "always", "never")

# Rekognition says these may pass: the task retries them with backoff (tagging/tasks.py).
TRANSIENT_CODES = {
    "ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError",
    "ServiceUnavailable", "ServiceUnavailableException", "Throttling", "TooManyRequestsException",
    "RequestTimeout", "RequestTimeoutException",
}
# What a person needs to know to fix the permanent ones.
PERMANENT_HINTS = {
    "InvalidImageFormatException": "Amazon Rekognition could not read the image as a JPEG or PNG",
    "ImageTooLargeException": (
        "the image is larger than Amazon Rekognition accepts (5 MB as bytes, 15 MB from S3)"
    ),
    "InvalidParameterException": (
        "Amazon Rekognition refused the request (an image under 80 pixels a side, or a "
        "TAGGING_REKOGNITION_* setting out of range)"
    ),
    "AccessDeniedException": (
        "the AWS credentials in use are not allowed to call rekognition:{operation}; grant it to the IAM user or role"
    ),
    "InvalidS3ObjectException": (
        "Amazon Rekognition could not read s3://{bucket}/{key}: the bucket must be in the Rekognition region "
        "({region}) and readable by the same credentials (or set TAGGING_REKOGNITION_S3_OBJECT=never to send bytes)"
    ),
    "UnrecognizedClientException": "AWS did not recognise the access key in use; check the AWS credentials",
    "InvalidSignatureException": "AWS refused the signature; check the AWS secret access key",
}

# Where each EXIF orientation takes a point of the stored image, in ratios (what ImageOps.exif_transpose does to
# the pixels); the mirrored ones also swap left and right.
ORIENTATION_POINT = {
    1: lambda x, y: (x, y),
    2: lambda x, y: (1 - x, y),
    3: lambda x, y: (1 - x, 1 - y),
    4: lambda x, y: (x, 1 - y),
    5: lambda x, y: (y, x),
    6: lambda x, y: (1 - y, x),
    7: lambda x, y: (1 - y, 1 - x),
    8: lambda x, y: (y, 1 - x),
}
MIRRORED = {2, 4, 5, 7}


def configuration_problems(*, region_name=None, **options) -> list[str]:
    """What is missing or wrong in the rekognition backend's OPTIONS, as sentences naming the setting to change.

    The system check runs this at start; boto3 resolves the region as the client will (AWS_DEFAULT_REGION,
    ~/.aws/config), without any network call. Credentials are not checked: an instance or task role is only
    found by asking the network, and a missing one is reported on the first analysis instead.
    """
    try:
        import boto3
        from botocore.exceptions import BotoCoreError
    except ImportError:
        return ["TAGGING_BACKEND=rekognition needs boto3; install the project's dependencies (pip install -e .)."]
    try:
        resolved = region_name or boto3.session.Session().region_name
    except BotoCoreError as exc:  # e.g. AWS_PROFILE names a profile that does not exist
        return [f"The AWS configuration cannot be read: {exc}."]
    problems = []
    if not resolved:
        problems.append(
            "Amazon Rekognition needs an AWS region and none was found: set AWS_REGION (or "
            "TAGGING_REKOGNITION_REGION for Rekognition alone), AWS_DEFAULT_REGION, or region in ~/.aws/config."
        )
    return problems + option_problems(**options)


def option_problems(*, min_confidence=55.0, max_labels=20, s3_object="auto", **options) -> list[str]:
    problems = []
    if isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float)) or not 0 <= min_confidence <= 100:
        problems.append(
            f"TAGGING_REKOGNITION_MIN_CONFIDENCE must be a percentage from 0 to 100, not {min_confidence!r}."
        )
    if isinstance(max_labels, bool) or not isinstance(max_labels, int) or max_labels < 1:
        problems.append(f"TAGGING_REKOGNITION_MAX_LABELS must be a whole number of at least 1, not {max_labels!r}.")
    if s3_object not in S3_OBJECT_MODES:
        problems.append(f"TAGGING_REKOGNITION_S3_OBJECT must be one of {', '.join(S3_OBJECT_MODES)}, not {s3_object!r}.")
    return problems


class RekognitionBackend(Backend):
    name = "rekognition"

    def __init__(self, *, region_name: str | None = None, endpoint_url: str | None = None,
                 min_confidence: float = 55.0, max_labels: int = 20, s3_object: str = "auto", **options):
        super().__init__(**options)
        # The region is the system check's: boto3's chain may supply it when the client is built.
        problems = option_problems(min_confidence=min_confidence, max_labels=max_labels, s3_object=s3_object)
        if problems:
            raise ImproperlyConfigured(" ".join(problems))
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.min_confidence = float(min_confidence)
        self.max_labels = int(max_labels)
        self.s3_object = s3_object
        self._client = None
        self._client_lock = threading.Lock()

    @property
    def client(self):
        """The boto3 client, built on first use; tests wrap this very object in botocore's Stubber."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._client_build()
        return self._client

    def _client_build(self):
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        config = Config(
            # A short burst of retries inside the call; anything longer is the task's retry with backoff.
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=10,
            read_timeout=60,
            user_agent_extra="medialib",
        )
        try:
            # A session of its own: boto3's default session is not thread-safe, the client is.
            return boto3.session.Session().client(
                "rekognition", region_name=self.region_name, endpoint_url=self.endpoint_url, config=config
            )
        except BotoCoreError as exc:  # NoRegionError, ProfileNotFound: only a change of settings mends these
            raise DetectorError(f"Amazon Rekognition is not configured: {exc}. See README, Amazon Rekognition.") from exc

    def decode_size(self, addons: list[str]) -> int | None:
        # Rekognition gets the original, not the decoded pixels: a small decode is enough for the pipeline.
        return 256 * 256 * 2

    # --- the two operations

    def labels(self, image: AnalysisImage) -> list[Label]:
        request, _ = self._request_image(image)
        response = self._call(
            "detect_labels", Image=request, MaxLabels=self.max_labels, MinConfidence=self.min_confidence
        )
        return labels_from_response(response)

    def faces(self, image: AnalysisImage) -> FacesResult:
        request, orientation = self._request_image(image)
        response = self._call("recognize_celebrities", Image=request)
        return faces_from_response(response, orientation)

    def _call(self, operation: str, **params) -> dict:
        from botocore.exceptions import (
            BotoCoreError, ClientError, CredentialRetrievalError, HTTPClientError,
            NoCredentialsError,
        )
        from botocore.exceptions import ConnectionError as BotoConnectionError

        client = self.client
        try:
            return getattr(client, operation)(**params)
        except ClientError as exc:
            raise self._client_error(exc, operation, params, client.meta.region_name) from exc
        except (BotoConnectionError, HTTPClientError, CredentialRetrievalError) as exc:
            raise TransientDetectorError(f"Amazon Rekognition could not be reached ({_title(operation)}): {exc}") from exc
        except NoCredentialsError as exc:
            raise DetectorError(
                "No AWS credentials were found for Amazon Rekognition: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, an AWS_PROFILE, or give the machine an IAM role."
            ) from exc
        except BotoCoreError as exc:
            raise DetectorError(f"Amazon Rekognition {_title(operation)} failed: {exc}") from exc

    @staticmethod
    def _client_error(exc, operation: str, params: dict, region: str) -> DetectorError:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        said = f"{code}: {error.get('Message') or 'no message'}"
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in TRANSIENT_CODES or status >= 500:
            return TransientDetectorError(f"Amazon Rekognition is busy or unavailable ({_title(operation)}, {said}).")
        s3 = params.get("Image", {}).get("S3Object", {})
        hint = PERMANENT_HINTS.get(code, "Amazon Rekognition refused the request").format(
            operation=_title(operation), bucket=s3.get("Bucket", "?"), key=s3.get("Name", "?"), region=region
        )
        return DetectorError(f"{_title(operation)} failed: {hint}. AWS said {said}")

    # --- the image sent

    def _request_image(self, image: AnalysisImage) -> tuple[dict, int]:
        """Rekognition's Image parameter for this image, and the EXIF orientation its answers must be mapped through.

        Worked out once per analysis run and shared by both add-ons.
        """
        if "rekognition_image" not in image.memo:
            image.memo["rekognition_image"] = self._request_image_build(image)
        return image.memo["rekognition_image"]

    def _request_image_build(self, image: AnalysisImage) -> tuple[dict, int]:
        from medialib.images import OPEN_FORMATS, exif_orientation

        # The pipeline already read the original's orientation: an upright JPEG or PNG of a size Rekognition
        # takes, in S3, is passed by name without downloading it here.
        if (image.orientation == 1 and image.format in ("jpg", "png") and image.bytes
                and MIN_SIDE <= min(image.width, image.height) and max(image.width, image.height) <= MAX_SIDE):
            s3_object = self._s3_object(image, image.bytes)
            if s3_object is not None:
                return {"S3Object": s3_object}, 1
        if image.open_original is None:
            raise DetectorError("Amazon Rekognition needs the original file, and none was given.")
        try:
            with image.open_original() as handle:
                data = handle.read()
        except FileNotFoundError as exc:
            raise DetectorError(f"The original file is missing from storage: {exc}") from exc
        except OSError as exc:  # storage unreachable for a moment
            raise TransientDetectorError(f"The original could not be read from storage: {exc}") from exc
        try:
            with Image.open(io.BytesIO(data), formats=OPEN_FORMATS) as original:
                fmt = "JPEG" if original.format == "MPO" else original.format
                width, height = original.size  # as stored
                orientation = exif_orientation(original)
                if fmt in ("JPEG", "PNG") and MIN_SIDE <= min(width, height) and max(width, height) <= MAX_SIDE:
                    if orientation == 1:
                        s3_object = self._s3_object(image, len(data))
                        if s3_object is not None:
                            return {"S3Object": s3_object}, orientation
                        if len(data) <= MAX_BYTES:
                            return {"Bytes": data}, orientation
                    else:
                        stripped = without_orientation(data, fmt)
                        if len(stripped) <= MAX_BYTES:
                            return {"Bytes": stripped}, orientation
                return {"Bytes": jpeg_within_limits(original)}, orientation
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise DetectorError(f"The image could not be prepared for Amazon Rekognition: {exc}") from exc

    def _s3_object(self, image: AnalysisImage, size: int) -> dict | None:
        """{"Bucket", "Name"} when Rekognition can read the original from S3 itself, else None."""
        if self.s3_object == "never" or not image.storage_name or size > MAX_S3_BYTES:
            return None
        from django.core.files.storage import default_storage

        try:
            from storages.backends.s3 import S3Storage
            from storages.utils import clean_name, safe_join
        except ImportError:
            return None
        if not isinstance(default_storage, S3Storage):
            return None
        if any(key.startswith("SSECustomer") for key in default_storage.get_object_parameters(image.storage_name)):
            return None  # encrypted with a key of ours, which Rekognition does not have
        if self.s3_object == "auto" and not self._same_aws_region(default_storage):
            return None
        # The object's key, as the storage itself builds it: the storage's location prefix, then the name.
        key = safe_join(default_storage.location, clean_name(image.storage_name))
        return {"Bucket": default_storage.bucket_name, "Name": key}

    def _same_aws_region(self, storage) -> bool:
        """An S3-compatible store elsewhere (MinIO, another cloud), or a bucket in another region, cannot be read."""
        from urllib.parse import urlsplit

        endpoint = storage.endpoint_url
        if endpoint and not (urlsplit(endpoint).hostname or "").endswith(".amazonaws.com"):
            return False
        return storage.connection.meta.client.meta.region_name == self.client.meta.region_name


# --- responses to dataclasses


def labels_from_response(response: dict) -> list[Label]:
    """Labels 0-1 with four decimals, best first, one per name; a parent takes its best child's confidence."""
    found = []
    for label in response.get("Labels", []):
        confidence = round(float(label.get("Confidence", 0.0)) / 100, 4)
        found.append(Label(label["Name"], confidence))
        found += [Label(parent["Name"], confidence) for parent in label.get("Parents", [])]
    return best_labels(found)


def faces_from_response(response: dict, orientation: int = 1) -> FacesResult:
    celebrities = []
    for celebrity in response.get("CelebrityFaces", []):
        face = _face(celebrity.get("Face"), orientation)
        if face is None:
            continue
        celebrities.append(CelebrityMatch(
            name=celebrity.get("Name", ""),
            id=celebrity.get("Id", ""),
            match_confidence=float(celebrity.get("MatchConfidence", 0.0)),
            face=face,
            urls=tuple(celebrity.get("Urls", [])),
        ))
    faces = [_face(face, orientation) for face in response.get("UnrecognizedFaces", [])]
    return FacesResult(faces=tuple(f for f in faces if f is not None), celebrities=tuple(celebrities))


def _face(face: dict | None, orientation: int) -> DetectedFace | None:
    if not face or "BoundingBox" not in face:
        return None
    box = face["BoundingBox"]
    pose = face.get("Pose")
    quality = face.get("Quality")
    return DetectedFace(
        bounding_box=box_displayed(
            BoundingBox(left=box.get("Left", 0.0), top=box.get("Top", 0.0), width=box.get("Width", 0.0),
                        height=box.get("Height", 0.0)),
            orientation,
        ),
        confidence=float(face.get("Confidence", 0.0)),
        landmarks=tuple(
            landmark_displayed(Landmark(lm["Type"], lm.get("X", 0.0), lm.get("Y", 0.0)), orientation)
            for lm in face.get("Landmarks", []) if "Type" in lm
        ),
        pose=pose_displayed(
            Pose(roll=pose.get("Roll", 0.0), yaw=pose.get("Yaw", 0.0), pitch=pose.get("Pitch", 0.0)), orientation
        ) if pose else None,
        quality=Quality(brightness=quality.get("Brightness", 0.0), sharpness=quality.get("Sharpness", 0.0))
        if quality else None,
    )


# --- stored orientation to displayed


def box_displayed(box: BoundingBox, orientation: int) -> BoundingBox:
    point = ORIENTATION_POINT[orientation]
    x1, y1 = point(box.left, box.top)
    x2, y2 = point(box.left + box.width, box.top + box.height)
    return BoundingBox(left=min(x1, x2), top=min(y1, y2), width=abs(x2 - x1), height=abs(y2 - y1))


def landmark_displayed(landmark: Landmark, orientation: int) -> Landmark:
    x, y = ORIENTATION_POINT[orientation](landmark.x, landmark.y)
    kind = landmark.type
    if orientation in MIRRORED:
        # Rekognition names sides as seen (eyeLeft is the eye on the image's left): a mirror swaps them.
        kind = kind.replace("Left", "\0").replace("Right", "Left").replace("\0", "Right")
        kind = kind.replace("left", "\0").replace("right", "left").replace("\0", "right")
    return Landmark(kind, x, y)


def pose_displayed(pose: Pose, orientation: int) -> Pose:
    """Roll turns with the picture (positive clockwise, the eye line's angle); a mirror negates roll and yaw."""
    if orientation == 1:
        return pose
    point = ORIENTATION_POINT[orientation]
    radians = math.radians(pose.roll)
    x0, y0 = point(0.0, 0.0)
    x1, y1 = point(math.cos(radians), math.sin(radians))
    dx, dy = x1 - x0, y1 - y0
    if orientation in MIRRORED:
        dx, dy = -dx, -dy  # left and right swap, so the eye line runs the other way
    roll = math.degrees(math.atan2(dy, dx))
    yaw = -pose.yaw if orientation in MIRRORED else pose.yaw
    return Pose(roll=round(roll, 4), yaw=yaw, pitch=pose.pitch)


# --- image bytes


def without_orientation(data: bytes, fmt: str) -> bytes:
    """The same file, byte for byte, without the metadata that could tell a reader to turn it (EXIF, XMP)."""
    if fmt == "JPEG":
        return _jpeg_without_app1(data)
    if fmt == "PNG":
        return _png_without_exif(data)
    return data


def _jpeg_without_app1(data: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        return data
    parts, i = [data[:2]], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xDA, 0xD9):  # start of scan: the rest is image data
            break
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2:
            return data  # not a JPEG we understand: leave it as it is
        if marker != 0xE1:  # APP1 holds EXIF and XMP
            parts.append(data[i:i + 2 + length])
        i += 2 + length
    parts.append(data[i:])
    return b"".join(parts)


def _png_without_exif(data: bytes) -> bytes:
    signature = b"\x89PNG\r\n\x1a\n"
    if data[:8] != signature:
        return data
    parts, i = [signature], 8
    while i + 8 <= len(data):
        length = int.from_bytes(data[i:i + 4], "big")
        kind = data[i + 4:i + 8]
        end = i + 12 + length
        if kind != b"eXIf":
            parts.append(data[i:end])
        i = end
        if kind == b"IEND":
            break
    return b"".join(parts)


def jpeg_within_limits(image: Image.Image, max_bytes: int = MAX_BYTES) -> bytes:
    """The stored pixels as a JPEG Rekognition accepts: 80-10,000 pixels a side, at most max_bytes.

    Scaled evenly in both directions, so every ratio Rekognition returns is a ratio of the original too.
    """
    from medialib.images import rgb_flatten

    image.load()
    pixels = rgb_flatten(image)
    width, height = pixels.size
    scale = 1.0
    if min(width, height) < MIN_SIDE:
        scale = MIN_SIDE / min(width, height)
    if max(width, height) * scale > MAX_SIDE:
        scale = MAX_SIDE / max(width, height)
    if min(width, height) * scale < MIN_SIDE - 0.5:
        raise DetectorError(
            f"The image is {width}×{height} pixels: too narrow for Amazon Rekognition, which needs "
            f"{MIN_SIDE} to {MAX_SIDE:,} pixels a side."
        )
    for _ in range(8):
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = pixels if size == pixels.size else pixels.resize(size, Image.Resampling.LANCZOS)
        for quality in (90, 80):
            out = io.BytesIO()
            resized.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return out.getvalue()
        # Bytes grow about with the pixel count: shrink by the square root of the excess, with a margin.
        scale *= math.sqrt(max_bytes / out.tell()) * 0.9
    raise DetectorError("The image could not be brought under Amazon Rekognition's 5 MB limit.")


def _title(operation: str) -> str:
    return "".join(part.title() for part in operation.split("_"))
