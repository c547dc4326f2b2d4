/**
 * SDK-HMAC-SHA256: the two go-v3 signer vectors from the reference, the canonical-request rules,
 * and the verifier's refusals (window, unknown AK, project, unsigned date, tampered body).
 */
import { test } from 'node:test';
import { createHash, createHmac } from 'node:crypto';
import assert from 'node:assert/strict';
import { canonicalQuery, canonicalRequest, canonicalUri, formatSdkDate, sign } from '../../src/api/auth/sdk-hmac.js';
import { Authenticator } from '../../src/api/auth/authenticate.js';
import { FerryError } from '../../src/errors/ferry-error.js';

const DATE = '20060102T150405Z';
const H = { 'X-Sdk-Date': DATE, host: 'example.huaweicloud.com' };

test('go-v3 vector 1: GET /path?limit=1, empty body', () => {
  const sig = sign({ method: 'GET', url: '/path?limit=1', headers: H, signedHeaders: ['x-sdk-date'], body: Buffer.alloc(0) }, 'SecretKey', DATE);
  assert.equal(sig, '5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624');
});

test('go-v3 vector 2: POST /path?key=value, body with a trailing newline (raw bytes hashed)', () => {
  const inp = { method: 'POST', url: '/path?key=value', headers: H, signedHeaders: ['x-sdk-date'] };
  const withNl = sign({ ...inp, body: Buffer.from('{"Name":"test","Id":1}\n') }, 'SecretKey', DATE);
  assert.equal(withNl, 'cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59');
  const without = sign({ ...inp, body: Buffer.from('{"Name":"test","Id":1}') }, 'SecretKey', DATE);
  assert.notEqual(without, withNl);
});

test('canonical request: trailing slash, sorted escaped query, header block, payload hash', () => {
  assert.equal(canonicalUri('/v2/p1/migration-task'), '/v2/p1/migration-task/');
  assert.equal(canonicalUri('/v2/p1/'), '/v2/p1/');
  assert.equal(canonicalUri('/a%20b/c'), '/a%20b/c/');
  assert.equal(canonicalQuery('b=2&a=x y&a=1'), 'a=1&a=x%20y&b=2');
  assert.equal(canonicalQuery("name=it's(1)*"), 'name=it%27s%281%29%2A');
  assert.equal(canonicalQuery(''), '');
  const c = canonicalRequest({ method: 'get', url: '/app1', headers: { Host: 'test.com', 'X-Sdk-Date': '20190126T033427Z' }, signedHeaders: ['host', 'x-sdk-date'], body: Buffer.alloc(0) });
  assert.equal(c, 'GET\n/app1/\n\nhost:test.com\nx-sdk-date:20190126T033427Z\n\nhost;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const unsigned = canonicalRequest({ method: 'PUT', url: '/x', headers: { 'x-sdk-content-sha256': 'UNSIGNED-PAYLOAD' }, signedHeaders: [], body: Buffer.from('zz') });
  assert.ok(unsigned.endsWith('\nUNSIGNED-PAYLOAD'));
});

const NOW = Date.UTC(2026, 10, 27, 1, 0, 0);
const projects = [
  { id: 'pa', tokens: ['token-of-project-a'], credentials: [{ ak: 'AKA', sk: 'secret-a' }] },
  { id: 'pb', tokens: ['token-of-project-b'], credentials: [{ ak: 'AKB', sk: 'secret-b' }] },
];
const auth = new Authenticator(projects, () => NOW);

function signed(opts: { ak?: string; sk?: string; project?: string; date?: number; body?: string; url?: string; headers?: Record<string, string>; signedHeaders?: string[]; xProject?: string }) {
  const date = formatSdkDate(opts.date ?? NOW);
  const url = opts.url ?? `/v2/${opts.project ?? 'pa'}/migration-task`;
  const headers: Record<string, string> = { host: '127.0.0.1:8080', 'content-type': 'application/json', 'x-sdk-date': date, ...(opts.xProject === undefined ? { 'x-project-id': opts.project ?? 'pa' } : opts.xProject ? { 'x-project-id': opts.xProject } : {}), ...opts.headers };
  const signedHeaders = opts.signedHeaders ?? Object.keys(headers).sort();
  const body = Buffer.from(opts.body ?? '');
  const sig = sign({ method: 'POST', url, headers, signedHeaders, body }, opts.sk ?? 'secret-a', date);
  headers.authorization = `SDK-HMAC-SHA256 Access=${opts.ak ?? 'AKA'}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`;
  return { method: 'POST', url, headers, rawBody: body, projectId: opts.project ?? 'pa' };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FerryError, String(err));
    return `${err.code}:${err.spec.dcs}`;
  }
  return 'accepted';
}

test('AK/SK: a Node-style request verifies; the principal is the path project', () => {
  const p = auth.authenticate(signed({ body: '{"a":1}' }));
  assert.deepEqual([p.projectId, p.kind, p.who], ['pa', 'aksk', 'ak:AKA']);
});

test('AK/SK: Go style (no host signed, body ending in a newline, content-type unsigned) verifies', () => {
  const r = signed({ body: '{"task_name":"abcd"}\n', headers: { 'user-agent': 'huaweicloud-usdk-go/3.0' }, signedHeaders: ['user-agent', 'x-project-id', 'x-sdk-date'] });
  assert.equal(auth.authenticate(r).projectId, 'pa');
  // The same request with the newline stripped by a proxy no longer verifies.
  assert.equal(code(() => auth.authenticate({ ...r, rawBody: Buffer.from('{"task_name":"abcd"}') })), 'AUTH_SIGNATURE:APIGW.0301');
});

