/**
 * `rediss://` targets against real TLS redis-servers (TLS port only, `tls-auth-clients yes`), with a
 * CA and certificates made by openssl at test time: `ferry import` (the compiled CLI) gives the same
 * DEBUG DIGEST as a native load, with a password or an ACL user, with the files given as options or
 * FERRY_TLS_* variables; an unverified or unauthenticated session fails clearly; --tls-insecure works
 * and says so. A 3-master TLS cluster is imported over its TLS ports (and over its plaintext ones);
 * a MOVED to a node first met mid-import, the topology refresh and a reconnect all run over TLS;
 * the service's instance TLS files come from the configuration.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { startRedis, startCluster, digest, type RedisServer, type RedisCluster } from '../helpers/redis-server.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { startProxy } from '../helpers/loopback-proxy.js';
import { makeEveryTypeRdb, makeRdbWith, type RdbFixture } from '../helpers/make-rdb.js';
import { rdbInput, diffKeys, keyDigests } from './import-helpers.js';
import { importRecords } from '../../src/pipeline/import.js';
import type { ImportInput } from '../../src/pipeline/types.js';
import { probeTarget } from '../../src/writer/probe.js';
import { targetFromInstance, type TargetSpec } from '../../src/writer/target-spec.js';
import { CLI_TLS_LABELS, loadTargetTls } from '../../src/writer/tls.js';
import { loadConfig } from '../../src/config/load.js';
import { isFerryError } from '../../src/errors/ferry-error.js';

const execFileP = promisify(execFile);
const FERRY = new URL('../../bin/ferry', import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function ferry(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileP(FERRY, args, { timeout: 180_000, maxBuffer: 64 << 20, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let cluster: RedisCluster | undefined;
let clusterClients: Redis[] = [];
let dir: string;
let certs: TestCerts;
let every: RdbFixture;
let server: RedisServer;
let sc: Redis;
let nativeDigest: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-tls-'));
  certs = await makeTestCerts(dir);
  every = await makeEveryTypeRdb();
  const native = await startRedis({ rdbFile: every.path });
  try {
    nativeDigest = await digest(native.client());
  } finally {
    await native.stop();
  }
  server = await startRedis({ tls: { certs } });
  sc = server.client();
});
after(async () => {
  for (const c of clusterClients ?? []) c.disconnect();
  await cluster?.stop();
  await server?.stop();
  await every?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const tlsFiles = (): string[] => ['--tls-ca', certs.ca, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey];

async function fresh(): Promise<void> {
  await sc.flushall();
  await sc.call('FUNCTION', 'FLUSH');
}

async function sameAsNative(): Promise<void> {
  const got = await digest(sc);
  if (got !== nativeDigest) {
    const native = await startRedis({ rdbFile: every.path });
    try {
      assert.fail(`digest differs from a native load: ${(await diffKeys(native.client(), sc)).join('; ')}`);
    } finally {
      await native.stop();
    }
  }
}

test('the test server listens on its TLS port only and asks for client certificates', async () => {
  assert.match(server.url, /^rediss:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(String(await sc.config('GET', 'port').then((r) => (r as string[])[1])), '0');
  assert.equal(String(await sc.config('GET', 'tls-auth-clients').then((r) => (r as string[])[1])), 'yes');
});

test('ferry import into rediss://127.0.0.1 with --tls-ca/--tls-cert/--tls-key: exit 0, same digest as a native load', async () => {
  await fresh();
  const r = await ferry(['import', every.path, '--target', `rediss://127.0.0.1:${server.port}`, ...tlsFiles(), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { keys: number; errors: number };
  assert.equal(s.errors, 0);
  assert.ok(s.keys > 0);
  await sameAsNative();
});

test('an ACL user with a password over TLS, the files from FERRY_TLS_* variables; a wrong password is TARGET_AUTH', async () => {
  await fresh();
  await sc.call('ACL', 'SETUSER', 'importer', 'on', '>s3cret:pw', '~*', '&*', '+@all');
  try {
    const env = { FERRY_TLS_CA: certs.ca, FERRY_TLS_CERT: certs.clientCert, FERRY_TLS_KEY: certs.clientKey };
    const r = await ferry(['import', every.path, '--target', `rediss://importer:${encodeURIComponent('s3cret:pw')}@127.0.0.1:${server.port}`, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    await sameAsNative();
    const bad = await ferry(['import', every.path, '--target', `rediss://importer:wrong@127.0.0.1:${server.port}`], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^ferry: TARGET_AUTH: /m);
  } finally {
    await sc.call('ACL', 'DELUSER', 'importer');
  }
});

test('verification: no CA is a certificate error (exit 2, no key written); --tls-insecure works and says so on stderr', async () => {
  await fresh();
  const bad = await ferry(['import', every.path, '--target', `rediss://127.0.0.1:${server.port}`, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^ferry: TARGET_UNREACHABLE: cannot connect to 127\.0\.0\.1:\d+: TLS certificate not trusted \(self-signed certificate in certificate chain\): give the CA that signed it with --tls-ca/m);
  assert.equal(await sc.dbsize(), 0);

  const ok = await ferry(['import', every.path, '--target', `rediss://127.0.0.1:${server.port}`, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey, '--tls-insecure', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const warn = ok.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.code === 'TLS_INSECURE');
  assert.equal(warn?.level, 'warn');
  assert.match(String(warn?.message), /NOT verified/);
  await sameAsNative();

  // FERRY_TLS_INSECURE=1 is the same; a value that is not a yes/no is refused.
  const env = await ferry(['import', every.path, '--target', `rediss://127.0.0.1:${server.port}`, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey], { FERRY_TLS_INSECURE: '1' });
  assert.equal(env.code, 0, env.stderr);
  assert.match(env.stderr, /TLS_INSECURE/);
  const odd = await ferry(['import', every.path, '--target', `rediss://127.0.0.1:${server.port}`], { FERRY_TLS_INSECURE: 'maybe' });
  assert.equal(odd.code, 2);
  assert.match(odd.stderr, /^ferry: BAD_ARGUMENT: FERRY_TLS_INSECURE takes 1\/true\/yes/m);
});

test('no client certificate for a tls-auth-clients server; a wrong or a right --tls-servername', async () => {
  await fresh();
  const noCert = await ferry(['import', every.path, '--target', `rediss://127.0.0.1:${server.port}`, '--tls-ca', certs.ca]);
  assert.equal(noCert.code, 2);
  // The alert (tlsv13 alert certificate required) or, when the server's close wins the race, a reset.
  assert.match(noCert.stderr, /^ferry: TARGET_UNREACHABLE: cannot connect to 127\.0\.0\.1:\d+: the server (refused|closed) the TLS session .*--tls-cert FILE --tls-key FILE/m);
  assert.equal(await sc.dbsize(), 0);

  const wrongName = await ferry(['import', every.path, '--target', `rediss://127.0.0.1:${server.port}`, ...tlsFiles(), '--tls-servername', 'redis.example.com']);
  assert.equal(wrongName.code, 2);
  assert.match(wrongName.stderr, /^ferry: TARGET_UNREACHABLE: .*TLS certificate does not name this host .*redis\.example\.com.*--tls-servername/m);

  // The certificate names DNS:localhost too: verified under that name while connecting to the IP.
  const named = await ferry(['import', every.path, '--target', `rediss://127.0.0.1:${server.port}`, ...tlsFiles(), '--tls-servername', 'localhost']);
  assert.equal(named.code, 0, named.stderr);
  await sameAsNative();
  // And by host name, which the certificate also holds.
  await fresh();
  const byName = await ferry(['import', every.path, '--target', `rediss://localhost:${server.port}`, ...tlsFiles()]);
  assert.equal(byName.code, 0, byName.stderr);
  await sameAsNative();
});

test('bad TLS options are BAD_ARGUMENT naming the option, before any connection', async () => {
  const url = `rediss://127.0.0.1:${server.port}`;
  const notPem = join(dir, 'not-pem.txt');
  writeFileSync(notPem, 'hello\n');
  const garbled = join(dir, 'garbled.pem');
  writeFileSync(garbled, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  const cases: [string[], RegExp][] = [
    [['--tls-ca', join(dir, 'missing.pem')], /BAD_ARGUMENT: --tls-ca .*missing\.pem: no such file \(field tls-ca\)/],
    [['--tls-ca', notPem], /BAD_ARGUMENT: --tls-ca .*not-pem\.txt: holds no PEM certificate/],
    [['--tls-ca', garbled], /BAD_ARGUMENT: --tls-ca .*garbled\.pem: not a valid PEM certificate/],
    [['--tls-cert', certs.clientCert], /BAD_ARGUMENT: --tls-cert needs --tls-key/],
    [['--tls-key', certs.clientKey], /BAD_ARGUMENT: --tls-key needs --tls-cert/],
    [['--tls-cert', certs.clientCert, '--tls-key', notPem], /BAD_ARGUMENT: --tls-key .*not a PEM private key/],
    [['--tls-cert', certs.clientCert, '--tls-key', certs.caKey], /BAD_ARGUMENT: --tls-key .*ca\.key: does not match the certificate in .*client\.pem/],
    [['--tls-servername', '10.0.0.1'], /BAD_ARGUMENT: --tls-servername takes a DNS name/],
  ];
  for (const [args, want] of cases) {
    const r = await ferry(['import', every.path, '--target', url, ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, want, args.join(' '));
  }
  const plain = await ferry(['import', every.path, '--target', `redis://127.0.0.1:${server.port}`, '--tls-ca', certs.ca]);
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /BAD_ARGUMENT: --tls-ca is for TLS connections: use a rediss:\/\/ URL/);
  // FERRY_TLS_* variables are ambient: a redis:// target ignores them.
  const plainTarget = await startRedis();
  try {
    const r = await ferry(['import', every.path, '--target', plainTarget.url], { FERRY_TLS_CA: join(dir, 'missing.pem') });
    assert.equal(r.code, 0, r.stderr);
    // TLS to a plaintext port: the server waits for a command that never comes; the timeout says why.
    const tlsOptions = loadTargetTls({ ca: certs.ca }, CLI_TLS_LABELS);
    await assert.rejects(
      probeTarget({ addrs: [{ host: '127.0.0.1', port: plainTarget.port }], tls: true, tlsOptions, connectTimeoutMs: 500 }),
      (e: unknown) => isFerryError(e, 'TARGET_UNREACHABLE') && new RegExp(`no TLS handshake after 500 ms: is ${plainTarget.port} a TLS port\\?`).test(e.message),
    );
  } finally {
    await plainTarget.stop();
  }
  // Plaintext to the TLS port: the server drops the connection; the error points at rediss://.
  const wrongScheme = await ferry(['import', every.path, '--target', `redis://127.0.0.1:${server.port}`]);
  assert.equal(wrongScheme.code, 2);
  assert.match(wrongScheme.stderr, new RegExp(`^ferry: TARGET_UNREACHABLE: connection to 127\\.0\\.0\\.1:${server.port} lost: .*; if ${server.port} is a TLS port \\(tls-port\\), use rediss://`, 'm'));
});

test('ferry backup of a TLS source with --tls-ca/--tls-cert/--tls-key (the shared connection code): same digest', async () => {
  await fresh();
  const r0 = await ferry(['import', every.path, '--target', server.url, ...tlsFiles()]);
  assert.equal(r0.code, 0, r0.stderr);
  await sc.config('SET', 'repl-diskless-sync-delay', '0');
  const out = join(dir, 'backup.rdb');
  const r = await ferry(['backup', '--source', server.url, '--out', out, ...tlsFiles()]);
  assert.equal(r.code, 0, r.stderr);
  const loaded = await startRedis({ rdbFile: out });
  try {
    assert.equal(await digest(loaded.client()), nativeDigest);
  } finally {
    await loaded.stop();
  }
  const noCert = await ferry(['backup', '--source', server.url, '--out', join(dir, 'no-cert.rdb'), '--tls-ca', certs.ca]);
  assert.equal(noCert.code, 2);
  assert.match(noCert.stderr, /^ferry: TARGET_UNREACHABLE: cannot connect to .*the server (refused|closed) the TLS session .*--tls-cert FILE --tls-key FILE/m);
});

/** Forwards to `port`; the first target connection that carries more than `cutAfter` client bytes is cut. */
async function cuttingProxy(port: number, cutAfter: number): Promise<{ port: number; cuts: () => number; close: () => Promise<void> }> {
  let cuts = 0;
  const proxy = await startProxy(port, (c) => {
    let seen = 0;
    return {
      onData(d) {
        seen += d.length;
        if (cuts === 0 && seen > cutAfter) {
          cuts++;
          c.destroy();
          return;
        }
        c.upstream.write(d);
      },
    };
  });
  return { port: proxy.port, cuts: () => cuts, close: () => proxy.close() };
}

