"""dev.py: the README's two commands. The slow test runs `dev.py serve` for real."""
from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo-Admin-pw-4417"
# The server gets a clean environment: the embedded default, whatever the suite runs on
# (the PostgreSQL pass of CI sets DATABASE_URL, pytest-django sets DJANGO_SETTINGS_MODULE).
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def load_dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dev = load_dev()


def test_dev_env_defaults_to_the_embedded_mode_but_keeps_what_is_set() -> None:
    assert dev.dev_env({})["QF_ENV"] == "dev"
    assert dev.dev_env({"QF_ENV": "production"})["QF_ENV"] == "production"


def test_serve_migrates_loads_the_demo_and_starts_uvicorn_on_the_port() -> None:
    prepare = dev.prepare_commands("py")
    assert [c[2:] for c in prepare] == [["migrate", "--noinput"], ["qf", "demo"]]
    web, worker, beat = dev.server_commands("py", "127.0.0.1", 8123)
    assert web[:4] == ["py", "-m", "uvicorn", "qfweb.asgi:application"]
    assert web[web.index("--port") + 1] == "8123"
    assert worker[:5] == beat[:5] == ["py", "-m", "celery", "--app", "qfweb"]
    assert "worker" in worker and "beat" in beat


def test_pip_runs_again_only_when_pyproject_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    monkeypatch.setattr(dev, "STAMP", tmp_path / "stamp.json")
    installs: list[str] = []
    monkeypatch.setattr(dev, "run", lambda command, env=None: installs.append(command[-1]))

    dev.ensure_installed("py", frozenset())  # serve on a new machine
    dev.ensure_installed("py", frozenset())
    dev.ensure_installed("py", frozenset({"dev"}))  # then test: needs the dev extra
    dev.ensure_installed("py", frozenset())  # the dev extra covers serve
    (tmp_path / "pyproject.toml").write_text("[project]\nversion = '2'\n")
    dev.ensure_installed("py", frozenset({"dev"}))
    assert installs == [".", ".[dev]", ".[dev]"]


def test_a_python_without_venv_gets_told_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dev, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(dev.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(dev.SetupError, match="apt-get install python3-venv"):
        dev.ensure_venv()


# ---- the first README command, end to end ------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dev.py serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"nothing served at {url} after 90 s:\n{log.read_text()}")


def log_in(client: httpx.Client, username: str, password: str) -> None:
    form = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, form.text
    response = client.post(
        "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token[1], "username": username,
              "password": password, "next": "/admin/"},
    )
    assert (response.status_code, response.headers.get("location")) == (302, "/admin/")


def wait_for_health_check(client: httpx.Client, provider: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get(f"/api/providers/{provider}/health").json()
        if page["count"]:
            return page["items"][0]
        time.sleep(0.5)
    pytest.fail(f"no health check of {provider} within 60 s")


@pytest.mark.slow
def test_dev_serve_serves_the_admin_with_the_demo_data(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    env |= {"QF_DATA_DIR": str(data_dir), "QF_DEMO_ADMIN_PASSWORD": PASSWORD, "QF_HEALTH_INTERVAL_S": "5"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # --no-install: the suite already runs inside the project's environment.
    command = [sys.executable, str(ROOT / "dev.py"), "--no-install", "serve", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_serving(proc, f"{base}/admin/login/", log)
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.get("/").headers["location"] == "/login/?next=/"
            assert client.get("/static/admin/css/base.css").status_code == 200
            log_in(client, "admin", PASSWORD)
            overview = client.get("/")
            assert overview.status_code == 200 and "Provider health" in overview.text
            personas = client.get("/admin/personas/persona/")
            assert personas.status_code == 200
            assert "scene_smith" in personas.text and "illustrator" in personas.text
            providers = client.get("/admin/routing/provider/")
            assert providers.status_code == 200 and "echo" in providers.text
            # Beat schedules the health checks and the worker runs them, through the
            # broker in the data folder: the echo provider's checks appear.
            assert wait_for_health_check(client, "echo")["state"] == "healthy"
        # SIGTERM to dev.py, as a process manager or Ctrl+C would stop it.
        proc.terminate()
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "Finished server process" in log.read_text()

    # The next `serve` starts on the data of this one: both steps must be repeatable.
    for step in dev.prepare_commands(sys.executable):
        result = subprocess.run(
            step, check=False, cwd=ROOT, env=dev.dev_env(env), capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert (data_dir / "qfweb.sqlite3").exists()
