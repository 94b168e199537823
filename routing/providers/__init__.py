"""The wire APIs qfweb speaks. Model field choices, forms and importers derive from here."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderKind:
    label: str
    modalities: tuple[str, ...]
    default_base_url: str  # empty when the kind needs no network endpoint
    needs_credential: bool


KINDS: dict[str, ProviderKind] = {
    "openai": ProviderKind("OpenAI-compatible chat", ("text",), "https://api.openai.com/v1", True),
    "anthropic": ProviderKind("Anthropic Messages", ("text",), "https://api.anthropic.com", True),
    "gemini": ProviderKind(
        "Google Gemini", ("text",), "https://generativelanguage.googleapis.com/v1beta", True
    ),
    "ollama": ProviderKind("Ollama", ("text",), "http://localhost:11434", False),
    "openai_images": ProviderKind("OpenAI images", ("image",), "https://api.openai.com/v1", True),
    "a1111": ProviderKind("Automatic1111", ("image",), "http://localhost:7860", False),
    "openai_tts": ProviderKind("OpenAI speech", ("audio",), "https://api.openai.com/v1", True),
    "elevenlabs": ProviderKind("ElevenLabs", ("audio",), "https://api.elevenlabs.io", True),
    "echo": ProviderKind("Echo (offline)", ("text", "image", "audio"), "", False),
}

KIND_CHOICES = [(kind, spec.label) for kind, spec in KINDS.items()]
