/**
 * zipmapPairs on the corpus zipmaps (README values), on zipmaps built here with the forms old Redis
 * wrote (free bytes after values, 0xFE 4-byte lengths, the 254 "not counted" header) checked by
 * RESTOREing them into redis-server 7.0, on damage with exact offsets, under the corruption harness,
 * and against the server's own judgement of mutated zipmaps.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { seededRandom } from '../helpers/make-rdb.js';
import { zipmapPairs } from '../../src/rdb/blobs/index.js';
import { assertCorrupt, fuzzDecoder, oldRdbValues, serverAccepts } from './blobs-support.js';

let server: RedisServer;
let client: Redis;

before(async () => {
  server = await startRedis({ args: ['--sanitize-dump-payload', 'yes'] });
  client = server.client();
});
after(async () => {
  await server.stop();
});

const texts = (bs: Buffer[]): string[] => bs.map((b) => b.toString('latin1'));

test('corpus zipmaps hold the README pairs (LZF-compressed and not)', async () => {
  const cases: [string, string, string[]][] = [
    ['zipmap_that_compresses_easily.rdb', 'zipmap_compresses_easily', ['a', 'aa', 'aa', 'aaaa', 'aaaaa', 'aaaaaaaaaaaaaa']],
    ['zipmap_that_doesnt_compress.rdb', 'zimap_doesnt_compress', ['MKD1G6', '2', 'YNNXK', 'F7TI']],
  ];
  for (const [name, key, pairs] of cases) {
    const [v] = await oldRdbValues(join(CORPUS, 'rdb-tools', name));
    assert.equal(v.typeByte, 9);
    assert.equal(v.key.toString(), key);
    assert.deepEqual(texts(zipmapPairs(v.blobs[0])), pairs);
  }
});

interface Pair {
  field: string;
  value: string;
  /** Unused bytes after the value (Redis kept up to 4 after shrinking a value in place). */
  free?: number;
}

function zmLen(n: number): Buffer {
  if (n < 254) return Buffer.from([n]);
  const b = Buffer.from([0xfe, 0, 0, 0, 0]);
  b.writeUInt32LE(n, 1);
  return b;
}

/** A zipmap as zipmap.c lays it out. */
function buildZipmap(pairs: Pair[], count = Math.min(pairs.length, 254)): Buffer {
  const parts: Buffer[] = [Buffer.from([count])];
  for (const p of pairs) {
    const f = Buffer.from(p.field, 'latin1');
    const v = Buffer.from(p.value, 'latin1');
    parts.push(zmLen(f.length), f, zmLen(v.length), Buffer.from([p.free ?? 0]), v, Buffer.alloc(p.free ?? 0, 0xee));
  }
  parts.push(Buffer.from([0xff]));
  return Buffer.concat(parts);
}

test('built zipmaps (free bytes, 4-byte lengths, 254 header, empty values) decode as the server reads them', async () => {
  const cases: [string, Pair[], number?][] = [
    ['free bytes', [{ field: 'name', value: 'hi', free: 3 }, { field: 'x', value: '', free: 1 }, { field: 'age', value: '42' }]],
    ['4-byte lengths', [{ field: 'f'.repeat(254), value: 'v'.repeat(300) }, { field: 'g', value: 'w'.repeat(253) }]],
    ['not counted', [{ field: 'a', value: '1' }, { field: 'b', value: '2' }], 254],
  ];
  for (const [name, pairs, count] of cases) {
    const zm = buildZipmap(pairs, count);
    const want = pairs.flatMap((p) => [p.field, p.value]);
    assert.deepEqual(texts(zipmapPairs(zm)), want, name);
    assert.equal(await serverAccepts(client, 'zm', 9, zm), true, `${name}: the server refused the built zipmap`);
    const held = await client.hgetall('zm');
    assert.deepEqual(Object.entries(held).flat().sort(), [...want].sort(), `${name}: server view`);
  }
  assert.deepEqual(zipmapPairs(Buffer.from([0, 0xff])), []);
});

