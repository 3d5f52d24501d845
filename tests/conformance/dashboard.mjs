// Opens the dashboard in headless Chromium (over the DevTools protocol), signs in with a token,
// and checks what the page shows against the GraphQL answer, and that the page asked nothing
// of any host but the server:
//   node --experimental-websocket tests/conformance/dashboard.mjs BASE_URL TOKEN CHROMIUM
// With SCREENSHOT=FILE it also saves a PNG of the page (README's picture). With SCHOOL_TOKEN and
// JOURNEY (an ENROLLED journey of that school) it moves the journey and waits for the page to
// change without a reload (the progressChanged subscription). With MENTOR_TOKEN (a mentor
// school's lead) and TRUST_TOKEN (a trust lead) it signs in as them too.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, token, chromium] = process.argv.slice(2);
if (!base || !token || !chromium) {
  console.error('usage: node --experimental-websocket dashboard.mjs BASE_URL TOKEN CHROMIUM');
  process.exit(2);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const failures = [];

const profile = mkdtempSync(join(tmpdir(), 'dashboard-'));
const browser = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-port=0',
  `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
const endpoint = await new Promise((resolve, reject) => {
  let seen = '';
  browser.stderr.on('data', (d) => {
    seen += d;
    const m = seen.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) resolve(m[1]);
  });
  setTimeout(() => reject(new Error(`chromium did not start: ${seen}`)), 20000);
});
const port = new URL(endpoint).port;
const target = await (await fetch(`http://127.0.0.1:${port}/json/new?about:blank`, { method: 'PUT' })).json();
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((r) => ws.addEventListener('open', r));
let next = 0;
const pending = new Map();
const requested = [];
ws.addEventListener('message', (event) => {
  const msg = JSON.parse(event.data);
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)(msg);
    pending.delete(msg.id);
  } else if (msg.method === 'Network.requestWillBeSent') {
    requested.push(msg.params.request.url);
  }
});
const send = (method, params = {}) => new Promise((resolve) => {
  next += 1;
  pending.set(next, resolve);
  ws.send(JSON.stringify({ id: next, method, params }));
});
const evaluate = async (expression) => {
  const { result } = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
  return result.result.value;
};

