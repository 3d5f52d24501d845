// The dashboard: a token kept for this tab only, one GraphQL query to this server, and the
// answer written into the page as text (never as HTML).
"use strict";

const QUERY = `{ me { role partnership { id slug name progress {
  asOf certified totalSchools percentCertified daysToDeadline deadline onTrack projectedCompletion projectionNote
  atRiskCount atRisk(first: 50) { school { urn name } reason } byStage { stage count } }
  cohorts { name targetOn progress { certified totalSchools } } } } }`;

const $ = (id) => document.getElementById(id);

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
}

function fill(tableId, rows) {
  const body = $(tableId).querySelector("tbody");
  body.replaceChildren();
  for (const values of rows) {
    const tr = document.createElement("tr");
    values.forEach((v) => cell(tr, String(v)));
    body.appendChild(tr);
  }
}

function figure(label, value, className) {
  const div = document.createElement("div");
  const dt = document.createElement("dt");
  const dd = document.createElement("dd");
  dt.textContent = label;
  dd.textContent = value;
  if (className) dd.className = className;
  div.append(dt, dd);
  return div;
}

async function load(token) {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join("; "));
  const p = body.data.me.partnership;
  if (!p) throw new Error("this token belongs to no partnership");
  const g = p.progress;
  $("title").textContent = p.name;
  $("as-of").textContent = `As of ${g.asOf}`;
  $("headline").replaceChildren(
    figure("Certified", `${g.certified} of ${g.totalSchools} (${g.percentCertified}%)`),
    figure("Days to the deadline", `${g.daysToDeadline} (${g.deadline})`),
    figure("On track", g.onTrack ? "Yes" : "No", g.onTrack ? "on-track" : "off-track"),
    figure("Projected completion", g.projectedCompletion ?? "none yet"),
    figure("Schools at risk", String(g.atRiskCount)),
  );
  $("projection").textContent = g.projectionNote;
  fill("stages", g.byStage.map((s) => [s.stage, s.count]));
  fill("cohorts", p.cohorts.map((c) => [c.name, c.progress.certified, c.progress.totalSchools, c.targetOn]));
  fill("at-risk", g.atRisk.map((r) => [r.school.urn, r.school.name, r.reason]));
  $("csv").href = `/reports/schools.csv?partnership=${encodeURIComponent(p.slug)}`;
  $("sign-in").hidden = true;
  $("dashboard").hidden = false;
  listen(token, p.id);
}

// Live: the progressChanged subscription (graphql-transport-ws) reloads the page's figures
// after every change in the partnership, without reloading the page.
let socket = null;
function listen(token, partnership) {
  if (socket) return;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  socket = new WebSocket(url, "graphql-transport-ws");
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
  });
  socket.addEventListener("message", (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "connection_ack") {
      socket.send(JSON.stringify({
        id: "progress",
        type: "subscribe",
        payload: { query: "subscription($p: ID!) { progressChanged(partnership: $p) { certified } }", variables: { p: partnership } },
      }));
      $("live").textContent = "Live: updates as schools move on.";
    } else if (msg.type === "next") {
      show();
    } else if (msg.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    }
  });
  socket.addEventListener("close", () => {
    socket = null;
    $("live").textContent = "Not live: reload the page to reconnect.";
  });
}

async function show() {
  const token = sessionStorage.getItem("token");
  if (!token) return;
  try {
    $("error").textContent = "";
    await load(token);
  } catch (e) {
    $("error").textContent = `Could not load the dashboard: ${e.message}`;
    $("sign-in").hidden = false;
    $("dashboard").hidden = true;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("token", $("token").value.trim());
    $("token").value = "";
    show();
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem("token");
    if (socket) socket.close();
    $("dashboard").hidden = true;
    $("sign-in").hidden = false;
  });
  show();
});
