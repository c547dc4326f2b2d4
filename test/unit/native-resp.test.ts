/**
 * The native RESP encoders (native/crc64/resp.c, src/resp/native-resp.ts) give the JS encoder's bytes:
 * whole RESTOREs of every shape they take, MSET pairs of string runs, across slab boundaries, and
 * they refuse bad ranges instead of reading or writing outside a buffer.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NATIVE_RESP, NATIVE_RESP_STATUS } from '../../src/resp/native-resp.js';
import { BIG, RespEncoder, encodeCommand } from '../../src/resp/encoder.js';
import { encodeRestore, footerVersion, restoreArgs, type RestoreFlags } from '../../src/writer/restore.js';
import type { Entry } from '../../src/entry/entry.js';
import { seededRandom } from '../helpers/make-rdb.js';

const noNative = NATIVE_RESP === null && /not built/.test(NATIVE_RESP_STATUS) ? `native addon ${NATIVE_RESP_STATUS}` : false;

const SEED = (Date.now() ^ (process.pid << 16)) >>> 0;
const rng = seededRandom;

function bytes(r: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

function entry(over: Partial<Entry>): Entry {
  return {
    db: 0, key: Buffer.from('k'), typeByte: 0, type: 'string', encoding: 'raw', expireAt: null, idle: null, freq: null, keyMeta: null,
    module: null, rawSize: 0, raw: null, offset: 0, source: { magic: 'REDIS', rdbVersion: 10 }, chunks: () => ({ async *[Symbol.asyncIterator]() {} }),
    ...over,
  } as Entry;
}

test('a built addon has the RESP encoders in use (a stale or wrong one fails here rather than skipping)', () => {
  const built = existsSync(fileURLToPath(new URL('../../native/crc64/build/Release/ferry_crc64.node', import.meta.url)));
  if (built) assert.notEqual(NATIVE_RESP, null, `native/crc64 is built but its RESP encoders are not used: ${NATIVE_RESP_STATUS}`);
  else assert.match(NATIVE_RESP_STATUS, /not built/);
});

test('native RESTORE: the JS encoder\'s bytes for random keys, values (whole or in two pieces), types, TTLs and flags, through slab rotations', { skip: noNative }, () => {
  const r = rng(SEED);
  const native = new RespEncoder(true);
  const js = new RespEncoder(true);
  const sizes = [0, 1, 9, 10, 99, 100, 1000, 4096, BIG - 1];
  let nativeUsed = 0;
  for (let i = 0; i < 3000; i++) {
    const klen = r() < 0.1 ? sizes[(r() * sizes.length) | 0]! : (r() * 40) | 0;
    const vlen = r() < 0.2 ? sizes[(r() * sizes.length) | 0]! : (r() * 600) | 0;
    // Views at odd offsets of bigger buffers, as the parser hands them out.
    const kbuf = bytes(r, klen + 7);
    const vbuf = bytes(r, vlen + 5);
    const ttlKind = r();
    const e = entry({
      key: kbuf.subarray(3, 3 + klen),
      raw: vbuf.subarray(2, 2 + vlen),
      typeByte: [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21][(r() * 19) | 0]!,
      expireAt: ttlKind < 0.4 ? null : ttlKind < 0.7 ? 1_700_000_000_000 + ((r() * 1e12) | 0) : ttlKind < 0.8 ? 1 : ttlKind < 0.9 ? 2 ** 53 - 1 : 4102444800000,
    });
    const f: RestoreFlags = { replace: r() < 0.7, absTtl: r() < 0.8, now: 1_600_000_000_000 };
    const v = footerVersion(e)!;
    const want = encodeCommand(restoreArgs(e, v, f));
    // Sometimes as two pieces, as an inflated value comes (its length header, then the value).
    const cut = Math.min(vlen, 1 + ((r() * 5) | 0));
    const raw = r() < 0.3 ? [e.raw!.subarray(0, cut), e.raw!.subarray(cut)] : e.raw!;
    const a = Buffer.concat(encodeRestore(native, e, v, f, raw, true));
    const aBytes = native.lastBytes;
    const b = Buffer.concat(encodeRestore(js, e, v, f, raw, false));
    assert.ok(a.equals(want), `seed ${SEED}, case ${i}: native bytes differ (key ${klen} B, value ${vlen} B, ${JSON.stringify(f)}, expireAt ${e.expireAt})`);
    assert.ok(b.equals(want), `seed ${SEED}, case ${i}: JS bytes differ`);
    assert.equal(aBytes, want.length, `seed ${SEED}, case ${i}: lastBytes`);
    nativeUsed++;
    native.takePins();
    js.takePins();
  }
  assert.equal(nativeUsed, 3000);
});

test('native MSET pairs: the bytes of bulk() for every key of a run, across slab rotations', { skip: noNative }, () => {
  const r = rng(SEED + 1);
  for (let round = 0; round < 20; round++) {
    // A run as the parser leaves it: ranges into one input buffer, five numbers a key.
    const src = bytes(r, 64 * 1024);
    const n = 1 + ((r() * 3000) | 0);
    const pos = new Int32Array(5 * n + 5);
    for (let i = 0; i < n; i++) {
      const ks = (r() * 30000) | 0;
      const ke = ks + ((r() < 0.05 ? r() * 20000 : r() * 40) | 0);
      const vs = (r() * 30000) | 0;
      const ve = vs + ((r() < 0.05 ? r() * 4096 : r() * 400) | 0);
      pos.set([ks, ke, vs, ve, 0], 5 * i);
    }
    const want = new RespEncoder(true);
    want.beginSpan();
    for (let i = 0; i < n; i++) {
      want.bulk(src, pos[5 * i]!, pos[5 * i + 1]!);
      want.bulk(src, pos[5 * i + 2]!, pos[5 * i + 3]!);
    }
    const enc = new RespEncoder(true);
    enc.beginSpan();
    // In batches of varying size, as the writer's MSET batches cut a run.
    for (let i = 0; i < n; ) {
      const to = Math.min(n, i + 1 + ((r() * 150) | 0));
      enc.pairs(src, pos, i, to);
      i = to;
    }
    const got = Buffer.concat(enc.takeSpan());
    assert.ok(got.equals(Buffer.concat(want.takeSpan())), `seed ${SEED}, round ${round}: ${n} pairs differ`);
  }
});

test('native encoders refuse bad ranges and arguments, and say when a RESTORE does not fit', { skip: noNative }, () => {
  const n = NATIVE_RESP!;
  const io = n.io;
  const dst = Buffer.alloc(64);
  const src = Buffer.alloc(32, 0x61);
  const set = (...v: number[]): void => v.forEach((x, i) => (io[i] = x));
  // Pairs: a range past src, a negative start, keys past pos, a Float64Array for pos.
  for (const p of [[0, 40, 0, 1, 0], [-1, 2, 0, 1, 0], [0, 2, 5, 4, 0]]) {
    set(0, 0, 1);
    assert.throws(() => n.pairs(dst, src, Int32Array.from(p)), RangeError, JSON.stringify(p));
  }
  set(0, 0, 2);
  assert.throws(() => n.pairs(dst, src, Int32Array.from([0, 1, 0, 1, 0])), RangeError);
  set(0, 0, 1);
  assert.throws(() => n.pairs(dst, src, new Float64Array(5) as unknown as Int32Array), TypeError);
  // Pairs stop before a pair that does not fit, and say where.
  set(50, 0, 1);
  n.pairs(dst, src, Int32Array.from([0, 10, 0, 10, 0]));
  assert.deepEqual([io[0], io[1]], [50, 0]);
  // RESTORE: ranges outside key or raw, a type above 255, a fractional TTL, unknown flags, a start past dst.
  for (const bad of [[0, 0, 40, 0, 1, 0, 9, 0, 0], [0, 0, 1, 0, 40, 0, 9, 0, 0], [0, 0, 1, 0, 1, 256, 9, 0, 0], [0, 0, 1, 0, 1, 0, 9, 1.5, 0], [0, 0, 1, 0, 1, 0, 9, 0, 4], [65, 0, 1, 0, 1, 0, 9, 0, 0]]) {
    set(...bad);
    assert.throws(() => n.restore(dst, src, src), RangeError, JSON.stringify(bad));
  }
  // A `pre` that is not a Uint8Array.
  set(0, 0, 1, 0, 1, 0, 9, 0, 0);
  assert.throws(() => n.restore(dst, src, src, 'x' as unknown as Uint8Array), TypeError);
  // Too long for what is left of dst: -1, nothing written.
  dst.fill(0);
  set(0, 0, 20, 0, 30, 0, 9, 0, 3);
  n.restore(dst, src, src);
  assert.equal(io[0], -1);
  assert.ok(dst.equals(Buffer.alloc(64)));
});
