// The dashboard: a token kept for this tab only, GraphQL queries to this server, and the answers
// written into the page as text and SVG elements (never as HTML). What it shows follows the
// caller's role: a partnership for city admins and partners, a trust for trust leads, the
// mentees for a mentor school's lead.
"use strict";

const ME_QUERY = `query Me { me { role displayName partnership { id } trust { id } school { urn } } }`;

const FIGURES = `fragment Figures on Progress { asOf startsOn certified totalSchools percentCertified
  daysToDeadline deadline onTrack projectedCompletion projectionNote atRiskCount
  atRisk(first: 50) { school { urn name } reason } byStage { stage count }
  aiPolicy { current reviewDue overdue missing } }`;

const PARTNERSHIP_QUERY = `query Partnership($p: ID!, $today: Date!) {
  partnership(id: $p) { id slug name progress { ...Figures }
    cohorts { id name startsOn targetOn progress { certified totalSchools byStage { stage count } } }
    timeline(to: $today) { date byCohort { cohort { id } certified } }
    areaFigures { areaName figures { schools securePercent hiddenBecause } } }
  trusts(first: 100) { nodes { name progress(partnership: $p) { certified totalSchools byStage { stage count } } } } }`;

const TRUST_QUERY = `query Trust($t: ID!) { trust(id: $t) { name progress { ...Figures } } }`;

const MENTOR_QUERY = `query Mentor { me { school { name mentees { mentee { urn name } cohort { name }
  progress { stage daysInStage percentComplete overdueActions blockers } } } } }`;

const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const words = (constant) => constant.charAt(0) + constant.slice(1).toLowerCase().replaceAll("_", " ");

