/**
 * `ferry backup` as a user runs it: a password-protected standalone source into a file (loads to the
 * same digest), a 3-master cluster into a folder (one file per master), and a dead source (exit 2,
 * a typed error on stderr, no file).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { importRecords } from '../../src/pipeline/import.js';
import { openInputs } from '../../src/source/index.js';
import { makeEveryTypeRdb, type RdbFixture } from '../helpers/make-rdb.js';
import { digest, startCluster, startRedis } from '../helpers/redis-server.js';

const run = promisify(execFile);
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const ferry = (args: string[]) => run(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 120_000 });

let fx: RdbFixture;
let dir: string;
before(async () => {
  fx = await makeEveryTypeRdb({ dbs: [0] });
  dir = mkdtempSync(join(tmpdir(), 'ferry-backup-cli-'));
});
after(async () => {
  await fx.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('ferry backup of a password-protected standalone Redis writes a file that loads to the same digest', async () => {
  const src = await startRedis({ rdbFile: fx.path, password: 'p w' });
  try {
    const out = join(dir, 'one.rdb');
    const r = await ferry(['backup', '--source', `redis://:${encodeURIComponent('p w')}@127.0.0.1:${src.port}`, '--out', out, '--json']);
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { format: string; files: { out: string; keys: number; bytes: number }[] };
    assert.equal(res.format, 'rdb');
    assert.equal(res.files.length, 1);
    assert.equal(res.files[0]!.out, out);
    assert.ok(res.files[0]!.keys > 10);
    const t = await startRedis({ rdbFile: out });
    try {
      assert.equal(await digest(t.client()), await digest(src.client()));
    } finally {
      await t.stop();
    }
  } finally {
    await src.stop();
  }
});

test('ferry backup of a cluster writes one file per master into the folder; importing them all restores every key', async () => {
  const src = await startCluster(3);
  const dst = await startCluster(3);
  try {
    await importRecords(await openInputs(fx.path), { target: src.url });
    const out = join(dir, 'cluster');
    const r = await ferry(['backup', '--source', src.url, '--out', out, '--format', 'aof']);
    assert.match(r.stderr, /slots 0-5460/);
    const files = readdirSync(out).sort();
    assert.equal(files.length, 3);
    for (const f of files) assert.match(f, /^redis_127\.0\.0\.1_\d+_\d+-\d+_\d{14}\.aof$/);
    await importRecords(await openInputs(files.map((f) => join(out, f))), { target: dst.url });
    const d = async (c: typeof src) => (await Promise.all(c.nodes.map((n) => digest(n.client())))).sort();
    assert.deepEqual(await d(dst), await d(src));
  } finally {
    await src.stop();
    await dst.stop();
  }
});

test('a source that does not answer: exit 2, the error code on stderr, no file', async () => {
  const out = join(dir, 'none.rdb');
  const err = (await ferry(['backup', '--source', 'redis://127.0.0.1:1', '--out', out]).then(() => null, (e: unknown) => e)) as { code: number; stderr: string } | null;
  assert.ok(err);
  assert.equal(err.code, 2);
  assert.match(err.stderr, /^ferry: TARGET_UNREACHABLE: /m);
  assert.ok(!existsSync(out));
  const bad = (await ferry(['backup', '--source', 'redis://127.0.0.1:1', '--out', out, '--format', 'json']).then(() => null, (e: unknown) => e)) as { stderr: string } | null;
  assert.match(bad!.stderr, /BAD_ARGUMENT: --format takes rdb or aof/);
});

test('ferry backup over TLS (rediss://) with a password gives the same digest', async () => {
  const { freePort } = await import('../helpers/free-port.js');
  const { writeFileSync } = await import('node:fs');
  const tls = join(dir, 'tls');
  (await import('node:fs')).mkdirSync(tls);
  const ssl = (args: string[]) => run('openssl', args, { cwd: tls });
  await ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=ferry-test-ca']);
  await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(tls, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
  await ssl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '1', '-extfile', 'ext']);
  const tlsPort = await freePort();
  const src = await startRedis({
    rdbFile: fx.path,
    password: 'tls-pw',
    args: ['--tls-port', String(tlsPort), '--tls-cert-file', join(tls, 'srv.pem'), '--tls-key-file', join(tls, 'srv.key'), '--tls-ca-cert-file', join(tls, 'ca.pem'), '--tls-auth-clients', 'no', '--repl-diskless-sync-delay', '0'],
  });
  try {
    const out = join(dir, 'tls.rdb');
    // The test CA is trusted the way an operator would trust a private CA: NODE_EXTRA_CA_CERTS.
    await run(process.execPath, ['--import', 'tsx', MAIN, 'backup', '--source', `rediss://:tls-pw@127.0.0.1:${tlsPort}`, '--out', out], { timeout: 120_000, env: { ...process.env, NODE_EXTRA_CA_CERTS: join(tls, 'ca.pem') } });
    const t = await startRedis({ rdbFile: out });
    try {
      assert.equal(await digest(t.client()), await digest(src.client()));
    } finally {
      await t.stop();
    }
    // Without trusting the CA the connection is refused, typed, and nothing is written.
    const bad = (await run(process.execPath, ['--import', 'tsx', MAIN, 'backup', '--source', `rediss://:tls-pw@127.0.0.1:${tlsPort}`, '--out', join(dir, 'untrusted.rdb')], { timeout: 120_000 }).then(() => null, (e: unknown) => e)) as { code: number; stderr: string } | null;
    assert.equal(bad?.code, 2);
    assert.match(bad!.stderr, /^ferry: TARGET_UNREACHABLE: .*certificate/m);
    assert.ok(!existsSync(join(dir, 'untrusted.rdb')));
  } finally {
    await src.stop();
  }
});
