"""A small catalogue on the fault server for the engine tests: providers `a` and `b` of
one wire kind, each with models, and a persona profile over them."""

from __future__ import annotations

from dataclasses import dataclass

from asgiref.sync import sync_to_async

from routing.config import PersonaProfile
from routing.engine import Job
from routing.models import Attempt, Generation
from routing.providers.base import Message
from tests.factories import model, provider

SECRET = "sk-test-0123456789abcdefSECRET"
KEY_VAR = "TEST_PROVIDER_KEY"
# The base URL each wire kind is stored with, relative to the fault server.
BASE_PATHS = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta", "ollama": "",
              "openai_images": "/v1", "a1111": "", "openai_tts": "/v1", "elevenlabs": ""}
MODALITY = {"openai_images": "image", "a1111": "image", "openai_tts": "audio", "elevenlabs": "audio"}


@dataclass
class Catalogue:
    url: str

    def provider(self, name: str, kind: str = "openai", *, url: str | None = None, **fields):
        return provider(
            name=name, kind=kind, base_url=(url or self.url) + BASE_PATHS[kind],
            allow_private_network=True, credential_ref="${%s}" % KEY_VAR, **fields,
        )


def build(fault_url: str, kind: str = "openai", *, a_url: str | None = None, **model_fields):
    """Providers a (gpt-a) and b (gpt-b, gpt-c) of `kind`; prices 2.5 and 10 per 1M."""
    catalogue = Catalogue(fault_url)
    a = catalogue.provider("a", kind, url=a_url)
    b = catalogue.provider("b", kind)
    modality = MODALITY.get(kind, "text")
    fields = {"modality": modality, "max_retries": 0, "input_price": "2.5", "output_price": "10", **model_fields}
    return {
        "a": a, "b": b,
        "gpt-a": model(a, "gpt-a", **fields),
        "gpt-b": model(b, "gpt-b", **fields),
        "gpt-c": model(b, "gpt-c", **fields),
    }


def job(*handles: str, prompt: str = "Say hello", modality: str = "text", **fields) -> Job:
    """A request for a persona whose model is the first handle, with the rest as fallbacks."""
    persona = PersonaProfile(slug="p", modality=modality, model=handles[0], fallbacks=tuple(handles[1:]))
    return Job(messages=(Message("user", prompt),), persona=persona, **fields)


@sync_to_async
def rows(request_id: str) -> tuple[Generation, list[Attempt]]:
    generation = Generation.objects.get(request_id=request_id)
    return generation, list(generation.attempts.order_by("position"))


def outcomes(attempts: list[Attempt]) -> list[tuple[str, str]]:
    return [(a.model_handle, a.outcome) for a in attempts]