test('AK/SK refusals are APIGW.0301 (or DCS.1004 for another project)', () => {
  assert.equal(code(() => auth.authenticate(signed({ date: NOW - 16 * 60_000 }))), 'AUTH_SIGNATURE:APIGW.0301');
  assert.equal(code(() => auth.authenticate(signed({ date: NOW + 16 * 60_000 }))), 'AUTH_SIGNATURE:APIGW.0301');
  assert.equal(code(() => auth.authenticate(signed({ date: NOW - 14 * 60_000 }))), 'accepted');
  assert.equal(code(() => auth.authenticate(signed({ ak: 'NOPE' }))), 'AUTH_SIGNATURE:APIGW.0301');
  assert.equal(code(() => auth.authenticate(signed({ sk: 'wrong' }))), 'AUTH_SIGNATURE:APIGW.0301');
  assert.equal(code(() => auth.authenticate(signed({ signedHeaders: ['host'] }))), 'AUTH_SIGNATURE:APIGW.0301');
  const tampered = signed({ body: '{"a":1}' });
  assert.equal(code(() => auth.authenticate({ ...tampered, rawBody: Buffer.from('{"a":2}') })), 'AUTH_SIGNATURE:APIGW.0301');
  assert.equal(code(() => auth.authenticate({ ...signed({}), headers: { ...signed({}).headers, authorization: 'V11-HMAC-SHA256 Credential=AKA/20260101/r/s' } })), 'AUTH_SIGNATURE:APIGW.0301');
  // X-Project-Id that disagrees with the path.
  assert.equal(code(() => auth.authenticate(signed({ xProject: 'pb' }))), 'AUTH_SIGNATURE:APIGW.0301');
  // A valid key of project A used on project B's path.
  assert.equal(code(() => auth.authenticate(signed({ project: 'pb', xProject: '' }))), 'AUTH_PROJECT_MISMATCH:DCS.1004');
});

test('tokens: missing 1003, unknown 1001, other project 1004', () => {
  const base = { method: 'GET', url: '/v2/pa/migration-tasks', rawBody: Buffer.alloc(0), projectId: 'pa' };
  assert.equal(code(() => auth.authenticate({ ...base, headers: {} })), 'AUTH_TOKEN_MISSING:DCS.1003');
  assert.equal(code(() => auth.authenticate({ ...base, headers: { 'x-auth-token': 'token-of-nobody-at-all' } })), 'AUTH_TOKEN_INVALID:DCS.1001');
  assert.equal(code(() => auth.authenticate({ ...base, headers: { 'x-auth-token': 'token-of-project-b' } })), 'AUTH_PROJECT_MISMATCH:DCS.1004');
  assert.equal(auth.authenticate({ ...base, headers: { 'x-auth-token': 'token-of-project-a' } }).projectId, 'pa');
});

test('Python style: every header signed (host included, values trimmed), query decoded then re-encoded', () => {
  // What python-v3's signer computes for GET /v2/pa/migration-tasks?name=it's (x)&offset=0, written
  // out by hand (sorted query, RFC 3986 escapes, trailing slash, trimmed header values).
  const date = formatSdkDate(NOW);
  const canonical = [
    'GET',
    '/v2/pa/migration-tasks/',
    'name=it%27s%20%28x%29&offset=0',
    `content-type:application/json\nhost:127.0.0.1:8080\nx-project-id:pa\nx-sdk-date:${date}\n`,
    'content-type;host;x-project-id;x-sdk-date',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  ].join('\n');
  const sts = `SDK-HMAC-SHA256\n${date}\n${createHash('sha256').update(canonical).digest('hex')}`;
  const sig = createHmac('sha256', 'secret-a').update(sts).digest('hex');
  // On the wire the client left some characters unescaped and padded a header value.
  const headers = { host: '127.0.0.1:8080', 'content-type': ' application/json ', 'x-project-id': 'pa', 'x-sdk-date': date, authorization: `SDK-HMAC-SHA256 Access=AKA, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=${sig}` };
  const p = auth.authenticate({ method: 'GET', url: "/v2/pa/migration-tasks?offset=0&name=it's%20(x)", headers, rawBody: Buffer.alloc(0), projectId: 'pa' });
  assert.equal(p.projectId, 'pa');
});

test('an AK is locked for 5 minutes after 5 consecutive bad signatures, as the gateway does', () => {
  let now = NOW;
  const a = new Authenticator(projects, () => now);
  const bad = () => {
    const r = signed({ sk: 'wrong', date: now });
    return code(() => a.authenticate(r));
  };
  const good = () => code(() => a.authenticate(signed({ date: now })));
  for (let i = 0; i < 4; i++) assert.equal(bad(), 'AUTH_SIGNATURE:APIGW.0301');
  assert.equal(good(), 'accepted'); // a success resets the count
  for (let i = 0; i < 5; i++) bad();
  assert.equal(good(), 'AUTH_SIGNATURE:APIGW.0301');
  assert.throws(() => a.authenticate(signed({ date: now })), /reach the limit/);
  now += 5 * 60_000 + 1;
  assert.equal(good(), 'accepted');
});
