// The console's own script: actions through the API's POST methods, the launch form,
// the graph's zoom and pan, and live updates over server-sent events. No library, no
// request outside this server.
"use strict";

function cookie(name) {
  const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

// every non-GET request carries the CSRF token of the login session (when there is one)
async function send(url, body) {
  const headers = { "content-type": "application/json" };
  const csrf = cookie("wingspan_csrf");
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.message || response.statusText);
    error.data = data;
    throw error;
  }
  return data;
}

function say(text, failed) {
  const place = document.getElementById("action-result");
  if (!place) return;
  place.textContent = text;
  place.className = failed ? "error" : "ok";
}

function consolePath(id) {
  return `/console/projects/${id.project}/domains/${id.domain}/executions/${id.name}`;
}

async function act(button) {
  const page = document.getElementById("execution");
  const id = page ? JSON.parse(page.dataset.id) : null;
  const action = button.dataset.action;
  try {
    if (action === "terminate") {
      await send("/api/v1/TerminateExecution", { id, reason: "terminated from the console" });
      say("termination requested");
    } else if (action === "relaunch" || action === "recover") {
      const method = action === "relaunch" ? "RelaunchExecution" : "RecoverExecution";
      const made = await send(`/api/v1/${method}`, { id });
      window.location.assign(consolePath(made.id));
    } else if (action === "approve" || action === "reject" || action === "signal") {
      const signalId = { executionId: id, signalId: button.dataset.signal };
      let value;
      if (action === "signal") {
        const input = document.querySelector(`input.signal-value[data-signal="${button.dataset.signal}"]`);
        value = JSON.parse(input.value);
      } else {
        value = action === "approve";
      }
      await send("/console/signal", { id: signalId, value });
      say(`${button.dataset.signal}: sent`);
    } else if (action === "lp-state") {
      const want = button.dataset.want;
      await send("/api/v1/UpdateLaunchPlanState", {
        id: JSON.parse(button.dataset.id),
        state: want === "active" ? "LAUNCH_PLAN_STATE_ACTIVE" : "LAUNCH_PLAN_STATE_INACTIVE",
      });
      window.location.reload();
    }
  } catch (error) {
    say(error.message, true);
  }
}

// a chosen file goes to this server's store through the data proxy first; its field then
// sends the stored object's URI
async function upload(form, field) {
  const file = field.files[0];
  const page = JSON.parse(form.dataset.scope);
  const filename = file.name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(-255) || "upload";
  const place = await send("/api/v1/CreateUploadLocation", { project: page.project, domain: page.domain, filename });
  const response = await fetch(place.signedUrl, { method: "PUT", body: file });
  if (!response.ok) throw new Error(`${file.name}: the upload failed (${response.status} ${await response.text()})`);
  return place.nativeUrl;
}

// a Directory's files go to one folder of this server's store, named by a random key chosen
// here (each upload says it); its field then sends the folder's URI. A picked folder's files
// carry its own name first: the Directory is what is inside it.
async function uploadFolder(form, field) {
  const page = JSON.parse(form.dataset.scope);
  const folder = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  let root = "";
  for (const file of field.files) {
    const parts = (file.webkitRelativePath || file.name).split("/");
    if (file.webkitRelativePath && parts.length > 1) parts.shift();
    const filename = parts.map((part) => part.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.{1,2}$/, "_")).join("/");
    const place = await send("/api/v1/CreateUploadLocation",
      { project: page.project, domain: page.domain, filename, folder });
    const response = await fetch(place.signedUrl, { method: "PUT", body: file });
    if (!response.ok) throw new Error(`${file.name}: the upload failed (${response.status} ${await response.text()})`);
    root = place.nativeUrl.slice(0, place.nativeUrl.length - filename.length - 1);
  }
  return root;
}

async function launch(form) {
  for (const place of form.querySelectorAll(".field-error")) place.textContent = "";
  document.getElementById("launch-error").textContent = "";
  const values = {};
  const failed = {};
  for (const field of form.querySelectorAll("input, select, textarea")) {
    if (!field.name) continue;  // a control of the form's own (pick a whole folder)
    if (field.type !== "file") values[field.name] = field.value;
    else if (field.files.length) {
      const put = field.dataset.upload === "folder" ? uploadFolder : upload;
      try { values[field.name] = await put(form, field); } catch (error) { failed[field.name] = error.message; }
    }
  }
  try {
    if (Object.keys(failed).length) {
      const error = new Error("a file could not be uploaded");
      error.data = { fields: failed };
      throw error;
    }
    const made = await send(form.dataset.url, values);
    window.location.assign(made.url);
  } catch (error) {
    const fields = (error.data && error.data.fields) || {};
    for (const [name, text] of Object.entries(fields)) {
      const place = document.getElementById("err-" + name.replaceAll(".", "--"));
      if (place) place.textContent = text;
    }
    document.getElementById("launch-error").textContent = error.message;
  }
}

