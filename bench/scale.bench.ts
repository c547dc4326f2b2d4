/**
 * Issue #7: a 4-file import (one RDB per shard, written by a real 4-master source cluster) into a
 * 4-master Redis Cluster, run by `ferry serve` processes sharing one PostgreSQL schema. Anchor, same
 * run, same files and target: one worker process (tasks.concurrency 1) importing the 4 files one after
 * another. Measured: four worker processes, the files spread over them. Ratio = 1-worker time /
 * 4-worker time (the speed-up). Every run is checked: each target master's DEBUG DIGEST equals its
 * source master's. On a 2-core machine the target's four redis-servers and the workers share the
 * cores, so the speed-up is bounded well below 4 there (the load average is printed with the figure).
 * Also measured: one process with tasks.concurrency 4 (the files spread over its four slots).
 * FERRY_BENCH_SCALE_KEYS sets the key count (default 400000); FERRY_BENCH_DIAG=1 prints each run's task
 * log with times from the create call (where the time goes).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, digest, type RedisCluster } from '../test/helpers/redis-server.js';
import { makeShards, type Shards } from '../test/helpers/shards.js';
import { pgSchemas } from '../test/helpers/pg.js';
import { spawnServe, type ServeProcess } from '../test/integration/serve-process.js';
import type { BenchContext } from './harness.js';

export const name = 'scale';

const MASTERS = 4;
const KEYS = Number(process.env.FERRY_BENCH_SCALE_KEYS ?? 400_000);
const PROJECT = 'bench5ca1ebench5ca1ebench5ca1e00';
const TOKEN = 'bench-scale-token-0123456789';

async function importOnce(ctx: BenchContext, workers: number, slots: number, dir: string, shards: Shards, target: RedisCluster, schemas: ReturnType<typeof pgSchemas>): Promise<number> {
  for (const n of target.nodes) await n.client().flushall();
  const cfg = join(dir, `ferry-${workers}-${slots}.json`);
  writeFileSync(
    cfg,
    JSON.stringify({
      listen: '127.0.0.1:0',
      data_dir: join(dir, 'data'),
      store: schemas.url(),
      log_level: 'info',
      projects: [{ id: PROJECT, tokens: [TOKEN] }],
      instances: [{ id: 'target', project: PROJECT, name: 'target', type: 'cluster', addrs: target.nodes.map((n) => `127.0.0.1:${n.port}`).join(',') }],
      buckets: [{ name: 'shards', path: join(dir, 'bucket') }],
      tasks: { concurrency: slots, poll_ms: 100 },
    }),
  );
  const procs: ServeProcess[] = [];
  try {
    for (let i = 0; i < workers; i++) procs.push(await spawnServe(cfg, dir));
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${procs[0]!.url}/v2/${PROJECT}${path}`, { method, headers: { 'x-auth-token': TOKEN, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return (await r.json()) as Record<string, unknown>;
    };
    const t0 = performance.now();
    const created = await api('POST', '/migration-task', {
      task_name: `bench-scale-${workers}`,
      migration_type: 'backupfile_import',
      migration_method: 'full_amount_migration',
      backup_files: { file_source: 'self_build_obs', bucket_name: 'shards', files: shards.files.map((file_name) => ({ file_name })) },
      target_instance: { id: 'target' },
    });
    if (!created.id) throw new Error(`create failed: ${JSON.stringify(created)}`);
    const deadline = Date.now() + 20 * 60_000;
    let t: Record<string, unknown>;
    for (;;) {
      t = await api('GET', `/migration-task/${String(created.id)}`);
      if (t.status !== 'MIGRATING' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - t0) / 1000;
    if (t.status !== 'SUCCESS') throw new Error(`import with ${workers} worker(s) ended ${String(t.status)}: ${JSON.stringify(t)}`);
    const logs = (await api('GET', `/migration-task/${String(created.id)}/logs?limit=100`)).migration_logs as { log_code: string; message: string; created_at: string }[];
    if (process.env.FERRY_BENCH_DIAG) for (const l of logs) ctx.log(`   +${((Date.parse(l.created_at) - (Date.now() - seconds * 1000)) / 1000).toFixed(2)} s ${l.log_code} ${l.message.slice(0, 80)}`);
    const ran = logs.filter((l) => l.log_code === 'FILE_START').map((l) => l.message.replace(/^.*on worker [^:]+:(\d+):.*$/, '$1'));
    ctx.log(`${workers} process(es) x ${slots} slot(s): ${seconds.toFixed(2)} s; files ran on ${new Set(ran).size} process(es); ${logs.filter((l) => l.log_code === 'FILE_DONE').map((l) => l.message.replace(/^file /, '')).join('; ')}`);
    for (const [i, n] of target.nodes.entries()) {
      if ((await digest(n.client())) !== shards.digests[i]) throw new Error(`master ${i}: digest differs from its source after the ${workers}-worker import`);
    }
    return seconds;
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-scale-'));
  mkdirSync(join(dir, 'bucket'));
  const schemas = pgSchemas('bench');
  let target: RedisCluster | null = null;
  try {
    ctx.log(`writing ${MASTERS} shard RDBs (${KEYS} keys) from a ${MASTERS}-master source cluster`);
    const shards = await makeShards(join(dir, 'bucket'), MASTERS, KEYS);
    target = await startCluster(MASTERS);
    const one = await ctx.best(() => importOnce(ctx, 1, 1, dir, shards, target!, schemas), (s) => s);
    const four = await ctx.best(() => importOnce(ctx, 4, 1, dir, shards, target!, schemas), (s) => s);
    const slots = await ctx.best(() => importOnce(ctx, 1, 4, dir, shards, target!, schemas), (s) => s);
    ctx.figure({
      name: `${MASTERS}-file import, 1 process x 4 slots`,
      value: KEYS / slots.best,
      unit: 'keys/s',
      anchor: { name: '1 worker, same files and target', value: KEYS / one.best, unit: 'keys/s' },
      ratio: one.best / slots.best,
      ratioMeaning: '1-worker time / 4-slot time (files spread over the slots of one process)',
      note: `${slots.best.toFixed(2)} s wall`,
    });
    ctx.figure({ name: `${MASTERS}-file import, 1 worker`, value: KEYS / one.best, unit: 'keys/s', note: `${one.best.toFixed(2)} s wall, create to SUCCESS` });
    ctx.figure({
      name: `${MASTERS}-file import, 4 workers`,
      value: KEYS / four.best,
      unit: 'keys/s',
      anchor: { name: '1 worker, same files and target', value: KEYS / one.best, unit: 'keys/s' },
      ratio: one.best / four.best,
      ratioMeaning: '1-worker time / 4-worker time (speed-up from spreading the files)',
      note: `${four.best.toFixed(2)} s wall; target ${MASTERS} masters; every master's DEBUG DIGEST checked; machine load average ${loadavg()[0]!.toFixed(1)} at the end`,
    });
  } finally {
    await target?.stop();
    await schemas.dropAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
