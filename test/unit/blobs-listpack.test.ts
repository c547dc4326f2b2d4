/**
 * listpackEntries / listpackValues on listpacks written by redis-server 7.0 (DUMP of hashes, zsets,
 * quicklist-2 lists and streams built to hit every integer width, every string-length form and every
 * backlen size), compared with what the server returns; then hand-placed damage with exact offsets,
 * the corruption harness, and a differential run where the server itself judges mutated blobs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { dumpPayload, Gen, seededRandom } from '../helpers/make-rdb.js';
import { listpackEntries, listpackResp, listpackValues, readRdbLengthAt, readRdbStringAt } from '../../src/rdb/blobs/index.js';
import { encodeCommand } from '../../src/resp/encoder.js';
import { assertCorrupt, fuzzDecoder, serverAccepts, INT_BOUNDARIES } from './blobs-support.js';

let server: RedisServer;
let client: Redis;

before(async () => {
  server = await startRedis({
    args: [
      '--hash-max-listpack-entries', '100000', '--hash-max-listpack-value', '10000000',
      '--zset-max-listpack-entries', '100000', '--zset-max-listpack-value', '10000000',
      '--list-max-listpack-size', '-5', '--sanitize-dump-payload', 'yes',
    ],
  });
  client = server.client();
});
after(async () => {
  await server.stop();
});

/** The listpack blob of a key whose DUMP value is one RDB string (types 16, 17, 20). */
async function blobOf(key: string, typeByte: number): Promise<Buffer> {
  const d = await dumpPayload(client, key);
  assert.equal(d.typeByte, typeByte, `${key}: type ${d.typeByte}`);
  const s = readRdbStringAt(d.raw, 0);
  assert.equal(s.end, d.raw.length);
  return s.value;
}

/** Strings that look numeric but must stay strings (Redis only int-encodes canonical int64 text). */
const NOT_INTS = ['007', '+5', '-0', ' 1', '1 ', '1.0', '0x10', '18446744073709551616', '9223372036854775808', '-9223372036854775809', ''];

/** String lengths around every encoding and backlen boundary (element size = header + length). */
const STRING_LENGTHS = [1, 63, 64, 125, 126, 4095, 4096, 16377, 16378, 20000];

/** HSET field/value pairs that put every integer width, non-canonical number and string form in a listpack. */
function everyFormPairs(seed: number): (string | Buffer)[] {
  const g = new Gen(seed);
  const args: (string | Buffer)[] = [];
  INT_BOUNDARIES.forEach((v, i) => args.push(`i${i}`, v));
  NOT_INTS.forEach((v, i) => args.push(`n${i}`, v));
  STRING_LENGTHS.forEach((n) => args.push(`s${n}`, g.bytes(n)));
  return args;
}

test('hash listpack: every int width, non-canonical numbers, every string and backlen form equal HGETALL', async () => {
  const args = everyFormPairs(21);
  args.push('-17', '123456789012'); // integer fields too
  await client.hset('h', ...args);
  assert.equal(await client.call('OBJECT', 'ENCODING', 'h'), 'listpack');
  const blob = await blobOf('h', 16);
  // The blob really holds every encoding (element bytes followed by their 1-byte backlen).
  const forms = {
    '7-bit 127': '7f01', '13-bit -4096': 'd00002', '16-bit -32768': 'f1008003', '24-bit 8388607': 'f2ffff7f04',
    '32-bit 2147483647': 'f3ffffff7f05', '64-bit max': 'f4ffffffffffffff7f09', '12-bit string of 64': 'e040',
    '32-bit string of 4096': 'f000100000',
  };
  for (const [name, hex] of Object.entries(forms)) assert.ok(blob.includes(Buffer.from(hex, 'hex')), name);
  const got = listpackEntries(blob, { key: 'h' });
  const want = (await client.callBuffer('HGETALL', 'h')) as Buffer[];
  assert.deepEqual(got.map((b) => b.toString('hex')), want.map((b) => b.toString('hex')));
  // Strings are zero-copy views into the blob.
  const s = got[got.length - 3];
  assert.equal(s.buffer, blob.buffer);
});

