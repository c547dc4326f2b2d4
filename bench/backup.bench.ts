/**
 * Issue #6: MB/s of `ferry backup` (replication into a local file, the RDB parser checking every
 * byte on the way) of the `mixed` dataset, beside the anchor measured in the same run on the same
 * server: `redis-cli --rdb FILE` (the server's own tool, which only writes the bytes). Both read a
 * disk-based (`$len`) and a diskless (`$EOF:`) snapshot; ratio = redis-cli s / ferry s (>= 1 means
 * Ferry is as fast). Ferry runs in a child process so its peak RSS is its own; every file Ferry
 * writes is loaded back by a fresh redis-server and its DEBUG DIGEST checked against the dataset.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalFileSink } from '../src/backup/sink.js';
import { backupNode, type SnapshotResult } from '../src/backup/snapshot.js';
import { digest, startRedis } from '../test/helpers/redis-server.js';
import type { BenchContext } from './harness.js';

export const name = 'backup';

const exec = promisify(execFile);

/** Child-side work: one backup of host:port into `out`. */
export async function backupTo(a: { port: number; out: string }): Promise<SnapshotResult> {
  return backupNode({ addr: { host: '127.0.0.1', port: a.port }, auth: {}, sink: new LocalFileSink(a.out), format: 'rdb' });
}

async function redisCliRdb(port: number, out: string): Promise<number> {
  const t0 = performance.now();
  await exec('redis-cli', ['-p', String(port), '--rdb', out], { timeout: 600_000, maxBuffer: 1 << 20 });
  return (performance.now() - t0) / 1000;
}

export async function run(ctx: BenchContext): Promise<void> {
  await ctx.baselineRssMB();
  const work = await mkdtemp(join(tmpdir(), 'ferry-bench-backup-'));
  try {
    for (const ds of await ctx.datasets(['mixed'])) {
      for (const diskless of [false, true]) {
        const mode = diskless ? 'diskless' : 'disk';
        const src = await startRedis({ rdbFile: ds.rdb, args: ['--repl-diskless-sync', diskless ? 'yes' : 'no', '--repl-diskless-sync-delay', '0'] });
        try {
          const cliOut = join(work, `cli-${mode}.rdb`);
          const { best: cliSeconds } = await ctx.best(() => redisCliRdb(src.port, cliOut), (s) => s);
          const mb = (await stat(cliOut)).size / 1e6;
          ctx.figure({ name: `redis-cli --rdb ${ds.name} (${mode})`, value: mb / cliSeconds, unit: 'MB/s', note: `${mb.toFixed(0)} MB in ${cliSeconds.toFixed(2)} s` });
          const out = join(work, `ferry-${mode}.rdb`);
          const { best, runs } = await ctx.best(() => ctx.inChild<SnapshotResult>('bench/backup.bench.ts', 'backupTo', { port: src.port, out }), (x) => x.result.seconds);
          const r = best.result;
          const t = await startRedis({ rdbFile: out });
          try {
            const got = await digest(t.client());
            if (got !== ds.digest) throw new Error(`ferry backup of ${ds.name} (${mode}) is not exact: loaded digest ${got}, expected ${ds.digest}`);
          } finally {
            await t.stop();
          }
          ctx.figure({
            name: `backup ${ds.name} (${mode}) MB/s`,
            value: r.received / 1e6 / r.seconds,
            unit: 'MB/s',
            anchor: { name: 'redis-cli --rdb', value: mb / cliSeconds, unit: 'MB/s' },
            ratio: cliSeconds / r.seconds,
            ratioMeaning: 'redis-cli --rdb s / ferry backup s',
            target: 1.0,
            rssMB: Math.max(...runs.map((x) => x.maxRssMB)),
            note: `${r.keys} keys, ${(r.received / 1e6).toFixed(0)} MB in ${r.seconds.toFixed(2)} s, form ${r.form}, parsed and digest checked`,
          });
        } finally {
          await src.stop();
        }
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
