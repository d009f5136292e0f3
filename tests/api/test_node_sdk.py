"""A second real client for the management API: the official Node SDK (npm `cloudinary`, tests/node) runs the
list / tag / search / destroy sequence against the live server."""
import json
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from medialib.api.services import api_key_create
from medialib.models import Asset
from tests import images
from tests.conftest import stored_files

NODE_DIR = Path(__file__).resolve().parent.parent / "node"

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_node_sdk_lists_tags_searches_and_destroys(live_server, user, tmp_path, media_root, settings):
    if not shutil.which("node") or not (NODE_DIR / "node_modules" / "cloudinary").is_dir():
        pytest.fail("node and the Node SDK are needed: `make install-test` runs npm ci in tests/node")
    key = api_key_create(name="node", user=user)
    files = []
    for index, size in enumerate([(64, 48), (48, 64)]):
        path = tmp_path / f"photo{index}.jpg"
        path.write_bytes(images.jpeg(*size))
        files.append(str(path))
    config = {"cloud_name": settings.MEDIALIB_CLOUD_NAME, "api_key": key.key, "api_secret": key.secret,
              "upload_prefix": live_server.url}
    # The SDK picks http or https when it is loaded, from CLOUDINARY_URL's upload_prefix: set it there too.
    env = {**os.environ, "CLOUDINARY_URL": f"cloudinary://{key.key}:{key.secret}@{settings.MEDIALIB_CLOUD_NAME}"
                                           f"?upload_prefix={live_server.url}"}
    out = json.loads(subprocess.run(["node", str(NODE_DIR / "api.js")], input=json.dumps({"config": config, "files": files}),
                                    capture_output=True, text=True, check=True, timeout=120, env=env).stdout)

    assert [u.get("public_id") for u in out["uploads"]] == ["node/0", "node/1"], out["uploads"]
    assert sorted(out["add_tag"]["public_ids"]) == ["node/0", "node/1"]
    assert out["remove_tag"]["public_ids"] == ["node/1"]
    listed = [(r["public_id"], sorted(r["tags"])) for page in out["pages"] for r in page["resources"]]
    assert sorted(listed) == [("node/0", ["beach", "trip"]), ("node/1", ["beach"])]
    assert len(out["pages"]) == 2 and "next_cursor" not in out["pages"][-1]  # one per page, to the end
    assert [r["public_id"] for r in out["by_tag"]["resources"]] == ["node/0"]
    assert out["search"]["total_count"] == 2
    assert [(r["public_id"], sorted(r["tags"])) for r in out["search"]["resources"]] == \
        [("node/0", ["beach", "trip"]), ("node/1", ["beach"])]
    assert out["destroy"] == {"result": "ok"}
    assert out["after_destroy"]["http_code"] == 404
    assert list(Asset.objects.values_list("public_id", flat=True)) == ["node/1"]
    stem = PurePosixPath(Asset.objects.get().file.name).stem
    assert stored_files(media_root) and all(stem in name for name in stored_files(media_root))  # node/0's are gone