test('backlen of 4 bytes: a 2 MB element', async () => {
  const big = new Gen(5).bytes(2_097_146); // 5-byte header + this = 2097151 bytes: lpEncodeBacklen's 4-byte form
  await client.hset('hbig', 'f', big, 'g', '-1');
  const got = listpackEntries(await blobOf('hbig', 16));
  assert.equal(got.length, 4);
  assert.ok(got[1].equals(big));
  assert.equal(got[3].toString(), '-1');
});

test('zset listpack: members and scores equal ZRANGE WITHSCORES', async () => {
  const scores = ['0', '1', '-1', '1.5', '-0.25', '127', '4096', '-32769', '8388608', '2147483648', '1e+300', '-1e-300', '3.141592653589793', 'inf', '-inf'];
  await client.zadd('z', ...scores.flatMap((s, i) => [s, `m${i}`]));
  assert.equal(await client.call('OBJECT', 'ENCODING', 'z'), 'listpack');
  const got = listpackEntries(await blobOf('z', 17)).map(String);
  const want = await client.zrange('z', '0', '-1', 'WITHSCORES');
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i += 2) {
    assert.equal(got[i], want[i]);
    assert.equal(Number(got[i + 1]), Number(want[i + 1]), `score of ${want[i]}: ${got[i + 1]} vs ${want[i + 1]}`);
  }
});

test('quicklist-2 list: packed nodes, some LZF-compressed, equal LRANGE', async () => {
  await client.config('SET', 'list-max-listpack-size', '4');
  await client.config('SET', 'list-compress-depth', '1');
  try {
    const values = [...INT_BOUNDARIES, ...NOT_INTS, ...Array.from({ length: 40 }, (_, i) => `repeat-${'ab'.repeat(30)}-${i}`)];
    await client.rpush('l', ...values);
    const d = await dumpPayload(client, 'l');
    assert.equal(d.typeByte, 18);
    let pos = 0;
    const nodes = readRdbLengthAt(d.raw, pos);
    pos = nodes.end;
    const got: string[] = [];
    let compressed = 0;
    for (let i = 0; i < nodes.value; i++) {
      const container = readRdbLengthAt(d.raw, pos);
      assert.equal(container.value, 2, 'PACKED node');
      if (d.raw[container.end] === 0xc3) compressed++;
      const s = readRdbStringAt(d.raw, container.end);
      pos = s.end;
      got.push(...listpackEntries(s.value).map(String));
    }
    assert.equal(pos, d.raw.length);
    assert.ok(nodes.value > 10 && compressed > 0, `${nodes.value} nodes, ${compressed} compressed`);
    assert.deepEqual(got, await client.lrange('l', 0, -1));
  } finally {
    await client.config('SET', 'list-max-listpack-size', '-5');
    await client.config('SET', 'list-compress-depth', '0');
  }
});

test('listpackValues: stream nodes decode to the entries XRANGE returns', async () => {
  await client.xadd('st', '1-1', 'a', '1', 'b', 'x');
  await client.xadd('st', '1-2', 'a', '-9223372036854775808', 'b', 'y'); // same fields as the master entry
  await client.xadd('st', '5-0', 'other', '4096', '7', 'z'); // different fields, an int field name
  await client.xadd('st', '9007199254740993-3', 'a', '9223372036854775807', 'b', 'w');
  await client.xadd('st', '9007199254740993-4', 'a', '2', 'b', 'deleted');
  await client.xdel('st', '9007199254740993-4');
  const d = await dumpPayload(client, 'st');
  assert.equal(d.typeByte, 19);
  let pos = 0;
  const n = readRdbLengthAt(d.raw, pos);
  pos = n.end;
  const got: [string, string[]][] = [];
  for (let node = 0; node < n.value; node++) {
    const key = readRdbStringAt(d.raw, pos);
    const lp = readRdbStringAt(d.raw, key.end);
    pos = lp.end;
    const masterMs = key.value.readBigUInt64BE(0);
    const masterSeq = key.value.readBigUInt64BE(8);
    const v = listpackValues(lp.value);
    let i = 0;
    const num = (): bigint => {
      const x = v[i++];
      assert.equal(typeof x, 'bigint', `element ${i - 1} should be an integer`);
      return x as bigint;
    };
    const text = (): string => String(v[i++]);
    const count = num() + num(); // valid + deleted
    const masterFields: string[] = [];
    for (let f = num(); f > 0n; f--) masterFields.push(text());
    assert.equal(num(), 0n); // master entry terminator
    for (let e = 0n; e < count; e++) {
      const flags = num();
      const id = `${masterMs + num()}-${masterSeq + num()}`;
      const fv: string[] = [];
      if (flags & 2n) for (const f of masterFields) fv.push(f, text());
      else for (let f = num(); f > 0n; f--) fv.push(text(), text());
      num(); // lp-count
      if (!(flags & 1n)) got.push([id, fv]);
    }
    assert.equal(i, v.length);
  }
  assert.deepEqual(got, await client.xrange('st', '-', '+'));
});

