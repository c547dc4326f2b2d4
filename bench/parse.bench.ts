/**
 * Issue #2: parse throughput of `parseRdb` (MB/s and keys/s) on the small-strings and mixed datasets
 * (and big-keys with --big), beside the start-up load time of the same file in a fresh redis-server.
 * Ratio = server load seconds / parse seconds (target >= 1.0). Parsing runs in a child process so its
 * peak RSS is its own.
 *
 * Two figures per file: `parse` (what an import does: records with raw bytes, streamed values drained)
 * and `parse+decode` (every value decoded into chunks, as `ferry inspect` or the rewrite path would).
 */
import { ByteSource } from '../src/io/byte-source.js';
import { openLocalFile } from '../src/source/local-file.js';
import { parseRdb } from '../src/rdb/parser.js';
import type { ValueChunk } from '../src/entry/entry.js';
import { serverLoad } from './anchors.js';
import type { BenchContext } from './harness.js';

export const name = 'parse';

export interface ParseResult {
  seconds: number;
  bytes: number;
  keys: number;
  /** Elements decoded (list items, members, fields, stream entries, string pieces). */
  elements: number;
}

/** Child-side work: parse one file, draining streamed values (and decoding all when `decode`). */
export async function parseFile(a: { path: string; decode: boolean }): Promise<ParseResult> {
  const t0 = performance.now();
  const { size, stream } = await openLocalFile(a.path);
  const src = new ByteSource(stream, { name: a.path });
  let keys = 0;
  let elements = 0;
  for await (const batch of parseRdb(src, { name: a.path, size })) {
    for (const rec of batch) {
      if (rec.kind !== 'entry') continue;
      keys++;
      if (a.decode || rec.entry.raw === null) for await (const c of rec.entry.chunks()) elements += chunkElements(c);
    }
  }
  return { seconds: (performance.now() - t0) / 1000, bytes: size, keys, elements };
}

function chunkElements(c: ValueChunk): number {
  switch (c.t) {
    case 'string': return 1;
    case 'list': return c.items.length;
    case 'set': case 'zset': return c.members.length;
    case 'hash': return c.fields.length;
    case 'stream-entries': return c.ids.length;
    default: return 1;
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  await ctx.baselineRssMB();
  for (const ds of await ctx.datasets(['small-strings', 'mixed', 'big-keys'])) {
    const { best: load } = await ctx.best(() => serverLoad(ds.rdb), (l) => l.seconds);
    if (load.keys !== ds.keys) throw new Error(`redis-server loaded ${load.keys} keys from ${ds.name}, expected ${ds.keys}`);
    const mb = ds.bytes / 1e6;
    for (const decode of [false, true]) {
      const label = `${decode ? 'parse+decode' : 'parse'} ${ds.name}`;
      const { best, runs } = await ctx.best(
        () => ctx.inChild<ParseResult>('bench/parse.bench.ts', 'parseFile', { path: ds.rdb, decode }),
        (c) => c.result.seconds,
      );
      const r = best.result;
      if (r.keys !== ds.keys) throw new Error(`${label}: parsed ${r.keys} keys, the dataset holds ${ds.keys}`);
      const rssMB = Math.max(...runs.map((c) => c.maxRssMB));
      const ratio = load.seconds / r.seconds;
      const target = decode ? undefined : 1.0;
      ctx.figure({
        name: `${label} MB/s`, value: mb / r.seconds, unit: 'MB/s',
        anchor: { name: 'redis-server load', value: load.seconds, unit: 's' },
        ratio, ratioMeaning: 'server load s / parse s', target, rssMB, note: `${mb.toFixed(0)} MB in ${r.seconds.toFixed(2)} s`,
      });
      ctx.figure({
        name: `${label} keys/s`, value: r.keys / r.seconds, unit: 'keys/s',
        anchor: { name: 'redis-server load', value: ds.keys / load.seconds, unit: 'keys/s' },
        ratio, ratioMeaning: 'server load s / parse s', target,
      });
    }
  }
}
