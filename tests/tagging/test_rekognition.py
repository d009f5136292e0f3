"""tagging/backends/rekognition.py: boto3 against moto and against botocore's Stubber, never against AWS.

Stubbed responses are shaped exactly like the examples of the Amazon Rekognition Developer Guide
(awsdocs/amazon-rekognition-developer-guide: labels-detect-labels-image.md, celebrities.md).
"""
import copy
import io
import json
import math
import threading
import time
from io import StringIO
from unittest import mock

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import ANY, Stubber
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw, ImageOps

from medialib.models import AssetTag
from tagging import checks
from tagging.backends import backend_named
from tagging.backends import rekognition as rek
from tagging.backends.base import AnalysisImage, BoundingBox, Label, Landmark, Pose, TransientDetectorError
from tagging.models import AnalysisResult, Face
from tagging.selectors import asset_info
from tagging.services import analysis as analysis_services
from tests import images
from tests.conftest import asset_upload, upload_file

pytestmark = pytest.mark.django_db

BACKEND = "tagging.backends.rekognition.RekognitionBackend"
REGION = "us-east-1"

# DetectLabels, "DetectLabels response" in labels-detect-labels-image.md (two of Car's fourteen instances kept).
DETECT_LABELS_DOC = {
    "Labels": [
        {"Name": "Vehicle", "Confidence": 99.15271759033203, "Instances": [],
         "Parents": [{"Name": "Transportation"}]},
        {"Name": "Transportation", "Confidence": 99.15271759033203, "Instances": [], "Parents": []},
        {"Name": "Automobile", "Confidence": 99.15271759033203, "Instances": [],
         "Parents": [{"Name": "Vehicle"}, {"Name": "Transportation"}]},
        {"Name": "Car", "Confidence": 99.15271759033203, "Instances": [
            {"BoundingBox": {"Width": 0.10616336017847061, "Height": 0.18528179824352264,
                             "Left": 0.0037978808395564556, "Top": 0.5039216876029968},
             "Confidence": 99.15271759033203},
            {"BoundingBox": {"Width": 0.2429988533258438, "Height": 0.21577216684818268,
                             "Left": 0.7309805154800415, "Top": 0.5251884460449219},
             "Confidence": 99.1286392211914},
        ], "Parents": [{"Name": "Vehicle"}, {"Name": "Transportation"}]},
        {"Name": "Human", "Confidence": 98.9914321899414, "Instances": [], "Parents": []},
        {"Name": "Person", "Confidence": 98.9914321899414, "Instances": [
            {"BoundingBox": {"Width": 0.19360728561878204, "Height": 0.2742200493812561,
                             "Left": 0.43734854459762573, "Top": 0.35072067379951477},
             "Confidence": 98.9914321899414},
            {"BoundingBox": {"Width": 0.03801717236638069, "Height": 0.06597328186035156,
                             "Left": 0.9155802130699158, "Top": 0.5010883808135986},
             "Confidence": 85.02790832519531},
        ], "Parents": []},
    ],
    "LabelModelVersion": "2.0",
}

# The same shape where the parents are not labels of their own (as in moto's "Mobile Phone" -> "Phone").
DETECT_LABELS_PARENTS_ONLY = {
    "Labels": [
        {"Name": "Newfoundland", "Confidence": 82.53, "Instances": [],
         "Parents": [{"Name": "Dog"}, {"Name": "Pet"}, {"Name": "Canine"}, {"Name": "Mammal"}, {"Name": "Animal"}]},
        {"Name": "Labrador Retriever", "Confidence": 91.17, "Instances": [],
         "Parents": [{"Name": "Dog"}, {"Name": "Pet"}, {"Name": "Canine"}, {"Name": "Mammal"}, {"Name": "Animal"}]},
        {"Name": "pet", "Confidence": 60.0, "Instances": [], "Parents": [{"Name": "Animal"}]},
    ],
    "LabelModelVersion": "3.0",
}

# RecognizeCelebrities, the example response in celebrities.md ("Recognizing celebrities").
RECOGNIZE_CELEBRITIES_DOC = {
    "CelebrityFaces": [{
        "Face": {
            "BoundingBox": {"Height": 0.617123007774353, "Left": 0.15641026198863983, "Top": 0.10864841192960739,
                            "Width": 0.3641025722026825},
            "Confidence": 99.99589538574219,
            "Landmarks": [
                {"Type": "eyeLeft", "X": 0.2837241291999817, "Y": 0.3637104034423828},
                {"Type": "eyeRight", "X": 0.4091649055480957, "Y": 0.37378931045532227},
                {"Type": "nose", "X": 0.35267341136932373, "Y": 0.49657556414604187},
                {"Type": "mouthLeft", "X": 0.2786353826522827, "Y": 0.5455248355865479},
                {"Type": "mouthRight", "X": 0.39566439390182495, "Y": 0.5597742199897766},
            ],
            "Pose": {"Pitch": -7.749263763427734, "Roll": 2.004552125930786, "Yaw": 9.012002944946289},
            "Quality": {"Brightness": 32.69192123413086, "Sharpness": 99.9305191040039},
        },
        "Id": "3Ir0du6",
        "MatchConfidence": 98.0,
        "Name": "Jeff Bezos",
        "Urls": ["www.imdb.com/name/nm1757263"],
    }],
    "OrientationCorrection": "ROTATE_0",
    "UnrecognizedFaces": [{
        "BoundingBox": {"Height": 0.5345501899719238, "Left": 0.48461538553237915, "Top": 0.16949152946472168,
                        "Width": 0.3153846263885498},
        "Confidence": 99.92860412597656,
        "Landmarks": [
            {"Type": "eyeLeft", "X": 0.5863404870033264, "Y": 0.36940744519233704},
            {"Type": "eyeRight", "X": 0.6999204754829407, "Y": 0.3769848346710205},
            {"Type": "nose", "X": 0.6349524259567261, "Y": 0.4804527163505554},
            {"Type": "mouthLeft", "X": 0.5872702598571777, "Y": 0.5535582304000854},
            {"Type": "mouthRight", "X": 0.6952020525932312, "Y": 0.5600858926773071},
        ],
        "Pose": {"Pitch": -7.386096477508545, "Roll": 2.304218292236328, "Yaw": -6.175624370574951},
        "Quality": {"Brightness": 37.16635513305664, "Sharpness": 99.884521484375},
    }],
}

