// SPDX-License-Identifier: Apache-2.0
// Validates agentcore-server's OpenAPI document (tests/openapi/check.sh runs it):
//   node validate.mjs DOCUMENT.json BASE_URL
// Each check prints "ok" or "FAIL"; the last line is "N passed, N failed"; exit 1 on a failure.
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [documentPath, base] = process.argv.slice(2);
const printed = readFileSync(documentPath, 'utf8');
const doc = JSON.parse(printed);
let passed = 0;
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok   ${what}`);
  } else {
    failed++;
    console.log(`FAIL ${what}${detail ? `: ${detail}` : ''}`);
  }
}

// 1. OpenAPI 3.1 validity (the validator dereferences its argument: give it a copy).
try {
  await SwaggerParser.validate(structuredClone(doc));
  check(true, 'swagger-parser: a valid OpenAPI 3.1 document');
} catch (e) {
  check(false, 'swagger-parser: a valid OpenAPI 3.1 document', e.message);
}
check(doc.openapi === '3.1.0', 'openapi is 3.1.0', doc.openapi);
// The validator is not a rubber stamp: copies with a path parameter that is not required
// (against the 3.1 schema) and with a $ref to nowhere are refused.
for (const [what, mutate] of [
  ['an optional path parameter', (d) => {
    d.paths['/channels/{channelId}'].get.parameters[0].required = false;
  }],
  ['a $ref to nowhere', (d) => {
    d.paths['/channels'].get.responses['200'].content['application/json'].schema =
      { $ref: '#/components/schemas/NoSuchSchema' };
  }],
]) {
  const broken = structuredClone(doc);
  mutate(broken);
  try {
    await SwaggerParser.validate(broken);
    check(false, `swagger-parser refuses ${what}`, 'it was accepted');
  } catch {
    check(true, `swagger-parser refuses ${what}`);
  }
}

// 2. The components as ajv schemas: "#/components/schemas/X" becomes "urn:agentcore:X".
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const prefix = '#/components/schemas/';
function rebase(value) {
  if (Array.isArray(value)) return value.map(rebase);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith(prefix)
      ? `urn:agentcore:${v.slice(prefix.length)}`
      : rebase(v);
  }
  return out;
}
for (const [name, schema] of Object.entries(doc.components.schemas)) {
  ajv.addSchema({ ...rebase(schema), $id: `urn:agentcore:${name}` });
}

// 3. Real answers against the document: the status must be documented for the operation, a
// JSON body must validate against that status's schema.
let cookie = '';
async function sample(method, url, template, { body, auth = true, expect } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && cookie) headers.Cookie = cookie;
  const res = await fetch(base + url, {
    method, headers, body: body === undefined ? undefined
      : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const what = `${method} ${url} -> ${res.status}`;
  const op = doc.paths[template]?.[method.toLowerCase()];
  if (!op) return check(false, what, `no operation ${method} ${template} in the document`);
  if (expect !== undefined && res.status !== expect) {
    return check(false, what, `expected ${expect}: ${text.slice(0, 200)}`);
  }
  const response = op.responses[String(res.status)];
  if (!response) return check(false, what, `status not documented for ${template}`);
  const media = response.content?.['application/json'];
  if (!media) return check(true, what);
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    return check(false, what, 'documented as JSON, answered something else');
  }
  const validate = ajv.compile(rebase(media.schema));
  check(validate(json), `${what} matches its schema`, ajv.errorsText(validate.errors));
  return { res, json };
}

const served = await fetch(`${base}/openapi.json`).then((r) => r.text());
check(served.trim() === printed.trim(), 'GET /openapi.json is what --print-openapi prints');

for (const path of ['/health', '/', '/ready', '/focus-types', '/agents', '/api/backends',
  '/v1', '/v1/health', '/v1/capabilities', '/capabilities', '/openapi.json']) {
  await sample('GET', path, path, { expect: 200 });
}
// Errors before logging in: no credentials, unknown routes of dev login's absence are not
// samples (dev mode is on).
await sample('GET', '/channels', '/channels', { expect: 401 });
await sample('GET', '/v1/projects', '/v1/projects', { expect: 401 });
await sample('GET', '/v1/sessions', '/v1/sessions', { expect: 401 });
await sample('POST', '/tymbal/nope', '/tymbal/{channelId}', { body: {}, expect: 401 });

const login = await sample('POST', '/auth/dev/login', '/auth/dev/login',
  { body: { callsign: 'openapi' }, expect: 201 });
cookie = (login?.res?.headers.get('set-cookie') ?? '').split(';')[0];
check(cookie.startsWith('cast_session='), 'dev login sets the session cookie');
await sample('GET', '/auth/me', '/auth/me', { expect: 200 });
await sample('GET', '/api/auth/me', '/api/auth/me', { expect: 200 });
await sample('GET', '/auth/dev/spaces', '/auth/dev/spaces', { expect: 200 });
await sample('GET', '/channels', '/channels', { expect: 200 });
const created = await sample('POST', '/channels', '/channels',
  { body: { name: 'openapi-check', tagline: 'validated' }, expect: 201 });
const id = created?.json?.channel?.id ?? 'missing';
await sample('POST', '/channels', '/channels', { body: { name: 'openapi-check' }, expect: 409 });
await sample('POST', '/channels', '/channels', { body: 'not json', expect: 400 });
await sample('GET', `/channels/${id}`, '/channels/{channelId}', { expect: 200 });
await sample('GET', '/channels/nope', '/channels/{channelId}', { expect: 404 });
await sample('PUT', `/channels/${id}`, '/channels/{channelId}',
  { body: { mission: 'validate' }, expect: 200 });
await sample('PUT', '/channels/nope', '/channels/{channelId}', { body: {}, expect: 200 });
await sample('POST', `/channels/${id}/messages`, '/channels/{channelId}/messages',
  { body: { content: 'hello', sender: 'openapi' }, expect: 201 });
await sample('GET', `/channels/${id}/messages`, '/channels/{channelId}/messages', { expect: 200 });
await sample('GET', `/channels/${id}/messages?limit=x`, '/channels/{channelId}/messages',
  { expect: 400 });
await sample('POST', `/channels/${id}/roster`, '/channels/{channelId}/roster',
  { body: { callsign: 'scribe', agentType: 'engineer' }, expect: 201 });
await sample('GET', `/channels/${id}/roster`, '/channels/{channelId}/roster', { expect: 200 });
await sample('GET', `/channels/${id}/costs`, '/channels/{channelId}/costs', { expect: 200 });
await sample('GET', `/channels/${id}/agents/archived`, '/channels/{channelId}/agents/archived',
  { expect: 200 });
await sample('POST', `/channels/${id}/agents/ghost/pause`,
  '/channels/{channelId}/agents/{callsign}/pause', { expect: 404 });
const project = await sample('POST', '/v1/projects', '/v1/projects',
  { body: { id: 'openapi-project' }, expect: 201 });
await sample('GET', '/v1/projects', '/v1/projects', { expect: 200 });
await sample('GET', `/v1/projects/${project?.json?.id ?? 'missing'}`, '/v1/projects/{projectId}',
  { expect: 200 });
await sample('GET', '/v1/projects/nope', '/v1/projects/{projectId}', { expect: 404 });
await sample('GET', '/v1/sessions', '/v1/sessions', { expect: 200 });
await sample('GET', '/stream', '/stream', { expect: 426 });  // a WebSocket route, not upgraded
await sample('GET', '/api/sessions/nope', '/api/sessions/{id}', { expect: 404 });
await sample('POST', '/api/auth/login', '/api/auth/login',
  { body: { email: 'nobody@example.com', password: 'wrong-password' }, auth: false, expect: 401 });
await sample('POST', '/auth/logout', '/auth/logout', { expect: 200 });

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
