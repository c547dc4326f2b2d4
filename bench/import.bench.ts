/**
 * Issue #3: keys/s and MB/s of the engine's `importRecords` importing each dataset (small-strings,
 * mixed; big-keys with --big) into a fresh redis-server, beside two anchors measured in the same run:
 *   - the server's own start-up load of the same RDB (ratio = load s / import s), and
 *   - `redis-cli --pipe` of pre-built `RESTORE ... REPLACE ABSTTL` commands for the same data, built
 *     from DUMP (ratio = pipe s / import s; target >= 1.0).
 * Every import, Ferry's and the anchor's, is checked with DEBUG DIGEST against the dataset: a fast
 * import that is not exact is reported as a failure, not a figure. The import runs in a child process
 * so its peak RSS is its own (target < 200 MB on every dataset, the big-key one included).
 */
import { ByteSource } from '../src/io/byte-source.js';
import { openLocalFile } from '../src/source/local-file.js';
import { parseRdb } from '../src/rdb/parser.js';
import { importRecords } from '../src/pipeline/import.js';
import { IMPORT_INLINE_LIMIT } from '../src/pipeline/inline-limit.js';
import type { ImportInput, ImportSummary } from '../src/pipeline/types.js';
import { startRedis, digest } from '../test/helpers/redis-server.js';
import type { Dataset } from '../test/helpers/datasets.js';
import { serverLoad, pipeFile } from './anchors.js';
import type { BenchContext } from './harness.js';

export const name = 'import';

const SERVER_ARGS = ['--proto-max-bulk-len', '1gb'];

export interface ImportResult {
  seconds: number;
  summary: ImportSummary;
}

/** Child-side work: import one RDB file into `target`. */
export async function importFile(a: { path: string; target: string }): Promise<ImportResult> {
  const t0 = performance.now();
  const { size, stream } = await openLocalFile(a.path);
  let read = 0;
  const src = new ByteSource(stream, { name: a.path, onBytes: (n) => (read += n) });
  const input: ImportInput = {
    name: a.path,
    size,
    records: () => parseRdb(src, { name: a.path, size, inlineLimit: IMPORT_INLINE_LIMIT }),
    bytesRead: () => read,
  };
  const summary = await importRecords([input], { target: a.target });
  return { seconds: (performance.now() - t0) / 1000, summary };
}

async function restorePipe(ctx: BenchContext, ds: Dataset): Promise<number> {
  const file = await ctx.restoreCommands(ds);
  const server = await startRedis({ args: SERVER_ARGS });
  try {
    const pipe = await pipeFile(server, file);
    const got = await digest(server.client());
    if (got !== ds.digest) throw new Error(`RESTORE pipe anchor for ${ds.name} is not exact: digest ${got}, expected ${ds.digest}`);
    return pipe.seconds;
  } finally {
    await server.stop();
  }
}

async function ferryImport(ctx: BenchContext, ds: Dataset): Promise<{ r: ImportResult; rssMB: number }> {
  const server = await startRedis({ args: SERVER_ARGS });
  try {
    const { result: r, maxRssMB } = await ctx.inChild<ImportResult>('bench/import.bench.ts', 'importFile', { path: ds.rdb, target: server.url });
    const got = await digest(server.client());
    if (got !== ds.digest) throw new Error(`ferry import of ${ds.name} is not exact: target digest ${got}, expected ${ds.digest} (summary ${JSON.stringify(r.summary)})`);
    return { r, rssMB: maxRssMB };
  } finally {
    await server.stop();
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  await ctx.baselineRssMB();
  for (const ds of await ctx.datasets(['small-strings', 'mixed', 'big-keys'])) {
    const mb = ds.bytes / 1e6;
    const { best: load } = await ctx.best(() => serverLoad(ds.rdb), (l) => l.seconds);
    const { best: pipeSeconds } = await ctx.best(() => restorePipe(ctx, ds), (s) => s);
    ctx.figure({ name: `redis-server load ${ds.name}`, value: ds.keys / load.seconds, unit: 'keys/s', note: `${mb.toFixed(0)} MB, ${ds.keys} keys in ${load.seconds.toFixed(2)} s` });
    ctx.figure({ name: `restore pipe ${ds.name}`, value: ds.keys / pipeSeconds, unit: 'keys/s', note: `redis-cli --pipe of DUMP payloads, ${pipeSeconds.toFixed(2)} s, digest checked` });
    const { best, runs } = await ctx.best(() => ferryImport(ctx, ds), (x) => x.r.seconds);
    const r = best.r;
    const rssMB = Math.max(...runs.map((x) => x.rssMB));
    if (r.summary.keys !== ds.keys) throw new Error(`ferry import of ${ds.name} reports ${r.summary.keys} keys, the dataset holds ${ds.keys}`);
    ctx.figure({
      name: `import ${ds.name} keys/s`, value: ds.keys / r.seconds, unit: 'keys/s',
      anchor: { name: 'restore pipe', value: ds.keys / pipeSeconds, unit: 'keys/s' },
      ratio: pipeSeconds / r.seconds, ratioMeaning: 'restore-pipe s / import s', target: 1.0, rssMB,
      note: `${r.seconds.toFixed(2)} s, digest checked; paths ${JSON.stringify(r.summary.paths)}; RSS target < 200 MB`,
    });
    ctx.figure({
      name: `import ${ds.name} MB/s`, value: mb / r.seconds, unit: 'MB/s',
      anchor: { name: 'redis-server load', value: mb / load.seconds, unit: 'MB/s' },
      ratio: load.seconds / r.seconds, ratioMeaning: 'server load s / import s',
    });
  }
}
