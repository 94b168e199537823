from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from qfweb.env import Env


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("YES", True), (" on ", True),
     ("0", False), ("False", False), ("no", False), ("off", False), ("", True)],
)
def test_bool_reads_the_usual_words(value: str, expected: bool) -> None:
    # An empty value counts as unset, so the default (True here) applies.
    assert Env({"FLAG": value}).bool("FLAG", True) is expected


def test_unset_values_give_the_default() -> None:
    env = Env({})
    assert env.int("N", 7) == 7
    assert env.str("S", "x") == "x"
    assert env.list("L") == []
    assert env.mapping("M", {"a": "b"}) == {"a": "b"}
    assert env.handle("H") is None
    assert env.secret("SECRET_KEY") is None


def test_list_drops_blanks_and_spaces() -> None:
    assert Env({"L": " a.com, ,b.com ,"}).list("L") == ["a.com", "b.com"]


def test_handles_with_prefix_lowercases_the_suffix() -> None:
    env = Env({"QF_MODEL_RESPONSE": "openai:gpt-4o", "QF_MODEL_": "x:y", "OTHER": "a:b"})
    assert env.handles_with_prefix("QF_MODEL_") == {"response": "openai:gpt-4o"}


def test_mapping_reads_pairs() -> None:
    assert Env({"M": "a=image, b = audio"}).mapping("M", {}) == {"a": "image", "b": "audio"}


def test_secret_reads_the_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("s3cret\n")
    assert Env({"SECRET_KEY_FILE": str(tmp_path / "key")}).secret("SECRET_KEY") == "s3cret"


@pytest.mark.parametrize(
    ("environ", "call", "message"),
    [
        ({"DEBUG": "maybe"}, lambda e: e.bool("DEBUG", False), "DEBUG must be a boolean"),
        ({"N": "ten"}, lambda e: e.int("N", 1), "N must be an integer, got 'ten'"),
        ({"N": "10"}, lambda e: e.int("N", 1, minimum=1024), "N must be at least 1024"),
        ({"F": "fast"}, lambda e: e.float("F", 1.0), "F must be a number"),
        ({"F": "-1"}, lambda e: e.float("F", 1.0), "F must be at least 0.0"),
        ({"QF_ENV": "staging"}, lambda e: e.choice("QF_ENV", ("dev", "production"), "dev"),
         "QF_ENV must be one of dev, production"),
        ({"QF_DEFAULT_TEXT_MODEL": "gpt-4o"}, lambda e: e.handle("QF_DEFAULT_TEXT_MODEL"),
         "QF_DEFAULT_TEXT_MODEL must be a provider:model handle"),
        ({"QF_MODEL_RESPONSE": "Open AI:x"}, lambda e: e.handles_with_prefix("QF_MODEL_"),
         "QF_MODEL_RESPONSE must be a provider:model handle"),
        ({"M": "illustrator"}, lambda e: e.mapping("M", {}), "M must be key=value pairs"),
        ({"M": "a=image,=audio"}, lambda e: e.mapping("M", {}), "M must be key=value pairs"),
        ({"SECRET_KEY": "x", "SECRET_KEY_FILE": "/etc/hostname"}, lambda e: e.secret("SECRET_KEY"),
         "set either SECRET_KEY or SECRET_KEY_FILE, not both"),
        ({"SECRET_KEY_FILE": "/nonexistent/key"}, lambda e: e.secret("SECRET_KEY"),
         "SECRET_KEY_FILE: cannot read /nonexistent/key"),
    ],
)
def test_it_rejects_bad_values_naming_the_variable(
    environ: dict[str, str], call: Any, message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        call(Env(environ))
