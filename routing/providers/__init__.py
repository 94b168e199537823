"""The wire APIs qfweb speaks. Model field choices, forms and importers derive from here;
the adapter of each kind is imported the first time it is needed (STYLE B-4)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from routing.providers.adapter import Adapter


@dataclass(frozen=True)
class ProviderKind:
    label: str
    modalities: tuple[str, ...]
    default_base_url: str  # empty when the kind needs no network endpoint
    needs_credential: bool
    adapter: str  # dotted path of its Adapter class


KINDS: dict[str, ProviderKind] = {
    "openai": ProviderKind(
        "OpenAI-compatible chat", ("text",), "https://api.openai.com/v1", True,
        "routing.providers.openai.OpenAIAdapter",
    ),
    "anthropic": ProviderKind(
        "Anthropic Messages", ("text",), "https://api.anthropic.com", True,
        "routing.providers.anthropic.AnthropicAdapter",
    ),
    "gemini": ProviderKind(
        "Google Gemini", ("text",), "https://generativelanguage.googleapis.com/v1beta", True,
        "routing.providers.gemini.GeminiAdapter",
    ),
    "ollama": ProviderKind(
        "Ollama", ("text",), "http://localhost:11434", False, "routing.providers.ollama.OllamaAdapter"
    ),
    "openai_images": ProviderKind(
        "OpenAI images", ("image",), "https://api.openai.com/v1", True,
        "routing.providers.openai_images.OpenAIImagesAdapter",
    ),
    "a1111": ProviderKind(
        "Automatic1111", ("image",), "http://localhost:7860", False, "routing.providers.a1111.A1111Adapter"
    ),
    "openai_tts": ProviderKind(
        "OpenAI speech", ("audio",), "https://api.openai.com/v1", True,
        "routing.providers.openai_tts.OpenAISpeechAdapter",
    ),
    "elevenlabs": ProviderKind(
        "ElevenLabs", ("audio",), "https://api.elevenlabs.io", True,
        "routing.providers.elevenlabs.ElevenLabsAdapter",
    ),
    "echo": ProviderKind(
        "Echo (offline)", ("text", "image", "audio"), "", False, "routing.providers.echo.EchoAdapter"
    ),
}

KIND_CHOICES = [(kind, spec.label) for kind, spec in KINDS.items()]


@cache
def adapter_class(kind: str) -> type[Adapter]:
    module, _, name = KINDS[kind].adapter.rpartition(".")
    return getattr(import_module(module), name)
