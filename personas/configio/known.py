"""Provider and capability names the source documents use, and what qfweb makes of them.

When a file names a provider the store does not have yet and gives no kind, these say which
wire API it speaks, its usual endpoint and credential variable, and the aliases that let the
other documents' handles (`google:`, `x:`, `local:`) find it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routing.providers import KINDS


@dataclass(frozen=True)
class KnownProvider:
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    base_url: str = ""  # empty: the kind's default
    credential_env: str = ""

    def defaults(self) -> dict[str, Any]:
        """Fields for creating this provider; the credential is a reference, never a value."""
        fields: dict[str, Any] = {"kind": self.kind, "aliases": list(self.aliases)}
        base_url = self.base_url or KINDS[self.kind].default_base_url
        if base_url:
            fields["base_url"] = base_url
        if self.credential_env:
            fields["credential_ref"] = f"${{{self.credential_env}}}"
        return fields


_GEMINI = KnownProvider("gemini", "gemini", ("google",), credential_env="GEMINI_API_KEY")
_XAI = KnownProvider("xai", "openai", ("x",), "https://api.x.ai/v1", "XAI_API_KEY")
_OLLAMA = KnownProvider("ollama", "ollama", ("local",))

KNOWN_PROVIDERS: dict[str, KnownProvider] = {
    "openai": KnownProvider("openai", "openai", credential_env="OPENAI_API_KEY"),
    "anthropic": KnownProvider("anthropic", "anthropic", credential_env="ANTHROPIC_API_KEY"),
    "gemini": _GEMINI,
    "google": _GEMINI,
    "openrouter": KnownProvider(
        "openrouter",
        "openai",
        base_url="https://openrouter.ai/api/v1",
        credential_env="OPENROUTER_API_KEY",
    ),
    "xai": _XAI,
    "x": _XAI,
    "ollama": _OLLAMA,
    "local": _OLLAMA,
    "dalle": KnownProvider("dalle", "openai_images", credential_env="OPENAI_API_KEY"),
    "a1111": KnownProvider("a1111", "a1111"),
    "elevenlabs": KnownProvider("elevenlabs", "elevenlabs", credential_env="ELEVENLABS_API_KEY"),
    "openai_tts": KnownProvider("openai_tts", "openai_tts", credential_env="OPENAI_API_KEY"),
    "echo": KnownProvider("echo", "echo"),
}

OPERATIONAL_CAPABILITIES = {"inexpensive", "efficient", "premium", "fast", "cheap"}
DOMAIN_CAPABILITIES = {"science", "finance", "legal", "medical"}


def capability_category(name: str) -> str:
    if name in OPERATIONAL_CAPABILITIES:
        return "operational"
    return "domain" if name in DOMAIN_CAPABILITIES else "task"
