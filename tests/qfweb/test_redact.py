from __future__ import annotations

import logging

import pytest

from qfweb.redact import MASK, RedactingFilter, redact


@pytest.mark.parametrize(
    "secret_text",
    [
        "Incorrect API key provided: sk-proj-AbCdEfGhIjKlMnOp1234",
        "x-api-key: sk-ant-api03-abcdefghijklmnop",
        "GET https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyA1234567890abcdefghijklmnopqrstuv",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "client key qf_AbCd1234_0123456789abcdefghijABCDEFGHIJ123456 rejected",
        "xai-abcdefghijklmnopqrstuvwxyz was refused",
    ],
)
def test_it_masks_key_shaped_tokens(secret_text):
    cleaned = redact(secret_text)
    assert MASK in cleaned
    for token in ("sk-proj-AbCd", "sk-ant-api03", "AIzaSyA123", "eyJhbGci", "0123456789abcdefghij", "xai-abcdef"):
        assert token not in cleaned


def test_it_masks_an_exact_secret_of_any_shape():
    assert redact("upstream said: hunter2-plain rejected", ["hunter2-plain"]) == f"upstream said: {MASK} rejected"


def test_it_leaves_ordinary_text_alone():
    text = "model openai:gpt-4o timed out after 30 s (skip-list: none)"
    assert redact(text) == text


def test_the_logging_filter_masks_formatted_messages(caplog):
    logger = logging.getLogger("qf.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="qf.test"):
        logger.info("calling with %s", "Bearer sk-live-abcdefghijklmnop")
    assert "sk-live" not in caplog.text
    assert MASK in caplog.text


def test_the_logging_filter_masks_keys_in_tracebacks():
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("qf.test.tb")
    logger.addHandler(handler)
    try:
        raise RuntimeError("upstream refused sk-live-abcdefghijklmnop")
    except RuntimeError:
        logger.exception("call failed")
    finally:
        logger.removeHandler(handler)
    assert "Traceback" in stream.getvalue() and "RuntimeError" in stream.getvalue()
    assert "sk-live" not in stream.getvalue()
