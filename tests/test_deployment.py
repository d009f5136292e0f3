"""The deployment files: docker-compose.yml is valid and wires every process to the same services."""
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT


def _config():
    if not shutil.which("docker-compose"):
        pytest.fail("docker-compose is missing: apt-get install docker-compose (.ci/run does this)")
    result = subprocess.run(
        ["docker-compose", "config"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "k"},
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid_and_complete():
    config = _config()
    assert set(config["services"]) >= {"web", "worker", "beat", "db", "redis", "minio"}
    command = config["services"]["web"]["command"]
    assert "gunicorn" in (" ".join(command) if isinstance(command, list) else command)
    for name in ("web", "worker", "beat"):
        env = config["services"][name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert env["CACHE_URL"].startswith("redis://redis:")  # rate limits shared by the replicas
        assert env["MEDIALIB_STORAGE"] == "s3" and env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["DEBUG"] == "false"


def test_procfile_runs_web_and_worker_on_every_queue():
    procfile = (ROOT / "Procfile").read_text()
    assert "runserver 127.0.0.1:$PORT" in procfile
    assert "--queues=default,renditions,analysis" in procfile
    assert "celery -A medialib beat" in procfile  # the periodic analysis sweep
