/**
 * lzfDecompress on real LZF data written by redis-server (DUMP of compressible strings, which Redis
 * saves LZF-compressed), on the corpus's compressed key, and on hand-made bad streams; then the
 * corruption harness over a real compressed blob.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { dumpPayload, Gen } from '../helpers/make-rdb.js';
import { lzfDecompress, readRdbLengthAt, readRdbStringAt, LZF_MAX_EXPANSION } from '../../src/rdb/blobs/index.js';
import { assertCorrupt, fuzzDecoder, oldRdbValues } from './blobs-support.js';

let server: RedisServer;
let client: Redis;

before(async () => {
  server = await startRedis();
  client = server.client();
});
after(async () => {
  await server.stop();
});

/** The LZF part of a string DUMP: compressed bytes and declared raw length. */
async function lzfOf(key: string): Promise<{ data: Buffer; rawLen: number }> {
  const { typeByte, raw } = await dumpPayload(client, key);
  assert.equal(typeByte, 0);
  assert.equal(raw[0], 0xc3, `${key}: Redis did not LZF-compress it`);
  const clen = readRdbLengthAt(raw, 1);
  const rawLen = readRdbLengthAt(raw, clen.end);
  const data = raw.subarray(rawLen.end, rawLen.end + clen.value);
  assert.equal(rawLen.end + clen.value, raw.length);
  return { data, rawLen: rawLen.value };
}

test('decompresses what redis-server compressed, for short, long, overlapping and binary content', async () => {
  const g = new Gen(7);
  const words = Array.from({ length: 40 }, () => g.word(g.int(3, 12)));
  const values: Record<string, Buffer> = {
    short: Buffer.from('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),
    run: Buffer.alloc(100_000, 'a'), // long overlapping back-references (distance 1)
    period3: Buffer.from('abc'.repeat(5000) + 'tail'),
    text: Buffer.from(Array.from({ length: 20_000 }, () => words[g.int(0, words.length - 1)]).join(' ')),
    binary: Buffer.concat(Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? g.bytes(40) : Buffer.alloc(50, i & 0xff)))),
  };
  // A back-reference reaching ~8 KB (the maximum LZF distance): a block repeated 8000 bytes later.
  const block = g.bytes(3000);
  values.farRefs = Buffer.concat([block, g.bytes(5000), block]);
  for (const [k, v] of Object.entries(values)) await client.set(k, v);
  for (const [k, v] of Object.entries(values)) {
    const { data, rawLen } = await lzfOf(k);
    assert.equal(rawLen, v.length, k);
    const out = lzfDecompress(data, rawLen, { key: k });
    assert.ok(out.equals(v), `${k}: decompressed bytes differ`);
    assert.ok(out.equals((await client.getBuffer(k))!), `${k}: differs from GET`);
  }
});

test('the corpus key compressed by Redis 2.x decompresses to 200 "a"', async () => {
  const file = join(CORPUS, 'rdb-tools/easily_compressible_string_key.rdb');
  const [only] = await oldRdbValues(file);
  assert.equal(only.key.toString(), 'a'.repeat(200));
});

