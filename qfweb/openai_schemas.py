"""Request bodies of the OpenAI-compatible API (/v1/), as the stock `openai` SDK sends them.

Fields qfweb does not honour are refused by name rather than ignored (tools, logprobs, n > 1
...), and so are `api_base`, `base_url` and `api_key`: an upstream address or key never comes
from a request (LiteLLM CVE-2024-6587).
"""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field


class TextPart(Schema):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text"]
    text: str


class ChatMessage(Schema):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] = Field(description="Text, or text parts.")
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(Schema):
    model_config = ConfigDict(extra="forbid")

    include_usage: bool = False


class ChatCompletionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(max_length=300, description="persona:<slug>, task:<name> or provider:model")
    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    reasoning_effort: str | None = None
    n: Literal[1] | None = None
    user: str | None = Field(None, max_length=256, description="Accepted and ignored.")

    def params(self) -> dict[str, Any]:
        params = {
            name: getattr(self, name)
            for name in ("temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "reasoning_effort")
            if getattr(self, name) is not None
        }
        max_tokens = self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        return params


class ImageIn(Schema):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(max_length=300)
    prompt: str = Field(min_length=1, max_length=32_000)
    n: Literal[1] | None = None
    size: str | None = Field(None, pattern=r"^\d{2,4}x\d{2,4}$", description="WIDTHxHEIGHT")
    quality: str | None = Field(None, max_length=20)
    style: str | None = Field(None, max_length=40)
    response_format: Literal["b64_json", "url"] | None = Field(None, description="url gives a data: URL.")
    user: str | None = Field(None, max_length=256)

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {k: v for k, v in (("quality", self.quality), ("style", self.style)) if v}
        if self.size:
            width, _, height = self.size.partition("x")
            params.update(width=int(width), height=int(height))
        return params


class SpeechIn(Schema):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(max_length=300)
    input: str = Field(min_length=1, max_length=4096)
    voice: str | None = Field(None, max_length=100)
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] | None = None
    speed: float | None = None
    instructions: str | None = Field(None, max_length=4096, description="Accepted and ignored.")

    def params(self) -> dict[str, Any]:
        named = (("voice", self.voice), ("format", self.response_format), ("speed", self.speed))
        return {k: v for k, v in named if v is not None}


class ModelOut(Schema):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelListOut(Schema):
    object: Literal["list"] = "list"
    data: list[ModelOut]