// through the class attribute: an SVG element's className is no string (the graph's nodes)
function setPhase(element, phase) {
  const kept = (element.getAttribute("class") || "").replace(/phase-[a-z_]+/g, "").trim();
  element.setAttribute("class", `${kept} phase-${phase}`.trim());
}

// the execution's page: the server sends what changed since the page was drawn, coalesced
// (a burst of engine events is one update): the phase, the graph's node phases, the nodes
// table's changed rows (or the whole table once rows came or went), the timeline
function follow(page) {
  const source = new EventSource(page.dataset.live);
  const nodes = document.querySelector("#nodes tbody");
  const updated = () => { page.dataset.updates = String(Number(page.dataset.updates || "0") + 1); };
  source.addEventListener("execution", (message) => {
    const data = JSON.parse(message.data);
    const badge = document.getElementById("phase");
    badge.textContent = data.phase;
    setPhase(badge, data.phase);
    document.getElementById("duration").textContent = data.duration;
    updated();
  });
  source.addEventListener("node", (message) => {
    const data = JSON.parse(message.data);
    for (const g of document.querySelectorAll(`#graph g[data-node="${CSS.escape(data.node)}"]`)) setPhase(g, data.phase);
  });
  source.addEventListener("body", (message) => { nodes.innerHTML = message.data; updated(); });
  source.addEventListener("rows", (message) => {
    for (const [kind, key, html] of JSON.parse(message.data)) {
      const selector = kind === "fold" ? `tr.fold[data-parent="${CSS.escape(key)}"]` : `tr[data-node="${CSS.escape(key)}"]`;
      const row = nodes.querySelector(selector);
      if (row) row.outerHTML = html;
    }
    updated();
  });
  source.addEventListener("ready", () => { page.dataset.following = "1"; });
  source.addEventListener("timeline", (message) => {
    document.getElementById("timeline-body").innerHTML = message.data;
    updated();
  });
  // the stream ends with the execution; the browser would reconnect and replay: stop instead
  source.addEventListener("end", () => source.close());
}

// the first page of the executions list: the server sends its rows again when they change
function followList(table) {
  const source = new EventSource(table.dataset.live);
  source.addEventListener("rows", (message) => {
    table.tBodies[0].innerHTML = message.data;
    table.dataset.updates = String(Number(table.dataset.updates || "0") + 1);
  });
  source.addEventListener("end", () => source.close());
}

// a running attempt's log: new output is appended as it is written, until the attempt ends
function followLog(log) {
  const source = new EventSource(log.dataset.live);
  const state = document.getElementById("log-state");
  source.addEventListener("log", (message) => {
    const follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(JSON.parse(message.data).text);
    if (follow) log.scrollTop = log.scrollHeight;
  });
  // closed on "end" and on a failure: a reconnect would ask from the page's first offset again
  const stop = (text) => { source.close(); log.dataset.ended = "1"; if (state) state.textContent = text; };
  source.addEventListener("end", (message) => {
    const reason = JSON.parse(message.data).reason;
    stop(reason === "ended" ? "the attempt has ended" : reason);
  });
  source.addEventListener("error", () => { if (log.dataset.ended !== "1") stop("the live log stopped; reload the page"); });
}

function zoomAndPan(svg) {
  const box = svg.viewBox.baseVal;
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const scale = event.deltaY > 0 ? 1.15 : 1 / 1.15;
    box.width *= scale;
    box.height *= scale;
  }, { passive: false });
  let dragging = null;
  svg.addEventListener("pointerdown", (event) => { dragging = { x: event.clientX, y: event.clientY }; });
  window.addEventListener("pointerup", () => { dragging = null; });
  svg.addEventListener("pointermove", (event) => {
    if (!dragging) return;
    const ratio = box.width / svg.clientWidth;
    box.x -= (event.clientX - dragging.x) * ratio;
    box.y -= (event.clientY - dragging.y) * ratio;
    dragging = { x: event.clientX, y: event.clientY };
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.action")) button.addEventListener("click", () => act(button));
  const form = document.getElementById("launch");
  if (form) form.addEventListener("submit", (event) => { event.preventDefault(); launch(form); });
  // a Directory's picker takes files, or a whole folder (webkitdirectory) once asked
  for (const box of document.querySelectorAll("input[data-pick-folder]")) {
    box.addEventListener("change", () => { document.getElementById(box.dataset.pickFolder).webkitdirectory = box.checked; });
  }
  const page = document.getElementById("execution");
  if (page && window.EventSource) follow(page);
  const list = document.getElementById("executions");
  if (list && list.dataset.live && window.EventSource) followList(list);
  const log = document.getElementById("log");
  if (log && log.dataset.live && window.EventSource) followLog(log);
  const svg = document.getElementById("graph");
  if (svg) zoomAndPan(svg);
  document.body.dataset.ready = "1";
});
