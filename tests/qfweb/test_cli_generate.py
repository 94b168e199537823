"""`manage.py qf generate`, end to end through the command dispatcher and the real engine:
the offline echo provider of the demo configuration serves, the fault server misbehaves.
`transaction=True`: the engine writes its rows from a worker thread, on its own connection."""

from __future__ import annotations

import io
import json
import re
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from personas.models import Persona
from routing.models import Attempt, Generation, Model
from tests import factories
from tests.fault import closed_port_url, stream

pytestmark = pytest.mark.django_db(transaction=True)


def qf(*args: str) -> str:
    out = io.StringIO()
    call_command("qf", "generate", *args, stdout=out)
    return out.getvalue()


def fails(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        qf(*args)
    return str(caught.value)


@pytest.fixture
def echoes(demo):
    """Personas served by the echo models, so nothing leaves the machine."""
    for slug, name, modality in [
        ("echoer", "echo", "text"),
        ("painter", "echo-image", "image"),
        ("narrator", "echo-speech", "audio"),
    ]:
        model = Model.objects.get(provider__name="echo", name=name)
        Persona.objects.create(slug=slug, model=model, modality=modality)


def lone_persona(monkeypatch, base_url: str) -> None:
    """Persona `lone`, whose only model is `remote:gpt`, OpenAI-compatible at `base_url`
    (without the demo data there is no default model to fall back on)."""
    monkeypatch.setenv("REMOTE_KEY", "sk-test")
    remote = factories.provider(
        "remote", "openai", base_url=base_url, allow_private_network=True,
        credential_ref="${REMOTE_KEY}",
    )
    Persona.objects.create(slug="lone", model=factories.model(remote, "gpt"), modality="text")


# ---- serving ----------------------------------------------------------------------------


@pytest.mark.usefixtures("echoes")
def test_it_prints_the_reply_then_a_summary_and_records_one_generation():
    output = qf("--persona", "echoer", "--prompt", "hello there world")

    generation = Generation.objects.get()
    assert re.fullmatch(
        r"hello there world\n"
        r"\n"
        r"Served by echo:echo \(persona\); status ok\n"
        r"Attempts:\n"
        r"  1\.  echo:echo  ok  -  \d+ ms\n"
        r"Tokens: 3 in, 3 out\n"  # the echo counts words: nothing is estimated
        r"Cost: 0 USD\n"
        r"Latency: \d+ ms\n"
        rf"Request: {generation.request_id.hex}\n",
        output,
    ), output
    assert (generation.persona_slug, generation.status) == ("echoer", "ok")
    assert generation.served_handle == "echo:echo"
    attempts = [(a.position, a.model_handle, a.outcome) for a in Attempt.objects.all()]
    assert attempts == [(1, "echo:echo", "ok")]


@pytest.mark.usefixtures("echoes")
def test_it_streams_the_same_text():
    prompt = "  several words, spaced  out "
    whole = qf("--persona", "echoer", "--prompt", prompt)
    streamed = qf("--persona", "echoer", "--prompt", prompt, "--stream")

    assert streamed.split("\n\n", 1)[0] == whole.split("\n\n", 1)[0] == prompt
    assert "Served by echo:echo (persona); status ok" in streamed
    assert [g.is_streamed for g in Generation.objects.order_by("id")] == [False, True]


@pytest.mark.usefixtures("echoes")
@pytest.mark.parametrize(("persona", "magic"), [("painter", b"\x89PNG"), ("narrator", b"RIFF")])
def test_it_writes_image_and_audio_replies_to_the_output_file(tmp_path, persona, magic):
    path = tmp_path / "reply.bin"

    output = qf("--persona", persona, "--prompt", "a lighthouse at dusk", "--output", str(path))

    assert path.read_bytes().startswith(magic)
    assert output.startswith(f"Wrote {path.stat().st_size} bytes (")
    assert f") to {path}\n\nServed by echo:" in output
    assert Generation.objects.get().status == "ok"


@pytest.mark.usefixtures("echoes")
def test_it_rejects_a_binary_reply_without_output_before_calling():
    assert "use --output FILE" in fails("--persona", "painter", "--prompt", "a lighthouse")
    assert not Generation.objects.exists()


@pytest.mark.usefixtures("echoes")
def test_it_prints_the_whole_result_as_json():
    output = qf("--persona", "echoer", "--prompt", "hi", "--json", "--param", "temperature=0.2")

    result = json.loads(output)
    assert (result["served"], result["level"], result["status"]) == ("echo:echo", "persona", "ok")
    assert (result["output"]["text"], result["output"]["data"], result["cost"]) == ("hi", None, "0")
    assert [(a["handle"], a["outcome"]) for a in result["attempts"]] == [("echo:echo", "ok")]
    assert result["request_id"] == Generation.objects.get().request_id.hex


@pytest.mark.usefixtures("echoes")
def test_it_reads_the_prompt_from_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("from a pipe\n"))

    assert qf("--persona", "echoer", "--stdin").startswith("from a pipe\n\nServed by echo:echo")


