"""The deployment files: docker-compose.yml is valid and wires every process to the same services."""
import re
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


def test_compose_file_passes_docker_compose_config_quietly():
    result = subprocess.run(["docker-compose", "config", "-q"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "k"})
    assert result.returncode == 0 and result.stdout == "", result.stderr


def _nginx_directives() -> dict[str, str]:
    text = re.sub(r"#.*", "", (ROOT / "deploy" / "nginx" / "medialib.conf").read_text())
    return {m[1]: m[2].strip() for m in re.finditer(r"^\s*([a-z_]+)\s+([^;{]*);", text, re.M)}


def test_nginx_is_in_front_of_gunicorn_and_gunicorn_is_not_published():
    services = _config()["services"]
    nginx = services["nginx"]
    assert [str(p.get("published")) if isinstance(p, dict) else p.split(":")[0] for p in nginx["ports"]] == ["8000"]
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in nginx["volumes"]]
    assert any(m.split(":")[0].endswith("deploy/nginx/medialib.conf") and ":/etc/nginx/conf.d/default.conf" in m
               for m in mounts)
    assert "ports" not in services["web"]  # reachable only through nginx
    assert _nginx_directives()["proxy_pass"] == "http://medialib_web"
    assert "server web:8000" in (ROOT / "deploy" / "nginx" / "medialib.conf").read_text()
    # The app trusts exactly the one X-Forwarded-For entry nginx appends.
    assert services["web"]["environment"]["MEDIALIB_PROXY_COUNT"] == "1"
    conf = (ROOT / "deploy" / "nginx" / "medialib.conf").read_text()
    assert re.search(r"^\s*proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;", conf, re.M)


def test_nginx_buffers_slow_clients_and_refuses_bodies_the_app_would():
    from django.conf import settings

    nginx = _nginx_directives()
    assert nginx["proxy_request_buffering"] == "on" and nginx["proxy_buffering"] == "on"
    for timeout in ("client_header_timeout", "client_body_timeout", "send_timeout", "keepalive_timeout"):
        assert 1 <= int(nginx[timeout].rstrip("s")) <= 60, timeout
    # One file per request, plus 1 MiB for the multipart form around it; compose leaves the app's limit as is.
    assert int(nginx["client_max_body_size"]) == settings.MEDIALIB_MAX_UPLOAD_BYTES + 1024 * 1024
    assert "MEDIALIB_MAX_UPLOAD_BYTES" not in _config()["services"]["web"]["environment"]


def test_procfile_runs_web_and_worker_on_every_queue():
    procfile = (ROOT / "Procfile").read_text()
    assert "runserver 127.0.0.1:$PORT" in procfile
    assert "--queues=default,renditions,analysis" in procfile
    assert "celery -A medialib beat" in procfile  # the periodic analysis sweep


def test_nginx_accepts_its_config(tmp_path):
    if not shutil.which("nginx", path="/usr/sbin:/usr/bin"):
        pytest.fail("nginx is missing: apt-get install nginx-light (.ci/run does this)")
    # As the container would load it, but with gunicorn's address resolvable here.
    site = (ROOT / "deploy" / "nginx" / "medialib.conf").read_text().replace("server web:8000;", "server 127.0.0.1:8000;")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n"
    )
    result = subprocess.run(
        [shutil.which("nginx", path="/usr/sbin:/usr/bin"), "-t", "-e", "stderr", "-p", str(tmp_path),
         "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_procfile_restarts_the_worker_and_beat_instead_of_stopping_everything():
    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    # An environment prefix (the worker's OMP_NUM_THREADS) is the shell's, not the command's.
    lines = {name: re.sub(r"^(\w+=\S+ )+", "", command) for name, command in lines.items()}
    assert lines["worker"].startswith("python scripts/keep_running.py celery -A medialib worker")
    assert lines["beat"].startswith("python scripts/keep_running.py celery -A medialib beat")
    assert "keep_running" not in lines["web"]


def _wait(predicate, timeout=20):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_killed_worker_is_started_again_and_the_web_server_keeps_serving(tmp_path):
    """honcho with the Procfile's wrapper: a stand-in worker that writes its pid, and a web server."""
    import os
    import signal
    import socket
    import sys
    import urllib.request
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pids = tmp_path / "pids"
    worker = (f"import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n'); time.sleep(600)")
    (tmp_path / "worker.py").write_text(worker)
    (tmp_path / "Procfile").write_text(
        f"web: {sys.executable} -m http.server {port} --bind 127.0.0.1\n"
        f"worker: {sys.executable} {ROOT / 'scripts' / 'keep_running.py'} {sys.executable} {tmp_path / 'worker.py'}\n"
    )
    honcho = subprocess.Popen(
        [str(Path(sys.executable).parent / "honcho"), "-f", str(tmp_path / "Procfile"), "-d", str(tmp_path), "start"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        def serving():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200
            except OSError:
                return False

        _wait(serving)
        first = _wait(lambda: pids.exists() and pids.read_text().split())[0]
        os.kill(int(first), signal.SIGKILL)  # as the OOM killer would
        second = _wait(lambda: len(pids.read_text().split()) >= 2 and pids.read_text().split())[1]
        assert second != first
        assert honcho.poll() is None and serving()  # the web server never stopped
    finally:
        os.killpg(honcho.pid, signal.SIGTERM)
        try:
            honcho.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()
    # Stopping honcho stopped the wrapper and its worker too.
    assert not any(os.path.exists(f"/proc/{pid}") and "worker.py" in open(f"/proc/{pid}/cmdline").read()
                   for pid in pids.read_text().split())
