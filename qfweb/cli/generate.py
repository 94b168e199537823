"""`qf generate`: one generation through the engine, from the command line (source document
002, "CLI Arguments"). Parsing and printing only: the walk, the retries and the usage rows
are `routing.engine` and `routing.streaming`.

Standard output carries the reply and its summary; a failure sends its message and the
attempts to standard error (exit 1), so `qf generate ... > reply.txt` or `--json | jq` never
take a failure report for a reply."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sys
from argparse import ArgumentParser, ArgumentTypeError
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import OutputWrapper

from personas.profiles import profile_get
from qfweb.cli import table
from qfweb.errors import QfError
from routing.config import STRENGTH_NAMES
from routing.engine import GenerationFailed, Job, Result, generate
from routing.pricing import estimate_tokens
from routing.providers.base import Delta, Message
from routing.providers.clients import aclose_all
from routing.recording import AttemptRecord
from routing.resolution import AUTO_TASK, resolve_live, unusable_override
from routing.snapshot import snapshot_get
from routing.strategies import STRATEGIES
from routing.streaming import Broken, Finished, open_stream

generate_help = "Generate a reply for a persona through the engine, and show who served it."


def add_generate_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--persona", required=True, help="the persona's slug")
    task = parser.add_mutually_exclusive_group()
    task.add_argument("--task", help="the task (its models, requirements and parameters)")
    task.add_argument("--task-type", choices=[AUTO_TASK], help="auto: detect it from the prompt")
    prompt = parser.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--prompt", metavar="TEXT", help="the user's message")
    prompt.add_argument("--stdin", action="store_true", help="read the user's message from stdin")
    parser.add_argument("--system", metavar="TEXT", help="instead of the persona's system prompt")
    parser.add_argument(
        "--param", type=_param, action="append", default=[], metavar="KEY=VALUE",
        help="a request parameter; the value is read as JSON when it parses, else as text",
    )
    parser.add_argument(
        "--providers", type=_names, default=(), metavar="A,B",
        help="try these first: provider:model handles or provider names (their default model)",
    )
    parser.add_argument("--provider-strategy", choices=list(STRATEGIES), help="orders each level")
    parser.add_argument(
        "--capabilities", type=_capabilities, metavar="NAME[:STRENGTH],...",
        help=f"required capabilities; strengths {', '.join(STRENGTH_NAMES)} (default basic)",
    )
    parser.add_argument("--stream", action="store_true", help="print the text as it arrives")
    parser.add_argument("--output", metavar="FILE", help="write the reply (text, image, audio)")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")


def run_generate(options: dict[str, Any], out: OutputWrapper) -> None:
    if options["stream"] and (options["json"] or options["output"]):
        raise QfError("--stream prints text as it arrives; it cannot go with --json or --output")
    job = _job(options)
    _check(job, options)
    if options["stream"]:
        _stream(job, out)
        return
    try:
        result = _run(generate, job)
    except GenerationFailed as failed:
        raise _failure(failed) from None
    _show(result, options, out)


def _job(options: dict[str, Any]) -> Job:
    profile = profile_get(options["persona"])
    if not profile.is_enabled:  # the engine would serve it: a disabled persona is ours to refuse
        raise QfError(f"persona {profile.slug} is disabled")
    prompt = sys.stdin.read() if options["stdin"] else options["prompt"]
    if not prompt.strip():
        raise QfError("the prompt is empty")
    system = (Message("system", options["system"]),) if options["system"] else ()
    return Job(
        messages=(*system, Message("user", prompt)),
        persona=profile,
        task=options["task"] or options["task_type"],
        params=dict(options["param"]),
        override=options["providers"],
        strategy=options["provider_strategy"],
        requirements=options["capabilities"],
    )


def _check(job: Job, options: dict[str, Any]) -> None:
    """Refuse, before any call is paid for, what the engine would quietly route around: an
    unknown capability, a --providers model that cannot serve, a binary reply with no file."""
    if unknown := sorted(set(job.requirements or ()) - set(snapshot_get().capabilities)):
        raise QfError(f"unknown capability {', '.join(unknown)}", field="--capabilities")
    prompt = job.messages[-1].content
    resolution = resolve_live(
        persona=job.persona, task=job.task, prompt=prompt, override=job.override,
        strategy=job.strategy, requirements=job.requirements, characters=len(prompt),
        input_tokens=estimate_tokens(prompt), explain_only=True,
    )
    if why := unusable_override(resolution):
        raise QfError(why, field="--providers")
    modality = resolution.modality
    if modality != "text" and options["stream"]:
        raise QfError(f"only text streams; the reply will be {modality}", field="--stream")
    if modality != "text" and not options["output"]:
        raise QfError(f"the reply will be {modality}; use --output FILE to save it")


def _run(function: Any, *args: Any) -> Any:
    """Run on a fresh event loop; the pooled upstream clients belong to it, so they are
    closed before it ends."""

    async def main() -> Any:
        try:
            return await function(*args)
        finally:
            await aclose_all()

    return asyncio.run(main())


def _stream(job: Job, out: OutputWrapper) -> None:
    try:
        end = _run(_relay, job, out)
    except GenerationFailed as failed:  # no content came: nothing was printed yet
        raise _failure(failed) from None
    out.write("")
    _summary(end.result, out)
    if isinstance(end, Broken):
        error = end.error
        raise QfError(f"the stream broke after the text above: {error.category}: {error.message}")


async def _relay(job: Job, out: OutputWrapper) -> Finished | Broken:
    """Print each piece as it comes; return the stream's last event."""
    stream = await open_stream(job)
    end, last = None, "\n"
    async with contextlib.aclosing(stream):
        async for event in stream:
            if isinstance(event, Delta):
                out.write(event.text, ending="")
                out.flush()
                last = event.text
            else:
                end = event
    if not last.endswith("\n"):
        out.write("")
    return end