# ---- choosing the model ----------------------------------------------------------------


def test_it_serves_the_providers_first_a_bare_name_meaning_its_default_model(demo):
    output = qf("--persona", "scene_smith", "--providers", "echo", "--prompt", "hi")

    assert "Served by echo:echo (override); status ok" in output
    assert Generation.objects.get().requested_override == "echo"


@pytest.mark.parametrize(
    ("providers", "named"),
    [("nosuch", "nosuch cannot serve (unknown: no provider 'nosuch')"),
     ("echo,echo:echo-image", "echo:echo-image cannot serve (wrong_modality")],
)
def test_it_rejects_providers_that_cannot_serve_before_calling(demo, providers, named):
    error = fails("--persona", "scene_smith", "--providers", providers, "--prompt", "hi")

    assert error.startswith(f"--providers: {named}")
    assert not Generation.objects.exists()


@pytest.mark.usefixtures("echoes")
def test_it_requires_capabilities_and_detects_the_task_type():
    output = qf(
        "--persona", "echoer", "--task-type", "auto", "--capabilities", "code:strong,reasoning",
        "--provider-strategy", "cost_optimized", "--prompt", "debug this python function",
    )

    assert "status ok" in output
    assert Generation.objects.get().task_name == "code"


@pytest.mark.parametrize(
    ("option", "error"),
    [
        (["--capabilities", "code:huge"],
         "argument --capabilities: 'code:huge' must be NAME or NAME:STRENGTH (none, basic,"
         + " moderate, strong, exceptional)"),
        (["--capabilities", "code:strong,"], "argument --capabilities: '' must be NAME"),
        (["--param", "temperature"], "argument --param: must be KEY=VALUE, not 'temperature'"),
        (["--providers", "echo,,x"], "argument --providers: must be provider names or handles"),
        (["--task-type", "code"], "argument --task-type: invalid choice: 'code'"),
        (["--task", "response", "--task-type", "auto"],
         "argument --task-type: not allowed with argument --task"),
        (["--stdin"], "argument --stdin: not allowed with argument --prompt"),
        (["--stream", "--json"], "--stream prints text as it arrives; it cannot go with --json"),
    ],
)
def test_it_rejects_malformed_options_naming_them(option, error):
    assert error in fails("--persona", "echoer", "--prompt", "hi", *option)
    assert not Generation.objects.exists()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--capabilities", "code,telepathy"], "--capabilities: unknown capability telepathy"),
        (["--param", "temperature=hot"], "params.temperature: "),  # the engine checks values
        (["--persona", "nobody"], "unknown persona 'nobody'"),
        (["--prompt", " \n"], "the prompt is empty"),
        (["--persona", "painter", "--stream"], "--stream: only text streams; the reply will be"),
    ],
)
@pytest.mark.usefixtures("echoes")
def test_it_rejects_bad_input_before_calling(args, error):
    given = [word for pair in (["--persona", "echoer"], ["--prompt", "hi"]) if pair[0] not in args
             for word in pair]

    assert error in fails(*given, *args)
    assert not Generation.objects.exists()


@pytest.mark.usefixtures("echoes")
def test_it_refuses_a_disabled_persona():
    persona = Persona.objects.get(slug="echoer")
    persona.is_enabled = False
    persona.save()

    assert fails("--persona", "echoer", "--prompt", "hi") == "persona echoer is disabled"


# ---- failing -------------------------------------------------------------------------------


def test_a_failure_reports_the_attempts_and_records_the_generation(monkeypatch):
    lone_persona(monkeypatch, closed_port_url())

    error = fails("--persona", "lone", "--prompt", "hi")

    generation = Generation.objects.get()
    assert error.startswith(
        "every model of the chain failed\nAttempts:\n  1.  remote:gpt  refused  -  "
    )
    assert error.endswith(f"\nRequest: {generation.request_id.hex}")
    assert (generation.status, generation.error_code) == ("failed", "upstream_failed")
    assert [a.outcome for a in generation.attempts.all()] == ["refused"]


def test_a_broken_stream_prints_the_partial_text_then_the_error(monkeypatch, fault):
    fault.program("gpt", stream(chunks=("Once ", "upon ", "a time"), cut_after=2))
    lone_persona(monkeypatch, fault.url + "/v1")
    out = io.StringIO()

    with pytest.raises(CommandError, match="^the stream broke after the text above: bad_resp"):
        call_command("qf", "generate", "--persona", "lone", "--prompt", "hi", "--stream",
                     stdout=out)

    assert out.getvalue().startswith(
        "Once upon \n\nServed by remote:gpt (persona); status failed_mid_stream\nAttempts:\n"
    )
    assert Generation.objects.get().status == "failed_mid_stream"
