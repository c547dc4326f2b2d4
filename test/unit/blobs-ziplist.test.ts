/**
 * ziplistEntries on the real ziplists in the corpus (Redis 2.x-6.x files: every integer encoding,
 * LZF-compressed ziplists, 5-byte prevlens, quicklist-1 nodes) checked against the README's facts
 * and against redis-server 7.0 loading the same files; ziplists built here (edge forms Redis writes
 * only in some histories) checked by RESTOREing them into the server; damage with exact offsets; the
 * corruption harness; and a differential run where the server judges mutated ziplists.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { seededRandom } from '../helpers/make-rdb.js';
import { ziplistEntries, intsetMembers, zipmapPairs } from '../../src/rdb/blobs/index.js';
import { assertCorrupt, fuzzDecoder, oldRdbValues, serverAccepts, type OldRdbValue } from './blobs-support.js';

let server: RedisServer;
let client: Redis;

before(async () => {
  server = await startRedis({ args: ['--sanitize-dump-payload', 'yes'] });
  client = server.client();
});
after(async () => {
  await server.stop();
});

const file = (name: string): string => join(CORPUS, name);

async function only(name: string): Promise<OldRdbValue> {
  const all = (await oldRdbValues(file(name))).filter((v) => v.blobs.length > 0);
  assert.equal(all.length, 1, `${name}: one blob-valued key`);
  return all[0];
}

const texts = (bs: Buffer[]): string[] => bs.map((b) => b.toString('latin1'));

test('ziplist_with_integers.rdb: every ziplist integer encoding, exactly as the README lists', async () => {
  const v = await only('rdb-tools/ziplist_with_integers.rdb');
  assert.equal(v.typeByte, 10);
  assert.deepEqual(texts(ziplistEntries(v.blobs[0])), [
    ...Array.from({ length: 13 }, (_, i) => String(i)),
    '-2', '13', '25', '-61', '63', '16380', '-16000', '65535', '-65523', '4194304', '9223372036854775807',
  ]);
});

test('the other corpus ziplists: LZF-compressed, incompressible, hash, zset and big values', async () => {
  let v = await only('rdb-tools/ziplist_that_compresses_easily.rdb');
  assert.deepEqual(texts(ziplistEntries(v.blobs[0])), [6, 12, 18, 24, 30, 36].map((n) => 'a'.repeat(n)));
  v = await only('rdb-tools/ziplist_that_doesnt_compress.rdb');
  const two = texts(ziplistEntries(v.blobs[0]));
  assert.equal(two.length, 2);
  assert.equal(two[0], 'aj2410');
  v = await only('rdb-tools/hash_as_ziplist.rdb');
  assert.equal(v.typeByte, 13);
  assert.deepEqual(texts(ziplistEntries(v.blobs[0])), ['a', 'aa', 'aa', 'aaaa', 'aaaaa', 'aaaaaaaaaaaaaa']);
  v = await only('rdb-tools/sorted_set_as_ziplist.rdb');
  assert.equal(v.typeByte, 12);
  const z = texts(ziplistEntries(v.blobs[0]));
  assert.deepEqual([z[1], z[3], z[5]].map(Number), [1, 2.37, 3.423]);
  // Values of 253..20000 bytes: 5-byte prevlens and 14-bit string lengths.
  v = await only('rdb-tools/zipmap_with_big_values.rdb');
  const h = ziplistEntries(v.blobs[0]);
  assert.deepEqual(texts(h.filter((_, i) => i % 2 === 0)), ['253bytes', '254bytes', '255bytes', '300bytes', '20kbytes']);
  assert.deepEqual(h.filter((_, i) => i % 2 === 1).map((b) => b.length), [253, 254, 255, 300, 20000]);
});

/** What a server holds for `key`, as a flat list in a canonical order for the type. */
async function serverView(client: Redis, key: Buffer, typeByte: number): Promise<string[]> {
  switch (typeByte) {
    case 10: case 14: return client.lrange(key, 0, -1);
    case 11: return (await client.smembers(key)).sort();
    case 12: return pairsSorted(await client.zrange(key, '0', '-1', 'WITHSCORES'), true);
    case 9: case 13: return pairsSorted(Object.entries(await client.hgetall(key)).flat(), false);
    default: throw new Error(`type ${typeByte}`);
  }
}

