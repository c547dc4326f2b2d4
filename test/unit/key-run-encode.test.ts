/**
 * A key run's RESTOREs by the native run encoder (resp.c respRestoreRun, RespEncoder.restoreRun) are
 * the bytes the writer's per-key path gives for the same keys (keyRunEntry, then encodeRestore by the
 * JS encoder with the payload payloadRaw would send: LZF values inflated, quicklists and streams with LZF nodes
 * rewritten), on every key run of the corpus; expired keys are skipped and counted; what it declines
 * (a type the target cannot take, a payload over proto-max-bulk-len, LZF data that does not inflate,
 * a quicklist or stream with LZF nodes) is exactly that key, with nothing of it written; and bad ranges are
 * refused instead of read.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NATIVE_RESP, NATIVE_RESP_STATUS } from '../../src/resp/native-resp.js';
import { RespEncoder } from '../../src/resp/encoder.js';
import { encodeRestore, minRdbForType, type RestoreFlags } from '../../src/writer/restore.js';
import { INFLATE_MAX, inflatePieces, mayInflate } from '../../src/writer/inflate-payload.js';
import { ByteSource } from '../../src/io/byte-source.js';
import { parseRdb } from '../../src/rdb/parser.js';
import { keyRunEntry } from '../../src/rdb/rdb-entry.js';
import { KEY_RUN_STRIDE, type KeyRun } from '../../src/entry/entry.js';
import { CORPUS } from '../helpers/redis-server.js';
import { lzfCompress } from './blobs-support.js';

const noNative = NATIVE_RESP === null && /not built/.test(NATIVE_RESP_STATUS) ? `native addon ${NATIVE_RESP_STATUS}` : false;

const FILES = ['generated', 'rdb-tools', 'redis-tests']
  .flatMap((d) => readdirSync(join(CORPUS, d)).filter((f) => f.endsWith('.rdb') && f !== 'corrupt_ziplist.rdb').map((f) => join(CORPUS, d, f)));

/** Footer versions as the writer computes them for a target that reads RDB `maxRdb`. */
function versions(maxRdb: number): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    const v = minRdbForType(b, 'REDIS');
    if (v !== null && v <= maxRdb) t[b] = v;
  }
  return t;
}

interface Setup {
  vers: Uint8Array;
  inflate: boolean;
  protoMax: number;
  now: number;
}

/** What the per-key path sends for key i (null: skipped as expired; 'declined': the run encoder leaves it to the per-key path). */
function perKey(run: KeyRun, i: number, s: Setup): Buffer | null | 'declined' {
  const x = run.exp[i]!;
  if (x >= 0 && x <= s.now) return null;
  const e = keyRunEntry(run, i);
  const version = s.vers[e.typeByte]!;
  const raw = e.raw!;
  if (version === 0 || 1 + raw.length + 10 > s.protoMax) return 'declined';
  let payload: Buffer | Buffer[] = raw;
  if (s.inflate && mayInflate(e.typeByte, raw)) {
    let pieces: Buffer[] | null;
    try {
      pieces = inflatePieces(e.typeByte, raw);
    } catch {
      return 'declined';
    }
    // The run encoder leaves quicklists and streams with LZF nodes to the per-key path.
    if ([14, 18, 15, 19, 21, 26].includes(e.typeByte)) {
      if (pieces !== null) return 'declined';
    } else if (pieces !== null) {
      let n = 0;
      for (const p of pieces) n += p.length;
      if (n + 11 <= s.protoMax) payload = pieces;
    }
  }
  const f: RestoreFlags = { replace: true, absTtl: true, now: s.now };
  const js = new RespEncoder();
  return Buffer.concat(encodeRestore(js, e, version, f, payload, false));
}

