"""API rate limits: refused credentials per client IP, requests per key, answered with 420 and X-FeatureRateLimit-*."""
import subprocess
import sys
import time
from email.utils import parsedate_to_datetime

import pytest

from medialib.api import ratelimit
from tests import images
from tests.api.conftest import api_url, signed
from tests.conftest import ROOT, upload_file

pytestmark = pytest.mark.django_db


def _bad_upload(client, api_key, ip="203.0.113.7"):
    fields = signed({"file": upload_file(images.jpeg())}, api_key, secret="guess")
    return client.post(api_url("upload"), fields, REMOTE_ADDR=ip)


def _good_upload(client, api_key, public_id, ip="203.0.113.7"):
    fields = signed({"file": upload_file(images.jpeg()), "public_id": public_id}, api_key)
    return client.post(api_url("upload"), fields, REMOTE_ADDR=ip)


def test_bad_signatures_from_one_address_are_cut_off(api_client, api_key, settings):
    settings.MEDIALIB_API_AUTH_FAILURE_LIMIT = 5
    statuses = [_bad_upload(api_client, api_key).status_code for _ in range(300)]
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {420}
    # Once cut off, even a correct request from that address waits for the window to end...
    refused = _good_upload(api_client, api_key, "cat")
    assert refused.status_code == 420
    assert refused.json()["error"]["message"].startswith("Rate Limit Exceeded")
    assert refused["X-FeatureRateLimit-Limit"] == "5" and refused["X-FeatureRateLimit-Remaining"] == "0"
    reset = parsedate_to_datetime(refused["X-FeatureRateLimit-Reset"]).timestamp()
    assert time.time() < reset <= time.time() + settings.MEDIALIB_API_AUTH_FAILURE_WINDOW_SECONDS + 1
    assert 1 <= int(refused["Retry-After"]) <= settings.MEDIALIB_API_AUTH_FAILURE_WINDOW_SECONDS
    # ...while another address is not affected.
    assert _good_upload(api_client, api_key, "cat", ip="198.51.100.2").status_code == 200


def test_unknown_keys_and_basic_secrets_count_as_refused_credentials(api_client, api_key, settings):
    settings.MEDIALIB_API_AUTH_FAILURE_LIMIT = 2
    fields = signed({"file": upload_file(images.jpeg())}, api_key)
    fields["api_key"] = "123456789012345"
    assert api_client.post(api_url("upload"), fields, REMOTE_ADDR="203.0.113.7").status_code == 401
    url = f"/v1_1/{settings.MEDIALIB_CLOUD_NAME}/resources/image/upload/x"
    import base64
    basic = "Basic " + base64.b64encode(f"{api_key.key}:wrong".encode()).decode()
    assert api_client.get(url, HTTP_AUTHORIZATION=basic, REMOTE_ADDR="203.0.113.7").status_code == 401
    assert api_client.get(url, HTTP_AUTHORIZATION=basic, REMOTE_ADDR="203.0.113.7").status_code == 420


def test_requests_per_key_are_limited_and_counted_in_headers(api_client, api_key, settings):
    settings.MEDIALIB_API_KEY_RATE_LIMIT = 3
    answers = [_good_upload(api_client, api_key, f"p{i}") for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 420]
    assert [a["X-FeatureRateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a["X-FeatureRateLimit-Limit"] == "3" for a in answers)
    assert "API key" in answers[3].json()["error"]["message"]
    # Bad signatures made with the key's id do not use up its quota: only its holder can.
    settings.MEDIALIB_API_KEY_RATE_LIMIT = 5
    for _ in range(3):
        _bad_upload(api_client, api_key, ip="198.51.100.9")
    assert _good_upload(api_client, api_key, "p4")["X-FeatureRateLimit-Remaining"] == "0"


def test_the_window_ends(settings):
    state = ratelimit.rate_hit("t", "s", limit=1, window=60, now=120.0)
    assert (state.count, state.reset_at) == (1, 180)
    assert ratelimit.rate_hit("t", "s", limit=1, window=60, now=179.0).exceeded
    assert ratelimit.rate_hit("t", "s", limit=1, window=60, now=180.0).count == 1


def test_processes_share_one_exact_count():
    """Four processes (as gunicorn's workers) counting at once on the file cache lose no increment."""
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'; django.setup()\n"
        "from medialib.api.ratelimit import rate_hit\n"
        "for _ in range(400): rate_hit('shared', 'one', limit=10**6, window=3600)\n"
    )
    processes = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT) for _ in range(4)]
    assert [p.wait(timeout=120) for p in processes] == [0] * 4
    assert ratelimit.rate_peek("shared", "one", limit=10**6, window=3600).count == 1600