test('num_elements 65535 means "count unknown" and is walked', async () => {
  await client.hset('h65535', 'a', '1', 'b', 'two');
  const blob = Buffer.from(await blobOf('h65535', 16));
  blob.writeUInt16LE(0xffff, 4);
  assert.deepEqual(listpackEntries(blob).map(String), ['a', '1', 'b', 'two']);
  assert.equal(await serverAccepts(client, 'x', 16, blob), true);
});

test('damage is reported at the byte where it is, with what was expected', async () => {
  await client.hset('hd', 'f', 'v'.repeat(200), 'n', '300');
  const blob = await blobOf('hd', 16);
  // Layout: header 6 | "f": 81 66 02 | 12-bit str: E0 C8 <200> backlen 2 bytes | "n": 81 6E 02 | 13-bit int C1 2C 02 | FF
  const ctx = { file: 'x.rdb', offset: 10_000, key: 'hd' };
  const at = (p: number): number => 10_000 + p;
  const m = (edit: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(blob);
    edit(b);
    return b;
  };
  assertCorrupt(() => listpackEntries(blob.subarray(0, 5), ctx), at(0), /expected at least 7/);
  assertCorrupt(() => listpackEntries(m((b) => b.writeUInt32LE(blob.length + 1, 0)), ctx), at(0), /total_bytes says/);
  assertCorrupt(() => listpackEntries(m((b) => (b[b.length - 1] = 0)), ctx), at(blob.length - 1), /expected the end byte/);
  assertCorrupt(() => listpackEntries(m((b) => b.writeUInt16LE(3, 4)), ctx), at(4), /num_elements says 3, found 4/);
  assertCorrupt(() => listpackEntries(m((b) => (b[8] = 3)), ctx), at(8), /backlen byte 3, expected 2/);
  // The 12-bit string's 2-byte backlen is 202 = [0x01, 0xCA].
  const bl = 9 + 202;
  assert.deepEqual([blob[bl], blob[bl + 1]], [0x01, 0xca]);
  assertCorrupt(() => listpackEntries(m((b) => (b[bl + 1] = 0xcb)), ctx), at(bl + 1), /does not encode its size 202/);
  assertCorrupt(() => listpackEntries(m((b) => (b[9] = 0xf5)), ctx), at(9), /encoding byte 0xF5, expected 00-F4/);
  assertCorrupt(() => listpackEntries(m((b) => (b[9] = 0xff)), ctx), at(9), /end byte 0xFF at 9/);
  assertCorrupt(() => listpackEntries(m((b) => (b[10] = 0xc9)), ctx), at(212), /does not encode its size 203/);
  assertCorrupt(() => listpackEntries(m((b) => (b[9] = 0xef)), ctx), at(9), /string of 4040 bytes, only \d+ left/);
});

test('corruption harness: truncations and mutations give entries or RDB_CORRUPT', { timeout: 120_000 }, async () => {
  const g = new Gen(8);
  await client.hset('hf', ...INT_BOUNDARIES.flatMap((v, i) => [`f${i}`, v]), 'big', g.bytes(300), 'mid', g.bytes(70));
  const blob = await blobOf('hf', 16);
  const r1 = fuzzDecoder(blob, (b) => listpackEntries(b), { rounds: 5000, seed: 1 });
  const r2 = fuzzDecoder(blob, (b) => listpackValues(b), { rounds: 2000, seed: 2, maxAlloc: () => 0 });
  assert.ok(r1.corrupt > 0 && r1.clean > 0 && r2.corrupt > 0, JSON.stringify([r1, r2]));
});