test('a TLS connection cut mid-import is re-established over TLS (client certificate again) and the data is exact', async () => {
  const many = await makeRdbWith(async (c) => {
    const p = c.pipeline();
    for (let i = 0; i < 20000; i++) p.set(`s:${i}`, `value-${i}`);
    for (let i = 0; i < 500; i++) p.hset(`h:${i}`, 'a', '1', 'b', String(i));
    for (let i = 0; i < 2000; i++) p.set(`t:${i}`, 'x', 'PXAT', 4_102_444_800_000 + i);
    await p.exec();
  });
  const proxy = await cuttingProxy(server.port, 300_000);
  try {
    await fresh();
    const tlsOptions = loadTargetTls({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }, CLI_TLS_LABELS);
    const spec: TargetSpec = { addrs: [{ host: '127.0.0.1', port: proxy.port }], tls: true, tlsOptions };
    const s = await importRecords([rdbInput(many.path)], { target: spec });
    assert.equal(proxy.cuts(), 1, 'the proxy did cut');
    assert.ok(s.reconnects >= 1, `reconnects ${s.reconnects}`);
    assert.equal(s.errors, 0);
    assert.equal(s.keys, 22500);
    const native = await startRedis({ rdbFile: many.path });
    try {
      const [want, got] = [await digest(native.client()), await digest(sc)];
      if (want !== got) assert.fail((await diffKeys(native.client(), sc)).join('; '));
    } finally {
      await native.stop();
    }
  } finally {
    await proxy.close();
    await many.cleanup();
  }
});

