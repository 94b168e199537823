from __future__ import annotations

import pytest

from routing.params import ParamError, allowed_params, validate_params


@pytest.mark.parametrize(
    ("modality", "params"),
    [
        ("text", {"temperature": 0.8, "max_tokens": 3000}),
        ("text", {"temperature": 0, "stop": ["\n\n"], "custom": {"top_a": 1}}),
        ("image", {"width": 1024, "height": 1024, "steps": 30}),
        ("audio", {"voice": "nova", "language": "en", "speed": 1.25}),
        ("text", {}),
    ],
)
def test_it_accepts_parameters_of_the_modality(modality, params):
    assert validate_params(modality, params) == params


@pytest.mark.parametrize(
    ("modality", "params", "field", "reason"),
    [
        ("text", {"temperature": "hot"}, "temperature", "must be a number"),
        ("text", {"temperature": 2.5}, "temperature", "between 0 and 2"),
        ("text", {"max_tokens": 0}, "max_tokens", "between 1 and"),
        ("text", {"max_tokens": 10.5}, "max_tokens", "must be an integer"),
        ("text", {"max_tokens": True}, "max_tokens", "must be an integer"),
        ("text", {"width": 512}, "width", "is not a parameter for text"),
        ("image", {"temperature": 0.5}, "temperature", "is not a parameter for image"),
        ("image", {"width": 10}, "width", "between 64 and 4096"),
        ("audio", {"voice": ""}, "voice", "non-empty string"),
        ("audio", {"speed": 9}, "speed", "between 0.25 and 4"),
        ("text", {"stop": [1, 2]}, "stop", "list of up to 4 strings"),
        ("text", {"custom": "x"}, "custom", "must be an object"),
    ],
)
def test_it_names_the_field_and_the_reason(modality, params, field, reason):
    with pytest.raises(ParamError) as info:
        validate_params(modality, params)
    assert info.value.field == field
    assert reason in info.value.reason


def test_it_rejects_parameters_that_are_not_an_object():
    with pytest.raises(ParamError, match="params: must be an object"):
        validate_params("text", ["temperature"])


def test_allowed_params_lists_common_and_modality_names():
    assert "custom" in allowed_params("image")
    assert "voice" in allowed_params("audio")
    assert "voice" not in allowed_params("text")
