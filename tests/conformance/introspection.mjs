// Introspects a running server as codegen tools do (graphql-js's getIntrospectionQuery with every
// option) and checks that the schema it rebuilds is the committed schema.graphql:
//   node tests/conformance/introspection.mjs http://127.0.0.1:8080/graphql
// Exits 1, with the first differing lines, when they differ or the query is refused.
import { readFileSync } from 'node:fs';
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
} from 'graphql';

const url = process.argv[2];
if (!url) {
  console.error('usage: node introspection.mjs URL');
  process.exit(2);
}

const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});
const res = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
  body: JSON.stringify({ query }),
});
const text = await res.text();
let answer;
try {
  answer = JSON.parse(text);
} catch {
  answer = {};
}
if (res.status !== 200 || answer.errors || !answer.data) {
  console.log(`introspection refused: HTTP ${res.status} ${text.slice(0, 500)}`);
  process.exit(1);
}

// async-graphql 7.2 answers `__Schema.description` with a fixed sentence about __Schema itself,
// not the schema's description (it has none): left out, as its SDL leaves it out.
if (answer.data.__schema.description?.startsWith('A GraphQL Schema defines the capabilities')) {
  answer.data.__schema.description = null;
}

const print = (schema) => printSchema(lexicographicSortSchema(schema));
const served = print(buildClientSchema(answer.data)).split('\n');
const path = new URL('../../schema.graphql', import.meta.url);
const committed = print(buildSchema(readFileSync(path, 'utf8'))).split('\n');

// The first lines where the two part ways, with a little context: enough to see what changed.
const differ = [];
for (let i = 0; i < Math.max(served.length, committed.length) && differ.length < 10; i += 1) {
  if (served[i] !== committed[i]) {
    differ.push(`line ${i + 1}:\n  schema.graphql: ${committed[i] ?? '<end>'}\n  served:         ${served[i] ?? '<end>'}`);
  }
}
if (differ.length > 0) {
  console.log('the introspected schema differs from schema.graphql (sorted, as printed by graphql-js):');
  console.log(differ.join('\n'));
  process.exit(1);
}
console.log(`introspection: the served schema matches schema.graphql (${committed.length} lines)`);