test('an instance with tls_ca_file/tls_cert_file/tls_key_file in the configuration: files read at load, the probe connects; bad files are CONFIG_INVALID naming the field', async () => {
  const cfg = (extra: string): string => {
    const p = join(dir, `ferry-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(p, [
      'projects: [{ id: p1, tokens: [token-0123456789] }]',
      'instances:',
      `  - { id: tls1, project: p1, name: tls, type: single, addrs: "127.0.0.1:${server.port}", ${extra} }`,
    ].join('\n'));
    return p;
  };
  // Relative paths resolve from the working directory.
  copyFileSync(certs.ca, join(dir, 'rel-ca.pem'));
  const c = loadConfig({ configPath: cfg(`tls: true, tls_ca_file: rel-ca.pem, tls_cert_file: "${certs.clientCert}", tls_key_file: "${certs.clientKey}"`), env: {}, cwd: dir });
  const inst = c.instances[0]!;
  assert.ok(inst.tlsOptions?.ca && inst.tlsOptions.cert && inst.tlsOptions.key);
  const info = await probeTarget(targetFromInstance(inst));
  assert.equal(info.topology, 'standalone');
  // Without the client certificate the same instance is refused by the server, clearly.
  const noCert = loadConfig({ configPath: cfg(`tls: true, tls_ca_file: "${certs.ca}"`), env: {}, cwd: dir });
  await assert.rejects(probeTarget(targetFromInstance(noCert.instances[0]!)), (e: unknown) => isFerryError(e, 'TARGET_UNREACHABLE') && /client certificate/.test(e.message));

  const refused = (extra: string): { message: string; field: unknown } => {
    try {
      loadConfig({ configPath: cfg(extra), env: {}, cwd: dir });
    } catch (err) {
      assert.ok(isFerryError(err, 'CONFIG_INVALID'), String(err));
      return { message: err.message, field: err.context.field };
    }
    return assert.fail('expected CONFIG_INVALID');
  };
  let e = refused('tls: true, tls_ca_file: nope.pem');
  assert.equal(e.field, 'instances[0].tls_ca_file');
  assert.match(e.message, /nope\.pem: no such file/);
  e = refused(`tls_ca_file: "${certs.ca}"`);
  assert.equal(e.field, 'instances[0].tls_ca_file');
  assert.match(e.message, /needs tls: true/);
  e = refused(`tls: true, tls_cert_file: "${certs.clientCert}", tls_key_file: "${certs.caKey}"`);
  assert.equal(e.field, 'instances[0].tls_key_file');
  assert.match(e.message, /does not match the certificate/);
});

// --- Redis Cluster over TLS ---

async function flushCluster(): Promise<void> {
  for (const c of clusterClients) {
    await c.flushall();
    await c.call('FUNCTION', 'FLUSH');
  }
}

/** Every key of every master (db 0) with its value digest and expiry, and the key count per master. */
async function clusterKeys(clients: Redis[]): Promise<{ all: Map<string, string>; perMaster: number[] }> {
  const all = new Map<string, string>();
  const perMaster: number[] = [];
  for (const c of clients) {
    const m = await keyDigests(c);
    perMaster.push(m.size);
    for (const [k, v] of m) all.set(k, v);
  }
  return { all, perMaster };
}

async function sameAsNativeOnCluster(file: string, clients: Redis[]): Promise<Map<string, string>> {
  const native = await startRedis({ rdbFile: file });
  try {
    const want = await keyDigests(native.client());
    const { all } = await clusterKeys(clients);
    const diff: string[] = [];
    for (const [k, v] of want) if (all.get(k) !== v) diff.push(`${Buffer.from(k.split(':')[1]!, 'base64').toString()}: ${v} vs ${all.get(k) ?? 'missing'}`);
    for (const k of all.keys()) if (!want.has(k)) diff.push(`unexpected ${k}`);
    assert.deepEqual(diff.slice(0, 10), [], 'keys differ between the cluster and a native load');
    assert.ok(want.size > 0);
    return want;
  } finally {
    await native.stop();
  }
}

test('a 3-master TLS cluster (tls-cluster yes): ferry import over rediss:// uses the TLS ports, over redis:// the plaintext ones', async (t) => {
  const db0 = await makeEveryTypeRdb({ dbs: [0] });
  t.after(() => db0.cleanup());
  cluster = await startCluster(3, { tls: { certs, plainPort: true } });
  clusterClients = cluster.nodes.map((n) => n.client());
  // The nodes answer CLUSTER SLOTS with TLS ports over TLS and plaintext ports over plaintext.
  const slotsPorts = (out: string): number[] => [...out.matchAll(/^\d+$/gm)].map((m) => Number(m[0])).filter((p) => p > 16383);
  const overTls = await execFileP('redis-cli', [...cluster.nodes[0]!.cliArgs, 'CLUSTER', 'SLOTS']);
  const overPlain = await execFileP('redis-cli', ['-p', String(cluster.nodes[0]!.plainPort), 'CLUSTER', 'SLOTS']);
  assert.deepEqual(new Set(slotsPorts(overTls.stdout)), new Set(cluster.nodes.map((n) => n.port)));
  assert.deepEqual(new Set(slotsPorts(overPlain.stdout)), new Set(cluster.nodes.map((n) => n.plainPort)));

  await flushCluster();
  const r = await ferry(['import', db0.path, '--target', `rediss://127.0.0.1:${cluster.nodes[0]!.port}`, ...tlsFiles(), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { keys: number; errors: number; redirects: number };
  assert.equal(s.errors, 0);
  assert.equal(s.redirects, 0, 'the slot map read over TLS sent every key straight to its master');
  await sameAsNativeOnCluster(db0.path, clusterClients);
  const { perMaster } = await clusterKeys(clusterClients);
  assert.ok(perMaster.every((n) => n > 0), `every master got keys: ${perMaster.join(', ')}`);
  for (const c of clusterClients) assert.equal(((await c.call('FUNCTION', 'LIST')) as unknown[]).length, 1, 'the function library is on every master');

  // The same cluster through its plaintext ports: the map read over plaintext names those.
  await flushCluster();
  const plain = await ferry(['import', db0.path, '--target', `redis://127.0.0.1:${cluster.nodes[1]!.plainPort}`, '--json']);
  assert.equal(plain.code, 0, plain.stderr);
  await sameAsNativeOnCluster(db0.path, clusterClients);
});

test('TLS cluster: a slot moved to a node Ferry never met, mid-import: MOVED, a new TLS connection, the map refreshed over TLS', async (t) => {
  assert.ok(cluster, 'the cluster test ran first');
  const cl = cluster;
  // A fourth master with no slots joins: the probe does not list it.
  const extra = await startRedis({ cluster: true, tls: { certs } });
  cl.nodes.push(extra);
  const ec = extra.client();
  clusterClients.push(ec);
  await clusterClients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(extra.port));
  for (let i = 0; ; i++) {
    const known = await Promise.all(clusterClients.map(async (c) => String(await c.call('CLUSTER', 'NODES')).trim().split('\n').length));
    const ok = await Promise.all(clusterClients.map(async (c) => String(await c.call('CLUSTER', 'INFO')).includes('cluster_state:ok')));
    if (known.every((k) => k === 4) && ok.every(Boolean)) break;
    if (i > 300) assert.fail(`the fourth node did not join: ${known.join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await flushCluster();

  const f = await makeRdbWith(async (c) => {
    const p = c.pipeline();
    for (let i = 0; i < 3000; i++) p.set(`{hot}:${i}`, `value-${i}`);
    for (let i = 0; i < 3000; i++) p.set(`cold:${i}`, `c-${i}`);
    await p.exec();
  });
  t.after(() => f.cleanup());
  const slot = calculateSlot('{hot}');
  const cli = (n: RedisServer, ...args: string[]) => execFileP('redis-cli', [...n.cliArgs, ...args]).then((r) => r.stdout.trim());
  const ids = await Promise.all(cl.nodes.map((n) => cli(n, 'CLUSTER', 'MYID')));
  const slots = (await clusterClients[0]!.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const owner = cl.nodes.findIndex((n) => n.port === slots.find(([a, b]) => slot >= a && slot <= b)![2][1]);
  const dest = 3;

  // The slot changes hands after Ferry read the map and before its first write (the slot is empty).
  const input = rdbInput(f.path);
  const moved: ImportInput = {
    ...input,
    async *records() {
      await cli(cl.nodes[dest]!, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', ids[owner]!);
      await cli(cl.nodes[owner]!, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', ids[dest]!);
      for (const n of [cl.nodes[dest]!, cl.nodes[owner]!, ...cl.nodes.filter((_, i) => i !== dest && i !== owner)]) {
        await cli(n, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', ids[dest]!);
      }
      yield* input.records();
    },
  };
  const tlsOptions = loadTargetTls({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }, CLI_TLS_LABELS);
  const s = await importRecords([moved], { target: { addrs: [{ host: '127.0.0.1', port: cl.nodes[0]!.port }], tls: true, tlsOptions } });
  assert.equal(s.errors, 0, JSON.stringify(s.errorList));
  assert.ok(s.redirects > 0, 'the import met MOVED');
  assert.equal(s.keys, 6000);
  assert.equal(Number(await cli(extra, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot))), 3000, 'the hot keys are on the new node');
  await sameAsNativeOnCluster(f.path, clusterClients);
  // Ferry's connection to the new node was TLS with a client certificate: the node has no plaintext port at all.
  assert.equal(String(((await ec.config('GET', 'port')) as string[])[1]), '0');
});