# What the contract (ARCHITECTURE.md) makes of that response.
CELEBRITY_FACES_DATA = {
    "celebrity_faces": [{
        "name": "Jeff Bezos", "id": "3Ir0du6", "urls": ["www.imdb.com/name/nm1757263"], "match_confidence": 98.0,
        "face": {
            "bounding_box": {"width": 0.3641, "height": 0.6171, "left": 0.1564, "top": 0.1086},
            "confidence": 99.996,
            "landmarks": [{"type": "eyeLeft", "x": 0.2837, "y": 0.3637}, {"type": "eyeRight", "x": 0.4092, "y": 0.3738},
                          {"type": "nose", "x": 0.3527, "y": 0.4966}, {"type": "mouthLeft", "x": 0.2786, "y": 0.5455},
                          {"type": "mouthRight", "x": 0.3957, "y": 0.5598}],
            "pose": {"roll": 2.0, "yaw": 9.01, "pitch": -7.75},
            "quality": {"brightness": 32.69, "sharpness": 99.93},
        },
    }],
    "unrecognized_faces": [{
        "bounding_box": {"width": 0.3154, "height": 0.5346, "left": 0.4846, "top": 0.1695},
        "confidence": 99.929,
        "landmarks": [{"type": "eyeLeft", "x": 0.5863, "y": 0.3694}, {"type": "eyeRight", "x": 0.6999, "y": 0.377},
                      {"type": "nose", "x": 0.635, "y": 0.4805}, {"type": "mouthLeft", "x": 0.5873, "y": 0.5536},
                      {"type": "mouthRight", "x": 0.6952, "y": 0.5601}],
        "pose": {"roll": 2.3, "yaw": -6.18, "pitch": -7.39},
        "quality": {"brightness": 37.17, "sharpness": 99.88},
    }],
}

