"""Generation requests and replies under /api/ (issue 5, item 2)."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from routing.choices import Strategy
from routing.schemas import AttemptOut
from routing.schemas.catalog import json_safe

# Characters a message may hold: even written as JSON escapes (12 bytes for a character
# outside the BMP, as a surrogate pair) one such field stays under the default body cap
# (QF_MAX_REQUEST_BYTES, 2.5 MiB), so an over-long field is named (422), not refused whole (413).
MAX_TEXT = 200_000


class MessageIn(Schema):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=MAX_TEXT)


class AskIn(Schema):
    """A prompt or messages, and how to run them. `override` (provider:model handles or
    provider names, tried first) and `params.custom` (sent upstream as it is) need a key with
    the override scope."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_safe(cls, value: Any) -> Any:
        return json_safe(value)

    prompt: str | None = Field(None, max_length=MAX_TEXT, description="The user's message.")
    messages: list[MessageIn] | None = Field(None, description="Instead of prompt: the conversation.")
    system: str | None = Field(None, max_length=MAX_TEXT, description="Instead of the persona's system prompt.")
    params: dict[str, Any] = Field(default_factory=dict, description="temperature, max_tokens, ...: win over every default.")
    override: list[str] = Field(default_factory=list, max_length=20, description="provider:model handles, tried first.")
    strategy: Strategy | None = None
    stream: bool = Field(False, description="Server-sent events: delta events, then done or error.")


class PersonaAskIn(AskIn):
    task: str | None = Field(None, max_length=64, description="Run as this persona for this task ('auto' detects it).")


class GenerateIn(PersonaAskIn):
    persona: str | None = Field(None, max_length=64)


class ResolveQuery(Schema):
    task: str | None = Field(None, max_length=64)
    override: list[str] = Field(default_factory=list, max_length=20)
    input_tokens: int = Field(0, ge=0, le=10_000_000)


class OutputOut(Schema):
    text: str | None
    mime_type: str
    data_base64: str | None = Field(None, description="Image or audio bytes.")
    finish_reason: str | None


class ServedOut(Schema):
    model: str
    provider: str
    level: str


class UsageOut(Schema):
    tokens_in: int | None
    tokens_out: int | None
    images: int
    characters: int
    estimated: bool = Field(description="True when qfweb counted the tokens (the provider reported none).")


class GenerationOut(Schema):
    request_id: str
    status: str
    output: OutputOut
    served: ServedOut
    attempts: list[AttemptOut]
    usage: UsageOut
    cost: str | None = Field(description="USD, an exact decimal.")
    latency_ms: int


class ChainEntryOut(Schema):
    model: str
    level: str
    source: str


class DropOut(Schema):
    model: str = Field(description="The reference as configured (a handle or a provider name).")
    level: str
    reason: str
    detail: str
    source: str


class ResolutionOut(Schema):
    persona: str | None
    task: str | None
    modality: str
    strategy: str
    chain: list[ChainEntryOut]
    dropped: list[DropOut]
    notes: list[str]