/** The run encoded natively in batches of `batch` keys; declined keys collected. */
function nativeRun(run: KeyRun, s: Setup, batch: number, budget: number): { bytes: Buffer; declined: number[]; written: number; expired: number } {
  const enc = new RespEncoder(true);
  enc.beginSpan();
  const declined: number[] = [];
  let written = 0;
  let expired = 0;
  for (let i = run.from; i < run.to; ) {
    const status = enc.restoreRun(run.buf, run.pos, run.exp, s.vers, i, Math.min(run.to, i + batch), s.now, s.inflate ? 3 : 1, s.protoMax, budget, INFLATE_MAX);
    written += enc.runWritten;
    expired += enc.runExpired;
    i = enc.runNext;
    if (status === 2) declined.push(i++);
  }
  return { bytes: Buffer.concat(enc.takeSpan()), declined, written, expired };
}

async function keyRuns(file: string): Promise<KeyRun[]> {
  const runs: KeyRun[] = [];
  for await (const batch of parseRdb(new ByteSource(readFileSync(file), { name: file }), { stringRuns: 4096, keyRuns: true })) {
    // A run's pos and exp are reused by the next batch: keep copies.
    for (const r of batch) if (r.kind === 'keys') runs.push({ ...r, pos: r.pos.slice(), exp: r.exp.slice() });
  }
  return runs;
}

test('native key-run RESTOREs: the per-key path\'s bytes for every key run of the corpus, under several targets', { skip: noNative }, async () => {
  const setups: Setup[] = [
    { vers: versions(10), inflate: true, protoMax: 512 * 1024 * 1024, now: Date.now() },
    { vers: versions(10), inflate: false, protoMax: 512 * 1024 * 1024, now: Date.now() },
    // An older target (RDB 9: no listpacks) and a small proto-max-bulk-len: declines.
    { vers: versions(9), inflate: true, protoMax: 600, now: Date.now() },
    // Every expiry in the past: all keys with one are skipped.
    { vers: versions(10), inflate: true, protoMax: 512 * 1024 * 1024, now: 2 ** 53 },
  ];
  let keys = 0;
  let declinedSeen = 0;
  let expiredSeen = 0;
  let inflatedSeen = 0;
  for (const file of FILES) {
    for (const run of await keyRuns(file)) {
      for (const [si, s] of setups.entries()) {
        const want: Buffer[] = [];
        const wantDeclined: number[] = [];
        let wantExpired = 0;
        for (let i = run.from; i < run.to; i++) {
          const b = perKey(run, i, s);
          if (b === null) wantExpired++;
          else if (b === 'declined') wantDeclined.push(i);
          else want.push(b);
        }
        for (const [batch, budget] of [[128, 256 * 1024], [1, 1], [7, 300]] as const) {
          const got = nativeRun(run, s, batch, budget);
          const where = `${file}, setup ${si}, batches of ${batch} / ${budget} B`;
          assert.deepEqual(got.declined, wantDeclined, `${where}: declined keys`);
          assert.equal(got.expired, wantExpired, `${where}: expired keys`);
          assert.equal(got.written, want.length, `${where}: keys written`);
          assert.ok(got.bytes.equals(Buffer.concat(want)), `${where}: bytes differ`);
        }
        keys += run.to - run.from;
        declinedSeen += wantDeclined.length;
        expiredSeen += wantExpired;
        if (si === 0) for (let i = run.from; i < run.to; i++) if (run.buf[run.pos[KEY_RUN_STRIDE * i + 2]!] === 0xc3) inflatedSeen++;
      }
    }
  }
  assert.ok(keys > 500, `keys in runs: ${keys}`);
  assert.ok(declinedSeen > 0 && expiredSeen > 0 && inflatedSeen > 0, `declined ${declinedSeen}, expired ${expiredSeen}, LZF values ${inflatedSeen}`);
});

/** A one-key run over `src` (the key then the value), of `type`, no expiry. */
function oneKey(key: Buffer, value: Buffer, type: number): KeyRun {
  const buf = Buffer.concat([key, value]);
  return {
    kind: 'keys', db: 0, buf, pos: Int32Array.from([0, key.length, key.length, buf.length, 0, type]), exp: Float64Array.from([-1]), from: 0, to: 1,
    source: { magic: 'REDIS', rdbVersion: 10 }, file: 't.rdb', limits: { maxString: 1 << 29, inputSize: null }, base: 0,
  };
}

