#!/usr/bin/env python3
"""qfweb on a fresh machine: `python3 dev.py serve` runs it, `python3 dev.py test` tests it.

Both first make `.venv` and install the project into it; pip runs again only when
pyproject.toml changes. Standard library only: this file runs before anything is installed.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / "qfweb-installed.json"
MIN_PYTHON = (3, 11)


class SetupError(Exception):
    """A problem the person at the keyboard can fix; printed without a traceback."""


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    python = venv_python()
    if python.exists() and subprocess.run([python, "-c", ""], check=False).returncode == 0:
        return python
    # Debian and Ubuntu ship venv's pip bootstrap as a separate package.
    if importlib.util.find_spec("venv") is None or importlib.util.find_spec("ensurepip") is None:
        raise SetupError(
            "this Python cannot create virtual environments (the venv/ensurepip modules are"
            " missing).\nOn Debian or Ubuntu: sudo apt-get install python3-venv"
            f" (or python{sys.version_info.major}.{sys.version_info.minor}-venv), then run again."
        )
    print(f"Creating {VENV.name} with {sys.executable}", flush=True)
    run([sys.executable, "-m", "venv", "--clear", str(VENV)])
    return python


def ensure_installed(python: str | Path, extras: frozenset[str]) -> None:
    """pip install -e the project unless the stamp says this pyproject.toml is in place."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = json.loads(STAMP.read_text()) if STAMP.exists() else {}
    if stamp.get("pyproject") == digest and extras <= set(stamp.get("extras", [])):
        return
    spec = f".[{','.join(sorted(extras))}]" if extras else "."
    print(f"Installing qfweb{spec[1:]} into {VENV.name} (first run, or pyproject.toml changed)")
    run([python, "-m", "pip", "install", "--disable-pip-version-check", "-e", spec])
    STAMP.write_text(json.dumps({"pyproject": digest, "extras": sorted(extras)}))


def dev_env(base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment for manage.py and the servers: the embedded default unless told."""
    env = dict(base)
    env.setdefault("QF_ENV", "dev")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def prepare_commands(python: str | Path) -> list[list[str]]:
    """What runs before the servers start: the schema, then the demo data and admin user."""
    manage = [str(python), str(ROOT / "manage.py")]
    return [manage + ["migrate", "--noinput"], manage + ["qf", "demo"]]


def server_commands(python: str | Path, host: str, port: int) -> list[list[str]]:
    """The long-running processes of `serve`, started together and stopped together."""
    web = [
        str(python), "-m", "uvicorn", "qfweb.asgi:application",
        "--host", host, "--port", str(port),
        "--lifespan", "on",  # qfweb.asgi closes the pooled upstream clients on shutdown
    ]
    celery = [str(python), "-m", "celery", "--app", "qfweb", "--quiet"]
    # Two worker processes: a health check that hangs until its time limit holds up no
    # rollup. Exactly one beat. The broker is a folder of the data directory (no server).
    worker = celery + ["worker", "--loglevel", "INFO", "--concurrency", "2", "--without-gossip", "--without-mingle"]
    beat = celery + ["beat", "--loglevel", "INFO"]
    return [web, worker, beat]


def serve(python: str | Path, host: str, port: int, env: Mapping[str, str]) -> int:
    for command in prepare_commands(python):
        run(command, env)
    user = env.get("QF_DEMO_ADMIN_USER") or "admin"
    password = (
        "QF_DEMO_ADMIN_PASSWORD" if env.get("QF_DEMO_ADMIN_PASSWORD")
        else "the password `qf demo` printed above on the first run"
    )
    print(
        f"\nqfweb: http://{host}:{port}/  (admin: http://{host}:{port}/admin/)\n"
        f"Log in as {user} with {password}.\n"
        f"Forgot it? python3 dev.py manage changepassword {user}\n"
        f"Data is kept in {env.get('QF_DATA_DIR') or ROOT / 'var'}. Stop with Ctrl+C.\n",
        flush=True,
    )
    return run_together(server_commands(python, host, port), env)


def run_together(commands: Sequence[Sequence[str]], env: Mapping[str, str]) -> int:
    """Run the processes until one exits or we are told to stop; then stop all of them."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    procs = [subprocess.Popen(command, cwd=ROOT, env=env) for command in commands]
    code = 0
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.2)
        code = next(p.returncode for p in procs if p.returncode is not None)
    except KeyboardInterrupt:
        pass
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return code


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(command: Sequence[str | Path], env: Mapping[str, str] | None = None) -> None:
    print("$", " ".join(str(part) for part in command), flush=True)
    code = subprocess.run(command, check=False, cwd=ROOT, env=env).returncode
    if code != 0:
        raise SystemExit(code)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="dev.py", description=__doc__)
    parser.add_argument(
        "--no-install", action="store_true",
        help="use the running Python as it is: no .venv, no pip",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="migrate, load the demo data and serve")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=os.environ.get("QF_PORT", "8000"))
    # add_help=False so that `test -h` and `manage -h` reach pytest and manage.py.
    commands.add_parser("test", add_help=False, help="run the whole test suite (args go to pytest)")
    commands.add_parser("manage", add_help=False, help="run manage.py in the dev environment")
    args, rest = parser.parse_known_args(argv)
    if rest and args.command == "serve":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    if sys.version_info < MIN_PYTHON:
        raise SetupError(f"qfweb needs Python {'.'.join(map(str, MIN_PYTHON))} or newer")
    python: str | Path = sys.executable
    if not args.no_install:
        python = ensure_venv()
        ensure_installed(python, frozenset({"dev"}) if args.command == "test" else frozenset())
    env = dev_env()
    if args.command == "serve":
        return serve(python, args.host, args.port, env)
    command = [python, "-m", "pytest"] if args.command == "test" else [python, ROOT / "manage.py"]
    return subprocess.run([*command, *rest], check=False, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SetupError as exc:
        sys.exit(f"dev.py: {exc}")
    except KeyboardInterrupt:
        sys.exit(130)