PERMANENT_ERRORS = [
    ("InvalidImageFormatException", "Request has invalid image format", "could not read the image as a JPEG or PNG"),
    ("ImageTooLargeException", "Image size is too large.", "larger than Amazon Rekognition accepts"),
    ("InvalidParameterException", "Request has invalid parameters", "Amazon Rekognition refused the request"),
    ("AccessDeniedException",
     "User: arn:aws:iam::123456789012:user/medialib is not authorized to perform: rekognition:DetectLabels",
     "not allowed to call rekognition:DetectLabels"),
    ("InvalidS3ObjectException",
     "Unable to get object metadata from S3. Check object key, region and/or access permissions.",
     "could not read s3://"),
]
TRANSIENT_ERRORS = [
    ("ThrottlingException", 400),
    ("ProvisionedThroughputExceededException", 400),
    ("InternalServerError", 500),
    ("ServiceUnavailableException", 503),
]


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    """Fake credentials, no ~/.aws files and no instance metadata: nothing here can reach AWS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _configure(settings, backend="rekognition", addon_backends=None, build=True, **options):
    options = {"region_name": REGION, **options}
    settings.TAGGING_BACKENDS = {**settings.TAGGING_BACKENDS, "rekognition": {"BACKEND": BACKEND, "OPTIONS": options}}
    settings.TAGGING_BACKEND = backend
    settings.TAGGING_ADDON_BACKENDS = addon_backends or {}
    return backend_named("rekognition") if build else None


@pytest.fixture
def rekognition(settings):
    """The rekognition backend selected for both add-ons, its client wrapped in a Stubber: (backend, stubber)."""
    backend = _configure(settings)
    with Stubber(backend.client) as stubber:
        yield backend, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sent(rekognition):
    """The parameters of every call the backend makes, as it makes them."""
    backend, _ = rekognition
    calls = []

    def record(params, model, **kwargs):
        calls.append((model.name, copy.deepcopy(params)))

    backend.client.meta.events.register("provide-client-params.rekognition.*", record)
    yield calls
    backend.client.meta.events.unregister("provide-client-params.rekognition.*", record)


def _upload(user, data, addons=("aws_rek_tagging",), auto_tagging=None, name="photo.jpg"):
    return asset_upload(file=upload_file(data, name), uploaded_by=user, addons=list(addons),
                                       auto_tagging=auto_tagging)


def _labels_params(image):
    return {"Image": image, "MaxLabels": 20, "MinConfidence": 55.0}


def _analysis_image(data: bytes) -> AnalysisImage:
    with Image.open(io.BytesIO(data)) as opened:
        shown = ImageOps.exif_transpose(opened).convert("RGB")
    return AnalysisImage(shown, open_original=lambda: io.BytesIO(data), format="jpg")


def _sent_image(params) -> Image.Image:
    image = Image.open(io.BytesIO(params["Image"]["Bytes"]))
    image.load()
    return image


# --- the client


def test_client_is_built_lazily_once_and_shared_by_threads(settings, monkeypatch):
    backend = _configure(settings)
    assert backend._client is None  # nothing happens until the first call
    built = []
    original = rek.RekognitionBackend._client_build

    def slow_build(self):
        built.append(1)
        time.sleep(0.05)
        return original(self)

    monkeypatch.setattr(rek.RekognitionBackend, "_client_build", slow_build)
    clients = []
    threads = [threading.Thread(target=lambda: clients.append(backend.client)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len({id(c) for c in clients}) == 1
    assert backend_named("rekognition") is backend and backend.client is clients[0]
    assert backend.client.meta.region_name == REGION


def test_region_and_credentials_come_from_boto3s_chain(settings, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    backend = _configure(settings, region_name=None)
    assert backend.client.meta.region_name == "eu-west-1"
    assert backend.client._request_signer._credentials.access_key == "testing"


@pytest.mark.parametrize("options, message", [
    ({"min_confidence": 120.0}, "TAGGING_REKOGNITION_MIN_CONFIDENCE must be a percentage from 0 to 100"),
    ({"max_labels": 0}, "TAGGING_REKOGNITION_MAX_LABELS must be a whole number of at least 1"),
    ({"s3_object": "sometimes"}, "TAGGING_REKOGNITION_S3_OBJECT must be one of auto, always, never"),
])
def test_bad_options_are_refused_when_the_backend_is_built(options, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        rek.RekognitionBackend(**options)


# --- the system check


def test_check_names_the_missing_region(settings):
    _configure(settings, region_name=None)
    errors = checks.check_rekognition(None)
    assert [e.id for e in errors] == ["medialib.E007"]
    assert "needs an AWS region" in errors[0].msg
    assert "AWS_REGION" in errors[0].msg and "AWS_DEFAULT_REGION" in errors[0].msg
    with pytest.raises(Exception, match="medialib.E007"):  # manage.py check (and so runserver, the worker) stops
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_check_passes_with_a_region_from_anywhere_in_the_chain(settings, monkeypatch, tmp_path):
    _configure(settings, region_name=None)
    (tmp_path / "aws-config").write_text("[default]\nregion = ap-southeast-2\n")
    assert checks.check_rekognition(None) == []
    (tmp_path / "aws-config").write_text("")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert checks.check_rekognition(None) == []
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    _configure(settings, region_name="eu-west-2")  # TAGGING_REKOGNITION_REGION or AWS_REGION, through settings
    assert checks.check_rekognition(None) == []


def test_check_applies_to_one_addon_on_rekognition_and_reports_bad_values(settings):
    _configure(settings, backend="fake", build=False, region_name=None, min_confidence=-1.0)
    assert checks.check_rekognition(None) == []  # not in use: nothing to say
    settings.TAGGING_ADDON_BACKENDS = {"aws_rek_face": "rekognition"}
    errors = checks.check_rekognition(None)
    assert all(isinstance(e, Error) and e.id == "medialib.E007" for e in errors)
    assert len(errors) == 2 and "TAGGING_REKOGNITION_MIN_CONFIDENCE" in errors[1].msg


def test_a_profile_that_does_not_exist_is_named(settings, monkeypatch):
    _configure(settings, region_name=None)
    monkeypatch.setenv("AWS_PROFILE", "nosuchprofile")
    (error,) = checks.check_rekognition(None)
    assert "nosuchprofile" in error.msg


# --- DetectLabels


def test_detect_labels_against_motos_implementation():
    from moto import mock_aws

    data = images.photo_bytes("coffee.jpg")
    with mock_aws():
        backend = rek.RekognitionBackend(region_name=REGION, max_labels=5, min_confidence=70.0)
        labels = backend.labels(_analysis_image(data))
    # moto answers every image with a mobile phone whose parent is a phone.
    assert labels == [Label("Mobile Phone", 0.9994), Label("Phone", 0.9994)]


def test_detect_labels_request_and_the_documented_response(rekognition):
    backend, stubber = rekognition
    data = images.photo_bytes("coffee.jpg")
    stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params({"Bytes": data}))
    labels = backend.labels(_analysis_image(data))
    assert labels == [
        Label("Automobile", 0.9915), Label("Car", 0.9915), Label("Transportation", 0.9915), Label("Vehicle", 0.9915),
        Label("Human", 0.9899), Label("Person", 0.9899),
    ]


def test_parents_take_their_best_childs_confidence_once(rekognition):
    backend, stubber = rekognition
    stubber.add_response("detect_labels", DETECT_LABELS_PARENTS_ONLY, _labels_params(ANY))
    labels = backend.labels(_analysis_image(images.photo_bytes("dogs.jpg")))
    assert labels == [
        Label("Animal", 0.9117), Label("Canine", 0.9117), Label("Dog", 0.9117), Label("Labrador Retriever", 0.9117),
        Label("Mammal", 0.9117), Label("Pet", 0.9117), Label("Newfoundland", 0.8253),
    ]  # "pet" (60) is the same label as the parent "Pet" (91.17): one entry, the higher confidence


def test_min_confidence_and_max_labels_come_from_settings(settings):
    backend = _configure(settings, min_confidence=80.0, max_labels=7)
    data = images.photo_bytes("cat.jpg")
    with Stubber(backend.client) as stubber:
        stubber.add_response("detect_labels", {"Labels": [], "LabelModelVersion": "3.0"},
                             {"Image": {"Bytes": data}, "MaxLabels": 7, "MinConfidence": 80.0})
        assert backend.labels(_analysis_image(data)) == []


# --- RecognizeCelebrities


def test_recognize_celebrities_request_and_the_documented_response(rekognition):
    from tagging import contract

    backend, stubber = rekognition
    data = images.photo_bytes("two_people.jpg")
    stubber.add_response("recognize_celebrities", RECOGNIZE_CELEBRITIES_DOC, {"Image": {"Bytes": data}})
    found = backend.faces(_analysis_image(data))
    (celebrity,) = found.celebrities
    assert (celebrity.name, celebrity.id, celebrity.urls, celebrity.match_confidence) == (
        "Jeff Bezos", "3Ir0du6", ("www.imdb.com/name/nm1757263",), 98.0)
    assert celebrity.face.landmarks[0] == Landmark("eyeLeft", 0.2837241291999817, 0.3637104034423828)
    assert celebrity.face.pose == Pose(roll=2.004552125930786, yaw=9.012002944946289, pitch=-7.749263763427734)
    (face,) = found.faces
    assert face.embedding is None and face.bounding_box == BoundingBox(
        left=0.48461538553237915, top=0.16949152946472168, width=0.3153846263885498, height=0.5345501899719238)
    assert contract.faces_result_data(found) == CELEBRITY_FACES_DATA


def test_one_request_image_is_prepared_once_for_both_addons(rekognition, sent, monkeypatch):
    backend, stubber = rekognition
    with Image.open(images.PHOTOS / "cat.jpg") as opened:
        data = images.encode(opened.convert("RGB"), "WEBP", quality=90)
    conversions = []
    convert = rek.jpeg_within_limits
    monkeypatch.setattr(rek, "jpeg_within_limits", lambda *a, **kw: conversions.append(1) or convert(*a, **kw))
    stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params(ANY))
    stubber.add_response("recognize_celebrities", RECOGNIZE_CELEBRITIES_DOC, {"Image": ANY})
    image = _analysis_image(data)
    backend.labels(image)
    backend.faces(image)
    assert len(conversions) == 1 and sent[0][1]["Image"] == sent[1][1]["Image"]


# --- the whole pipeline


def _stub_run(stubber, asset, responses):
    """Queue the responses in the order analysis_run will call the add-ons (its pending results, as it reads them)."""
    for result in AnalysisResult.objects.filter(asset=asset, status=AnalysisResult.PENDING):
        operation, response, params = responses[result.addon]
        stubber.add_response(operation, response, params)


def test_analysis_run_with_rekognition_for_both_addons(rekognition, user):
    _, stubber = rekognition
    data = images.photo_bytes("two_people.jpg")
    asset = _upload(user, data, addons=["aws_rek_tagging", "aws_rek_face"], auto_tagging=0.95)
    _stub_run(stubber, asset, {
        "aws_rek_tagging": ("detect_labels", DETECT_LABELS_DOC, _labels_params({"Bytes": data})),
        "aws_rek_face": ("recognize_celebrities", RECOGNIZE_CELEBRITIES_DOC, {"Image": {"Bytes": data}}),
    })
    assert analysis_services.analysis_run(asset_id=asset.pk) == {"aws_rek_tagging": "complete", "aws_rek_face": "complete"}

    results = {r.addon: r for r in AnalysisResult.objects.filter(asset=asset)}
    assert {r.backend for r in results.values()} == {"rekognition"}
    assert results["aws_rek_tagging"].data[:2] == [{"tag": "Automobile", "confidence": 0.9915},
                                                   {"tag": "Car", "confidence": 0.9915}]
    faces = list(Face.objects.filter(asset=asset).select_related("person").order_by("index"))
    assert len(faces) == 2
    bezos = faces[0]  # the larger face comes first
    assert (bezos.person.name, bezos.person_source, bezos.match_confidence) == ("Jeff Bezos", "rekognition", 98.0)
    assert (bezos.celebrity_id, bezos.celebrity_urls, bezos.backend) == ("3Ir0du6", ["www.imdb.com/name/nm1757263"],
                                                                         "rekognition")
    assert faces[1].person is None and faces[1].embedding is None
    info = asset_info(asset)
    assert info["detection"]["aws_rek_face"] == {"status": "complete", "data": CELEBRITY_FACES_DATA}
    assert info["categorization"]["aws_rek_tagging"]["status"] == "complete"
    tags = {(t.tag.name, t.source, t.confidence) for t in AssetTag.objects.filter(content_object=asset)}
    assert tags == {
        ("automobile", "aws_rek_tagging", 0.9915), ("car", "aws_rek_tagging", 0.9915),
        ("transportation", "aws_rek_tagging", 0.9915), ("vehicle", "aws_rek_tagging", 0.9915),
        ("human", "aws_rek_tagging", 0.9899), ("person", "aws_rek_tagging", 0.9899),
        ("Jeff Bezos", "aws_rek_face", 0.98),
    }


def test_labels_on_rekognition_and_faces_on_another_backend(settings, user):
    backend = _configure(settings, backend="fake", addon_backends={"aws_rek_tagging": "rekognition"})
    data = images.photo_bytes("cat.jpg")
    asset = _upload(user, data, addons=["aws_rek_tagging", "aws_rek_face"])
    with Stubber(backend.client) as stubber:
        stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params({"Bytes": data}))
        analysis_services.analysis_run(asset_id=asset.pk)
        stubber.assert_no_pending_responses()
    backends = dict(AnalysisResult.objects.filter(asset=asset).values_list("addon", "backend"))
    assert backends == {"aws_rek_tagging": "rekognition", "aws_rek_face": "fake"}


# --- EXIF orientation

# The transpose that makes the stored pixels of a photo displayed as `displayed` with this EXIF orientation.
STORED_FROM_DISPLAYED = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_orientation_maps_points_as_exif_transpose_moves_pixels(orientation):
    stored = Image.new("L", (40, 30), 0)
    stored.putpixel((7, 4), 255)
    stored.getexif()[0x0112] = orientation
    shown = ImageOps.exif_transpose(stored)
    (y, x), = [(y, x) for y in range(shown.height) for x in range(shown.width) if shown.getpixel((x, y)) == 255]
    mapped = rek.ORIENTATION_POINT[orientation](7.5 / 40, 4.5 / 30)
    assert mapped == pytest.approx(((x + 0.5) / shown.width, (y + 0.5) / shown.height))


@pytest.fixture(scope="module")
def displayed_faces():
    """two_people.jpg as displayed, and the faces the local detector finds on it."""
    from tagging.backends.local.faces import face_model

    with Image.open(images.PHOTOS / "two_people.jpg") as opened:
        shown = opened.convert("RGB")
    found = face_model(detector="hog", embeddings=False).detect(shown)  # a geometry reference, as before YuNet
    assert len(found) == 2
    return shown, found


def _to_stored(points_or_box, size, orientation):
    """Where a displayed pixel box (or point) lies in the stored pixels, worked out by Pillow on a mask."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    if len(points_or_box) == 4:
        left, top, width, height = points_or_box
        draw.rectangle([round(left), round(top), round(left + width) - 1, round(top + height) - 1], fill=255)
    else:
        x, y = points_or_box
        mask.putpixel((min(size[0] - 1, int(x)), min(size[1] - 1, int(y))), 255)
    stored = mask.transpose(STORED_FROM_DISPLAYED[orientation])
    left, top, right, bottom = stored.getbbox()
    if len(points_or_box) == 4:
        return left / stored.width, top / stored.height, (right - left) / stored.width, (bottom - top) / stored.height
    return (left + 0.5) / stored.width, (top + 0.5) / stored.height