function pairsSorted(flat: string[], numeric: boolean): string[] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], numeric ? String(Number(flat[i + 1])) : flat[i + 1]]);
  return pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).flat();
}

function ourView(v: OldRdbValue): string[] {
  switch (v.typeByte) {
    case 9: return pairsSorted(texts(zipmapPairs(v.blobs[0])), false);
    case 10: return texts(ziplistEntries(v.blobs[0]));
    case 11: return texts(intsetMembers(v.blobs[0])).sort();
    case 12: return pairsSorted(texts(ziplistEntries(v.blobs[0])), true);
    case 13: return pairsSorted(texts(ziplistEntries(v.blobs[0])), false);
    case 14: return v.blobs.flatMap((b) => texts(ziplistEntries(b)));
    default: throw new Error(`type ${v.typeByte}`);
  }
}

test('corpus files redis-server 7.0 loads: every compact-encoded key decodes to what the server holds', { timeout: 60_000 }, async () => {
  const names = ['redis-tests/encodings.rdb', 'redis-tests/hash-ziplist.rdb', 'redis-tests/hash-zipmap.rdb', 'redis-tests/list-quicklist.rdb',
    'redis-tests/zset-ziplist.rdb', 'rdb-tools/parser_filters.rdb', 'rdb-tools/ziplist_with_integers.rdb', 'rdb-tools/zipmap_with_big_values.rdb'];
  let checked = 0;
  for (const name of names) {
    const loaded = await startRedis({ rdbFile: file(name) });
    try {
      const c = loaded.client();
      for (const v of await oldRdbValues(file(name))) {
        if (v.blobs.length === 0) continue;
        await c.select(v.db);
        assert.deepEqual(ourView(v), await serverView(c, v.key, v.typeByte), `${name} ${v.key.toString()}`);
        checked++;
      }
    } finally {
      await loaded.stop();
    }
  }
  assert.ok(checked >= 25, `${checked} keys checked`);
});

test('corrupt_ziplist.rdb: the broken ziplist is a typed error', async () => {
  const bad = (await oldRdbValues(file('redis-tests/corrupt_ziplist.rdb'))).filter((v) => v.typeByte === 13);
  assert.equal(bad.length, 1);
  assertCorrupt(() => ziplistEntries(bad[0].blobs[0], { key: bad[0].key.toString() }), undefined, /ziplist/);
});

type Item = string | { int: bigint; enc: 'imm' | 8 | 16 | 24 | 32 | 64 };