test('damage is reported at the byte where it is, with what was expected', () => {
  const zm = buildZipmap([{ field: 'ab', value: 'xyz', free: 2 }, { field: 'c', value: 'd' }]);
  // 02 | 02 'a' 'b' | 03 02 'x' 'y' 'z' EE EE | 01 'c' | 01 00 'd' | FF  -> 17 bytes
  assert.equal(zm.length, 17);
  const ctx = { file: 'z.rdb', offset: 77, key: 'h' };
  const at = (p: number): number => 77 + p;
  const m = (edit: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(zm);
    edit(b);
    return b;
  };
  assertCorrupt(() => zipmapPairs(zm.subarray(0, 1), ctx), at(0), /at least 2/);
  assertCorrupt(() => zipmapPairs(zm.subarray(0, 16), ctx), at(15), /expected the end byte/);
  assertCorrupt(() => zipmapPairs(m((b) => (b[0] = 3)), ctx), at(0), /count says 3 pairs, found 2/);
  assertCorrupt(() => zipmapPairs(m((b) => (b[1] = 40)), ctx), at(2), /field of 40 bytes at 2, only 14 left/);
  assertCorrupt(() => zipmapPairs(m((b) => (b[5] = 9)), ctx), at(6), /value of 3 bytes plus 9 free bytes/);
  // 0xFE announces a 4-byte length: here it takes "ab\x03\x02" as one, far too long.
  assertCorrupt(() => zipmapPairs(m((b) => (b[1] = 0xfe)), ctx), at(6), /field of 33776225 bytes at 6/);
  assertCorrupt(() => zipmapPairs(m((b) => (b[4] = 0xfe)), ctx), at(10), /value of \d+ bytes plus 238 free bytes at 10/);
  // An end byte in the middle, with bytes after it.
  assertCorrupt(() => zipmapPairs(m((b) => (b[11] = 0xff)), ctx), at(11), /end byte 0xFF at 11, but the blob ends at 16/);
  // A field with no value before the end.
  assertCorrupt(() => zipmapPairs(Buffer.from([1, 1, 0x61, 0xff]), ctx), at(3), /field 0 has no value/);
});

test('corruption harness: truncations and mutations give pairs or RDB_CORRUPT', { timeout: 60_000 }, () => {
  const zm = buildZipmap([
    { field: 'name', value: 'hi', free: 3 }, { field: 'f'.repeat(260), value: 'v'.repeat(40) },
    { field: 'n', value: '12345' }, { field: '', value: '' },
  ]);
  const r = fuzzDecoder(zm, (b) => zipmapPairs(b), { rounds: 4000, seed: 9, maxAlloc: () => 0 });
  assert.ok(r.corrupt > 0 && r.clean > 0, JSON.stringify(r));
});

test('differential: every mutated zipmap the server accepts decodes to what the server holds', { timeout: 120_000 }, async () => {
  const zm = buildZipmap([{ field: 'name', value: 'hi', free: 3 }, { field: 'age', value: '42' }, { field: 'city', value: 'x'.repeat(20), free: 1 }]);
  const rnd = seededRandom(31);
  let accepted = 0;
  for (let r = 0; r < 300; r++) {
    const m = Buffer.from(zm);
    m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
    let ours: string[] | null = null;
    try {
      ours = zipmapPairs(m).map((b) => b.toString('hex'));
    } catch (err) {
      assertCorrupt(() => { throw err; });
    }
    if (await serverAccepts(client, 'zd', 9, m)) {
      accepted++;
      assert.ok(ours, `round ${r}: the server accepted a zipmap we refused: ${m.toString('hex')}`);
      const flat = (await client.callBuffer('HGETALL', 'zd')) as Buffer[];
      const pairs = (xs: string[]): string[] => {
        const out: string[] = [];
        for (let i = 0; i < xs.length; i += 2) out.push(`${xs[i]}=${xs[i + 1]}`);
        return out.sort();
      };
      assert.deepEqual(pairs(ours), pairs(flat.map((b) => b.toString('hex'))), `round ${r}`);
    }
  }
  assert.ok(accepted > 0);
});