def _swap_sides(kind: str) -> str:
    return kind.replace("Left", "\0").replace("Right", "Left").replace("\0", "Right")


def _stored_face_response(face, size, orientation) -> dict:
    """What Rekognition answers for this face on the stored pixels: boxes there, sides named as seen there."""
    w, h = size
    box = face.bounding_box
    left, top, width, height = _to_stored((box.left * w, box.top * h, box.width * w, box.height * h), size, orientation)
    landmarks = []
    for lm in face.landmarks:
        x, y = _to_stored((lm.x * w, lm.y * h), size, orientation)
        kind = _swap_sides(lm.type) if orientation in rek.MIRRORED else lm.type
        landmarks.append({"Type": kind, "X": x, "Y": y})
    named = {lm["Type"]: lm for lm in landmarks}
    stored_w, stored_h = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
    roll = math.degrees(math.atan2((named["eyeRight"]["Y"] - named["eyeLeft"]["Y"]) * stored_h,
                                   (named["eyeRight"]["X"] - named["eyeLeft"]["X"]) * stored_w))
    yaw = -face.pose.yaw if orientation in rek.MIRRORED else face.pose.yaw
    return {"BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
            "Confidence": face.confidence, "Landmarks": landmarks,
            "Pose": {"Roll": roll, "Yaw": yaw, "Pitch": face.pose.pitch},
            "Quality": {"Brightness": face.quality.brightness, "Sharpness": face.quality.sharpness}}


