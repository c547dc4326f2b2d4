/**
 * Scale-out end to end: three `ferry serve` processes on one PostgreSQL schema (the machine's server),
 * real redis-server targets and a local bucket. Tasks created through different processes run on
 * whichever worker is free; a stop asked through a process that does not run the task reaches the one
 * that does; the worker running an import is killed with SIGKILL and another process takes the task
 * over and finishes it, the target's DEBUG DIGEST equal to the source's. The store's claim history
 * shows no task was ever held by two live leases at once. A `ferry worker` (no API) joins and takes
 * its share of the imports.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgTaskStore } from '../../src/store/postgres/store.js';
import type { TaskClaim } from '../../src/store/contract.js';
import { startRedis, CORPUS, digest, type RedisServer } from '../helpers/redis-server.js';
import { startSlowProxy, type Proxy } from '../helpers/loopback-proxy.js';
import { populatedRdb } from '../helpers/make-rdb.js';
import { pgSchemas } from '../helpers/pg.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { spawnServe, type ServeProcess } from './serve-process.js';

const PROJECT = '5ca1e5ca1e5ca1e5ca1e5ca1e5ca1e00';
const TOKEN = 'scale-token-0123456789';
const BIG_KEYS = 300_000;

const schemas = pgSchemas('scale');
let storeUrl: string;
let store: PgTaskStore;
let dir: string;
let cfg: string;
let bigDigest: string;
let smallDigest: string;
const targets: Record<string, RedisServer> = {};
/**
 * Targets that imports must still be running into when a test stops, kills or shares them sit behind
 * a proxy that passes 3 MB/s: the 9 MB import then lasts ~3 s on any machine (it once took 0.4 s,
 * less than the tests' polling).
 */
const SLOW: string[] = ['s1', 's2', 'stop', 'kill'];
const proxies: Record<string, Proxy> = {};
const procs: ServeProcess[] = [];
let worker: ChildProcess | null = null;

/** `ferry worker` (no API) as a child process; resolves once it logged "ferry worker started". */
function spawnWorker(configPath: string, cwd: string): Promise<ChildProcess> {
  const root = resolve(new URL('.', import.meta.url).pathname, '../..');
  const proc = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), resolve(root, 'src/cli/main.ts'), 'worker', '--config', configPath], {
    cwd,
    env: { ...process.env, NODE_OPTIONS: '', TSX_TSCONFIG_PATH: resolve(root, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      rej(new Error(`ferry worker did not start:\n${out}`));
    }, 30_000);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"msg":"ferry worker started"')) {
        clearTimeout(timer);
        res(proc);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`ferry worker exited with ${code}:\n${out}`));
    });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-scale-'));
  const bucket = join(dir, 'bucket');
  mkdirSync(bucket, { recursive: true });
  copyFileSync(`${CORPUS}/generated/redis-7.0.rdb`, join(bucket, 'small.rdb'));
  // An RDB written by a real server, big enough that an import is still running when it is killed.
  bigDigest = await populatedRdb(join(bucket, 'big.rdb'), BIG_KEYS);
  const ref = await startRedis({ rdbFile: `${CORPUS}/generated/redis-7.0.rdb` });
  smallDigest = await digest(ref.client());
  await ref.stop();

  for (const name of ['s1', 's2', 'stop', 'kill']) targets[name] = await startRedis({ password: `pw-${name}` });
  for (const name of SLOW) proxies[name] = await startSlowProxy(targets[name]!.port, 3_000_000);
  storeUrl = schemas.url();
  cfg = join(dir, 'ferry.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      listen: '127.0.0.1:0',
      data_dir: join(dir, 'data'),
      store: storeUrl,
      log_level: 'info',
      projects: [{ id: PROJECT, tokens: [TOKEN] }],
      instances: Object.entries(targets).map(([name, r]) => ({ id: `inst-${name}`, project: PROJECT, name, type: 'single', addrs: `127.0.0.1:${proxies[name]?.port ?? r.port}`, password: `pw-${name}` })),
      buckets: [{ name: 'local-backups', path: bucket }],
      // One task per worker, so three tasks spread over three processes; a short lease and poll.
      tasks: { concurrency: 1, lease_seconds: 4, poll_ms: 200 },
    }),
  );
  // Started one after the other: the first applies the migrations, the others find them done.
  for (let i = 0; i < 3; i++) procs.push(await spawnServe(cfg, dir));
  store = await PgTaskStore.open(storeUrl);
});