test('errors: back-reference before the start, literal past the end, overflow, short output', () => {
  const ctx = { file: 'f.rdb', offset: 1000, key: 'k' };
  // A back-reference as the first thing: nothing to copy from.
  assertCorrupt(() => lzfDecompress(Buffer.from([0x20, 0x00]), 3, ctx), 1000, /before the start/);
  // Literal run of 6 with 2 bytes present.
  assertCorrupt(() => lzfDecompress(Buffer.from([0x05, 0x61, 0x62]), 6, ctx), 1000, /only 2 left/);
  // Literal "ab" then a back-reference of 3 bytes: 5 bytes out, declared 4.
  assertCorrupt(() => lzfDecompress(Buffer.from([0x01, 0x61, 0x62, 0x20, 0x01]), 4, ctx), 1003, /overflows the declared length 4/);
  // Declared 10, produces 2.
  assertCorrupt(() => lzfDecompress(Buffer.from([0x01, 0x61, 0x62]), 10, ctx), 1003, /decompresses to 2 bytes, expected the declared 10/);
  // Back-reference missing its offset byte; long back-reference missing its offset byte.
  assertCorrupt(() => lzfDecompress(Buffer.from([0x00, 0x61, 0x20]), 3, ctx), 1002, /missing its offset byte/);
  assertCorrupt(() => lzfDecompress(Buffer.from([0x00, 0x61, 0xe0, 0x05]), 20, ctx), 1002, /missing its offset byte/);
  // Overflow by a literal.
  assertCorrupt(() => lzfDecompress(Buffer.from([0x02, 0x61, 0x62, 0x63]), 2, ctx), 1000, /overflows/);
  // A valid stream with overlap: "a" then copy 9 from distance 1 = 10 x "a".
  assert.equal(lzfDecompress(Buffer.from([0x00, 0x61, 0xe0, 0x00, 0x00]), 10).toString(), 'a'.repeat(10));
  assert.equal(lzfDecompress(Buffer.alloc(0), 0).length, 0);
  assert.equal(lzfDecompress(Buffer.from([0x00, 0x61]), 1).toString(), 'a');
});

test('a declared length no input of that size can produce is refused before allocating', () => {
  const src = Buffer.from([0x00, 0x61, 0xe0, 0xff, 0x00]);
  // 5 bytes can yield at most 5 * 88; the real maximum for this shape is 1 + 264.
  assert.equal(lzfDecompress(src, 1 + 7 + 255 + 2).length, 265);
  assertCorrupt(() => lzfDecompress(src, 5 * LZF_MAX_EXPANSION + 1, { offset: 7 }), 7, /cannot come from 5 compressed bytes/);
  assertCorrupt(() => lzfDecompress(src, 2 ** 32 + 1), undefined, /not a length/);
  assertCorrupt(() => lzfDecompress(src, -1), undefined, /not a length/);
  assertCorrupt(() => lzfDecompress(src, 1.5), undefined, /not a length/);
  assertCorrupt(() => lzfDecompress(Buffer.alloc(0), 1), undefined, /cannot come from 0 compressed bytes/);
});

test('readRdbStringAt undoes LZF strings and places LZF errors at the compressed data', async () => {
  await client.set('lz', 'xyz'.repeat(100));
  const { raw } = await dumpPayload(client, 'lz');
  assert.equal(readRdbStringAt(raw, 0).value.toString(), 'xyz'.repeat(100));
  const bad = Buffer.from(raw);
  const clen = readRdbLengthAt(bad, 1);
  const rawLen = readRdbLengthAt(bad, clen.end);
  bad[rawLen.end] = 0x20; // first control byte becomes a back-reference with nothing behind it
  assertCorrupt(() => readRdbStringAt(bad, 0, { offset: 500 }), 500 + rawLen.end, /before the start/);
});

test('corruption harness: truncations and mutations of a real LZF stream give output or RDB_CORRUPT', { timeout: 60_000 }, async () => {
  const g = new Gen(11);
  const v = Buffer.from(Array.from({ length: 400 }, () => g.word(g.int(2, 6))).join('-'));
  await client.set('fz', v);
  const { data, rawLen } = await lzfOf('fz');
  // The allocation is the declared rawLen, fixed here; what the harness checks is that nothing else
  // is allocated and every failure is typed.
  const report = fuzzDecoder(data, (b) => {
    const out = lzfDecompress(b, rawLen);
    assert.equal(out.length, rawLen);
    return [];
  }, { rounds: 3000, seed: 3 });
  assert.ok(report.corrupt > 0);
  // Also with the declared length itself varied, on the original data.
  for (let d = -40; d <= 40; d++) {
    if (d === 0) assert.equal(lzfDecompress(data, rawLen).length, rawLen);
    else assertCorrupt(() => lzfDecompress(data, rawLen + d));
  }
});