def _eye_line_degrees(face, width, height):
    named = {lm.type: lm for lm in face.landmarks}
    return math.degrees(math.atan2((named["eyeRight"].y - named["eyeLeft"].y) * height,
                                   (named["eyeRight"].x - named["eyeLeft"].x) * width))


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_exif_rotated_photo_gets_boxes_on_the_faces_as_displayed(rekognition, sent, user, displayed_faces,
                                                                orientation):
    _, stubber = rekognition
    shown, found = displayed_faces
    stored = shown.transpose(STORED_FROM_DISPLAYED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = images.encode(stored, "JPEG", quality=92, exif=exif.tobytes())
    with Image.open(io.BytesIO(data)) as check:
        assert ImageOps.exif_transpose(check).size == shown.size  # the photo displays as `shown`
    asset = _upload(user, data, addons=["aws_rek_face"])
    assert (asset.width, asset.height) == shown.size
    stubber.add_response("recognize_celebrities", {
        "CelebrityFaces": [], "UnrecognizedFaces": [_stored_face_response(f, shown.size, orientation) for f in found],
    }, {"Image": ANY})
    assert analysis_services.analysis_run(asset_id=asset.pk) == {"aws_rek_face": "complete"}

    # Sent as stored, with nothing left that could tell Rekognition to turn it.
    (_, params), = sent
    sent_image = _sent_image(params)
    assert sent_image.size == stored.size and 0x0112 not in sent_image.getexif()
    # ... and the faces land where the local detector finds them on the photo as displayed.
    faces = list(Face.objects.filter(asset=asset).order_by("index"))
    assert len(faces) == 2
    for face, expected in zip(faces, found):
        box = expected.bounding_box
        assert (face.left, face.top, face.width, face.height) == pytest.approx(
            (box.left, box.top, box.width, box.height), abs=0.004)
        landmarks = {lm["type"]: (lm["x"], lm["y"]) for lm in face.landmarks}
        for lm in expected.landmarks:
            assert landmarks[lm.type] == pytest.approx((lm.x, lm.y), abs=0.004)
        assert landmarks["eyeLeft"][0] < landmarks["eyeRight"][0]
        assert face.pose["roll"] == pytest.approx(_eye_line_degrees(expected, *shown.size), abs=0.5)
        assert face.pose["yaw"] == pytest.approx(expected.pose.yaw, abs=0.01)


def test_a_mirrored_photo_as_a_detector_sees_it_stored(rekognition, user, displayed_faces):
    """Orientation 2, checked against a detector run on the stored (mirrored) pixels, as Rekognition would be."""
    from tagging.backends.local.faces import face_model

    _, stubber = rekognition
    shown, found = displayed_faces
    stored = ImageOps.mirror(shown)
    on_stored = face_model(detector="hog", embeddings=False).detect(stored)
    exif = Image.Exif()
    exif[0x0112] = 2
    asset = _upload(user, images.encode(stored, "JPEG", quality=92, exif=exif.tobytes()), addons=["aws_rek_face"])
    stubber.add_response("recognize_celebrities", {"CelebrityFaces": [], "UnrecognizedFaces": [{
        "BoundingBox": {"Width": f.bounding_box.width, "Height": f.bounding_box.height,
                        "Left": f.bounding_box.left, "Top": f.bounding_box.top},
        "Confidence": f.confidence,
        "Landmarks": [{"Type": lm.type, "X": lm.x, "Y": lm.y} for lm in f.landmarks],
        "Pose": {"Roll": f.pose.roll, "Yaw": f.pose.yaw, "Pitch": f.pose.pitch},
    } for f in on_stored]}, {"Image": ANY})
    analysis_services.analysis_run(asset_id=asset.pk)
    for face, expected in zip(Face.objects.filter(asset=asset).order_by("index"), found):
        box = expected.bounding_box
        assert (face.left, face.top, face.width, face.height) == pytest.approx(
            (box.left, box.top, box.width, box.height), abs=0.02)
        landmarks = {lm["type"]: lm["x"] for lm in face.landmarks}
        assert landmarks["eyeLeft"] < landmarks["eyeRight"]
        assert face.pose["roll"] == pytest.approx(expected.pose.roll, abs=3)
        assert face.pose["yaw"] == pytest.approx(expected.pose.yaw, abs=5)


def test_exif_segments_are_cut_losslessly(displayed_faces):
    shown, _ = displayed_faces
    exif = Image.Exif()
    exif[0x0112] = 6
    data = images.encode(shown, "JPEG", quality=90, exif=exif.tobytes(), icc_profile=b"\0" * 200)
    stripped = rek.without_orientation(data, "JPEG")
    assert len(data) - len(stripped) < 200  # only the EXIF segment went
    with Image.open(io.BytesIO(data)) as before, Image.open(io.BytesIO(stripped)) as after:
        assert after.getexif().get(0x0112) is None and after.info.get("icc_profile") == b"\0" * 200
        assert before.tobytes() == after.tobytes()
    png = Image.new("RGB", (90, 90), (1, 2, 3))
    png_data = images.encode(png, "PNG", exif=exif.tobytes())
    with Image.open(io.BytesIO(rek.without_orientation(png_data, "PNG"))) as after:
        assert after.getexif().get(0x0112) is None and after.getpixel((5, 5)) == (1, 2, 3)


# --- Rekognition's limits


def test_a_photo_over_5_mb_is_sent_re_encoded_within_the_limit(rekognition, sent, user):
    _, stubber = rekognition
    with Image.open(images.PHOTOS / "two_people.jpg") as opened:
        big = opened.convert("RGB").resize((opened.width * 4, opened.height * 4), Image.Resampling.BICUBIC)
    data = images.encode(big, "JPEG", quality=100, subsampling=0)
    assert len(data) > rek.MAX_BYTES
    asset = _upload(user, data, addons=["aws_rek_tagging", "aws_rek_face"])
    _stub_run(stubber, asset, {
        "aws_rek_tagging": ("detect_labels", DETECT_LABELS_DOC, _labels_params(ANY)),
        "aws_rek_face": ("recognize_celebrities", RECOGNIZE_CELEBRITIES_DOC, {"Image": ANY}),
    })
    analysis_services.analysis_run(asset_id=asset.pk)
    assert len(sent) == 2 and sent[0][1]["Image"] == sent[1][1]["Image"]  # prepared once
    image = _sent_image(sent[0][1])
    assert len(sent[0][1]["Image"]["Bytes"]) <= rek.MAX_BYTES and image.format == "JPEG"
    assert image.width / image.height == pytest.approx(big.width / big.height, rel=0.002)
    # Ratios fit the original: the box comes back as Rekognition gave it.
    bezos = Face.objects.get(asset=asset, person__name="Jeff Bezos")
    assert bezos.left == pytest.approx(0.15641026198863983)


def test_a_photo_is_downscaled_evenly_when_re_encoding_is_not_enough():
    with Image.open(images.PHOTOS / "two_people.jpg") as opened:
        big = opened.convert("RGB").resize((opened.width * 4, opened.height * 4), Image.Resampling.BICUBIC)
    data = rek.jpeg_within_limits(big, max_bytes=300_000)
    assert len(data) <= 300_000
    with Image.open(io.BytesIO(data)) as small:
        assert small.width < big.width
        assert small.width / small.height == pytest.approx(big.width / big.height, rel=0.002)


def test_a_webp_is_sent_as_jpeg(rekognition, sent, user):
    _, stubber = rekognition
    with Image.open(images.PHOTOS / "cat.jpg") as opened:
        data = images.encode(opened.convert("RGB"), "WEBP", quality=90)
    asset = _upload(user, data, name="cat.webp")
    assert asset.format == "webp"
    stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params(ANY))
    analysis_services.analysis_run(asset_id=asset.pk)
    image = _sent_image(sent[0][1])
    assert sent[0][1]["Image"]["Bytes"][:2] == b"\xff\xd8" and image.format == "JPEG"
    assert image.size == (451, 300)