/** A ziplist as Redis lays it out; `large` lists entries whose prevlen uses the 5-byte form anyway. */
function buildZiplist(items: Item[], opts: { large?: number[]; zllen?: number } = {}): Buffer {
  const entries: Buffer[] = [];
  let prev = 0;
  items.forEach((it, i) => {
    const prevlen = prev < 254 && !opts.large?.includes(i) ? Buffer.from([prev]) : Buffer.from([0xfe, 0, 0, 0, 0]);
    if (prevlen.length === 5) prevlen.writeUInt32LE(prev, 1);
    let body: Buffer;
    if (typeof it === 'string') {
      const s = Buffer.from(it, 'latin1');
      const n = s.length;
      const head = n <= 63 ? Buffer.from([n]) : n <= 16383 ? Buffer.from([0x40 | (n >> 8), n & 0xff]) : Buffer.from([0x80, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
      body = Buffer.concat([head, s]);
    } else {
      const w = it.enc === 'imm' ? 0 : it.enc / 8;
      body = Buffer.alloc(1 + w);
      body[0] = { imm: 0xf1 + Number(it.int), 8: 0xfe, 16: 0xc0, 24: 0xf0, 32: 0xd0, 64: 0xe0 }[it.enc];
      const le = Buffer.alloc(8);
      le.writeBigInt64LE(it.int);
      le.copy(body, 1, 0, w);
    }
    const e = Buffer.concat([prevlen, body]);
    entries.push(e);
    prev = e.length;
  });
  const data = Buffer.concat(entries);
  const head = Buffer.alloc(10);
  head.writeUInt32LE(10 + data.length + 1, 0);
  head.writeUInt32LE(items.length ? 10 + data.length - entries[entries.length - 1].length : 10, 4);
  head.writeUInt16LE(opts.zllen ?? items.length, 8);
  return Buffer.concat([head, data, Buffer.from([0xff])]);
}

const INTS: Item[] = [
  { int: 0n, enc: 'imm' }, { int: 12n, enc: 'imm' }, { int: -128n, enc: 8 }, { int: 127n, enc: 8 },
  { int: -32768n, enc: 16 }, { int: 32767n, enc: 16 }, { int: -8388608n, enc: 24 }, { int: 8388607n, enc: 24 },
  { int: -2147483648n, enc: 32 }, { int: 2147483647n, enc: 32 }, { int: -9223372036854775808n, enc: 64 },
  { int: 9223372036854775807n, enc: 64 }, { int: 9007199254740993n, enc: 64 }, { int: -9007199254740993n, enc: 64 },
];
const INT_TEXT = ['0', '12', '-128', '127', '-32768', '32767', '-8388608', '8388607', '-2147483648', '2147483647',
  '-9223372036854775808', '9223372036854775807', '9007199254740993', '-9007199254740993'];

test('built ziplists (int extremes, 5-byte prevlens for small entries, 65535 count, 14/32-bit strings) decode as the server reads them', async () => {
  const cases: [string, Buffer, string[]][] = [
    ['int extremes', buildZiplist(INTS), INT_TEXT],
    ['forced 5-byte prevlen', buildZiplist(['a', 'b', { int: 5n, enc: 'imm' }], { large: [1, 2] }), ['a', 'b', '5']],
    ['count unknown', buildZiplist(['x', 'y'], { zllen: 0xffff }), ['x', 'y']],
    ['14-bit and 32-bit strings', buildZiplist(['p'.repeat(64), 'q'.repeat(16383), 'r'.repeat(16384), 's']), ['p'.repeat(64), 'q'.repeat(16383), 'r'.repeat(16384), 's']],
    ['prevlen 253/254 boundary', buildZiplist(['t'.repeat(250), 't'.repeat(251), 'u'.repeat(252), 'v']), ['t'.repeat(250), 't'.repeat(251), 'u'.repeat(252), 'v']],
  ];
  for (const [name, zl, want] of cases) {
    assert.deepEqual(texts(ziplistEntries(zl)), want, name);
    assert.equal(await serverAccepts(client, 'zl', 10, zl), true, `${name}: the server refused the built ziplist`);
    assert.deepEqual(await client.lrange('zl', 0, -1), want, `${name}: server view`);
  }
  assert.deepEqual(ziplistEntries(buildZiplist([])), []);
});

test('damage is reported at the byte where it is, with what was expected', () => {
  const zl = buildZiplist(['ab', { int: 300n, enc: 16 }, 'cd']);
  // header 10 | 00 02 'a' 'b' (4) | 04 C0 2C 01 (4) | 04 02 'c' 'd' (4) | FF  -> 23 bytes, tail 18
  assert.equal(zl.length, 23);
  const ctx = { file: 'old.rdb', offset: 5000, key: 'l' };
  const at = (p: number): number => 5000 + p;
  const m = (edit: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(zl);
    edit(b);
    return b;
  };
  assertCorrupt(() => ziplistEntries(zl.subarray(0, 10), ctx), at(0), /expected at least 11/);
  assertCorrupt(() => ziplistEntries(m((b) => b.writeUInt32LE(24, 0)), ctx), at(0), /zlbytes says 24 bytes, the blob has 23/);
  assertCorrupt(() => ziplistEntries(m((b) => (b[22] = 0)), ctx), at(22), /expected the end byte 0xFF/);
  assertCorrupt(() => ziplistEntries(m((b) => b.writeUInt32LE(14, 4)), ctx), at(4), /zltail says the last entry starts at 14, it starts at 18/);
  assertCorrupt(() => ziplistEntries(m((b) => b.writeUInt32LE(23, 4)), ctx), at(4), /points past the end byte/);
  assertCorrupt(() => ziplistEntries(m((b) => b.writeUInt16LE(2, 8)), ctx), at(8), /zllen says 2 entries, found 3/);
  assertCorrupt(() => ziplistEntries(m((b) => (b[10] = 1)), ctx), at(10), /prevlen 1, expected 0/);
  assertCorrupt(() => ziplistEntries(m((b) => (b[14] = 5)), ctx), at(14), /entry 1 has prevlen 5, expected 4/);
  assertCorrupt(() => ziplistEntries(m((b) => (b[15] = 0xc1)), ctx), at(15), /encoding byte 0xC1/);
  assertCorrupt(() => ziplistEntries(m((b) => (b[14] = 0xff)), ctx), at(14), /end byte 0xFF at 14/);
  assertCorrupt(() => ziplistEntries(m((b) => (b[11] = 0x3f)), ctx), at(10), /string of 63 bytes, only 10 left/);
  assertCorrupt(() => ziplistEntries(m((b) => (b[19] = 0xe0)), ctx), at(19), /needs 8 integer bytes, only 2 left/);
  assertCorrupt(() => ziplistEntries(m((b) => (b[18] = 0xfe)), ctx), at(18), /5-byte prevlen at 18 runs past/);
});

test('a blob that was LZF-compressed reports the compressed string offset and the position after decompression', async () => {
  const v = await only('rdb-tools/ziplist_that_compresses_easily.rdb');
  const blob = Buffer.from(v.blobs[0]);
  blob[blob.length - 1] = 0;
  const err = assertCorrupt(() => ziplistEntries(blob, { file: 'f', offset: v.offsets[0], key: 'k', inflated: true }), v.offsets[0]);
  assert.match(err.message, new RegExp(`byte ${blob.length - 1} of the blob after LZF decompression`));
});

test('corruption harness: truncations and mutations give entries or RDB_CORRUPT', { timeout: 120_000 }, async () => {
  const ints = (await only('rdb-tools/ziplist_with_integers.rdb')).blobs[0];
  const big = (await only('rdb-tools/zipmap_with_big_values.rdb')).blobs[0];
  const r1 = fuzzDecoder(ints, (b) => ziplistEntries(b), { rounds: 5000, seed: 4 });
  const r2 = fuzzDecoder(buildZiplist(INTS, { large: [3] }), (b) => ziplistEntries(b), { rounds: 3000, seed: 5 });
  const r3 = fuzzDecoder(big.subarray(0, big.length), (b) => ziplistEntries(b), { rounds: 300, seed: 6 });
  assert.ok(r1.corrupt > 0 && r2.corrupt > 0 && r3.corrupt > 0 && r1.clean > 0);
});

test('differential: every mutated ziplist the server accepts decodes to what the server holds', { timeout: 120_000 }, async () => {
  const zl = buildZiplist(['head', ...INTS, 'w'.repeat(70), 'tail']);
  const rnd = seededRandom(17);
  let accepted = 0;
  for (let r = 0; r < 400; r++) {
    const m = Buffer.from(zl);
    m[10 + Math.floor(rnd() * (m.length - 11))] = Math.floor(rnd() * 256);
    let ours: string[] | null = null;
    try {
      ours = ziplistEntries(m).map((b) => b.toString('hex'));
    } catch (err) {
      assertCorrupt(() => { throw err; });
    }
    if (await serverAccepts(client, 'zd', 10, m)) {
      accepted++;
      assert.ok(ours, `round ${r}: the server accepted a ziplist we refused: ${m.toString('hex')}`);
      assert.deepEqual(ours, (await client.lrangeBuffer('zd', 0, -1)).map((b) => b.toString('hex')), `round ${r}`);
    }
  }
  assert.ok(accepted > 0);
});
