/**
 * Chunk-split harness: every corpus RDB parsed whole, in tiny chunks and split at every boundary
 * (every byte for files up to 6 KB, 600 evenly spread points beyond) gives identical records and
 * values; and with a tiny inline limit (every collection streamed) the decoded values are the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS } from '../helpers/redis-server.js';
import { canonRdb, chunked, splitAt, type CanonOptions } from '../helpers/rdb-canon.js';
import { ByteSource, SHORT } from '../../src/io/byte-source.js';
import { parseRdb } from '../../src/rdb/parser.js';
import type { RdbEntry } from '../../src/rdb/rdb-entry.js';
import { plainLengthAt, plainLengthEnd } from '../../src/rdb/blobs/rdb-string.js';

const FILES = ['generated', 'rdb-tools', 'redis-tests']
  .flatMap((d) => readdirSync(join(CORPUS, d)).filter((f) => f.endsWith('.rdb') && f !== 'corrupt_ziplist.rdb').map((f) => join(CORPUS, d, f)));

for (const file of FILES) {
  const name = file.slice(CORPUS.length + 1);
  test(`chunk splits give identical output: ${name}`, async () => {
    const buf = readFileSync(file);
    const whole = await canonRdb(buf, { raw: true });
    assert.ok(whole.length > 0);
    assert.deepEqual(await canonRdb(chunked(buf, [1]), { raw: true }), whole, 'byte by byte');
    assert.deepEqual(await canonRdb(chunked(buf, [7, 1, 3, 64, 2]), { raw: true }), whole, 'mixed small chunks');
    const points = buf.length <= 6_000 ? buf.length : 600;
    for (let p = 1; p <= points; p++) {
      const at = buf.length <= 6_000 ? p : Math.floor((p * buf.length) / (points + 1));
      assert.deepEqual(await canonRdb(splitAt(buf, at), { raw: true }), whole, `split at ${at}`);
    }
  });

  test(`string and key runs stand for exactly the entries they replace, at every split: ${name}`, async () => {
    const buf = readFileSync(file);
    // A run holds its batch's small strings (or simple keys) ahead of the records between them: same
    // records, same content and offsets, in another order (keys are distinct, so a writer may take
    // them so).
    const canon = async (input: Buffer | AsyncIterable<Buffer>, o: CanonOptions): Promise<string[]> => units(await canonRdb(input, o));
    const whole = units(await canonRdb(buf, { raw: true }));
    // 4096: the import's setting; 12: only the shortest strings in runs, the rest as entries between
    // them; with key runs (the import's setting), and key runs alone.
    for (const [stringRuns, keyRuns] of [[4096, false], [12, false], [4096, true], [0, true]] as const) {
      const runs = { raw: true, stringRuns, keyRuns };
      const what = `runs of <= ${stringRuns} B${keyRuns ? ' and key runs' : ''}`;
      assert.deepEqual(await canon(buf, runs), whole, `${what}, whole input`);
      assert.deepEqual(await canon(chunked(buf, [1]), runs), whole, `${what}, byte by byte`);
      assert.deepEqual(await canon(chunked(buf, [7, 1, 3, 64, 2]), { ...runs, leased: true }), whole, `${what}, leased, small chunks`);
      const step = Math.max(1, Math.floor(buf.length / 150));
      for (let at = 1; at < buf.length; at += step) {
        assert.deepEqual(await canon(splitAt(buf, at), runs), whole, `${what}, split at ${at}`);
      }
    }
  });

  test(`streamed values decode like inline ones: ${name}`, async () => {
    const buf = readFileSync(file);
    const inline = await canonRdb(buf, { dropEmpty: true });
    const streamed = { inlineLimit: 16, dropEmpty: true };
    assert.deepEqual(await canonRdb(buf, streamed), inline, 'inline limit 16, whole input');
    assert.deepEqual(await canonRdb(chunked(buf, [5, 1, 13]), streamed), inline, 'inline limit 16, small chunks');
    const step = Math.max(1, Math.floor(buf.length / 150));
    for (let at = 1; at < buf.length; at += step) {
      assert.deepEqual(await canonRdb(splitAt(buf, at), streamed), inline, `streamed, split at ${at}`);
    }
  });
}

/** Keys and record kinds only, never reading a value: streamed values are then skipped, not decoded. */
async function keysOnly(input: AsyncIterable<Buffer> | Buffer, inlineLimit?: number): Promise<string[]> {
  const src = new ByteSource(input, { name: 'skip.rdb' });
  const out: string[] = [];
  for await (const batch of parseRdb(src, { inlineLimit })) {
    for (const r of batch) out.push(r.kind === 'entry' ? `key ${r.entry.db} ${r.entry.key.toString('hex')} ${r.entry.type}` : r.kind === 'end' ? `end ${r.bytes} ${r.checksumOk}` : r.kind);
  }
  return out;
}

for (const file of FILES) {
  const name = file.slice(CORPUS.length + 1);
  test(`unread streamed values are skipped and the parser stays in step: ${name}`, async () => {
    const buf = readFileSync(file);
    // With every value streamed, the same keys (empty ones aside) and the same end, at any chunking.
    const strip = (l: string[]) => l.filter((x) => x !== 'resizedb');
    const inline = strip(await keysOnly(buf));
    const streamedKeys = (l: string[]) => new Set(l.filter((x) => x.startsWith('key')));
    for (const input of [buf, chunked(buf, [1, 7, 300])]) {
      const skipped = strip(await keysOnly(input, 16));
      assert.equal(skipped.at(-1), inline.at(-1), 'same end record (bytes, checksum)');
      for (const k of streamedKeys(inline)) assert.ok(streamedKeys(skipped).has(k), `${k} still read`);
    }
  });
}