def test_a_png_within_the_limits_is_sent_as_it_is(rekognition, user):
    _, stubber = rekognition
    data = images.png(120, 90)
    asset = _upload(user, data, name="green.png")
    stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params({"Bytes": data}))
    assert analysis_services.analysis_run(asset_id=asset.pk) == {"aws_rek_tagging": "complete"}


def test_a_small_image_is_enlarged_to_80_pixels(rekognition, sent, user):
    _, stubber = rekognition
    asset = _upload(user, images.jpeg(64, 48))
    stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params(ANY))
    analysis_services.analysis_run(asset_id=asset.pk)
    assert _sent_image(sent[0][1]).size == (107, 80)


# --- originals in S3


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, moto_server):
    """The default storage on moto's S3, with a location prefix, as MEDIALIB_STORAGE=s3 configures it."""
    client = boto3.client("s3", endpoint_url=moto_server, region_name=REGION)
    bucket = f"medialib-rek-{id(settings)}"
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": bucket, "endpoint_url": moto_server, "region_name": REGION,
                    "location": "media", "file_overwrite": False},
    }}
    return client, bucket


def test_an_original_in_s3_is_passed_as_an_s3_object(settings, s3_storage, user, sent_s3):
    client, bucket = s3_storage
    _, stubber, calls = sent_s3
    data = images.photo_bytes("two_people.jpg")
    asset = _upload(user, data, addons=["aws_rek_tagging", "aws_rek_face"], auto_tagging=0.9)
    key = f"media/{asset.file.name}"
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    image = {"S3Object": {"Bucket": bucket, "Name": key}}
    _stub_run(stubber, asset, {
        "aws_rek_tagging": ("detect_labels", DETECT_LABELS_DOC, _labels_params(image)),
        "aws_rek_face": ("recognize_celebrities", RECOGNIZE_CELEBRITIES_DOC, {"Image": image}),
    })
    reads = []
    original_open = default_storage.open

    def counted_open(name, mode="rb"):
        reads.append(name)
        return original_open(name, mode)

    with mock.patch.object(default_storage, "open", counted_open):
        assert analysis_services.analysis_run(asset_id=asset.pk) == {
            "aws_rek_tagging": "complete", "aws_rek_face": "complete"}
    assert all("Bytes" not in params["Image"] for _, params in calls)
    assert reads == [asset.file.name]  # the pipeline's decode; Rekognition reads it from S3 itself
    assert "Jeff Bezos" in asset.tags.names()


