"""End to end with the embedded detectors: a real photo of dogs, uploaded with the official SDK, tagged `dog`."""
import cloudinary.api
import cloudinary.uploader
import pytest

from medialib.api.services import api_key_create
from tests import images
from tests.api.sdk import poll_resource, statuses

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Any threshold shows the rule end to end; the article's 0.7 on this photo and others is tests/api/test_sdk_labels.py
# (Lite0 alone said Dog 0.46 here; merged with YOLOv3-tiny and calibrated, 0.95).
THRESHOLD = 0.4


@pytest.fixture
def celery_worker_env():
    # Whatever the environment says, this test is about the local models.
    return {"TAGGING_BACKEND": "local", "TAGGING_BACKEND_AWS_REK_TAGGING": "", "TAGGING_BACKEND_AWS_REK_FACE": ""}


def test_a_photo_of_dogs_is_labelled_and_tagged_dog(cloudinary_sdk, celery_worker_process, user):
    cloudinary_sdk(api_key_create(name="sdk", user=user))
    result = cloudinary.uploader.upload(
        str(images.PHOTOS / "dogs.jpg"), tags="pets", categorization="aws_rek_tagging", auto_tagging=THRESHOLD,
        timeout=60,
    )
    assert result["info"] == {"categorization": {"aws_rek_tagging": {"status": "pending"}}}
    assert (result["original_filename"], result["tags"]) == ("dogs", ["pets"])

    resource = poll_resource(
        result["public_id"], timeout=180, worker=celery_worker_process,
        until=lambda r: statuses(r)["aws_rek_tagging"] != "pending",
    )
    tagging = resource["info"]["categorization"]["aws_rek_tagging"]
    assert tagging["status"] == "complete", tagging
    labels = {label["tag"]: label["confidence"] for label in tagging["data"]}
    assert labels["Dog"] >= THRESHOLD, labels
    assert "dog" in resource["tags"]
    # Exactly the labels at or above the threshold became tags, lower-cased; the manual tag stays.
    assert set(resource["tags"]) == {"pets"} | {name.lower() for name, c in labels.items() if c >= THRESHOLD}


def test_espresso_at_the_threshold_of_the_issue(cloudinary_sdk, celery_worker_process, user):
    """auto_tagging=0.5 as a Cloudinary user would write it: the cup of espresso and its parents become tags."""
    cloudinary_sdk(api_key_create(name="sdk", user=user))
    result = cloudinary.uploader.upload(
        str(images.PHOTOS / "coffee.jpg"), categorization="aws_rek_tagging", auto_tagging=0.5, timeout=60
    )
    assert result["info"] == {"categorization": {"aws_rek_tagging": {"status": "pending"}}}
    resource = poll_resource(
        result["public_id"], timeout=180, worker=celery_worker_process,
        until=lambda r: statuses(r)["aws_rek_tagging"] != "pending",
    )
    labels = {label["tag"]: label["confidence"] for label in resource["info"]["categorization"]["aws_rek_tagging"]["data"]}
    assert labels["Espresso"] > 0.8 and labels["Coffee"] >= labels["Espresso"] and "Beverage" in labels
    assert {"espresso", "coffee", "beverage", "food"} <= set(resource["tags"])
    assert set(resource["tags"]) == {name.lower() for name, c in labels.items() if c >= 0.5}
