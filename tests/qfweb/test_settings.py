"""qfweb/settings.py under controlled environments.

Settings run once per process, so each case imports them in a fresh interpreter with
only the variables it names (plus PATH) and reads back the values it asks for.
"""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
READ_SETTINGS = (
    "import json, sys; import qfweb.settings as s; "
    "print(json.dumps({n: getattr(s, n) for n in sys.argv[1:]}, default=str))"
)
PG_URL = "postgres://qf:pw@db.internal:5432/qf"
PRODUCTION = {
    "QF_ENV": "production",
    "SECRET_KEY": "k3y-" + "x" * 60,
    "DATABASE_URL": PG_URL,
    "ALLOWED_HOSTS": "example.com",
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _import(env: dict[str, str], names: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", READ_SETTINGS, *names],
        check=False, cwd=ROOT, env={"PATH": os.environ["PATH"], **env},
        capture_output=True, text=True, timeout=60,
    )


def load(env: dict[str, str], *names: str) -> dict[str, Any]:
    result = _import(env, names)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refusal(env: dict[str, str]) -> str:
    """The ImproperlyConfigured message that stopped the settings import."""
    result = _import(env, ())
    assert result.returncode != 0, "settings imported, but should have been refused"
    last = result.stderr.strip().splitlines()[-1]
    prefix = "django.core.exceptions.ImproperlyConfigured: "
    assert last.startswith(prefix), result.stderr
    return last.removeprefix(prefix)


def dev(data_dir: Path, **env: str) -> dict[str, str]:
    return {"QF_ENV": "dev", "QF_DATA_DIR": str(data_dir), **env}


# ---- production is strict --------------------------------------------------------------


def test_production_imports_with_the_three_required_variables() -> None:
    s = load(PRODUCTION, "DEBUG", "ALLOWED_HOSTS", "SESSION_COOKIE_SECURE", "SECURE_SSL_REDIRECT")
    assert s == {
        "DEBUG": False, "ALLOWED_HOSTS": ["example.com"],
        "SESSION_COOKIE_SECURE": True, "SECURE_SSL_REDIRECT": True,
    }


def test_nothing_set_means_production_and_refuses() -> None:
    assert "SECRET_KEY must be set" in refusal({})


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(name: str) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != name}
    assert refusal(env).startswith(f"{name} must be set")


@pytest.mark.parametrize("key", ["short-key", "django-insecure-" + "x" * 60])
def test_production_refuses_a_weak_secret_key(key: str) -> None:
    message = refusal({**PRODUCTION, "SECRET_KEY": key})
    assert message == "SECRET_KEY must be at least 50 random characters in production"


def test_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("f" * 64 + "\n")
    env = {**PRODUCTION, "SECRET_KEY": "", "SECRET_KEY_FILE": str(tmp_path / "key")}
    assert load(env, "SECRET_KEY") == {"SECRET_KEY": "f" * 64}


def test_secret_key_and_its_file_together_are_refused(tmp_path: Path) -> None:
    env = {**PRODUCTION, "SECRET_KEY_FILE": str(tmp_path / "key")}
    assert refusal(env) == "set either SECRET_KEY or SECRET_KEY_FILE, not both"


