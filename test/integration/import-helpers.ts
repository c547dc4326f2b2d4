/**
 * Test-side helpers for import tests: ImportInputs built straight from local RDB files with the RDB
 * parser (the sources engineer's openInputs() does the same for every source kind), and a digest
 * comparison that names the first differing key.
 */
import { statSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { ByteSource } from '../../src/io/byte-source.js';
import { parseRdb } from '../../src/rdb/parser.js';
import { openLocalFile } from '../../src/source/local-file.js';
import type { ImportInput, ImportRecord } from '../../src/pipeline/types.js';
import { IMPORT_STRING_RUN_MAX } from '../../src/pipeline/inline-limit.js';

/**
 * An RDB file as an import input, parsed as `ferry import` parses it: leased, with small plain
 * strings in string runs (`stringRuns: 0` turns those off) and simple RESTORE-able keys in key runs
 * (`keyRuns: false` turns those off).
 */
export function rdbInput(path: string, opts: { inlineLimit?: number; leased?: boolean; stringRuns?: number; keyRuns?: boolean } = {}): ImportInput {
  let src: ByteSource | null = null;
  return {
    name: path,
    size: statSync(path).size,
    async *records() {
      const f = await openLocalFile(path);
      src = new ByteSource(f.stream, { name: path });
      try {
        yield* parseRdb(src, { name: path, inlineLimit: opts.inlineLimit, leased: opts.leased ?? true, stringRuns: opts.stringRuns ?? IMPORT_STRING_RUN_MAX, keyRuns: opts.keyRuns ?? true });
      } finally {
        await src.close();
      }
    },
    bytesRead: () => src?.offset ?? 0,
  };
}

/** Every key of every db with its DEBUG DIGEST-VALUE and PTTL-based expiry presence. */
export async function keyDigests(c: Redis): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ks = String(await c.info('keyspace'));
  for (const m of ks.matchAll(/^db(\d+):keys=(\d+)/gm)) {
    const db = Number(m[1]);
    await c.select(db);
    let cursor = '0';
    do {
      const [next, keys] = (await c.scanBuffer(cursor, 'COUNT', 1000)) as unknown as [Buffer, Buffer[]];
      cursor = next.toString();
      for (const k of keys) {
        const d = String(await c.call('DEBUG', 'DIGEST-VALUE', k));
        const ttl = await c.pexpiretime(k);
        out.set(`${db}:${k.toString('base64')}`, `${d}:${ttl}`);
      }
    } while (cursor !== '0');
  }
  await c.select(0);
  return out;
}

/** Names the keys whose value or expiry differ (for assertion messages). */
export async function diffKeys(a: Redis, b: Redis, max = 10): Promise<string[]> {
  const [x, y] = [await keyDigests(a), await keyDigests(b)];
  const out: string[] = [];
  for (const [k, v] of x) {
    if (y.get(k) !== v) out.push(`${keyName(k)}: expected ${v}, got ${y.get(k) ?? 'missing'}`);
    if (out.length >= max) return out;
  }
  for (const k of y.keys()) if (!x.has(k) && out.length < max) out.push(`${keyName(k)}: unexpected on target`);
  return out;
}

function keyName(k: string): string {
  const [db, b64] = k.split(':');
  return `db${db} ${JSON.stringify(Buffer.from(b64!, 'base64').toString())}`;
}

/**
 * Re-yields an input's records `per` at a time with `pauseMs` between, so an import lasts long
 * enough for a test to act in the middle (a restart, a slot migration). A string run counts as one
 * record per key: it is cut into runs of one key (views of the same batch, valid until the parser's
 * next batch is asked for, which only happens after these are yielded).
 */
export function paced(input: ImportInput, per: number, pauseMs: number): ImportInput {
  return {
    name: input.name,
    size: input.size,
    bytesRead: () => input.bytesRead(),
    async *records() {
      for await (const b of input.records()) {
        const units: ImportRecord[] = [];
        for (const r of b) {
          if (r.kind === 'strings') for (let i = r.from; i < r.to; i++) units.push({ ...r, from: i, to: i + 1 });
          else units.push(r);
        }
        for (let i = 0; i < units.length; i += per) {
          yield units.slice(i, i + per);
          await new Promise((r) => setTimeout(r, pauseMs));
        }
      }
    },
  };
}