// GraphQL as `who`, and the page signed in as `who` (a fresh tab's storage): `ready`, evaluated
// once the dashboard shows, or null when it never does.
const gql = async (who, query, variables = {}) => (await (await fetch(`${base}/graphql`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${who}` },
  body: JSON.stringify({ query, variables }),
})).json());
const signInAs = async (who, ready) => {
  await evaluate(`sessionStorage.clear(); true`);
  await send('Page.navigate', { url: `${base}/` });
  await sleep(1000);
  await evaluate(`document.getElementById('token').value = ${JSON.stringify(who)};
    document.getElementById('token-form').requestSubmit(); true`);
  let seen = null;
  for (let i = 0; i < 40 && !seen; i += 1) {
    await sleep(250);
    seen = await evaluate(`document.getElementById('dashboard').hidden ? null : (${ready})`);
  }
  return seen;
};

try {
  await send('Network.enable');
  await send('Page.enable');
  const shown = await signInAs(token, `{
      headline: document.getElementById('headline').innerText,
      atRisk: document.querySelectorAll('#at-risk tbody tr').length,
      rows: document.querySelectorAll('#stages tbody tr').length,
      series: [...document.querySelectorAll('#burn-up svg .series')].map((g) => g.dataset.cohort),
      unlabelled: [...document.querySelectorAll('#burn-up svg')].filter((svg) => svg.getAttribute('role') !== 'img'
        || !svg.getAttribute('aria-labelledby').split(' ').every((id) => document.getElementById(id)?.textContent)).length,
      policy: document.getElementById('policy').innerText,
      trusts: document.querySelectorAll('#trust-stages tbody tr').length,
      title: document.getElementById('title').textContent }`);
  if (!shown) {
    failures.push(`the dashboard never showed: ${await evaluate("document.getElementById('error').textContent")}`);
  } else {
    const q = `{ me { partnership { name progress { certified totalSchools atRiskCount aiPolicy { missing } }
      cohorts { name } } } trusts(first: 100) { totalCount } }`;
    const answer = await gql(token, q);
    const p = answer.data.me.partnership;
    if (shown.title !== p.name) failures.push(`title ${shown.title} is not ${p.name}`);
    const certified = `${p.progress.certified} of ${p.progress.totalSchools}`;
    if (!shown.headline.includes(certified)) failures.push(`headline lacks "${certified}": ${shown.headline}`);
    if (shown.atRisk !== Math.min(50, p.progress.atRiskCount)) failures.push(`${shown.atRisk} at-risk rows`);
    if (shown.rows !== p.cohorts.length + 1) failures.push(`${shown.rows} rows of stages for ${p.cohorts.length} cohorts`);
    // The burn-up: one series per cohort, each chart an image with a title and a description.
    const names = p.cohorts.map((c) => c.name);
    if (JSON.stringify(shown.series) !== JSON.stringify(names)) failures.push(`chart series ${shown.series} for cohorts ${names}`);
    if (shown.unlabelled) failures.push(`${shown.unlabelled} charts without an accessible name`);
    if (!shown.policy.includes(`Missing\t${p.progress.aiPolicy.missing}`)) failures.push(`AI policy table: ${shown.policy}`);
    if (shown.trusts === 0 || shown.trusts > answer.data.trusts.totalCount) failures.push(`${shown.trusts} trust rows`);
    else console.log(`the page shows ${names.length} burn-up series, one per cohort, and ${shown.trusts} trusts`);
  }
  if (process.env.SCREENSHOT && shown) {
    await send('Emulation.setDeviceMetricsOverride', { width: 1240, height: 800, deviceScaleFactor: 1, mobile: false });
    const height = await evaluate('document.documentElement.scrollHeight');
    await send('Emulation.setDeviceMetricsOverride', { width: 1240, height, deviceScaleFactor: 1, mobile: false });
    await sleep(300);
    const { result } = await send('Page.captureScreenshot', { format: 'png' });
    writeFileSync(process.env.SCREENSHOT, Buffer.from(result.data, 'base64'));
  }
  // A stage change made through GraphQL reaches the page without a reload.
  if (shown && process.env.SCHOOL_TOKEN && process.env.JOURNEY) {
    const stages = () => evaluate(`document.getElementById('stages').innerText`);
    const before = await stages();
    const move = `mutation($id: ID!) { moveTo(certification: $id, stage: SELF_ASSESSING) { stage } }`;
    const moved = await gql(process.env.SCHOOL_TOKEN, move, { id: process.env.JOURNEY });
    if (moved.errors) failures.push(`the stage change failed: ${JSON.stringify(moved.errors)}`);
    let after = before;
    for (let i = 0; i < 40 && after === before; i += 1) {
      await sleep(250);
      after = await stages();
    }
    if (after === before) failures.push('the page did not change after a stage change');
    else console.log('the page updated live after a stage change');
  }
  // Printed, the page keeps the figures and charts and leaves out the buttons.
  if (shown) {
    await send('Emulation.setEmulatedMedia', { media: 'print' });
    const printed = await evaluate(`({
      hidden: ['sign-out', 'exports'].map((id) => getComputedStyle(document.getElementById(id)).display),
      charts: [...document.querySelectorAll('#burn-up figure')].filter((f) => getComputedStyle(f).display !== 'none').length })`);
    await send('Emulation.setEmulatedMedia', { media: '' });
    if (printed.hidden.some((d) => d !== 'none') || printed.charts !== shown.series.length) {
      failures.push(`printed: ${JSON.stringify(printed)}`);
    } else console.log(`printed, the page keeps its ${printed.charts} charts and leaves out the buttons`);
  }
  // A mentor school's lead sees its mentees; a trust lead its trust (MENTOR_TOKEN, TRUST_TOKEN).
  if (process.env.MENTOR_TOKEN) {
    const rows = await signInAs(process.env.MENTOR_TOKEN, `document.querySelectorAll('#mentees tbody tr').length`);
    const mine = await gql(process.env.MENTOR_TOKEN, '{ me { school { mentees { id } } } }');
    if (!rows || rows !== mine.data.me.school.mentees.length) failures.push(`the mentor saw ${rows} mentees, not ${mine.data.me.school.mentees.length}`);
    else console.log(`a mentor school's lead sees its ${rows} mentees`);
  }
  if (process.env.TRUST_TOKEN) {
    const row = await signInAs(process.env.TRUST_TOKEN, `document.querySelector('#stages tbody tr')?.innerText`);
    const t = (await gql(process.env.TRUST_TOKEN, '{ me { trust { name progress { totalSchools } } } }')).data;
    const total = `\t${t.me.trust.progress.totalSchools}\t`;
    if (!row || !row.includes(total)) failures.push(`the trust lead's stages: ${row}`);
    else console.log(`a trust lead sees ${t.me.trust.name}: ${t.me.trust.progress.totalSchools} schools`);
  }
  // The query editor a browser gets at /graphql runs a query with nothing but this server.
  await send('Page.navigate', { url: `${base}/graphql` });
  await sleep(1000);
  await evaluate(`document.getElementById('token').value = ${JSON.stringify(token)};
    document.getElementById('query').value = '{ me { role } }';
    document.getElementById('run-form').requestSubmit(); true`);
  let edited = '';
  for (let i = 0; i < 40 && !edited.includes('CITY_ADMIN'); i += 1) {
    await sleep(250);
    edited = await evaluate(`document.getElementById('result').textContent`);
  }
  if (!edited.includes('CITY_ADMIN')) failures.push(`the query editor answered: ${edited}`);
  else console.log('the query editor at /graphql ran a query');
  const wsBase = base.replace(/^http/, 'ws');
  const foreign = requested.filter((u) => !u.startsWith(`${base}/`) && !u.startsWith(`${wsBase}/`)
    && !u.startsWith('about:') && !u.startsWith('data:') && !u.startsWith('blob:'));
  if (foreign.length) failures.push(`requests to other hosts: ${foreign.join(', ')}`);
} finally {
  ws.close();
  browser.kill();
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log(`chromium signed in to ${base}/ and showed what the API answers; ${requested.length} requests, all to the server`);
