"""The one place that strips secrets from text (STYLE B-12, RELIABILITY.md redaction)."""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "[redacted]"
PATTERNS = [
    re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}"),
    re.compile(r"sk-[A-Za-z0-9_-]{10,}"),
    re.compile(r"AIza[0-9A-Za-z_-]{35}"),
    re.compile(r"xai-[A-Za-z0-9_-]{10,}"),
    re.compile(r"qf_[A-Za-z0-9]{8}_[A-Za-z0-9]{20,}"),
    re.compile(r"(?i)(bearer\s+)[^\s\"',]+"),
    re.compile(r"(?i)([?&](?:key|api_key|apikey|token|access_token)=)[^&\s\"']+"),
    re.compile(r"(?i)((?:x-api-key|x-goog-api-key|xi-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',]+"),
]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret value and every key-shaped token masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    for pattern in PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks key-shaped tokens in every record that reaches the handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # A traceback carries exception messages, which may quote a key: format it here,
        # masked, so the handler prints this text instead of formatting it again.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