test('differential: every mutated hash listpack the server accepts decodes to what the server holds', { timeout: 120_000 }, async () => {
  await client.hset('hs', 'a', '1', 'b', '-300', 'c', 'text', 'd', '70000', 'e', '9223372036854775807', 'ffff', 'x'.repeat(70));
  const blob = await blobOf('hs', 16);
  const rnd = seededRandom(99);
  let accepted = 0;
  for (let r = 0; r < 400; r++) {
    const m = Buffer.from(blob);
    m[6 + Math.floor(rnd() * (m.length - 7))] = Math.floor(rnd() * 256);
    let ours: Buffer[] | null = null;
    try {
      ours = listpackEntries(m);
    } catch (err) {
      assertCorrupt(() => { throw err; });
    }
    const theirs = await serverAccepts(client, 'hs2', 16, m);
    if (theirs) {
      accepted++;
      assert.ok(ours, `round ${r}: the server accepted a listpack we refused: ${m.toString('hex')}`);
      const want = (await client.callBuffer('HGETALL', 'hs2')) as Buffer[];
      assert.deepEqual(ours.map((b) => b.toString('hex')), want.map((b) => b.toString('hex')), `round ${r}`);
    }
  }
  assert.ok(accepted > 0, 'some mutations (inside string bytes) must survive');
});

/** listpackResp must give the bytes the encoder gives for listpackEntries' elements, or the same error. */
function sameAsEntries(blob: Buffer, ctx = {}): 'clean' | 'corrupt' {
  let want: Buffer | null = null;
  let wantErr: unknown = null;
  try {
    const items = listpackEntries(blob, ctx);
    // The elements' RESP, without the array header: encode as a command and drop its `*N\r\n`.
    const all = encodeCommand(items);
    want = all.subarray(all.indexOf('\r\n') + 2);
  } catch (err) {
    wantErr = err;
  }
  if (want !== null) {
    const run = listpackResp(blob, ctx);
    assert.equal(run.count, listpackEntries(blob, ctx).length);
    const got = Buffer.concat(run.parts);
    assert.equal(run.bytes, got.length);
    assert.equal(got.toString('hex'), want.toString('hex'));
    return 'clean';
  }
  const e = assertCorrupt(() => listpackResp(blob, ctx));
  assert.equal(e.message, (wantErr as Error).message);
  assert.equal(e.context.offset, (wantErr as { context: { offset?: number } }).context.offset);
  return 'corrupt';
}

test('listpackResp: every int width and string form as the RESP bulk strings of listpackEntries, in one run', async () => {
  await client.hset('hr', ...everyFormPairs(31));
  const blob = await blobOf('hr', 16);
  assert.equal(sameAsEntries(blob, { key: 'hr' }), 'clean');
  const run = listpackResp(blob);
  assert.equal(run.parts.length, 1);
  assert.notEqual(run.parts[0]!.buffer, blob.buffer, 'the run is its own buffer, not a view of the blob');
  // A command with a run encodes as the same command with the elements spelled out.
  assert.equal(encodeCommand(['RPUSH', 'k', run]).toString('hex'), encodeCommand(['RPUSH', 'k', ...listpackEntries(blob)]).toString('hex'));
  // Tiny integers grow the most (2 listpack bytes -> "$3\r\n127\r\n"): the run's buffer must hold them.
  await client.hset('tiny', ...Array.from({ length: 2000 }, (_, i) => [String(i % 128), String(127 - (i % 128))]).flat());
  assert.equal(sameAsEntries(await blobOf('tiny', 16)), 'clean');
});

test('listpackResp: damage gives the error listpackEntries gives, at the same byte', { timeout: 120_000 }, async () => {
  await client.hset('hd2', 'f', 'v'.repeat(200), 'n', '300', 'i', '7', 'w', '-9223372036854775808');
  const blob = await blobOf('hd2', 16);
  const ctx = { file: 'x.rdb', offset: 10_000, key: 'hd2' };
  const rnd = seededRandom(7);
  let corrupt = 0;
  let clean = 0;
  for (let r = 0; r < 3000; r++) {
    const m = Buffer.from(blob);
    const edits = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < edits; k++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
    const cut = rnd() < 0.2 ? m.subarray(0, Math.floor(rnd() * m.length)) : m;
    if (sameAsEntries(cut, ctx) === 'corrupt') corrupt++;
    else clean++;
  }
  assert.ok(corrupt > 0 && clean > 0, `${corrupt} corrupt, ${clean} clean`);
});