def _show(result: Result, options: dict[str, Any], out: OutputWrapper) -> None:
    completion, path = result.output, options["output"]
    if path:
        body = completion.data if completion.data is not None else completion.text.encode()
        try:
            Path(path).write_bytes(body)
        except OSError as exc:
            what = f"cannot write {path}: {exc.strerror} (request {result.request_id})"
            raise QfError(what, field="--output") from None
    if options["json"]:
        out.write(_as_json(result, path))
        return
    if path:
        out.write(f"Wrote {len(body)} bytes ({completion.mime_type}) to {path}")
    else:
        out.write(completion.text or "")  # never bytes: _check asked for --output
    out.write("")
    _summary(result, out)


def _summary(result: Result, out: OutputWrapper) -> None:
    estimated = " (estimated)" if result.usage_estimated else ""
    cost = "unknown" if result.cost is None else f"{_plain(result.cost)} USD"
    for line in [
        f"Served by {result.served} ({result.level}); status {result.status}",
        *_attempt_lines(result.attempts),
        f"Tokens: {_dash(result.tokens_in)} in, {_dash(result.tokens_out)} out{estimated}",
        f"Cost: {cost}",
        f"Latency: {result.latency_ms} ms",
        f"Request: {result.request_id}",
        *(f"Warning: {warning}" for warning in result.warnings),
    ]:
        out.write(line)


def _failure(failed: GenerationFailed) -> QfError:
    """The message, what was tried and the request id, all for standard error."""
    lines = [str(failed), *_attempt_lines(failed.attempts), f"Request: {failed.request_id}"]
    return QfError("\n".join(lines), code=failed.code)


def _attempt_lines(attempts: tuple[AttemptRecord, ...]) -> list[str]:
    rows = [
        [f"{a.position}.", a.handle, a.outcome, _dash(a.http_status),
         "-" if a.latency_ms is None else f"{a.latency_ms} ms", a.error_text]
        for a in attempts
    ]
    return ["Attempts:", *(f"  {line}" for line in table(rows))]


def _as_json(result: Result, path: str | None) -> str:
    data = dataclasses.asdict(result)
    data["cost"] = None if result.cost is None else _plain(result.cost)
    output = data["output"]
    output["data"] = None if output["data"] is None else len(output["data"])  # a byte count
    output["file"] = path
    return json.dumps(data, indent=2)


def _dash(number: int | None) -> str:
    return "-" if number is None else str(number)


def _plain(amount: Decimal) -> str:
    return f"{amount.normalize():f}"  # 0.00012500 -> 0.000125, and never the 0E-8 of str()


# ---- argument types: a bad value is an argparse error that names the option -------------


def _param(value: str) -> tuple[str, Any]:
    key, sep, raw = (part.strip() for part in value.partition("="))
    if not sep or not key:
        raise ArgumentTypeError(f"must be KEY=VALUE, not {value!r}")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw  # plain text: --param stop=END needs no JSON quotes


def _names(value: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in value.split(","))
    if not all(names):
        raise ArgumentTypeError(f"must be provider names or handles separated by commas: {value!r}")
    return names


def _capabilities(value: str) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for item in value.split(","):
        name, _, strength = (part.strip() for part in item.partition(":"))
        if not name or strength not in ("", *STRENGTH_NAMES):
            strengths = ", ".join(STRENGTH_NAMES)
            raise ArgumentTypeError(f"{item.strip()!r} must be NAME or NAME:STRENGTH ({strengths})")
        wanted[name] = STRENGTH_NAMES.index(strength or "basic")
    return wanted
