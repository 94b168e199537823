// The dashboard's shared behaviour. Loaded from our own origin: the CSP allows no inline
// script, so pages pass data in json_script blocks and mark elements with data-* attributes.
"use strict";

(function () {
  // Flash messages sent by the server with django-htmx's trigger_client_event("qf:toast").
  function toast(message, level) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement("div");
    item.className = "toast" + (level === "error" ? " error" : "");
    item.setAttribute("role", level === "error" ? "alert" : "status");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 5000);
  }
  document.addEventListener("qf:toast", function (event) {
    toast(event.detail.message, event.detail.level);
  });
  // A failed htmx request (5xx, network) says so instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    toast("The server answered " + event.detail.xhr.status + "; nothing was changed.", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached.", "error");
  });

  // Charts: <canvas data-chart="ID"> reads its spec from the text of element ID:
  // {type: "bar"|"line", labels: [...], datasets: [{label, data}], stacked: bool, unit: "..."}.
  // In a fragment htmx swaps in, the spec must be escaped text in a hidden element (htmx
  // drops every <script> from swapped content, json_script blocks too); a whole page may
  // use json_script.
  const charts = new WeakMap();
  function drawCharts(root) {
    if (typeof window.Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      const spec = JSON.parse(source.textContent);
      if (charts.has(canvas)) charts.get(canvas).destroy();
      charts.set(canvas, new window.Chart(canvas, {
        type: spec.type || "bar",
        data: { labels: spec.labels, datasets: spec.datasets },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { stacked: !!spec.stacked },
            y: { stacked: !!spec.stacked, beginAtZero: true,
                 title: { display: !!spec.unit, text: spec.unit || "" } },
          },
          plugins: { legend: { position: "bottom" } },
        },
      }));
    });
  }
  // htmx.onLoad runs for the page and for every fragment htmx swaps in.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) window.htmx.onLoad(drawCharts);
    else drawCharts(document);
  });
})();
