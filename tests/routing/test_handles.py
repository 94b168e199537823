from __future__ import annotations

import pytest

from routing.handles import Handle, env_var_name, parse_handle


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("openai:gpt-4o", Handle("openai", "gpt-4o")),
        ("local:google/gemma-3-12b", Handle("local", "google/gemma-3-12b")),
        ("ollama:llama3:8b", Handle("ollama", "llama3:8b")),
        ("  x:grok-2 ", Handle("x", "grok-2")),
    ],
)
def test_it_splits_on_the_first_colon(value, expected):
    assert parse_handle(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("gpt-4o", "is not a provider:model handle"),
        ("openai:", "is not a provider:model handle"),
        ("Open AI:gpt", "is not a valid provider name"),
        (":gpt-4o", "is not a valid provider name"),
        ("openai:gpt 4o", "contains white space"),
        (42, "expected a provider:model string"),
    ],
)
def test_it_rejects_malformed_handles_with_the_reason(value, reason):
    with pytest.raises(ValueError, match=reason):
        parse_handle(value)


def test_handle_prints_as_it_was_written():
    assert str(parse_handle("ollama:llama3:8b")) == "ollama:llama3:8b"


def test_it_reads_the_variable_of_an_env_reference():
    assert env_var_name("${OPENAI_API_KEY}") == "OPENAI_API_KEY"
    with pytest.raises(ValueError):
        env_var_name("$OPENAI_API_KEY")
