/**
 * intsetMembers on the corpus intsets (README values), on intsets redis-server 7.0 writes for each
 * width, on damage with exact offsets, under the corruption harness, and against the server's own
 * judgement of mutated intsets.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { dumpPayload, seededRandom } from '../helpers/make-rdb.js';
import { intsetMembers, readRdbStringAt } from '../../src/rdb/blobs/index.js';
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
const byValue = (a: string, b: string): number => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

test('corpus intset_16/32/64.rdb hold the README members', async () => {
  const want: Record<string, bigint> = { 16: 0x7ffcn, 32: 0x7ffefffcn, 64: 0x7ffefffefffefffcn };
  for (const w of ['16', '32', '64']) {
    const [v] = await oldRdbValues(join(CORPUS, `rdb-tools/intset_${w}.rdb`));
    assert.equal(v.typeByte, 11);
    assert.equal(v.blobs[0].readUInt32LE(0), Number(w) / 8);
    assert.deepEqual(texts(intsetMembers(v.blobs[0])), [0n, 1n, 2n].map((d) => String(want[w] + d)));
  }
});

async function intsetOf(key: string): Promise<Buffer> {
  const d = await dumpPayload(client, key);
  assert.equal(d.typeByte, 11);
  return readRdbStringAt(d.raw, 0).value;
}

test('intsets redis-server writes at each width equal SMEMBERS, extremes included', async () => {
  const sets: Record<string, string[]> = {
    i16: ['-32768', '-1', '0', '1', '32767'],
    i32: ['-2147483648', '-32769', '0', '32768', '2147483647'],
    i64: ['-9223372036854775808', '-9007199254740993', '-2147483649', '0', '2147483648', '9007199254740993', '9223372036854775807'],
  };
  const widths: Record<string, number> = { i16: 2, i32: 4, i64: 8 };
  for (const [k, members] of Object.entries(sets)) {
    await client.sadd(k, ...members);
    assert.equal(await client.call('OBJECT', 'ENCODING', k), 'intset');
    const blob = await intsetOf(k);
    assert.equal(blob.readUInt32LE(0), widths[k]);
    const got = texts(intsetMembers(blob));
    assert.deepEqual(got, [...members].sort(byValue));
    assert.deepEqual(got, (await client.smembers(k)).sort(byValue));
  }
});

test('damage is reported at the byte where it is, with what was expected', () => {
  const blob = Buffer.alloc(8 + 3 * 4);
  blob.writeUInt32LE(4, 0);
  blob.writeUInt32LE(3, 4);
  [-5, 7, 70000].forEach((v, i) => blob.writeInt32LE(v, 8 + 4 * i));
  assert.deepEqual(texts(intsetMembers(blob)), ['-5', '7', '70000']);
  const ctx = { file: 'x.rdb', offset: 300, key: 's' };
  const m = (edit: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(blob);
    edit(b);
    return b;
  };
  assertCorrupt(() => intsetMembers(blob.subarray(0, 7), ctx), 300, /at least the 8-byte header/);
  assertCorrupt(() => intsetMembers(m((b) => b.writeUInt32LE(3, 0)), ctx), 300, /encoding 3, expected 2, 4 or 8/);
  assertCorrupt(() => intsetMembers(m((b) => b.writeUInt32LE(4, 4)), ctx), 304, /4 members of 4 bytes need 24 bytes, the blob has 20/);
  assertCorrupt(() => intsetMembers(blob.subarray(0, 19), ctx), 304, /need 20 bytes, the blob has 19/);
  assertCorrupt(() => intsetMembers(m((b) => b.writeInt32LE(7, 8)), ctx), 312, /member 1 is not greater than member 0/);
  assertCorrupt(() => intsetMembers(m((b) => b.writeInt32LE(-6, 16)), ctx), 316, /member 2 is not greater than member 1/);
  // 64-bit ordering compares the high word signed and the low word unsigned.
  const wide = Buffer.alloc(8 + 16);
  wide.writeUInt32LE(8, 0);
  wide.writeUInt32LE(2, 4);
  wide.writeBigInt64LE(-1n, 8);
  wide.writeBigInt64LE(0x100000000n, 16);
  assert.deepEqual(texts(intsetMembers(wide)), ['-1', '4294967296']);
  wide.writeBigInt64LE(-2n, 16);
  assertCorrupt(() => intsetMembers(wide, ctx), 316, /member 1 is not greater/);
  assert.deepEqual(intsetMembers(Buffer.from([2, 0, 0, 0, 0, 0, 0, 0])), []);
});

test('corruption harness: truncations and mutations give members or RDB_CORRUPT', { timeout: 60_000 }, async () => {
  await client.sadd('f16', '-300', '-2', '5', '1000', '32000');
  await client.sadd('f64', '-9223372036854775808', '1', '9007199254740993', '9223372036854775807');
  // A 2-byte member renders to at most 6 characters ("-32768"): 3x its size is the bound here.
  for (const [k, seed] of [['f16', 1], ['f64', 2]] as const) {
    const r = fuzzDecoder(await intsetOf(k), (b) => intsetMembers(b), { rounds: 3000, seed, maxAlloc: (b) => 3 * b.length });
    assert.ok(r.corrupt > 0 && r.clean > 0, `${k}: ${JSON.stringify(r)}`);
  }
});

test('differential: every mutated intset the server accepts decodes to what the server holds', { timeout: 120_000 }, async () => {
  await client.sadd('d', '-70000', '-3', '0', '9', '65536', '2000000000');
  const blob = await intsetOf('d');
  const rnd = seededRandom(23);
  let accepted = 0;
  for (let r = 0; r < 300; r++) {
    const m = Buffer.from(blob);
    m[Math.floor(rnd() * m.length)] ^= 1 << Math.floor(rnd() * 8);
    let ours: string[] | null = null;
    try {
      ours = texts(intsetMembers(m));
    } catch (err) {
      assertCorrupt(() => { throw err; });
    }
    if (await serverAccepts(client, 'd2', 11, m)) {
      accepted++;
      assert.ok(ours, `round ${r}: the server accepted an intset we refused: ${m.toString('hex')}`);
      assert.deepEqual(ours, (await client.smembers('d2')).sort(byValue), `round ${r}`);
    }
  }
  assert.ok(accepted > 0);
});
