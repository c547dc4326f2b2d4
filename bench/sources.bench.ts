/**
 * Issue #4: backup sources.
 *  (1) MB/s reading a few-hundred-MB RDB (the `mixed` dataset; `small-strings` when only that is
 *      chosen) as raw bytes from the local S3 server (s3rver, SigV4, streamed GetObject) versus from
 *      the local disk, both through Ferry's Blob layer, in a child process so s3rver (in this process)
 *      and the reader do not share an event loop. Ratio = disk s / S3 s.
 *  (2) AOF replay: keys/s of `ferry import` of a plain AOF (written by redis-server's AOF rewrite of
 *      the dataset) versus `redis-cli --pipe` of the same AOF file into a fresh server. Both are
 *      checked with DEBUG DIGEST against the dataset. Ratio = pipe s / ferry s.
 */
import { existsSync } from 'node:fs';
import { copyFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, digest } from '../test/helpers/redis-server.js';
import { startS3 } from '../test/helpers/s3-server.js';
import { BENCH_DATA_DIR, type Dataset } from '../test/helpers/datasets.js';
import type { BucketConfig } from '../src/source/bucket-config.js';
import { pipeFile } from './anchors.js';
import { importCli } from './import.bench.js';
import type { BenchContext } from './harness.js';

export const name = 'sources';

export interface ReadResult {
  bytes: number;
  seconds: number;
}

/** Child-side: reads every byte of one input spec through the Blob layer (no parsing). */
export async function readRaw(a: { spec: string; buckets: BucketConfig[] }): Promise<ReadResult> {
  const { BucketResolver, parseS3Url, locateLocal } = await import('../src/source/resolve.js');
  const t0 = performance.now();
  const url = parseS3Url(a.spec);
  const resolver = new BucketResolver({ buckets: a.buckets });
  const loc = url ? await resolver.open(url.bucket, url.key) : await locateLocal(a.spec);
  if (!('blob' in loc)) throw new Error('a file is needed');
  let bytes = 0;
  for await (const c of loc.blob.stream()) bytes += c.length;
  resolver.close();
  return { bytes, seconds: (performance.now() - t0) / 1000 };
}

async function waitRewrite(c: Redis): Promise<void> {
  for (let i = 0; i < 24_000; i++) {
    const info = String(await c.info('persistence'));
    if (info.includes('aof_rewrite_in_progress:0') && info.includes('aof_rewrite_scheduled:0')) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('AOF rewrite did not finish within 10 minutes');
}

/** The dataset as one plain AOF (RESP only), written by redis-server's own rewrite; cached. */
async function datasetAof(ctx: BenchContext, ds: Dataset): Promise<string> {
  const out = join(BENCH_DATA_DIR, `${ds.name}.aof`);
  if (existsSync(out)) return out;
  ctx.log(`writing ${ds.name} as a plain AOF (once; cached in ${BENCH_DATA_DIR})`);
  const srv = await startRedis({ rdbFile: ds.rdb, args: ['--proto-max-bulk-len', '1gb', '--aof-use-rdb-preamble', 'no'] });
  try {
    const c = srv.client();
    await c.config('SET', 'appendonly', 'yes');
    await waitRewrite(c);
    const dir = join(srv.dir, 'appendonlydir');
    const base = (await readdir(dir)).find((n) => n.includes('.base.aof'));
    if (!base) throw new Error('no base AOF after rewrite');
    await copyFile(join(dir, base), `${out}.part`);
    await rename(`${out}.part`, out);
    return out;
  } finally {
    await srv.stop();
  }
}

async function s3Read(ctx: BenchContext, ds: Dataset): Promise<void> {
  const mb = ds.bytes / 1e6;
  const { best: disk } = await ctx.best(async () => (await ctx.inChild<ReadResult>('bench/sources.bench.ts', 'readRaw', { spec: ds.rdb, buckets: [] })).result, (r) => r.seconds);
  ctx.figure({ name: `read ${ds.name} from local disk`, value: mb / disk.seconds, unit: 'MB/s', note: `${mb.toFixed(0)} MB in ${disk.seconds.toFixed(2)} s` });
  const s3 = await startS3();
  try {
    await s3.createBucket('bench');
    await s3.put('bench', 'dump.rdb', { path: ds.rdb });
    const buckets = [s3.bucket('bench', { endpoint: s3.directEndpoint })];
    const { best } = await ctx.best(async () => (await ctx.inChild<ReadResult>('bench/sources.bench.ts', 'readRaw', { spec: 's3://bench/dump.rdb', buckets })).result, (r) => r.seconds);
    if (best.bytes !== ds.bytes) throw new Error(`read ${best.bytes} bytes from S3, the object has ${ds.bytes}`);
    ctx.figure({
      name: `read ${ds.name} from local S3 server`, value: mb / best.seconds, unit: 'MB/s',
      anchor: { name: 'local disk', value: mb / disk.seconds, unit: 'MB/s' },
      ratio: disk.seconds / best.seconds, ratioMeaning: 'disk s / S3 s',
      note: 's3rver on loopback (one GetObject, streamed); the S3 server shares the 2 cores',
    });
  } finally {
    await s3.stop();
  }
}

async function aofReplay(ctx: BenchContext, ds: Dataset): Promise<void> {
  const aof = await datasetAof(ctx, ds);
  const pipe = await ctx.best(async () => {
    const srv = await startRedis({ args: ['--proto-max-bulk-len', '1gb'] });
    try {
      const t = await pipeFile(srv, aof);
      const got = await digest(srv.client());
      if (got !== ds.digest) throw new Error(`redis-cli --pipe of ${ds.name}.aof is not exact: ${got} vs ${ds.digest}`);
      return t.seconds;
    } finally {
      await srv.stop();
    }
  }, (s) => s);
  const ferry = await ctx.best(async () => {
    const srv = await startRedis({ args: ['--proto-max-bulk-len', '1gb'] });
    try {
      // The compiled CLI as users run it; its own import time (checking pass included), peak RSS by GNU time.
      const result = await importCli(aof, srv.url);
      const got = await digest(srv.client());
      if (got !== ds.digest) throw new Error(`ferry import of ${ds.name}.aof is not exact: ${got} vs ${ds.digest}`);
      return { ...result, rssMB: result.maxRssMB };
    } finally {
      await srv.stop();
    }
  }, (r) => r.seconds);
  const p = pipe.best;
  const f = ferry.best;
  ctx.figure({ name: `redis-cli --pipe ${ds.name}.aof`, value: ds.keys / p, unit: 'keys/s', note: `${p.toFixed(2)} s, digest checked` });
  ctx.figure({
    name: `AOF replay ${ds.name}`, value: ds.keys / f.seconds, unit: 'keys/s',
    anchor: { name: 'redis-cli --pipe', value: ds.keys / p, unit: 'keys/s' },
    ratio: p / f.seconds, ratioMeaning: 'pipe s / ferry s', rssMB: f.rssMB,
    note: `${f.summary.aofCommands} commands in ${f.seconds.toFixed(2)} s (process wall ${f.wallSeconds.toFixed(2)} s, checking pass included), digest checked`,
  });
}

export async function run(ctx: BenchContext): Promise<void> {
  await ctx.baselineRssMB();
  const sets = await ctx.datasets(['small-strings', 'mixed']);
  const biggest = sets.reduce<Dataset | null>((a, b) => (!a || b.bytes > a.bytes ? b : a), null);
  if (biggest) await s3Read(ctx, biggest);
  for (const ds of sets) await aofReplay(ctx, ds);
}
