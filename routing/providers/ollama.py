"""Ollama's native chat API (NDJSON streams, sampling parameters under `options`).
https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from routing.providers.adapter import Adapter, Post
from routing.providers.base import Call, Completion, Delta, StreamEvent
from routing.providers.failures import bad_response, event_error
from routing.providers.listing import names
from routing.providers.wire import Tally, count, dig, finish, json_lines, opt, parse_json


class OllamaAdapter(Adapter):
    kind = "ollama"
    streams = True
    param_names = {  # all under `options`
        "temperature": "temperature",
        "max_tokens": "num_predict",
        "top_p": "top_p",
        "top_k": "top_k",
        "stop": "stop",
        "seed": "seed",
        "presence_penalty": "presence_penalty",
        "frequency_penalty": "frequency_penalty",
    }
    list_params = frozenset({"stop"})

    def body(self, call: Call, *, stream: bool) -> dict[str, Any]:
        messages = [{"role": m.role, "content": m.content} for m in call.messages]
        # Ollama streams unless told not to, so `stream` is always sent.
        body: dict[str, Any] = {"model": call.model, "messages": messages, "stream": stream}
        custom = self.custom_params(call)
        # Our parameters go in `options`; `custom` keys go to the top level (keep_alive,
        # format, think), except custom options, which are merged into ours.
        extra = custom.pop("options", None)
        options = {**self.mapped_params(call), **(extra if isinstance(extra, dict) else {})}
        if options:
            body["options"] = options
        body.update(custom)
        return body

    def generation(self, call: Call) -> Post:
        return Post(f"{self.base_url}/api/chat", self.body(call, stream=False))

    async def probe(self, call: Call) -> frozenset[str] | None:
        """The local models of GET /api/tags, each also without its default tag ":latest",
        which a request may leave out.
        https://github.com/ollama/ollama/blob/main/docs/api.md#list-local-models"""
        secret = self.secrets(call)
        response = await self.fetch(call, f"{self.base_url}/api/tags")
        found = names(opt(parse_json(response, secret), "models"), "name", secret)
        return frozenset(found) | {name.removesuffix(":latest") for name in found}

    async def complete(self, call: Call) -> Completion:
        secret = self.secrets(call)
        post = self.generation(call)
        response = await self.send(call, post.url, json_body=post.body)
        data = parse_json(response, secret)
        content = dig(data, "message", "content", secret=secret)
        return Completion(
            text=content if isinstance(content, str) else "",
            tokens_in=count(opt(data, "prompt_eval_count")),  # absent when the prompt was cached
            tokens_out=count(opt(data, "eval_count")),
            finish_reason=finish(opt(data, "done_reason"), {}),
        )

    async def stream(self, call: Call) -> AsyncIterator[StreamEvent]:
        secret = self.secrets(call)
        url = f"{self.base_url}/api/chat"
        async with self.open_stream(call, url, json_body=self.body(call, stream=True)) as response:
            async for item in json_lines(response, secret):
                if error := opt(item, "error"):  # the runner failed after the 200
                    raise event_error(error, secret)  # a string: a server error
                content = opt(item, "message", "content")
                if content and isinstance(content, str):
                    yield Delta(content)
                if opt(item, "done") is True:
                    yield Tally(
                        tokens_in=count(opt(item, "prompt_eval_count")),
                        tokens_out=count(opt(item, "eval_count")),
                        finish_reason=finish(opt(item, "done_reason"), {}),
                    ).info()
                    return
        raise bad_response("stream ended early (no done: true)", secret)