def test_debug_is_refused_outside_dev(data_dir: Path) -> None:
    assert refusal({**PRODUCTION, "DEBUG": "true"}) == "DEBUG=true is only allowed with QF_ENV=dev"
    assert load(dev(data_dir, DEBUG="true"), "DEBUG") == {"DEBUG": True}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QF_ENV", "staging"),
        ("DATABASE_URL", "not-a-url"),
        ("DATABASE_URL", "foo://db.internal/qf"),
        ("REDIS_URL", "http://cache.internal:6379/0"),
        ("DEBUG", "maybe"),
        ("QF_DB_POOL", "sometimes"),
        ("QF_MAX_REQUEST_BYTES", "ten"),
        ("QF_MAX_REQUEST_BYTES", "100"),
        ("QF_SSL_REDIRECT", "perhaps"),
        ("QF_HSTS_SECONDS", "-1"),
        ("QF_HSTS_PRELOAD", "2"),
        ("QF_MULTI_MODEL", "nope"),
        ("QF_DEFAULT_IMAGE_MODEL", "dall-e-3"),
        ("QF_MODEL_RESPONSE", "gpt 4o"),
        ("QF_MODALITY_BY_NAME", "painter"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(name: str, value: str) -> None:
    assert name in refusal({**PRODUCTION, name: value})


def test_an_unknown_modality_in_the_name_map_is_refused(data_dir: Path) -> None:
    message = refusal(dev(data_dir, QF_MODALITY_BY_NAME="illustrator=image,painter=video"))
    assert message == "QF_MODALITY_BY_NAME: painter=video is not one of text, image, audio"


# Variables that are only checked when Django configures itself, and then fail without
# naming the variable (B-15 wants the name). Strict, so a fix shows up as XPASS.
@pytest.mark.parametrize(
    ("name", "value"), [("QF_LOG_LEVEL", "verbose"), ("TIME_ZONE", "Mars/Base")]
)
def test_a_bad_log_level_or_time_zone_is_refused_at_import(name: str, value: str) -> None:
    assert name in refusal({**PRODUCTION, name: value})


# ---- dev mode: the embedded default ------------------------------------------------------


def test_dev_mode_needs_nothing_else(data_dir: Path) -> None:
    names = ("DATABASES", "CACHES", "DEBUG", "ALLOWED_HOSTS", "WHITENOISE_USE_FINDERS")
    s = load(dev(data_dir), *names)
    db = s["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(data_dir / "qfweb.sqlite3")
    assert s["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["DEBUG"] is False
    assert s["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert s["WHITENOISE_USE_FINDERS"] is True


def test_dev_mode_generates_a_secret_key_once_and_keeps_it(data_dir: Path) -> None:
    first = load(dev(data_dir), "SECRET_KEY")["SECRET_KEY"]
    key_file = data_dir / "secret_key"
    assert key_file.read_text().strip() == first and len(first) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load(dev(data_dir), "SECRET_KEY")["SECRET_KEY"] == first


def test_redis_url_switches_the_cache_to_redis(data_dir: Path) -> None:
    env = dev(data_dir, REDIS_URL="redis://127.0.0.1:6379/3", QF_CACHE_PREFIX="qf-a")
    assert load(env, "CACHES")["CACHES"]["default"] == {
        "BACKEND": "qfweb.cache.SharedRedisCache",
        "LOCATION": "redis://127.0.0.1:6379/3",
        "KEY_PREFIX": "qf-a",
        "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
    }


def test_postgres_gets_no_persistent_connections_and_the_pool() -> None:
    db = load(PRODUCTION, "DATABASES")["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["NAME"], db["USER"]) == ("db.internal", "qf", "qf")
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"] == {"pool": True}


def test_the_pool_can_be_turned_off() -> None:
    db = load({**PRODUCTION, "QF_DB_POOL": "false"}, "DATABASES")["DATABASES"]["default"]
    assert db["CONN_MAX_AGE"] == 0 and "pool" not in db.get("OPTIONS", {})


def test_model_variables_fill_the_environment_defaults(data_dir: Path) -> None:
    env = dev(
        data_dir,
        QF_DEFAULT_TEXT_MODEL="openai:gpt-4o",
        QF_MODEL_RESPONSE="anthropic:claude-sonnet-4",
        QF_MODEL_CONCEPT_UPDATE="local:google/gemma-3-12b",
    )
    s = load(env, "QF_DEFAULT_MODELS", "QF_TASK_MODELS", "QF_MULTI_MODEL")
    assert s == {
        "QF_DEFAULT_MODELS": {"text": "openai:gpt-4o"},
        "QF_TASK_MODELS": {
            "concept_update": "local:google/gemma-3-12b",
            "response": "anthropic:claude-sonnet-4",
        },
        "QF_MULTI_MODEL": True,
    }


def test_the_modality_map_can_be_replaced(data_dir: Path) -> None:
    env = dev(data_dir, QF_MODALITY_BY_NAME="painter=image,narrator=audio")
    assert load(env, "QF_MODALITY_BY_NAME") == {
        "QF_MODALITY_BY_NAME": {"painter": "image", "narrator": "audio"}
    }


def test_lists_and_limits_are_read(data_dir: Path) -> None:
    env = {
        **PRODUCTION,
        "ALLOWED_HOSTS": "a.example.com,b.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://a.example.com",
        "SECRET_KEY_FALLBACKS": "old-key-1,old-key-2",
        "QF_MAX_REQUEST_BYTES": "4096",
        "QF_HSTS_SECONDS": "0",
        "TIME_ZONE": "Europe/Berlin",
    }
    s = load(
        env, "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SECRET_KEY_FALLBACKS",
        "DATA_UPLOAD_MAX_MEMORY_SIZE", "SECURE_HSTS_SECONDS", "TIME_ZONE",
    )
    assert s == {
        "ALLOWED_HOSTS": ["a.example.com", "b.example.com"],
        "CSRF_TRUSTED_ORIGINS": ["https://a.example.com"],
        "SECRET_KEY_FALLBACKS": ["old-key-1", "old-key-2"],
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 4096,
        "SECURE_HSTS_SECONDS": 0,
        "TIME_ZONE": "Europe/Berlin",
    }


def test_every_variable_the_settings_read_is_documented() -> None:
    source = (ROOT / "qfweb" / "settings.py").read_text()
    names = set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]*)"', source))
    names |= {f"{name}_FILE" for name in re.findall(r'env\.secret\(\s*"([A-Z0-9_]+)"', source)}
    names |= {f"QF_DEFAULT_{modality.upper()}_MODEL" for modality in ("text", "image", "audio")}
    assert {"QF_ENV", "SECRET_KEY_FILE", "QF_MODEL_"} <= names
    for doc in ("README.md", ".env.example"):
        text = (ROOT / doc).read_text()
        assert sorted(name for name in names if name not in text) == [], doc


def test_the_broker_is_a_data_folder_without_redis_and_redis_with_it(data_dir: Path) -> None:
    embedded = load(dev(data_dir), "CELERY_BROKER_URL", "CELERY_BROKER_TRANSPORT_OPTIONS")
    assert embedded["CELERY_BROKER_URL"] == "filesystem://"
    folder = Path(embedded["CELERY_BROKER_TRANSPORT_OPTIONS"]["data_folder_in"])
    assert folder == data_dir / "celery" and folder.is_dir()
    assert embedded["CELERY_BROKER_TRANSPORT_OPTIONS"]["data_folder_out"] == str(folder)

    redis_url = "redis://127.0.0.1:6379/3"
    assert load(dev(data_dir, REDIS_URL=redis_url), "CELERY_BROKER_URL")["CELERY_BROKER_URL"] == redis_url
    amqp = dev(data_dir, REDIS_URL=redis_url, CELERY_BROKER_URL="amqp://guest@127.0.0.1//")
    assert load(amqp, "CELERY_BROKER_URL")["CELERY_BROKER_URL"] == "amqp://guest@127.0.0.1//"


def test_beat_reads_its_schedule_from_the_database_in_the_local_time_zone(data_dir: Path) -> None:
    got = load(dev(data_dir, TIME_ZONE="Europe/Berlin"), "CELERY_BEAT_SCHEDULER", "CELERY_TIMEZONE")
    assert got == {
        "CELERY_BEAT_SCHEDULER": "django_celery_beat.schedulers:DatabaseScheduler",
        "CELERY_TIMEZONE": "Europe/Berlin",
    }