async function graphql(token, query, variables = {}) {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

function fill(tableId, rows) {
  const body = $(tableId).querySelector("tbody");
  body.replaceChildren();
  for (const values of rows) {
    const tr = document.createElement("tr");
    values.forEach((v, i) => {
      const td = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) td.scope = "row";
      td.textContent = v === null || v === undefined ? "" : String(v);
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
}

// A table of groups (all schools, cohorts, trusts) by stage, one column per stage, then the
// group's schools and, where it has one, its target date.
function matrix(tableId, groups) {
  const stages = groups.length ? groups[0].progress.byStage.map((s) => s.stage) : [];
  const targets = groups.some((g) => g.target);
  const head = document.createElement("tr");
  for (const label of ["", ...stages.map(words), "Schools", ...(targets ? ["Target"] : [])]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = label;
    head.appendChild(th);
  }
  $(tableId).querySelector("thead").replaceChildren(head);
  fill(tableId, groups.map((g) => [
    g.name,
    ...g.progress.byStage.map((s) => s.count),
    g.progress.totalSchools,
    ...(targets ? [g.target] : []),
  ]));
}

function figure(label, value, note, className) {
  const div = document.createElement("div");
  const dt = document.createElement("dt");
  const dd = document.createElement("dd");
  dt.textContent = label;
  dd.textContent = value;
  if (className) dd.className = className;
  div.append(dt, dd);
  if (note) {
    const small = document.createElement("dd");
    small.className = "note";
    small.textContent = note;
    div.appendChild(small);
  }
  return div;
}

// The headline, stages, at-risk list and AI policy of `g` (a Progress) for `everyone` (the
// first row of the stage table), then `groups` (cohorts) below it.
function headline(g, everyone, groups = []) {
  $("as-of").textContent = `As of ${g.asOf}`;
  const days = g.daysToDeadline >= 0 ? `in ${g.daysToDeadline} days` : `passed ${-g.daysToDeadline} days ago`;
  $("headline").replaceChildren(
    figure("Certified", `${g.certified} of ${g.totalSchools}`, `${g.percentCertified}%`),
    figure("Deadline", g.deadline, days),
    figure("On track", g.onTrack ? "Yes" : "No", null, g.onTrack ? "on-track" : "off-track"),
    figure("Projected completion", g.projectedCompletion ?? "none yet"),
    figure("Schools at risk", String(g.atRiskCount)),
  );
  $("projection").textContent = g.projectionNote;
  matrix("stages", [{ name: everyone, progress: g, target: g.deadline }, ...groups]);
  fill("at-risk", g.atRisk.map((r) => [r.school.urn, r.school.name, r.reason]));
  const p = g.aiPolicy;
  fill("policy", [["Current", p.current], ["Review due", p.reviewDue], ["Overdue", p.overdue], ["Missing", p.missing]]);
  for (const id of ["goal", "stages-section", "risk-section", "policy-section"]) $(id).hidden = false;
}

function svg(name, attributes = {}, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const day = (iso) => Date.parse(`${iso}T00:00:00Z`) / 86400000;

// One cohort's burn-up: certified schools per week (solid line, a dot on each point) against
// the goal line (dashed) from none at the cohort's start to all of its schools by its target.
// Line styles and the words below the chart carry the meaning, not colour alone.
function burnUp(cohort, points, asOf, n) {
  const total = cohort.progress.totalSchools;
  const series = points.filter((t) => t.date >= cohort.startsOn).map((t) => ({
    date: t.date,
    certified: (t.byCohort.find((c) => c.cohort.id === cohort.id) || { certified: 0 }).certified,
  }));
  // The timeline's points are weekly: the line ends on today's figure.
  if (asOf >= cohort.startsOn && (!series.length || series[series.length - 1].date < asOf)) {
    series.push({ date: asOf, certified: cohort.progress.certified });
  }
  const last = series.length ? series[series.length - 1] : { date: cohort.startsOn, certified: 0 };
  const [w, h, left, right, top, bottom] = [360, 200, 36, 12, 12, 36];
  const x0 = day(cohort.startsOn);
  const x1 = Math.max(day(cohort.targetOn), day(last.date), x0 + 1);
  const yMax = Math.max(total, last.certified, 1);
  const x = (iso) => (left + ((day(iso) - x0) / (x1 - x0)) * (w - left - right)).toFixed(1);
  const y = (v) => (h - bottom - (v / yMax) * (h - top - bottom)).toFixed(1);

  const titleId = `chart-${n}-title`;
  const descId = `chart-${n}-desc`;
  const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-labelledby": `${titleId} ${descId}`, class: "chart" });
  chart.append(
    svg("title", { id: titleId }, `${cohort.name}: burn-up`),
    svg("desc", { id: descId }, `${last.certified} of ${total} schools certified on ${last.date}; goal: all ${total} by ${cohort.targetOn}.`),
    svg("line", { x1: left, y1: y(0), x2: w - right, y2: y(0), class: "axis" }),
    svg("line", { x1: left, y1: y(0), x2: left, y2: top, class: "axis" }),
    svg("text", { x: left - 4, y: y(0), class: "tick", "text-anchor": "end", "dominant-baseline": "middle" }, "0"),
    svg("text", { x: left - 4, y: y(yMax), class: "tick", "text-anchor": "end", "dominant-baseline": "middle" }, String(yMax)),
    svg("text", { x: left, y: h - bottom + 16, class: "tick" }, cohort.startsOn),
    svg("text", { x: x(cohort.targetOn), y: h - bottom + 30, class: "tick", "text-anchor": "middle" }, `target ${cohort.targetOn}`),
    svg("line", { x1: x(cohort.startsOn), y1: y(0), x2: x(cohort.targetOn), y2: y(total), class: "goal" }),
  );
  const line = svg("g", { class: "series", "data-cohort": cohort.name });
  line.append(svg("polyline", { points: series.map((p) => `${x(p.date)},${y(p.certified)}`).join(" "), class: "certified" }));
  for (const p of series) line.append(svg("circle", { cx: x(p.date), cy: y(p.certified), r: 2, class: "point" }));
  chart.append(line);

  const fig = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = `${cohort.name}: ${last.certified} of ${total} certified (solid); goal all ${total} by ${cohort.targetOn} (dashed).`;
  fig.append(chart, caption);
  return fig;
}

async function showPartnership(token, id, role) {
  const today = new Date().toISOString().slice(0, 10);
  const data = await graphql(token, PARTNERSHIP_QUERY + FIGURES, { p: id, today });
  const p = data.partnership;
  $("title").textContent = p.name;
  headline(p.progress, "All member schools", p.cohorts.map((c) => ({ ...c, target: c.targetOn })));
  matrix("trust-stages", data.trusts.nodes.filter((t) => t.progress.totalSchools > 0));
  $("burn-up").replaceChildren(...p.cohorts.map((c, n) => burnUp(c, p.timeline, p.progress.asOf, n)));
  const areas = [...p.areaFigures].sort((a, b) => (a.figures.securePercent ?? 101) - (b.figures.securePercent ?? 101));
  fill("areas", areas.map((a) => [
    a.areaName,
    a.figures.securePercent === null ? `hidden: ${a.figures.hiddenBecause}` : `${a.figures.securePercent.toFixed(1)}%`,
    a.figures.schools,
  ]));
  exports(token, p.slug, role === "CITY_ADMIN");
  for (const part of ["burn-up-section", "areas-section", "trusts-part"]) $(part).hidden = false;
  return p.id;
}

async function showTrust(token, id) {
  const t = (await graphql(token, TRUST_QUERY + FIGURES, { t: id })).trust;
  $("title").textContent = t.name;
  headline(t.progress, "All the trust's schools");
  $("trusts-part").hidden = true;
}

async function showMentees(token) {
  const school = (await graphql(token, MENTOR_QUERY)).me.school;
  $("title").textContent = `${school.name}: mentees`;
  $("as-of").textContent = `As of ${new Date().toISOString().slice(0, 10)}`;
  fill("mentees", school.mentees.map((m) => [
    m.mentee.urn,
    m.mentee.name,
    m.cohort.name,
    m.progress ? (m.progress.stage ? words(m.progress.stage) : "Not enrolled") : "",
    m.progress ? m.progress.daysInStage : "",
    m.progress ? `${m.progress.percentComplete.toFixed(0)}%` : "",
    m.progress ? m.progress.overdueActions : "",
    m.progress ? m.progress.blockers.join("; ") || "nothing" : "",
  ]));
  $("mentees-section").hidden = false;
}

// CSV exports need the token, which a plain link cannot send: fetched, then saved from memory.
function exports(token, slug, admin) {
  const save = (path, name) => async () => {
    const res = await fetch(`${path}?partnership=${encodeURIComponent(slug)}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) {
      $("error").textContent = `The export failed (HTTP ${res.status}).`;
      return;
    }
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await res.blob());
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  $("csv-schools").onclick = save("/reports/schools.csv", `${slug}-schools.csv`);
  $("csv-actions").onclick = save("/reports/actions.csv", `${slug}-actions.csv`);
  $("csv-actions").hidden = !admin;
  $("exports").hidden = false;
}

async function load(token) {
  const me = (await graphql(token, ME_QUERY)).me;
  let partnership = null;
  if (me.partnership) partnership = await showPartnership(token, me.partnership.id, me.role);
  else if (me.trust) await showTrust(token, me.trust.id);
  else if (me.school) await showMentees(token);
  else throw new Error("this sign-in shows no partnership, trust or school");
  $("sign-in").hidden = true;
  $("dashboard").hidden = false;
  if (partnership) listen(token, partnership);
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

// Sign-in through an identity provider ends on this page with the ID token in the fragment
// (never sent to a server); it is kept for this tab and taken out of the address bar.
function signInReturn() {
  const back = new URLSearchParams(location.hash.slice(1));
  if (back.has("id_token")) sessionStorage.setItem("token", back.get("id_token"));
  if (back.has("sign_in_error")) $("error").textContent = `Sign-in failed: ${back.get("sign_in_error")}`;
  if (location.hash) history.replaceState(null, "", location.pathname);
}

async function providers() {
  try {
    const list = await (await fetch("/auth/providers")).json();
    $("provider-list").replaceChildren(...list.map((p) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `/auth/login?provider=${encodeURIComponent(p.id)}`;
      a.textContent = `Sign in with ${p.name}`;
      li.appendChild(a);
      return li;
    }));
    $("providers").hidden = list.length === 0;
  } catch {
    $("providers").hidden = true;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  signInReturn();
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
  providers();
  show();
});
