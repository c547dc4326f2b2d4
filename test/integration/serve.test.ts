/**
 * End to end with real servers: `ferry serve` as a process, redis-server targets, a local bucket and
 * the S3 test server. Tasks created over HTTP are polled to SUCCESS and checked with DEBUG DIGEST
 * against a server that loaded the same RDB natively; a missing file ends FAILED; a stop mid-import
 * ends TERMINATED keeping what was written; kill -9 mid-task then a restart never leaves it MIGRATING.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, CORPUS, digest, type RedisServer } from '../helpers/redis-server.js';
import { startSlowProxy, type Proxy } from '../helpers/loopback-proxy.js';
import { populatedRdb } from '../helpers/make-rdb.js';
import { startS3, type S3TestServer } from '../helpers/s3-server.js';
import { spawnServe, type ServeProcess } from './serve-process.js';

const PROJECT = 'e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0';
const TOKEN = 'e2e-token-0123456789';
const BIG_KEYS = 300_000;

let dir: string;
let cfg: string;
let s3: S3TestServer;
const targets: Record<string, RedisServer> = {};
/**
 * Targets that imports must still be running into when a test stops, kills or shares them sit behind
 * a proxy that passes 3 MB/s: the 9 MB import then lasts ~3 s on any machine (it once took 0.4 s,
 * less than the tests' polling).
 */
const SLOW: string[] = ['big', 'kill'];
const proxies: Record<string, Proxy> = {};
let refDigest: string;
let bigDigest: string;
let serve: ServeProcess | null = null;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-e2e-'));
  const bucket = join(dir, 'bucket');
  mkdirSync(join(bucket, 'nested'), { recursive: true });
  copyFileSync(`${CORPUS}/generated/redis-7.0.rdb`, join(bucket, 'dump.rdb'));
  execFileSync('tar', ['czf', join(bucket, 'nested', 'backup.tar.gz'), '-C', bucket, 'dump.rdb']);

  // A bigger RDB (written by a real server) so imports last long enough to stop or kill.
  bigDigest = await populatedRdb(join(bucket, 'big.rdb'), BIG_KEYS);
  const ref = await startRedis({ rdbFile: `${CORPUS}/generated/redis-7.0.rdb` });
  refDigest = await digest(ref.client());
  await ref.stop();

  s3 = await startS3();
  await s3.createBucket('s3-backups');
  await s3.put('s3-backups', 'shard/backup.tar.gz', readFileSync(join(bucket, 'nested', 'backup.tar.gz')));

  for (const name of ['rdb', 'tgz', 's3', 'big', 'kill']) targets[name] = await startRedis({ password: `pw-${name}` });
  for (const name of SLOW) proxies[name] = await startSlowProxy(targets[name]!.port, 3_000_000);
  cfg = join(dir, 'ferry.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      listen: '127.0.0.1:0',
      data_dir: join(dir, 'data'),
      log_level: 'info',
      projects: [{ id: PROJECT, tokens: [TOKEN] }],
      instances: Object.entries(targets).map(([name, r]) => ({ id: `inst-${name}`, project: PROJECT, name, type: 'single', addrs: `127.0.0.1:${proxies[name]?.port ?? r.port}`, password: `pw-${name}` })),
      buckets: [{ name: 'local-backups', path: bucket }, s3.bucket('s3-backups')],
      // The default 30 s lease: recovery after kill -9 must not wait for it (the dead pid is detected).
      tasks: { lease_seconds: 30 },
    }),
  );
  serve = await spawnServe(cfg, dir);
});

