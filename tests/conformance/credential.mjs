// Verifies the demo's Open Badges 3.0 credentials with a JWT library other than the one that
// signed them (panva's jose), fetching the keys only from the server's JWKS:
//   node tests/conformance/credential.mjs http://127.0.0.1:8080 TOKEN
// TOKEN: any token that reads the demo partnership's certificates (a partner's).
// Exits 1 on the first credential that fails, or when the demo has none valid and none expired.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, errors } from 'jose';

const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error('usage: node credential.mjs BASE_URL TOKEN');
  process.exit(2);
}

const query = `{ me { partnership { schools(first: 100) { edges { node { urn certifications {
  stage certificate { number } credential { url jwt } } } } } } } }`;
// `serve` issues the credentials of earlier awards just after it starts: wait for them.
let body;
for (let attempt = 0; attempt < 20; attempt += 1) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  body = await res.json();
  if (body.errors) {
    console.error('the query failed:', JSON.stringify(body.errors));
    process.exit(1);
  }
  const journeys = body.data.me.partnership.schools.edges.flatMap((e) => e.node.certifications);
  if (journeys.every((j) => !j.certificate || j.credential)) break;
  await new Promise((r) => setTimeout(r, 500));
}

const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
const issuer = `${base}/issuer`;
const failures = [];
const fail = (what, why) => failures.push(`${what}: ${why}`);
const nonEmpty = (v) => typeof v === 'string' && v.length > 0;
const hasType = (v, t) => Array.isArray(v.type) ? v.type.includes(t) : v.type === t;
let valid = 0;
let expired = 0;
let revokedCount = 0;
let inForce = null;

for (const { node } of body.data.me.partnership.schools.edges) {
  for (const journey of node.certifications) {
    if (!journey.credential) continue;
    const { url, jwt } = journey.credential;
    const what = `${journey.certificate.number} (${journey.stage})`;
    // The credential's own URL serves the same JWT.
    const served = await (await fetch(url)).text();
    if (served !== jwt) fail(what, `${url} serves another JWT`);
    const header = decodeProtectedHeader(jwt);
    if (header.alg !== 'RS256' || !nonEmpty(header.kid)) fail(what, `header ${JSON.stringify(header)}`);
    let payload;
    try {
      ({ payload } = await jwtVerify(jwt, jwks, { issuer, algorithms: ['RS256'] }));
      valid += 1;
      if (journey.stage === 'CERTIFIED') inForce = journey.certificate.number;
      if (!['CERTIFIED', 'REVOKED'].includes(journey.stage)) fail(what, `verifies although it is ${journey.stage}`);
    } catch (e) {
      if (e instanceof errors.JWTExpired && journey.stage === 'EXPIRED') {
        // Expired, not forged: it verifies as of the day before its `exp`.
        const exp = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url')).exp;
        ({ payload } = await jwtVerify(jwt, jwks, { issuer, algorithms: ['RS256'], currentDate: new Date((exp - 86400) * 1000) }));
        expired += 1;
      } else {
        fail(what, `${e.code ?? e.name}: ${e.message}`);
        continue;
      }
    }
    // What OB 3.0 requires of the credential, its subject, the achievement and the issuer.
    const vc = payload;
    if (vc['@context']?.[0] !== 'https://www.w3.org/ns/credentials/v2') fail(what, '@context[0]');
    if (!String(vc['@context']?.[1]).startsWith('https://purl.imsglobal.org/spec/ob/v3p0/context-3.0')) fail(what, '@context[1]');
    if (!hasType(vc, 'VerifiableCredential') || !hasType(vc, 'OpenBadgeCredential')) fail(what, 'type');
    if (vc.id !== url || vc.jti !== url) fail(what, 'id and jti are the credential URL');
    if (!nonEmpty(vc.name) || !nonEmpty(vc.validFrom)) fail(what, 'name, validFrom');
    if (typeof vc.nbf !== 'number' || typeof vc.exp !== 'number' || !nonEmpty(vc.validUntil)) fail(what, 'nbf, exp, validUntil');
    if (vc.issuer?.id !== issuer || !hasType(vc.issuer, 'Profile') || !nonEmpty(vc.issuer?.name)) fail(what, 'issuer profile');
    const subject = vc.credentialSubject ?? {};
    if (!hasType(subject, 'AchievementSubject') || subject.id !== vc.sub || !subject.id.endsWith(`/${node.urn}`)) fail(what, 'subject');
    const a = subject.achievement ?? {};
    if (!nonEmpty(a.id) || !hasType(a, 'Achievement') || !nonEmpty(a.name) || !nonEmpty(a.description) || !nonEmpty(a.criteria?.narrative)) {
      fail(what, 'achievement');
    }
    const al = a.alignment?.[0] ?? {};
    if (!hasType(al, 'Alignment') || !nonEmpty(al.targetName) || !nonEmpty(al.targetUrl)) fail(what, 'alignment');
    const status = vc.credentialStatus ?? {};
    if (status.type !== 'BitstringStatusListEntry' || status.statusPurpose !== 'revocation' || !nonEmpty(status.statusListCredential)) {
      fail(what, 'credentialStatus');
      continue;
    }
    // Revocation, as any verifier finds it: the signed status list's bit for this credential.
    const list = await (await fetch(status.statusListCredential)).text();
    const { payload: listVc } = await jwtVerify(list, jwks, { issuer, algorithms: ['RS256'] });
    const bits = gunzipSync(Buffer.from(listVc.credentialSubject.encodedList.slice(1), 'base64url'));
    const place = Number(status.statusListIndex);
    const revoked = (bits[place >> 3] & (0x80 >> (place & 7))) !== 0;
    if (revoked) revokedCount += 1;
    if (revoked !== (journey.stage === 'REVOKED')) fail(what, `status bit ${place} is ${revoked ? 'set' : 'clear'}`);
  }
}

// With CHROMIUM set (a browser binary), the page of a certificate in force is rendered
// headless: its DOM must say it is valid, and the printable certificate must render too.
if (process.env.CHROMIUM && inForce) {
  const page = `${base}/certificates/${inForce}`;
  const flags = ['--headless', '--no-sandbox', '--disable-gpu'];
  const dom = execFileSync(process.env.CHROMIUM, [...flags, '--dump-dom', page], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (!dom.includes(inForce) || !dom.includes('Valid until') || /<script/i.test(dom)) fail(page, 'the browser shows no valid certificate, or runs a script');
  const shot = join(mkdtempSync(join(tmpdir(), 'certificate-')), 'certificate.png');
  execFileSync(process.env.CHROMIUM, [...flags, `--screenshot=${shot}`, '--window-size=1123,794', `${page}/certificate.svg`], { stdio: 'ignore' });
  if (statSync(shot).size < 10_000) fail(`${page}/certificate.svg`, 'the browser rendered an empty certificate');
  console.log(`${process.env.CHROMIUM} rendered ${page} and its printable certificate`);
}

if (valid === 0 || expired === 0) fail('demo', `${valid} valid and ${expired} expired credentials; expected some of each`);
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log(`jose verified ${valid} unexpired credentials (${revokedCount} revoked by the status list) and ${expired} expired ones against ${base}/.well-known/jwks.json`);
