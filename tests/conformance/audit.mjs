// Runs graphql-http's GraphQL-over-HTTP server audits against a running server:
//   node tests/conformance/audit.mjs http://127.0.0.1:8080/graphql
// Prints each audit that did not pass, then the counts per MUST/SHOULD/MAY; exits 1 when a
// MUST or SHOULD audit failed.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}

const levels = { MUST: [0, 0], SHOULD: [0, 0], MAY: [0, 0] };
for (const audit of serverAudits({ url })) {
  const level = audit.name.split(' ')[0];
  let result;
  try {
    result = await audit.fn();
  } catch (e) {
    result = { status: 'error', reason: String(e?.cause ?? e) };
  }
  const counts = levels[level] ?? (levels[level] = [0, 0]);
  counts[1] += 1;
  if (result.status === 'ok') {
    counts[0] += 1;
  } else {
    console.log(`${result.status}: ${audit.id} ${audit.name}`);
    console.log(`    ${result.reason}`);
  }
}

const summary = Object.entries(levels).map(([level, [ok, all]]) => `${level} ${ok}/${all}`);
console.log(`audit summary: ${summary.join(' ')}`);
const failed = ['MUST', 'SHOULD'].some((level) => levels[level][0] < levels[level][1]);
process.exit(failed ? 1 : 0);