@pytest.fixture
def sent_s3(settings):
    backend = _configure(settings, s3_object="always")  # moto is not an AWS endpoint; "auto" would send bytes
    calls = []
    backend.client.meta.events.register(
        "provide-client-params.rekognition.*", lambda params, model, **kw: calls.append((model.name, dict(params))))
    with Stubber(backend.client) as stubber:
        yield backend, stubber, calls
        stubber.assert_no_pending_responses()


def test_a_rotated_original_in_s3_is_sent_as_bytes(s3_storage, user, sent_s3):
    _, stubber, calls = sent_s3
    asset = _upload(user, images.exif_rotated_jpeg(6))
    stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params(ANY))
    analysis_services.analysis_run(asset_id=asset.pk)
    assert list(calls[0][1]["Image"]) == ["Bytes"]


def test_auto_sends_bytes_for_an_s3_compatible_store_elsewhere(settings, s3_storage, user):
    backend = _configure(settings)  # s3_object="auto"; the store's endpoint is moto, not amazonaws.com
    data = images.photo_bytes("cat.jpg")
    asset = _upload(user, data)
    with Stubber(backend.client) as stubber:
        stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params({"Bytes": data}))
        analysis_services.analysis_run(asset_id=asset.pk)
        stubber.assert_no_pending_responses()


def test_s3_object_rules(settings, s3_storage, user):
    backend = _configure(settings, s3_object="always")
    asset = _upload(user, images.photo_bytes("cat.jpg"))
    image = AnalysisImage(Image.new("RGB", (10, 10)), storage_name=asset.file.name)
    assert backend._s3_object(image, 1000) == {"Bucket": s3_storage[1], "Name": f"media/{asset.file.name}"}
    assert backend._s3_object(image, rek.MAX_S3_BYTES + 1) is None  # over 15 MB: bytes, re-encoded
    assert rek.RekognitionBackend(region_name=REGION, s3_object="never")._s3_object(image, 1000) is None
    settings.STORAGES = {**settings.STORAGES, "default": {
        **settings.STORAGES["default"], "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "endpoint_url": None,
                                                    "region_name": "eu-west-1"}}}
    auto = rek.RekognitionBackend(region_name=REGION)
    assert auto._s3_object(image, 1000) is None  # a bucket in another region than Rekognition's


def test_detect_labels_through_motos_server_with_an_s3_object(settings, s3_storage, moto_server, user):
    """The real request over HTTP, S3Object and all, to moto's implementation of DetectLabels."""
    _configure(settings, endpoint_url=moto_server, s3_object="always")
    asset = _upload(user, images.photo_bytes("cat.jpg"), auto_tagging=0.9)
    assert analysis_services.analysis_run(asset_id=asset.pk) == {"aws_rek_tagging": "complete"}
    assert AnalysisResult.objects.get(asset=asset).data == [{"tag": "Mobile Phone", "confidence": 0.9994},
                                                            {"tag": "Phone", "confidence": 0.9994}]
    assert set(asset.tags.names()) == {"mobile phone", "phone"}


# --- errors


@pytest.mark.parametrize("code, status", TRANSIENT_ERRORS)
def test_a_transient_error_leaves_the_result_pending_for_the_retry(rekognition, user, code, status):
    _, stubber = rekognition
    asset = _upload(user, images.photo_bytes("cat.jpg"))
    stubber.add_client_error("detect_labels", service_error_code=code, service_message="Slow down",
                             http_status_code=status)
    with pytest.raises(TransientDetectorError, match=code):
        analysis_services.analysis_run(asset_id=asset.pk)
    result = AnalysisResult.objects.get(asset=asset)
    assert (result.status, result.attempts, result.error) == ("pending", 1, "")


def test_a_connection_error_leaves_the_result_pending_for_the_retry(settings, user):
    backend = _configure(settings)
    asset = _upload(user, images.photo_bytes("cat.jpg"))

    def unreachable(request, **kwargs):
        raise EndpointConnectionError(endpoint_url=request.url)

    backend.client.meta.events.register("before-send.rekognition.DetectLabels", unreachable)
    with pytest.raises(TransientDetectorError, match="could not be reached"):
        analysis_services.analysis_run(asset_id=asset.pk)
    assert AnalysisResult.objects.get(asset=asset).status == "pending"


def test_the_task_retries_a_throttled_call_until_it_passes(rekognition, user, settings):
    from tagging.tasks import analyze_asset

    _, stubber = rekognition
    asset = _upload(user, images.photo_bytes("cat.jpg"))
    stubber.add_client_error("detect_labels", service_error_code="ThrottlingException", http_status_code=400)
    stubber.add_client_error("detect_labels", service_error_code="ProvisionedThroughputExceededException",
                             http_status_code=400)
    stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params(ANY))
    analyze_asset.apply(args=[asset.pk])  # eager: the retries run at once instead of after their backoff
    result = AnalysisResult.objects.get(asset=asset)
    assert (result.status, result.attempts) == ("complete", 3)


@pytest.mark.parametrize("code, aws_message, readable", PERMANENT_ERRORS)
def test_a_permanent_error_is_recorded_and_not_retried(rekognition, user, code, aws_message, readable):
    _, stubber = rekognition
    asset = _upload(user, images.photo_bytes("cat.jpg"))
    stubber.add_client_error("detect_labels", service_error_code=code, service_message=aws_message,
                             http_status_code=400)
    assert analysis_services.analysis_run(asset_id=asset.pk) == {"aws_rek_tagging": "failed"}
    result = AnalysisResult.objects.get(asset=asset)
    assert result.status == "failed" and readable in result.error
    assert f"AWS said {code}: {aws_message}" in result.error
    assert asset_info(asset)["categorization"]["aws_rek_tagging"]["error"]["message"] == result.error
    assert analysis_services.analysis_run(asset_id=asset.pk) == {}  # nothing left to retry