test('string runs do form: small plain strings of the corpus come as runs, the others as entries', async () => {
  let inRuns = 0;
  let runs = 0;
  let stringEntries = 0;
  for (const file of FILES) {
    const fileBytes = readFileSync(file);
    const src = new ByteSource(fileBytes, { name: file });
    for await (const batch of parseRdb(src, { stringRuns: 4096 })) {
      for (const r of batch) {
        if (r.kind === 'strings') {
          runs++;
          inRuns += r.to - r.from;
        } else if (r.kind === 'entry' && r.entry.typeByte === 0) {
          stringEntries++;
          // What stays an entry is what a run cannot hold (a key not in the plain short form: int, LZF, long).
          const e = r.entry;
          const why = e.expireAt !== null || e.idle !== null || e.freq !== null || e.keyMeta !== null || e.encoding !== 'raw' ||
            e.raw === null || e.raw.length > 4096 || e.raw[0]! >> 6 >= 2 || fileBytes[e.offset + 1]! >> 6 >= 2;
          assert.ok(why, `${file}: string key ${e.key.toString('hex')} at ${e.offset} could have been in a run`);
        }
      }
    }
  }
  assert.ok(runs > 10 && inRuns > 50, `runs ${runs}, keys in runs ${inRuns}`);
  assert.ok(stringEntries > 0, 'strings with TTLs, ints or LZF stay entries');
});

test('key runs do form: simple RESTORE-able keys of the corpus come as runs, the others as entries', async () => {
  const runTypes = new Set([0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 26]);
  const inRunsByType = new Map<number, number>();
  let entries = 0;
  for (const file of FILES) {
    const fileBytes = readFileSync(file);
    const src = new ByteSource(fileBytes, { name: file });
    for await (const batch of parseRdb(src, { stringRuns: 4096, keyRuns: true })) {
      for (const r of batch) {
        if (r.kind === 'keys') {
          for (let i = r.from; i < r.to; i++) {
            const t = r.pos[6 * i + 5]!;
            assert.ok(runTypes.has(t), `${file}: type ${t} in a key run`);
            assert.ok(t !== 0 || r.exp[i]! >= 0, `${file}: a string with no expiry in a key run (it belongs to a string run or an entry)`);
            inRunsByType.set(t, (inRunsByType.get(t) ?? 0) + 1);
          }
        } else if (r.kind === 'entry') {
          entries++;
          // What stays an entry is what a run cannot hold: another type, a hint or metadata, a
          // string with no expiry, a key not in plain length form, a streamed or empty value.
          const e = r.entry;
          const why = !runTypes.has(e.typeByte) || e.idle !== null || e.freq !== null || e.keyMeta !== null || (e.typeByte === 0 && e.expireAt === null) ||
            (e.expireAt !== null && e.expireAt < 0) || e.raw === null || !plainKey(fileBytes, (e as RdbEntry).valueOffset, e.key.length, e.typeByte);
          assert.ok(why, `${file}: key ${e.key.toString('hex')} (type ${e.typeByte}) at ${e.offset} could have been in a key run`);
        }
      }
    }
  }
  // The corpus has every common encoding: listpacks, ziplists, intsets, quicklists, hashtables, streams, strings with TTLs.
  for (const t of [0, 2, 4, 5, 11, 13, 14, 15, 16, 17, 18]) assert.ok((inRunsByType.get(t) ?? 0) > 0, `no key of type ${t} came in a key run: ${JSON.stringify([...inRunsByType])}`);
  assert.ok(entries > 0, 'modules, hints and strings with no expiry stay entries');
});

/** Whether the key of `klen` bytes ending at `end` has a plain 6-, 14- or 32-bit length header (after its type byte). */
function plainKey(b: Buffer, end: number, klen: number, typeByte: number): boolean {
  return [1, 2, 5].some((hl) => b[end - klen - hl - 1] === typeByte && plainLengthAt(b, end - klen - hl) === klen && plainLengthEnd === end - klen);
}

/** canonRdb lines as sorted units (a key line with its value line, or any other line). */
function units(lines: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) out.push(lines[i]!.startsWith('key ') ? `${lines[i]}\n${lines[++i]}` : lines[i]!);
  return out.sort();
}

test('a parse sizes its reads afresh: a read-size hint left by an earlier parse changes nothing', async () => {
  const buf = readFileSync(FILES.find((f) => f.endsWith('redis-7.0.rdb'))!);
  /** The sizes the parser asks ByteSource.fill for, reading the file in small chunks. */
  const asks = async (): Promise<number[]> => {
    const src = new ByteSource(chunked(buf, [3, 17, 1, 250]), { name: 'hint.rdb' });
    const out: number[] = [];
    const fill = src.fill.bind(src);
    src.fill = (n: number) => {
      out.push(n);
      return fill(n);
    };
    for await (const batch of parseRdb(src, { stringRuns: 4096, keyRuns: true })) void batch;
    return out;
  };
  const clean = await asks();
  // What a parse that stopped inside a big collection (an error, or a streamed value) left behind.
  SHORT.hint = 50_000_000;
  assert.deepEqual(await asks(), clean);
  assert.equal(SHORT.hint, 0);
});