after(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await Promise.all(procs.map((p) => (p.proc.exitCode === null && p.proc.signalCode === null ? p.stop() : Promise.resolve(null))));
  await store?.close();
  await Promise.all(Object.values(proxies).map((p) => p.close()));
  await Promise.all(Object.values(targets).map((t) => t.stop()));
  await schemas.dropAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function api(via: ServeProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(via.url + `/v2/${PROJECT}` + path, {
    method,
    headers: { 'x-auth-token': TOKEN, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function create(via: ServeProcess, name: string, file: string, target: string): Promise<string> {
  const r = await api(via, 'POST', '/migration-task', {
    task_name: name,
    migration_type: 'backupfile_import',
    migration_method: 'full_amount_migration',
    backup_files: { file_source: 'self_build_obs', bucket_name: 'local-backups', files: [{ file_name: file }] },
    target_instance: { id: `inst-${target}`, password: `pw-${target}` },
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return String(r.json.id);
}

async function poll(via: () => ServeProcess, id: string, until: (t: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const t = (await api(via(), 'GET', `/migration-task/${id}`)).json;
    if (until(t) || Date.now() > deadline) return t;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The live process whose pid is in the task's current lease owner (`host:pid:random`). */
async function runnerOf(id: string, ms = 30_000): Promise<ServeProcess> {
  const deadline = Date.now() + ms;
  for (;;) {
    const t = await store.getTaskById(id);
    const keys = t?.progress?.keys ?? 0;
    const pid = Number(t?.owner?.split(':')[1]);
    const p = procs.find((x) => x.proc.pid === pid && x.proc.exitCode === null && x.proc.signalCode === null);
    if (p && keys > 0) return p;
    if (Date.now() > deadline) throw new Error(`task ${id} never ran with progress: ${JSON.stringify(t)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Each claim took the task only once the previous holder's lease had lapsed (or it was released). */
function assertNeverTwiceAtOnce(claims: TaskClaim[]): void {
  claims.forEach((c, i) => {
    assert.equal(c.attempt, i + 1, JSON.stringify(claims));
    if (i === 0) return;
    if (c.prev_owner === null) return; // released by its holder (graceful shutdown)
    assert.equal(c.prev_owner, claims[i - 1]!.owner, JSON.stringify(claims));
    assert.ok(c.prev_lease_until !== null && c.prev_lease_until < c.claimed_at, `claim ${i + 1} overlapped a live lease: ${JSON.stringify(claims)}`);
  });
}

test('tasks created through different processes run on free workers and import exactly', async () => {
  const a = await create(procs[0]!, 'scale-s1', 'small.rdb', 's1');
  const b = await create(procs[1]!, 'scale-s2', 'small.rdb', 's2');
  for (const [id, name] of [[a, 's1'], [b, 's2']] as const) {
    // Read back through the third process: any process answers for any task.
    const t = await poll(() => procs[2]!, id, (x) => x.status !== 'MIGRATING', 60_000);
    assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
    assert.equal(await digest(targets[name]!.client()), smallDigest, name);
    assertNeverTwiceAtOnce(await store.claims(id));
    assert.equal((await store.claims(id)).length, 1);
  }
});

test('a stop asked through a process that does not run the task reaches the one that does', async () => {
  const id = await create(procs[0]!, 'scale-stop', 'big.rdb', 'stop');
  const runner = await runnerOf(id);
  const other = procs.find((p) => p !== runner)!;
  const stopped = await api(other, 'POST', `/migration-task/${id}/stop`);
  assert.equal(stopped.status, 200, JSON.stringify(stopped.json));
  const at = Date.now();
  const t = await poll(() => other, id, (x) => x.status !== 'TERMINATING' && x.status !== 'MIGRATING', 10_000);
  assert.equal(t.status, 'TERMINATED', JSON.stringify(t));
  assert.ok(Date.now() - at < 3000, `stop took ${Date.now() - at} ms`);
  const keys = Number(await targets.stop!.client().dbsize());
  assert.ok(keys > 0 && keys < BIG_KEYS, `target holds ${keys} keys`);
});

test('kill -9 of the worker running an import: another process takes it over and finishes it exactly', async () => {
  const id = await create(procs[1]!, 'scale-kill', 'big.rdb', 'kill');
  const victim = await runnerOf(id);
  await victim.kill9();
  const alive = () => procs.find((p) => p !== victim)!;
  const t = await poll(alive, id, (x) => x.status !== 'MIGRATING', 120_000);
  assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
  assert.equal(await digest(targets.kill!.client()), bigDigest);

  const claims = await store.claims(id);
  assert.equal(claims.length, 2, JSON.stringify(claims));
  assert.equal(Number(claims[0]!.owner.split(':')[1]), victim.proc.pid);
  assert.notEqual(claims[1]!.owner, claims[0]!.owner);
  assert.ok(procs.some((p) => p !== victim && p.proc.pid === Number(claims[1]!.owner.split(':')[1])), 'taken over by one of the other processes');
  assertNeverTwiceAtOnce(claims);
  const logs = (await api(alive(), 'GET', `/migration-task/${id}/logs?limit=100`)).json.migration_logs as { log_code: string }[];
  assert.equal(logs.filter((l) => l.log_code === 'MIGRATION_START').length, 2);
  assert.ok(logs.some((l) => l.log_code === 'MIGRATION_RESUMED'), JSON.stringify(logs));
});

test('ferry worker (no API) takes its share: three imports at once run on three different processes', async () => {
  worker = await spawnWorker(cfg, dir);
  const live = procs.filter((p) => p.proc.exitCode === null && p.proc.signalCode === null);
  assert.equal(live.length, 2);
  for (const name of ['s1', 's2', 'stop']) await targets[name]!.client().flushall();
  const ids = await Promise.all(['s1', 's2', 'stop'].map((name, i) => create(live[i % 2]!, `scale-share-${name}`, 'big.rdb', name)));
  // Each process runs one import at a time (tasks.concurrency 1): three at once means three processes.
  const owners = new Set<number>();
  const deadline = Date.now() + 30_000;
  while (owners.size < 3 && Date.now() < deadline) {
    for (const id of ids) {
      const pid = Number((await store.getTaskById(id))?.owner?.split(':')[1]);
      if (pid) owners.add(pid);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(owners.has(worker.pid!), `the worker never ran a task (owners ${[...owners].join(', ')}, worker ${worker.pid})`);
  for (const [i, name] of ['s1', 's2', 'stop'].entries()) {
    const t = await poll(() => live[0]!, ids[i]!, (x) => x.status !== 'MIGRATING', 120_000);
    assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
    assert.equal(await digest(targets[name]!.client()), bigDigest, name);
    assertNeverTwiceAtOnce(await store.claims(ids[i]!));
  }
});