def test_missing_credentials_are_recorded_with_what_to_set(settings, user, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    _configure(settings)
    asset = _upload(user, images.photo_bytes("cat.jpg"))
    assert analysis_services.analysis_run(asset_id=asset.pk) == {"aws_rek_tagging": "failed"}
    assert "AWS_ACCESS_KEY_ID" in AnalysisResult.objects.get(asset=asset).error


# --- analyze_file


def _analyze_file(*args):
    out = StringIO()
    call_command("analyze_file", *args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def test_analyze_file_with_the_fake_backend(settings, tmp_path):
    settings.TAGGING_BACKEND = "fake"
    settings.TAGGING_ADDON_BACKENDS = {}
    path = tmp_path / "blue.png"
    path.write_bytes(images.png(80, 40, color=(10, 20, 240)))
    info = _analyze_file(str(path))
    assert info["categorization"]["aws_rek_tagging"] == {"backend": "fake", "status": "complete", "data": [
        {"tag": "Blue", "confidence": 0.9}, {"tag": "Colour", "confidence": 0.75}, {"tag": "Thing", "confidence": 0.5}]}
    faces = info["detection"]["aws_rek_face"]["data"]
    assert faces["celebrity_faces"] == [] and len(faces["unrecognized_faces"]) == 1


def test_analyze_file_with_a_stubbed_rekognition_client(settings, tmp_path):
    backend = _configure(settings, backend="local")  # --backend overrides TAGGING_BACKEND
    data = images.photo_bytes("two_people.jpg")
    path = tmp_path / "two.jpg"
    path.write_bytes(data)
    with Stubber(backend.client) as stubber:
        stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params({"Bytes": data}))
        stubber.add_response("recognize_celebrities", RECOGNIZE_CELEBRITIES_DOC, {"Image": {"Bytes": data}})
        info = _analyze_file(str(path), "--backend", "rekognition")
        stubber.assert_no_pending_responses()
    assert info["detection"]["aws_rek_face"] == {"backend": "rekognition", "status": "complete",
                                                 "data": CELEBRITY_FACES_DATA}
    assert info["categorization"]["aws_rek_tagging"]["data"][0] == {"tag": "Automobile", "confidence": 0.9915}


def test_analyze_file_prints_the_error_and_fails(settings, tmp_path):
    backend = _configure(settings)
    path = tmp_path / "cat.jpg"
    path.write_bytes(images.photo_bytes("cat.jpg"))
    out = StringIO()
    with Stubber(backend.client) as stubber:
        stubber.add_client_error("detect_labels", service_error_code="AccessDeniedException",
                                 service_message="not authorized", http_status_code=400)
        with pytest.raises(CommandError, match="not allowed to call rekognition:DetectLabels"):
            call_command("analyze_file", str(path), "--addons", "aws_rek_tagging", stdout=out)
    assert json.loads(out.getvalue())["categorization"]["aws_rek_tagging"]["status"] == "failed"


def test_analyze_file_refuses_what_is_not_an_image(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(CommandError, match="not an image"):
        call_command("analyze_file", str(path))
    with pytest.raises(CommandError, match="--backend must be one of"):
        call_command("analyze_file", str(path), "--backend", "google")


# --- end to end: the official Cloudinary SDK, the live server, a worker in this process with the Stubber active


@pytest.fixture
def worker_in_process(transactional_db):
    """A Celery worker thread in the test's own process, so that it uses the stubbed client of the backend."""
    from celery.contrib.testing.worker import start_worker

    from medialib.celery import app
    from tests.conftest import _purge_queues

    _purge_queues()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30,
                      queues=["default", "renditions", "analysis"]) as worker:
        yield worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_cloudinary_sdk_upload_analysed_by_rekognition_in_the_worker(settings, live_server, user, tmp_path,
                                                                     worker_in_process):
    import cloudinary
    import cloudinary.api
    import cloudinary.uploader

    from medialib.api.services import api_key_create
    from tests.api.sdk import poll_resource, statuses

    backend = _configure(settings)
    data = images.photo_bytes("two_people.jpg")
    path = tmp_path / "two-people.jpg"
    path.write_bytes(data)
    key = api_key_create(name="sdk", user=user)
    cloudinary.reset_config()
    cloudinary.config(cloud_name=settings.MEDIALIB_CLOUD_NAME, upload_prefix=live_server.url, api_key=key.key,
                      api_secret=key.secret)
    try:
        with Stubber(backend.client) as stubber:
            # One task runs both add-ons, labels first (the order they were asked for, and stored).
            stubber.add_response("detect_labels", DETECT_LABELS_DOC, _labels_params({"Bytes": data}))
            stubber.add_response("recognize_celebrities", RECOGNIZE_CELEBRITIES_DOC, {"Image": {"Bytes": data}})
            result = cloudinary.uploader.upload(str(path), public_id="press/two", categorization="aws_rek_tagging",
                                                detection="aws_rek_face", auto_tagging=0.98, timeout=60)
            assert statuses(result) == {"aws_rek_tagging": "pending", "aws_rek_face": "pending"}
            resource = poll_resource("press/two", timeout=60, until=lambda r: set(statuses(r).values()) == {"complete"})
            stubber.assert_no_pending_responses()
    finally:
        cloudinary.reset_config()
    assert resource["info"]["detection"]["aws_rek_face"] == {"status": "complete", "data": CELEBRITY_FACES_DATA}
    assert resource["info"]["categorization"]["aws_rek_tagging"]["data"][0] == {"tag": "Automobile",
                                                                               "confidence": 0.9915}
    # auto_tagging 0.98: every label (0.9915, 0.9899) and the celebrity matched at 98 %, who keeps the case of a name.
    assert resource["tags"] == ["automobile", "car", "human", "Jeff Bezos", "person", "transportation", "vehicle"]
    bezos = Face.objects.get(asset__public_id="press/two", person__name="Jeff Bezos")
    assert bezos.person_source == "rekognition"
