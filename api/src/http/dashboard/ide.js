// A query editor for /graphql that needs nothing but this server: the operation is sent as
// typed, the answer shown as text. Subscriptions run over graphql-transport-ws.
"use strict";

const $ = (id) => document.getElementById(id);
let socket = null;

function show(status, value) {
  $("status").textContent = status;
  $("result").textContent = typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function subscribe(token, query, variables) {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  socket = new WebSocket(url, "graphql-transport-ws");
  const events = [];
  $("stop").hidden = false;
  socket.addEventListener("open", () => {
    const payload = token ? { Authorization: `Bearer ${token}` } : {};
    socket.send(JSON.stringify({ type: "connection_init", payload }));
  });
  socket.addEventListener("message", (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "connection_ack") {
      socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
      show("Subscribed: waiting for events.", "");
    } else if (msg.type === "next" || msg.type === "error") {
      events.unshift(msg.payload);
      show(`${events.length} event(s), newest first.`, events);
    } else if (msg.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    }
  });
  socket.addEventListener("close", (event) => {
    $("stop").hidden = true;
    $("status").textContent = `The subscription ended (${event.code}${event.reason ? `: ${event.reason}` : ""}).`;
    socket = null;
  });
}

async function run() {
  if (socket) socket.close();
  const token = $("token").value.trim();
  sessionStorage.setItem("token", token);
  const query = $("query").value;
  let variables;
  try {
    variables = JSON.parse($("variables").value.trim() || "{}");
  } catch (e) {
    show("The variables are not JSON.", e.message);
    return;
  }
  if (/^\s*subscription\b/.test(query)) {
    subscribe(token, query, variables);
    return;
  }
  show("Running…", "");
  const headers = { "content-type": "application/json", accept: "application/graphql-response+json" };
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    const res = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    const text = await res.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // shown as it came
    }
    show(`HTTP ${res.status}`, body);
  } catch (e) {
    show("The request failed.", e.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").value = sessionStorage.getItem("token") || "";
  $("run-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  $("query").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  $("stop").addEventListener("click", () => socket && socket.close());
});
