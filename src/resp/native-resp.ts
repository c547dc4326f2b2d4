/**
 * The native RESP encoders (native/crc64/resp.c) for the import's two per-key commands: the bulk
 * strings of an MSET batch from a string run's byte ranges, and a whole RESTORE with its CRC-64
 * footer. The encoder (encoder.ts) uses them when they are here and passed the check below; its JS
 * path gives the same bytes (a unit test holds every case equal) and is used otherwise.
 *
 * Why: in a profile of the mixed bench import, making a Buffer view per copied range, a call per
 * argument and per CRC piece cost more than the copying itself (docs/benchmarks.md has the figures).
 */
import { NATIVE_ADDON } from '../rdb/native-addon.js';
import { Crc64 } from '../rdb/crc64.js';

export interface NativeResp {
  /** Numbers in and out of both calls (resp.c documents the slots). */
  io: Float64Array;
  pairs(dst: Uint8Array, src: Uint8Array, pos: Int32Array): void;
  restore(dst: Uint8Array, key: Uint8Array, raw: Uint8Array, pre?: Uint8Array): void;
  /** A key run's RESTOREs (entry.ts KeyRun), back to back; resp.c respRestoreRun documents io. */
  restoreRun(dst: Uint8Array, src: Uint8Array, pos: Int32Array, exp: Float64Array, vers: Uint8Array): void;
}

let status = 'loaded';

/** Null when the addon is missing, older than resp.c, or fails the check. */
export const NATIVE_RESP: NativeResp | null = (() => {
  const m = NATIVE_ADDON.mod;
  if (m === null) {
    status = NATIVE_ADDON.status;
    return null;
  }
  if (!m.io || !m.respPairs || !m.respRestore || !m.respRestoreRun) {
    status = 'built before its RESP encoders: run npm install again';
    return null;
  }
  const n: NativeResp = { io: m.io, pairs: m.respPairs, restore: m.respRestore, restoreRun: m.respRestoreRun };
  try {
    if (!selfCheck(n)) {
      status = 'giving wrong RESP bytes: not used';
      return null;
    }
  } catch (err) {
    status = `failing its check (${(err as Error).message}): not used`;
    return null;
  }
  return n;
})();

export const NATIVE_RESP_STATUS = status;

/**
 * One RESTORE, one MSET pair and a run of one RESTORE, against bytes built here by hand (a CRC by the JS engine), so a
 * wrong build is never used: the same check crc64.ts and lzf.ts make of theirs.
 */
function selfCheck(n: NativeResp): boolean {
  const key = Buffer.from('xkey-1x');
  const raw = Buffer.from('\x00\x0bhello world!\x00', 'latin1');
  const dst = Buffer.alloc(256);
  const io = n.io;
  io.set([3, 1, 6, 1, 13, 0, 9, 1234567890123, 3]);
  n.restore(dst, key, raw);
  const payload = Buffer.concat([Buffer.from([0]), raw.subarray(1, 13), Buffer.from([9, 0])]);
  const crc = new Crc64().updateJs(payload);
  const footer = Buffer.alloc(8);
  footer.writeUInt32LE(crc.lo >>> 0, 0);
  footer.writeUInt32LE(crc.hi >>> 0, 4);
  const want = Buffer.concat([
    Buffer.from(`*6\r\n$7\r\nRESTORE\r\n$5\r\nkey-1\r\n$13\r\n1234567890123\r\n$${payload.length + 8}\r\n`),
    payload, footer,
    Buffer.from('\r\n$7\r\nREPLACE\r\n$6\r\nABSTTL\r\n'),
  ]);
  if (io[0] !== 3 + want.length || !dst.subarray(3, 3 + want.length).equals(want)) return false;
  const pos = Int32Array.from([1, 4, 5, 13, 0]);
  io.set([2, 0, 1]);
  n.pairs(dst, raw, pos);
  const pair = Buffer.from('$3\r\n\x0bhe\r\n$8\r\nlo world\r\n', 'latin1');
  if (io[0] !== 2 + pair.length || io[1] !== 1 || !dst.subarray(2, 2 + pair.length).equals(pair)) return false;
  // The same RESTORE as a key run of one key (type 0, version 9, the same expiry, REPLACE).
  const vers = new Uint8Array(256);
  vers[0] = 9;
  io.set([3, 0, 1, 0, 1, 1 << 20, 1 << 20, 1 << 20]);
  dst.fill(0);
  n.restoreRun(dst, Buffer.concat([key, raw]), Int32Array.from([1, 6, 8, 20, 0, 0]), Float64Array.from([1234567890123]), vers);
  return io[0] === 3 + want.length && io[2] === 0 && io[3] === 1 && dst.subarray(3, 3 + want.length).equals(want);
}
