/**
 * Fuzz: corpus RDBs mutated (bit flips, byte overwrites, truncations, splices of other files' bytes),
 * a bounded number of seeded rounds. Every parse must end in a clean parse or a typed FerryError
 * that names the file and an offset — never another exception, a hang, or a huge allocation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS } from '../helpers/redis-server.js';
import { ByteSource } from '../../src/io/byte-source.js';
import { parseRdb } from '../../src/rdb/parser.js';
import { FerryError } from '../../src/errors/ferry-error.js';
import { chunked } from '../helpers/rdb-canon.js';
import { keyRunEntry } from '../../src/rdb/rdb-entry.js';
import { NATIVE_RESP } from '../../src/resp/native-resp.js';
import { RespEncoder } from '../../src/resp/encoder.js';
import { minRdbForType } from '../../src/writer/restore.js';
import { INFLATE_MAX } from '../../src/writer/inflate-payload.js';

const ROUNDS = Number(process.env.FERRY_FUZZ_ROUNDS ?? 2500);
const FILES = ['generated', 'rdb-tools', 'redis-tests'].flatMap((d) => readdirSync(join(CORPUS, d)).filter((f) => f.endsWith('.rdb')).map((f) => join(CORPUS, d, f)));
const BUFS = FILES.map((f) => readFileSync(f));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(buf: Buffer, r: () => number): { data: Buffer; how: string } {
  const data = Buffer.from(buf);
  const pick = (n: number) => Math.floor(r() * n);
  switch (pick(4)) {
    case 0: {
      const flips = 1 + pick(6);
      for (let i = 0; i < flips; i++) data[pick(data.length)]! ^= 1 << pick(8);
      return { data, how: `${flips} bit flips` };
    }
    case 1: {
      const at = pick(data.length);
      const v = [0x00, 0xff, 0x80, 0x81, 0xc3, 0x7f, 0xfe, pick(256)][pick(8)]!;
      data[at] = v;
      return { data, how: `byte ${at} = ${v}` };
    }
    case 2: {
      const at = pick(data.length);
      return { data: data.subarray(0, at), how: `truncated at ${at}` };
    }
    default: {
      const other = BUFS[pick(BUFS.length)]!;
      const from = pick(other.length);
      const len = 1 + pick(64);
      const at = 9 + pick(Math.max(1, data.length - 9));
      const spliced = Buffer.concat([data.subarray(0, at), other.subarray(from, from + len), data.subarray(at + pick(64))]);
      return { data: spliced, how: `splice of ${len} bytes at ${at}` };
    }
  }
}

/** Footer versions of a Redis 7.0 target, for the native key-run encoder. */
const VERS = new Uint8Array(256).map((_, t) => {
  const v = minRdbForType(t, 'REDIS');
  return v !== null && v <= 10 ? v : 0;
});

/**
 * Parses `data` whole; with `runs`, as an import does (string and key runs), and each key run is
 * also encoded by the native run encoder, which must decline what it cannot write, never throw.
 */
async function parseAll(data: Buffer, chunks: boolean, checksum: 'verify' | 'ignore', runs: boolean): Promise<void> {
  const src = new ByteSource(chunks ? chunked(data, [3, 17, 1, 250]) : data, { name: 'fuzz.rdb' });
  for await (const batch of parseRdb(src, { checksum, size: data.length, inlineLimit: 256, ...(runs ? { stringRuns: 4096, keyRuns: true } : {}) })) {
    for (const rec of batch) {
      if (rec.kind === 'entry') for await (const _ of rec.entry.chunks());
      if (rec.kind !== 'keys') continue;
      if (NATIVE_RESP !== null) {
        const enc = new RespEncoder(true);
        enc.beginSpan();
        for (let i = rec.from; i < rec.to; ) {
          const status = enc.restoreRun(rec.buf, rec.pos, rec.exp, VERS, i, rec.to, 0, 3, 1 << 29, 1 << 20, INFLATE_MAX);
          i = enc.runNext + (status === 2 ? 1 : 0);
        }
        enc.takeSpan();
      }
      for (let i = rec.from; i < rec.to; i++) for await (const _ of keyRunEntry(rec, i).chunks());
    }
  }
}

test(`fuzzed RDBs end in a clean parse or a typed error (${ROUNDS} rounds)`, async () => {
  const r = rng(20261127);
  const codes = new Map<string, number>();
  let clean = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const i = Math.floor(r() * BUFS.length);
    const { data, how } = mutate(BUFS[i]!, r);
    const rssBefore = process.memoryUsage().rss;
    try {
      await parseAll(data, round % 3 === 0, round % 2 === 0 ? 'ignore' : 'verify', round % 4 < 2);
      clean++;
    } catch (err) {
      if (!(err instanceof FerryError)) {
        assert.fail(`round ${round} (${FILES[i]}, ${how}): untyped ${err instanceof Error ? err.stack : String(err)}`);
      }
      assert.equal(err.context.file, 'fuzz.rdb', `round ${round}: error names the file`);
      assert.equal(typeof err.context.offset, 'number', `round ${round} (${how}): error names an offset: ${err.message}`);
      codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
    }
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(grown < 600 * 1024 * 1024, `round ${round} (${FILES[i]}, ${how}): RSS grew by ${grown} bytes`);
  }
  // Every mutation kind must reach the parser's checks, not only the checksum.
  assert.ok((codes.get('RDB_CORRUPT') ?? 0) > 0 && (codes.get('RDB_TRUNCATED') ?? 0) > 0, JSON.stringify([...codes]));
  process.stdout.write(`# fuzz: ${clean} clean parses, errors ${JSON.stringify(Object.fromEntries(codes))}\n`);
});
