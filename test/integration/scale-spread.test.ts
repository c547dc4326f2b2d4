/**
 * A task with one RDB per shard into a real Redis Cluster, run by three `ferry serve` processes on one
 * PostgreSQL schema: its files are claimed by different workers (claim history), progress is summed
 * at the task level, every target master ends with its source master's DEBUG DIGEST. Then the same
 * import again with one worker killed (SIGKILL) while it holds a file: the file's lease lapses, another
 * worker re-runs it, and the digests still match. instances[].max_parallel_files caps the files of a
 * task running at once, over all workers.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgTaskStore } from '../../src/store/postgres/store.js';
import { startCluster, digest, type RedisCluster } from '../helpers/redis-server.js';
import { makeShards, type Shards } from '../helpers/shards.js';
import { pgSchemas } from '../helpers/pg.js';
import { spawnServe, type ServeProcess } from './serve-process.js';

const PROJECT = '5ca1e5ca1e5ca1e5ca1e5ca1e5ca1e01';
const TOKEN = 'spread-token-0123456789';
const MASTERS = 3;

const schemas = pgSchemas('spread');
let store: PgTaskStore;
let dir: string;
let shards: Shards;
let target: RedisCluster;
const procs: ServeProcess[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-spread-'));
  const bucket = join(dir, 'bucket');
  mkdirSync(bucket, { recursive: true });
  shards = await makeShards(bucket, MASTERS, 120_000);
  target = await startCluster(MASTERS);
  const url = schemas.url();
  const cfg = join(dir, 'ferry.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      listen: '127.0.0.1:0',
      data_dir: join(dir, 'data'),
      store: url,
      log_level: 'info',
      projects: [{ id: PROJECT, tokens: [TOKEN] }],
      instances: [{ id: 'inst-cluster', project: PROJECT, name: 'cluster', type: 'cluster', addrs: target.nodes.map((n) => `127.0.0.1:${n.port}`).join(','), max_parallel_files: 2 }],
      buckets: [{ name: 'shards', path: bucket }],
      tasks: { concurrency: 1, lease_seconds: 3, poll_ms: 100 },
    }),
  );
  for (let i = 0; i < 3; i++) procs.push(await spawnServe(cfg, dir));
  store = await PgTaskStore.open(url);
});

after(async () => {
  await Promise.all(procs.map((p) => (p.proc.exitCode === null && p.proc.signalCode === null ? p.stop() : Promise.resolve(null))));
  await store?.close();
  await target?.stop();
  await schemas.dropAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const alive = () => procs.find((p) => p.proc.exitCode === null && p.proc.signalCode === null)!;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(alive().url + `/v2/${PROJECT}` + path, {
    method,
    headers: { 'x-auth-token': TOKEN, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function createImport(name: string): Promise<string> {
  const r = await api('POST', '/migration-task', {
    task_name: name,
    migration_type: 'backupfile_import',
    migration_method: 'full_amount_migration',
    backup_files: { file_source: 'self_build_obs', bucket_name: 'shards', files: shards.files.map((file_name) => ({ file_name })) },
    target_instance: { id: 'inst-cluster' },
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return String(r.json.id);
}

let mostRunning = 0;

/** Polls the task to a final status (past MIGRATING and TERMINATING), sampling how many of its files run at once meanwhile. */
async function finished(id: string, ms = 120_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const t = (await api('GET', `/migration-task/${id}`)).json;
    if ((t.status !== 'MIGRATING' && t.status !== 'TERMINATING') || Date.now() > deadline) return t;
    const now = Date.now();
    mostRunning = Math.max(mostRunning, (await store.listFiles(id)).filter((f) => f.status === 'RUNNING' && (f.lease_until ?? 0) >= now).length);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function assertDigests(): Promise<void> {
  for (const [i, n] of target.nodes.entries()) assert.equal(await digest(n.client()), shards.digests[i], `master ${i}`);
}

test('files spread over the workers; every master ends with its source digest; progress summed', async () => {
  const id = await createImport('spread');
  const t = await finished(id);
  assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
  await assertDigests();
  const claims = await store.claims(id);
  const fileClaims = claims.filter((c) => c.file_idx !== null);
  assert.deepEqual([...new Set(fileClaims.map((c) => c.file_idx))].sort(), [0, 1, 2]);
  assert.ok(new Set(fileClaims.map((c) => c.owner)).size >= 2, `files ran on one worker only: ${JSON.stringify(fileClaims)}`);
  const stats = (await api('GET', `/migration-task/${id}/stats`)).json;
  const files = await store.listFiles(id);
  assert.equal(Number(stats.imported_keys ?? (await store.getTaskById(id))!.progress!.keys), files.reduce((n, f) => n + (f.progress?.keys ?? 0), 0));
  const logs = (await api('GET', `/migration-task/${id}/logs?limit=100`)).json.migration_logs as { log_code: string }[];
  assert.equal(logs.filter((l) => l.log_code === 'FILE_DONE').length, MASTERS);
});

test('a worker killed while importing a file: the file is re-run elsewhere after its lease lapses, digests still match', async () => {
  for (const n of target.nodes) await n.client().flushall();
  const id = await createImport('spread-kill');
  // Wait for a file with progress held by a process that is not the task's lead, then kill it.
  let victim: ServeProcess | undefined;
  let held: number | undefined;
  const deadline = Date.now() + 60_000;
  while (!victim && Date.now() < deadline) {
    const lead = (await store.getTaskById(id))?.owner;
    for (const f of await store.listFiles(id)) {
      if (f.status !== 'RUNNING' || !f.owner || f.owner === lead) continue;
      victim = procs.find((p) => p.proc.pid === Number(f.owner!.split(':')[1]));
      held = f.idx;
    }
    if (!victim) await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(victim, 'no helper ever held a file');
  // Imports can finish between two polls: hold the target's writes for 3 s (the pause ends by
  // itself) so the victim still holds its file when it dies.
  await Promise.all(target.nodes.map((n) => n.client().call('CLIENT', 'PAUSE', '3000', 'WRITE')));
  await victim.kill9();
  const t = await finished(id);
  assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
  await assertDigests();
  const claims = (await store.claims(id)).filter((c) => c.file_idx === held);
  assert.ok(claims.length >= 2, JSON.stringify(claims));
  const retake = claims.at(-1)!;
  assert.notEqual(retake.owner, claims[0]!.owner);
  assert.ok(retake.prev_lease_until !== null && retake.prev_lease_until < retake.claimed_at, JSON.stringify(claims));
  // instances[].max_parallel_files is 2: never more files of the task running at once, over all workers.
  assert.ok(mostRunning >= 1 && mostRunning <= 2, `up to ${mostRunning} files ran at once`);
});

test('a stop of a spread task reaches every worker holding one of its files: TERMINATED, no file left running', async () => {
  for (const n of target.nodes) await n.client().flushall();
  const id = await createImport('spread-stop');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !(await store.listFiles(id)).some((f) => f.status === 'RUNNING')) await new Promise((r) => setTimeout(r, 10));
  // Imports are fast enough to finish between two polls: hold the target's writes for 3 s (the
  // pause ends by itself) so the stop always meets running files.
  await Promise.all(target.nodes.map((n) => n.client().call('CLIENT', 'PAUSE', '3000', 'WRITE')));
  const stopped = await api('POST', `/migration-task/${id}/stop`);
  assert.equal(stopped.status, 200, JSON.stringify(stopped.json));
  const at = Date.now();
  const t = await finished(id, 20_000);
  assert.equal(t.status, 'TERMINATED', JSON.stringify(t));
  assert.ok(Date.now() - at < 5000, `stop took ${Date.now() - at} ms`);
  const files = await store.listFiles(id);
  assert.ok(!files.some((f) => f.status === 'RUNNING'), JSON.stringify(files.map((f) => [f.idx, f.status, f.owner])));
  // Nothing writes after TERMINATED: the key count holds still.
  const count = async () => (await Promise.all(target.nodes.map((n) => n.client().dbsize()))).reduce((a, b) => a + b, 0);
  const before = await count();
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await count(), before);
});
