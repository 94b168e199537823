// The playground: sends the form to /api/personas/<slug>/generate with the staff session and
// shows the reply as it streams in. Upstream text only ever goes in as text nodes; the form
// still posts to the page itself when this script does not run.
"use strict";

(function () {
  const form = document.getElementById("playground-form");
  const panel = document.getElementById("playground-result");
  if (!form || !panel || !window.fetch || !window.TextDecoder) return;

  // Which form input shows an API error about `field`.
  const INPUTS = {
    prompt: "prompt", messages: "prompt", task: "task", override: "override",
    "params.temperature": "temperature", "params.max_tokens": "max_tokens",
  };

  function slot(root, name) {
    return root.querySelector('[data-slot="' + name + '"]');
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function dash(value) {
    return value === null || value === undefined ? "–" : String(value);
  }

  function clear() {
    slot(panel, "output").replaceChildren();
    slot(panel, "output").classList.add("hidden");
    slot(panel, "attempts-table").classList.add("hidden");
    slot(panel, "error").replaceChildren();
    slot(panel, "error").classList.add("hidden");
    slot(form, "form-errors").classList.add("hidden");
    slot(panel, "attempts").replaceChildren();
    slot(panel, "request").textContent = "";
    slot(panel, "summary").classList.add("hidden");
    slot(form, "form-errors").replaceChildren();
    form.querySelectorAll("[aria-invalid]").forEach(function (input) {
      input.removeAttribute("aria-invalid");
    });
    form.querySelectorAll(".error[data-from-api]").forEach(function (note) { note.remove(); });
    panel.classList.remove("hidden");
  }

  function statusClass(status) {
    if (status === "ok") return "ok";
    if (status === "ok_after_fallback") return "ok_fallback";
    return "failed";
  }

  function showAttempts(attempts) {
    const body = slot(panel, "attempts");
    body.replaceChildren();
    (attempts || []).forEach(function (attempt) {
      const row = document.createElement("tr");
      row.dataset.model = attempt.model;
      const model = element("td");
      model.appendChild(element("code", attempt.model));
      const outcome = element("td");
      outcome.appendChild(element("span", attempt.outcome, "badge " + (attempt.outcome === "ok" ? "ok" : "bad")));
      const latency = attempt.latency_ms === null || attempt.latency_ms === undefined ? "–" : attempt.latency_ms + " ms";
      row.append(
        element("td", attempt.position, "num"), model, outcome,
        element("td", dash(attempt.http_status), "num"), element("td", latency, "num"), element("td", "")
      );
      body.appendChild(row);
    });
    slot(panel, "attempts-table").classList.toggle("hidden", !body.rows.length);
  }

  // The API leaves upstream error texts out of a generation's reply; a staff session reads
  // them, secrets removed, from the usage record.
  function showErrorTexts(requestId, attempts) {
    if (!requestId || !(attempts || []).some(function (a) { return a.outcome !== "ok"; })) return;
    fetch(form.dataset.usage + encodeURIComponent(requestId), {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (detail) {
      if (!detail) return;
      const rows = slot(panel, "attempts").rows;
      (detail.attempts || []).forEach(function (attempt, index) {
        if (rows[index] && attempt.error_text) rows[index].cells[5].textContent = attempt.error_text;
      });
    }).catch(function () { /* the summary stands without them */ });
  }

  // Text arrives in pieces: each one is a text node, never markup.
  function appendText(text) {
    const out = slot(panel, "output");
    out.appendChild(document.createTextNode(text));
    out.classList.remove("hidden");
  }

  function showMedia(output) {
    if (!output || !output.data_base64) return;
    const kind = (output.mime_type || "").split("/")[0];
    const source = "data:" + output.mime_type + ";base64," + output.data_base64;
    const out = slot(panel, "output");
    out.classList.remove("hidden");
    if (kind === "image") {
      const image = element("img");
      image.alt = "The generated image";
      image.src = source;
      out.appendChild(image);
    } else if (kind === "audio") {
      const audio = element("audio");
      audio.controls = true;
      audio.src = source;
      out.appendChild(audio);
    } else {
      out.appendChild(element("span", "A " + output.mime_type + " reply (not shown)", "muted"));
    }
  }

  function showGeneration(body) {
    if (body.output && body.output.text) appendText(body.output.text);
    showMedia(body.output);
    slot(panel, "served").textContent = body.served.model;
    slot(panel, "level").textContent = body.served.level;
    const status = slot(panel, "status");
    status.textContent = body.status;
    status.className = "badge " + statusClass(body.status);
    const usage = body.usage || {};
    slot(panel, "tokens").textContent = dash(usage.tokens_in) + " / " + dash(usage.tokens_out);
    slot(panel, "estimated").textContent = usage.estimated ? "estimated" : "";
    slot(panel, "cost").textContent = body.cost === null ? "unknown" : body.cost;
    slot(panel, "latency").textContent = body.latency_ms + " ms";
    slot(panel, "request").textContent = body.request_id;
    slot(panel, "summary").classList.remove("hidden");
    showAttempts(body.attempts);
    showErrorTexts(body.request_id, body.attempts);
  }

  function markInput(field, message) {
    const name = INPUTS[field];
    const input = name && form.elements[name];
    if (!input || !input.parentNode) return false;
    input.setAttribute("aria-invalid", "true");
    const note = element("span", message, "error");
    note.dataset.fromApi = "";
    input.insertAdjacentElement("afterend", note);
    return true;
  }

  function showError(error, generation) {
    const box = slot(panel, "error");
    const problems = error.errors && error.errors.length ? error.errors : [{ field: error.field, message: error.message }];
    problems.forEach(function (problem) {
      if (!markInput(problem.field, problem.message)) {
        const where = problem.field ? " (" + problem.field + ")" : "";
        box.appendChild(element("p", problem.message + where, "error"));
      }
    });
    if (!box.childElementCount) box.appendChild(element("p", error.message, "error"));
    box.classList.remove("hidden");
    if (generation) {
      showGeneration(generation);
    } else {
      slot(panel, "request").textContent = error.request_id || "";
      showAttempts(error.attempts);
      showErrorTexts(error.request_id, error.attempts);
    }
  }

  // One server-sent event: "event: name" and "data: json" lines; comments (": ping") skipped.
  function handleFrame(block, state) {
    let name = "message";
    const data = [];
    block.split("\n").forEach(function (line) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    });
    if (!data.length) return;
    const payload = JSON.parse(data.join("\n"));
    if (name === "delta") {
      appendText(payload.text);
    } else if (name === "done") {
      state.ended = true;
      showGeneration(payload);
    } else if (name === "error") {
      state.ended = true;
      showError(payload.error || {}, payload.generation);
    }
  }

  async function readStream(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const state = { ended: false };
    let buffer = "";
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      // A frame may arrive in pieces, or several in one chunk: cut on the blank line.
      buffer = (buffer + decoder.decode(chunk.value, { stream: true })).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        handleFrame(buffer.slice(0, cut), state);
        buffer = buffer.slice(cut + 2);
      }
    }
    if (buffer.trim()) handleFrame(buffer, state);
    if (!state.ended) showError({ message: "The stream ended before the reply was complete." });
  }

  function requestBody() {
    const data = new FormData(form);
    const body = { prompt: data.get("prompt"), params: {}, stream: data.get("stream") === "on" };
    if (data.get("task")) body.task = data.get("task");
    if (data.get("override")) body.override = [data.get("override")];
    if (data.get("temperature")) body.params.temperature = Number(data.get("temperature"));
    if (data.get("max_tokens")) body.params.max_tokens = Number(data.get("max_tokens"));
    return body;
  }

  async function run() {
    const button = form.querySelector('button[type="submit"]');
    const state = slot(form, "state");
    const body = requestBody();
    button.disabled = true;
    state.textContent = body.stream ? "Streaming…" : "Running…";
    clear();
    try {
      const response = await fetch(form.dataset.api, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: body.stream ? "text/event-stream" : "application/json",
          "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
        },
        body: JSON.stringify(body),
      });
      const type = response.headers.get("Content-Type") || "";
      if (response.ok && type.startsWith("text/event-stream")) {
        await readStream(response);
      } else {
        let reply = null;
        try { reply = await response.json(); } catch (ignored) { reply = null; }
        if (response.ok && reply) showGeneration(reply);
        else showError((reply && reply.error) || { message: "The server answered " + response.status + "." });
      }
    } catch (failure) {
      showError({ message: "The request failed: " + failure.message });
    } finally {
      button.disabled = false;
      state.textContent = "";
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });
})();