after(async () => {
  await serve?.stop();
  await Promise.all(Object.values(proxies).map((p) => p.close()));
  await Promise.all(Object.values(targets).map((t) => t.stop()));
  await s3?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(serve!.url + `/v2/${PROJECT}` + path, {
    method,
    headers: { 'x-auth-token': TOKEN, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function create(name: string, bucket: string, files: string[], target: string): Promise<string> {
  const r = await api('POST', '/migration-task', {
    task_name: name,
    migration_type: 'backupfile_import',
    migration_method: 'full_amount_migration',
    backup_files: { file_source: 'self_build_obs', bucket_name: bucket, files: files.map((file_name) => ({ file_name })) },
    target_instance: { id: `inst-${target}`, password: `pw-${target}` },
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return String(r.json.id);
}

async function poll(id: string, until: (t: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const t = (await api('GET', `/migration-task/${id}`)).json;
    if (until(t) || Date.now() > deadline) return t;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stats(id: string): Promise<Record<string, string>> {
  return (await api('GET', `/migration-task/${id}/stats`)).json as Record<string, string>;
}

test('an RDB, a .tar.gz in the local bucket and a .tar.gz in S3 import exactly', async () => {
  const ids = await Promise.all([
    create('e2e-rdb', 'local-backups', ['dump.rdb'], 'rdb'),
    create('e2e-tgz', 'local-backups', ['nested/backup.tar.gz'], 'tgz'),
    create('e2e-s3', 's3-backups', ['shard/backup.tar.gz'], 's3'),
  ]);
  for (const [i, name] of ['rdb', 'tgz', 's3'].entries()) {
    const t = await poll(ids[i]!, (x) => x.status !== 'MIGRATING', 60_000);
    assert.equal(t.status, 'SUCCESS', `${name}: ${JSON.stringify(t)}`);
    assert.equal(await digest(targets[name]!.client()), refDigest, name);
  }
});

test('a missing file ends FAILED with a clear error', async () => {
  const r = await api('POST', '/migration-task', {
    task_name: 'e2e-missing',
    migration_type: 'backupfile_import',
    migration_method: 'full_amount_migration',
    backup_files: { bucket_name: 's3-backups', files: [{ file_name: 'shard/not-there.rdb' }] },
    target_instance: { id: 'inst-rdb', password: 'pw-rdb' },
  });
  assert.equal(r.status, 200);
  const t = await poll(String(r.json.id), (x) => x.status !== 'MIGRATING', 20_000);
  assert.equal(t.status, 'FAILED');
  assert.match(String(t.error_message), /not-there\.rdb/);
  assert.match(String(t.error_code), /^FERRY\.42/);
});

test('stop mid-import: TERMINATED within two seconds, keys written so far kept', async () => {
  const id = await create('e2e-stop', 'local-backups', ['big.rdb'], 'big');
  const running = await poll(id, () => false, 0);
  assert.equal(running.status, 'MIGRATING');
  const deadline = Date.now() + 30_000;
  while (Number((await stats(id)).imported_keys) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const stopped = await api('POST', `/migration-task/${id}/stop`);
  assert.equal(stopped.status, 200, JSON.stringify(stopped.json));
  const at = Date.now();
  const t = await poll(id, (x) => x.status === 'TERMINATED' || x.status === 'SUCCESS', 10_000);
  assert.equal(t.status, 'TERMINATED', JSON.stringify(t));
  assert.ok(Date.now() - at < 2000, `took ${Date.now() - at} ms`);
  const keys = Number(await targets.big!.client().dbsize());
  assert.ok(keys > 0 && keys < BIG_KEYS, `target holds ${keys} keys`);
  const logs = (await api('GET', `/migration-task/${id}/logs?limit=100`)).json.migration_logs as { log_code: string }[];
  assert.ok(logs.some((l) => l.log_code === 'MIGRATION_TERMINATED'));
});

test('kill -9 mid-task, restart: the task is re-run from the start and never left MIGRATING', async () => {
  const id = await create('e2e-kill', 'local-backups', ['big.rdb'], 'kill');
  const deadline = Date.now() + 30_000;
  while (Number((await stats(id)).imported_keys) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await serve!.kill9();
  serve = await spawnServe(cfg, dir);
  const t = await poll(id, (x) => x.status !== 'MIGRATING', 90_000);
  assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
  assert.equal(await digest(targets.kill!.client()), bigDigest);
  const logs = (await api('GET', `/migration-task/${id}/logs?limit=100`)).json.migration_logs as { log_code: string; message: string }[];
  assert.ok(logs.some((l) => l.log_code === 'MIGRATION_RESUMED'), JSON.stringify(logs));
  assert.equal(logs.filter((l) => l.log_code === 'MIGRATION_START').length, 2);
});

test('SIGTERM: graceful shutdown exits promptly and the running task resumes at the next start', async () => {
  await targets.kill!.client().flushall();
  const id = await create('e2e-sigterm', 'local-backups', ['big.rdb'], 'kill');
  const deadline = Date.now() + 30_000;
  while (Number((await stats(id)).imported_keys) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const at = Date.now();
  const code = await serve!.stop();
  assert.equal(code, 0, serve!.output().slice(-2000));
  assert.ok(Date.now() - at < 5000, `shutdown took ${Date.now() - at} ms`);
  serve = await spawnServe(cfg, dir);
  const t = await poll(id, (x) => x.status !== 'MIGRATING', 90_000);
  assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
  assert.equal(await digest(targets.kill!.client()), bigDigest);
});