test('native key-run RESTOREs decline LZF data that does not inflate, writing nothing of it', { skip: noNative }, () => {
  const s: Setup = { vers: versions(10), inflate: true, protoMax: 1 << 29, now: 0 };
  const plain = Buffer.from('abcabcabcabc-'.repeat(40));
  const data = lzfCompress(plain);
  const value = (d: Buffer, len: number): Buffer => Buffer.concat([Buffer.from([0xc3, 0x40 | (d.length >> 8), d.length & 0xff, 0x40 | (len >> 8), len & 0xff]), d]);
  // A good one-LZF-string value: inflated, as the per-key path sends it.
  const good = oneKey(Buffer.from('k'), value(data, plain.length), 0);
  const ok = nativeRun(good, s, 128, 1 << 20);
  const expect = perKey(good, 0, s);
  assert.deepEqual(ok.declined, []);
  assert.ok(expect instanceof Buffer && ok.bytes.equals(expect), 'a good LZF value is inflated as the per-key path does');
  // The wrong inflated length (short and long), truncated data, a back reference before the start.
  for (const bad of [value(data, plain.length - 1), value(data, plain.length + 1), value(data.subarray(0, data.length - 3), plain.length), value(Buffer.from([0x20, 0x05]), 40)]) {
    const got = nativeRun(oneKey(Buffer.from('k'), bad, 0), s, 128, 1 << 20);
    assert.deepEqual(got.declined, [0], `declined: ${bad.toString('hex')}`);
    assert.equal(got.bytes.length, 0, 'nothing written');
  }
});

test('native key-run encoder refuses ranges outside its buffers and bad arguments', { skip: noNative }, () => {
  const n = NATIVE_RESP!;
  const io = n.io;
  const dst = Buffer.alloc(256);
  const src = Buffer.alloc(32, 0x61);
  const vers = versions(10);
  const set = (...v: number[]): void => v.forEach((x, i) => (io[i] = x));
  const run = (pos: number[], exp: number[] = [-1]) => n.restoreRun(dst, src, Int32Array.from(pos), Float64Array.from(exp), vers);
  // A key or value range past src, reversed, a type above 255, an expiry that is not a whole number or -1.
  for (const [pos, exp] of [[[0, 40, 0, 1, 0, 0]], [[0, 1, 5, 4, 0, 0]], [[0, 1, 1, 2, 0, 256]], [[0, 1, 1, 2, 0, 0], [-2]], [[0, 1, 1, 2, 0, 0], [Number.NaN]]] as [number[], number[]?][]) {
    set(0, 0, 1, 0, 1, 1 << 20, 1 << 20, 1 << 20);
    assert.throws(() => run(pos, exp), RangeError, JSON.stringify([pos, exp]));
  }
  // Keys past pos or exp, a start past dst, unknown flags.
  for (const bad of [[0, 0, 2, 0, 1, 1 << 20, 1 << 20, 1 << 20], [257, 0, 1, 0, 1, 1 << 20, 1 << 20, 1 << 20], [0, 0, 1, 0, 4, 1 << 20, 1 << 20, 1 << 20]]) {
    set(...bad);
    assert.throws(() => run([0, 1, 1, 2, 0, 0]), RangeError, JSON.stringify(bad));
  }
  // Wrong array types, a short version table.
  set(0, 0, 1, 0, 1, 1 << 20, 1 << 20, 1 << 20);
  assert.throws(() => n.restoreRun(dst, src, new Float64Array(6) as unknown as Int32Array, Float64Array.from([-1]), vers), TypeError);
  assert.throws(() => n.restoreRun(dst, src, Int32Array.from([0, 1, 1, 2, 0, 0]), Float64Array.from([-1]), new Uint8Array(255)), TypeError);
  // Too long for what is left of dst: status 1 with the bytes it needs, nothing written.
  dst.fill(0);
  set(250, 0, 1, 0, 1, 1 << 20, 1 << 20, 1 << 20);
  run([0, 1, 1, 2, 0, 0]);
  assert.deepEqual([io[0], io[1], io[2], io[3]], [250, 0, 1, 0]);
  assert.ok(io[5]! > 6);
  assert.ok(dst.equals(Buffer.alloc(256)));
});
