/**
 * Issue #5: create-task latency of `ferry serve` under 200 concurrent CreateMigrationTask requests on
 * loopback (p50/p99), each a real pre-check (target probe, file head) and insert, then the import
 * queued. The server runs as its own process; 200 registered instances point at one redis-server so
 * the one-task-per-target rule does not refuse any. Anchor, same run, same server and concurrency:
 * GET /healthz (the HTTP stack's floor). Ratio = healthz p50 / create p50.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, CORPUS } from '../test/helpers/redis-server.js';
import { spawnServe } from '../test/integration/serve-process.js';
import type { BenchContext } from './harness.js';

export const name = 'api';

const CONCURRENCY = 200;
const PROJECT = 'bench0bench0bench0bench0bench0be';
const TOKEN = 'bench-token-0123456789';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Fires `n` requests at once and returns each one's latency in ms, sorted. */
async function burst(n: number, one: (i: number) => Promise<Response>, check: (r: Response) => Promise<void>): Promise<number[]> {
  const lat = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const t0 = performance.now();
      const r = await one(i);
      await check(r);
      return performance.now() - t0;
    }),
  );
  return lat.sort((a, b) => a - b);
}

export async function run(ctx: BenchContext): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-api-'));
  const redis = await startRedis();
  const cfg = join(dir, 'ferry.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      listen: '127.0.0.1:0',
      data_dir: join(dir, 'data'),
      log_level: 'info',
      projects: [{ id: PROJECT, tokens: [TOKEN] }],
      instances: Array.from({ length: CONCURRENCY * 3 }, (_, i) => ({ id: `inst-${i}`, project: PROJECT, name: `r${i}`, type: 'single', addrs: `127.0.0.1:${redis.port}` })),
      buckets: [{ name: 'corpus', path: `${CORPUS}/rdb-tools` }],
    }),
  );
  let serve: Awaited<ReturnType<typeof spawnServe>> | null = null;
  try {
    serve = await spawnServe(cfg, dir);
    const url = serve.url;
    const headers = { 'x-auth-token': TOKEN, 'content-type': 'application/json' };
    let round = 0;
    const create = (i: number) =>
      fetch(`${url}/v2/${PROJECT}/migration-task`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          task_name: `bench-${round}-${i}`,
          migration_type: 'backupfile_import',
          migration_method: 'full_amount_migration',
          backup_files: { file_source: 'self_build_obs', bucket_name: 'corpus', files: [{ file_name: 'multiple_databases.rdb' }] },
          target_instance: { id: `inst-${round * CONCURRENCY + i}` },
        }),
      });
    const ok = async (r: Response) => {
      const body = await r.text();
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${body}`);
    };
    // Warm-up, not measured: opens the keep-alive connections and warms the JIT.
    await burst(CONCURRENCY, () => fetch(`${url}/healthz`), ok);

    const health = await ctx.best(() => burst(CONCURRENCY, () => fetch(`${url}/healthz`), ok), (l) => percentile(l, 50));
    const creates = await ctx.best(
      async () => {
        const l = await burst(CONCURRENCY, create, ok);
        round = Math.min(round + 1, 2);
        return l;
      },
      (l) => percentile(l, 50),
    );
    const list = await ctx.best(() => burst(CONCURRENCY, () => fetch(`${url}/v2/${PROJECT}/migration-tasks?limit=10`, { headers }), ok), (l) => percentile(l, 50));

    const h50 = percentile(health.best, 50);
    const c = creates.best;
    ctx.figure({ name: `GET /healthz p50, ${CONCURRENCY} concurrent`, value: h50, unit: 'ms', note: `p99 ${percentile(health.best, 99).toFixed(1)} ms` });
    ctx.figure({
      name: `CreateMigrationTask p50, ${CONCURRENCY} concurrent`,
      value: percentile(c, 50),
      unit: 'ms',
      anchor: { name: 'GET /healthz p50', value: h50, unit: 'ms' },
      ratio: h50 / percentile(c, 50),
      ratioMeaning: 'healthz p50 / create p50 (1 = as fast as the bare HTTP stack)',
      note: `p99 ${percentile(c, 99).toFixed(1)} ms, max ${c[c.length - 1]!.toFixed(1)} ms; each create probes the target and reads the file head`,
    });
    ctx.figure({ name: `CreateMigrationTask p99, ${CONCURRENCY} concurrent`, value: percentile(c, 99), unit: 'ms' });
    ctx.figure({ name: `ListMigrationTask p50, ${CONCURRENCY} concurrent`, value: percentile(list.best, 50), unit: 'ms', note: `p99 ${percentile(list.best, 99).toFixed(1)} ms` });
  } finally {
    await serve?.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
