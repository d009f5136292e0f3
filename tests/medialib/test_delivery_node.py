"""A second real client: the official Node SDK (npm `cloudinary`, tests/node) builds the same delivery URLs as
the Python SDK, and this server answers them with the same bytes."""
import json
import shutil
import subprocess
from pathlib import Path

import cloudinary
import cloudinary.utils
import pytest
from django.test import Client

from medialib.api.services import api_key_create
from medialib.services import asset_upload
from tests import images
from tests.conftest import upload_file
from tests.medialib.test_delivery_views import _body

NODE_DIR = Path(__file__).resolve().parent.parent / "node"

REQUESTS = [
    {"width": 300, "crop": "fill", "gravity": "face"},
    {"transformation": [{"crop": "fill", "width": 770}, {"dpr": "2.0"}]},
    {"border": "1px_solid_rgb:eee", "crop": "thumb", "dpr": "2.0", "gravity": "face", "height": 42,
     "radius": "max", "width": 42, "zoom": 0.8},
    {"fetch_format": "auto", "quality": "auto"},
    {"width": 120, "height": 80, "crop": "pad", "background": "black", "angle": 90},
    {"effect": "grayscale", "width": 0.5, "crop": "scale"},
]


def _node_urls(config: dict, requests: list[dict]) -> list[str]:
    if not shutil.which("node") or not (NODE_DIR / "node_modules" / "cloudinary").is_dir():
        pytest.fail("node and the Node SDK are needed: `make install-test` runs npm install in tests/node")
    out = subprocess.run(["node", str(NODE_DIR / "urls.js")], input=json.dumps({"config": config, "requests": requests}),
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return out.split()


@pytest.mark.parametrize("sign", [False, True])
def test_the_node_sdk_builds_the_python_sdks_urls_and_they_give_the_same_bytes(db, user, sign):
    asset = asset_upload(file=upload_file(images.photo_bytes("dogs.jpg"), "dogs.jpg"), uploaded_by=user,
                         public_id="pets/dogs")
    key = api_key_create(name="node", user=user)
    config = {"cloud_name": "medialib", "api_key": key.key, "api_secret": key.secret, "cname": "testserver",
              "secure": False, "urlAnalytics": False, "analytics": False}
    common = {"format": "jpg", "version": asset.version, "sign_url": sign, "secure": False}
    node = _node_urls(config, [{"public_id": asset.public_id, "options": {**common, **options}} for options in REQUESTS])
    cloudinary.reset_config()
    try:
        cloudinary.config(**{k: v for k, v in config.items() if k not in {"urlAnalytics", "analytics"}})
        python = [cloudinary.utils.cloudinary_url(asset.public_id, **{**common, **options})[0] for options in REQUESTS]
    finally:
        cloudinary.reset_config()
    assert node == python
    for url in node:
        path = url.split("testserver", 1)[1]
        first = Client().get(path, HTTP_ACCEPT="image/webp,*/*")
        # Signed mode (the default): the signed URLs load for anyone, the unsigned ones for nobody.
        assert first.status_code == (200 if sign else 401), (url, first.get("X-Cld-Error"))
        if sign:
            again = Client().get(path, HTTP_ACCEPT="image/webp,*/*")
            first_bytes = _body(first)
            assert first_bytes and _body(again) == first_bytes
