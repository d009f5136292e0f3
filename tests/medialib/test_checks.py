"""medialib.checks: a wrong or missing setting is an error that names it."""
import subprocess
import sys

import pytest
from django.core import checks

from tests.conftest import ROOT


def _errors():
    return {m.id: m.msg for m in checks.run_checks() if m.level >= checks.ERROR}


def test_defaults_pass():
    assert _errors() == {}


def test_production_without_secret_key(settings):
    settings.DEBUG = False
    settings.SECRET_KEY_FROM_ENV = False
    assert "SECRET_KEY is not set" in _errors()["medialib.E001"]


def test_unknown_storage(settings):
    settings.MEDIALIB_STORAGE = "ftp"
    assert "MEDIALIB_STORAGE is 'ftp'" in _errors()["medialib.E002"]


def test_s3_without_bucket(settings):
    settings.MEDIALIB_STORAGE = "s3"
    settings.AWS_STORAGE_BUCKET_NAME = ""
    assert "AWS_STORAGE_BUCKET_NAME is not set" in _errors()["medialib.E003"]


def test_unknown_visibility(settings):
    settings.MEDIALIB_VISIBILITY = "public"
    assert "MEDIALIB_VISIBILITY is 'public'" in _errors()["medialib.E012"]


def test_bad_limits(settings):
    settings.MEDIALIB_MAX_PIXELS = 0
    errors = _errors()
    assert "MEDIALIB_MAX_PIXELS must be a positive number" in errors["medialib.E004"]


def _manage(*args, env):
    import os

    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "medialib.settings", "MEDIALIB_VAR_DIR": str(ROOT / "var" / "test"),
             **env},
    )


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DEBUG": "false"}, "SECRET_KEY is not set"),
        ({"MEDIALIB_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": ""}, "AWS_STORAGE_BUCKET_NAME is not set"),
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL is not a database URL"),
        ({"MEDIALIB_MAX_PIXELS": "lots"}, "MEDIALIB_MAX_PIXELS must be a whole number"),
        ({"DEBUG": "perhaps"}, "DEBUG must be true or false"),
        ({"CACHE_URL": "memcached://x"}, "CACHE_URL must be a redis:// URL or empty"),
    ],
)
def test_the_app_refuses_to_start_and_names_the_setting(env, message):
    result = _manage("check", env={"SECRET_KEY": "", **env})
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize("cache_url, backend", [("", "FileBasedCache"), ("redis://127.0.0.1:6379/9", "RedisCache")])
def test_the_cache_is_a_folder_under_var_or_redis(cache_url, backend):
    result = _manage("shell", "-c", "from django.conf import settings; print(settings.CACHES['default'])",
                     env={"CACHE_URL": cache_url})
    assert result.returncode == 0, result.stderr
    assert backend in result.stdout
    if not cache_url:
        assert str(ROOT / "var" / "test" / "cache") in result.stdout


def test_worker_refuses_to_start_when_misconfigured(tmp_path):
    import os

    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "medialib", "worker", "--pool=solo"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "medialib.settings", "MEDIALIB_VAR_DIR": str(tmp_path),
             "CELERY_BROKER_URL": "", "TAGGING_BACKEND": "magic"},
    )
    assert result.returncode != 0
    assert "TAGGING_BACKEND is 'magic'" in result.stdout + result.stderr


PRODUCTION = {"DEBUG": "false", "SECRET_KEY": "production-" + "k3y-" * 15, "ALLOWED_HOSTS": "media.example.org"}


def test_production_settings_pass_the_deploy_checks_without_a_warning():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_pages_carry_hsts_and_the_csp_and_plain_http_is_redirected():
    script = (
        "from django.test import Client; from django.conf import settings\n"
        "c = Client(HTTP_HOST='media.example.org')\n"
        "r = c.get('/accounts/login/', secure=True)\n"
        "print(r.status_code, r['Strict-Transport-Security'], '|', r['Content-Security-Policy'])\n"
        "r = c.get('/accounts/login/')\n"
        "print(r.status_code, r['Location'])\n"
    )
    result = _manage("shell", "-c", script, env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    secure, plain = result.stdout.strip().splitlines()[-2:]
    assert secure.startswith("200 max-age=31536000; includeSubDomains |")
    assert "script-src 'self'" in secure and "frame-ancestors 'none'" in secure
    assert plain == "301 https://media.example.org/accounts/login/"
