/**
 * Shared by the blob decoder tests (test/unit/blobs-*.test.ts): building RESTORE payloads, a minimal
 * walker that finds the value blobs in the old single-purpose corpus RDBs, and the corruption harness.
 * Not a test file itself (no `.test.ts`), so the runner does not pick it up.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { crc64 } from '../../src/rdb/crc64.js';
import { FerryError } from '../../src/errors/ferry-error.js';
import { readRdbLengthAt, readRdbStringAt } from '../../src/rdb/blobs/index.js';
import { seededRandom } from '../helpers/make-rdb.js';

/** An RDB string holding `bytes` as they are (length prefix, no int or LZF encoding). */
export function rdbString(bytes: Buffer): Buffer {
  const n = bytes.length;
  let head: Buffer;
  if (n < 64) head = Buffer.from([n]);
  else if (n < 16384) head = Buffer.from([0x40 | (n >> 8), n & 0xff]);
  else {
    head = Buffer.alloc(5);
    head[0] = 0x80;
    head.writeUInt32BE(n, 1);
  }
  return Buffer.concat([head, bytes]);
}

/** A DUMP/RESTORE payload: type byte, value, RDB version (LE), CRC-64 of all before it (LE). */
export function restorePayload(typeByte: number, value: Buffer, rdbVersion = 10): Buffer {
  const body = Buffer.concat([Buffer.from([typeByte]), value, Buffer.from([rdbVersion & 0xff, rdbVersion >> 8])]);
  const crc = Buffer.alloc(8);
  crc.writeBigUInt64LE(crc64(body));
  return Buffer.concat([body, crc]);
}

/**
 * RESTOREs a single-blob value (types 9-13, 16, 17, 20) into `key` on a server started with
 * `sanitize-dump-payload yes`, so the server deep-validates the blob as its own loader does.
 * Returns true when the server took it.
 */
export async function serverAccepts(client: Redis, key: string, typeByte: number, blob: Buffer): Promise<boolean> {
  await client.del(key);
  try {
    await client.callBuffer('RESTORE', key, '0', restorePayload(typeByte, rdbString(blob)));
    return true;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('ERR Bad data format')) return false;
    throw err;
  }
}

export interface OldRdbValue {
  db: number;
  key: Buffer;
  typeByte: number;
  /** For types 9-13: the blob (LZF already undone). For 14: each node's blob. Else empty. */
  blobs: Buffer[];
  /** Absolute offset of each blob's RDB string in the file. */
  offsets: number[];
}

/**
 * Walks an RDB file of the old kind in the corpus (versions 1-9; the opcodes and value types those
 * files hold) and returns every key with the blobs its value holds. Deliberately small: the real
 * parser lives in src/rdb/; this exists so the decoders can be tested on real files on their own.
 */
export async function oldRdbValues(path: string): Promise<OldRdbValue[]> {
  const buf = await readFile(path);
  assert.equal(buf.toString('latin1', 0, 5), 'REDIS', `${path}: not an RDB`);
  const version = Number(buf.toString('latin1', 5, 9));
  const out: OldRdbValue[] = [];
  let pos = 9;
  let db = 0;
  const str = (): Buffer => {
    const r = readRdbStringAt(buf, pos, { file: path });
    pos = r.end;
    return r.value;
  };
  const len = (): number => {
    const r = readRdbLengthAt(buf, pos, { file: path });
    pos = r.end;
    return r.value;
  };
  for (;;) {
    const op = buf[pos++];
    if (op === 0xff) break;
    if (op === 0xfe) { db = len(); continue; }
    if (op === 0xfd) { pos += 4; continue; }
    if (op === 0xfc) { pos += 8; continue; }
    if (op === 0xfa) { str(); str(); continue; }
    if (op === 0xfb) { len(); len(); continue; }
    if (op === 0xf8) { len(); continue; }
    if (op === 0xf9) { pos += 1; continue; }
    const key = str();
    const blobs: Buffer[] = [];
    const offsets: number[] = [];
    const blob = (): void => {
      offsets.push(pos);
      blobs.push(str());
    };
    switch (op) {
      case 0: str(); break;
      case 1: case 2: for (let n = len(); n > 0; n--) str(); break;
      case 3: for (let n = len(); n > 0; n--) { str(); const l = buf[pos++]; if (l < 253) pos += l; } break;
      case 4: for (let n = len(); n > 0; n--) { str(); str(); } break;
      case 5: for (let n = len(); n > 0; n--) { str(); pos += 8; } break;
      case 9: case 10: case 11: case 12: case 13: blob(); break;
      case 14: for (let n = len(); n > 0; n--) blob(); break;
      default: throw new Error(`${path}: type ${op} at ${pos - 1} is beyond this test walker (RDB ${version})`);
    }
    out.push({ db, key, typeByte: op, blobs, offsets });
  }
  return out;
}

/** Asserts `fn` throws a FerryError RDB_CORRUPT, optionally at the given absolute offset; returns it. */
export function assertCorrupt(fn: () => unknown, offset?: number, pattern?: RegExp): FerryError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FerryError, `expected a FerryError, got ${String(err)}`);
    assert.equal(err.code, 'RDB_CORRUPT');
    if (offset !== undefined) assert.equal(err.context.offset, offset, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail('expected RDB_CORRUPT, nothing was thrown');
}

/** Bytes of the results that are new allocations (not views into `input`). */
function allocatedBytes(input: Buffer, result: unknown): number {
  const items = Array.isArray(result) ? result : [result];
  let total = 0;
  for (const x of items) {
    if (!Buffer.isBuffer(x)) continue;
    const inside = x.buffer === input.buffer && x.byteOffset >= input.byteOffset && x.byteOffset + x.length <= input.byteOffset + input.length;
    if (!inside) total += x.length;
  }
  return total;
}

export interface FuzzReport {
  clean: number;
  corrupt: number;
}

/**
 * The corruption harness: every truncation of `blob`, then `rounds` seeded single-byte mutations
 * (random byte, bit flip, +-1). Each decode must either return or throw RDB_CORRUPT; anything else
 * (TypeError, RangeError, an assertion) fails the test, and so does returning more newly allocated
 * bytes than `maxAlloc(input)`. Each decode runs synchronously, so a hang would stop the test at its
 * timeout.
 */
export function fuzzDecoder(
  blob: Buffer,
  decode: (b: Buffer) => unknown,
  opts: { rounds: number; seed: number; maxAlloc?: (input: Buffer) => number },
): FuzzReport {
  const maxAlloc = opts.maxAlloc ?? ((b: Buffer) => 2 * b.length);
  const report: FuzzReport = { clean: 0, corrupt: 0 };
  const attempt = (input: Buffer, what: string): void => {
    let result: unknown;
    try {
      result = decode(input);
    } catch (err) {
      if (err instanceof FerryError && err.code === 'RDB_CORRUPT') {
        report.corrupt++;
        return;
      }
      assert.fail(`${what}: expected a clean decode or RDB_CORRUPT, got ${err instanceof Error ? err.stack : String(err)}`);
    }
    const alloc = allocatedBytes(input, result);
    assert.ok(alloc <= maxAlloc(input), `${what}: allocated ${alloc} bytes for ${input.length} bytes of input`);
    report.clean++;
  };
  for (let n = 0; n < blob.length; n++) attempt(Buffer.from(blob.subarray(0, n)), `truncated to ${n}`);
  const rnd = seededRandom(opts.seed);
  for (let r = 0; r < opts.rounds; r++) {
    const m = Buffer.from(blob);
    const at = Math.floor(rnd() * m.length);
    const kind = r % 3;
    if (kind === 0) m[at] = Math.floor(rnd() * 256);
    else if (kind === 1) m[at] ^= 1 << Math.floor(rnd() * 8);
    else m[at] = (m[at] + (rnd() < 0.5 ? 1 : 255)) & 0xff;
    attempt(m, `mutation ${r} at ${at}`);
  }
  return report;
}

/** The 64-bit and boundary integers every int-encoding test uses, as decimal strings. */
export const INT_BOUNDARIES = [
  '0', '1', '12', '13', '127', '128', '-1', '-128', '-129', '4095', '4096', '-4096', '-4097',
  '32767', '32768', '-32768', '-32769', '8388607', '8388608', '-8388608', '-8388609',
  '2147483647', '2147483648', '-2147483648', '-2147483649', '9007199254740991', '9007199254740993',
  '-9007199254740993', '9223372036854775807', '-9223372036854775808', '4294967296', '-4294967296',
];

/**
 * A small LZF compressor (liblzf's lzf_c.c scheme: a hash of the next 3 bytes finds an earlier
 * occurrence up to 8 KiB back; matches of 3-264 bytes become back-references, the rest literal runs of
 * at most 32). For tests and benches of the decompressors: its output is valid LZF with every kind of
 * instruction (overlapping matches included), though not byte-identical to Redis's.
 */
export function lzfCompress(input: Uint8Array): Buffer {
  const inLen = input.length;
  const out = Buffer.allocUnsafe(inLen + (inLen >> 5) + 2);
  const htab = new Int32Array(1 << 14).fill(-1);
  let ip = 0;
  let op = 0;
  let lit = 0; // bytes in the open literal run
  let litCtrl = op++; // where its control byte goes
  const literal = (): void => {
    out[op++] = input[ip++]!;
    if (++lit === 32) {
      out[litCtrl] = 31;
      lit = 0;
      litCtrl = op++;
    }
  };
  while (ip + 2 < inLen) {
    const h = ((input[ip]! << 16) | (input[ip + 1]! << 8) | input[ip + 2]!) * 2654435761;
    const slot = (h >>> 18) & 0x3fff;
    const ref = htab[slot]!;
    htab[slot] = ip;
    const off = ip - ref - 1;
    if (ref >= 0 && off < 8192 && input[ref] === input[ip] && input[ref + 1] === input[ip + 1] && input[ref + 2] === input[ip + 2]) {
      let len = 3;
      const maxLen = Math.min(264, inLen - ip);
      while (len < maxLen && input[ref + len] === input[ip + len]) len++;
      if (lit > 0) out[litCtrl] = lit - 1;
      else op--; // drop the empty run's control byte
      const l = len - 2;
      if (l < 7) out[op++] = (off >> 8) | (l << 5);
      else {
        out[op++] = (off >> 8) | (7 << 5);
        out[op++] = l - 7;
      }
      out[op++] = off & 0xff;
      lit = 0;
      litCtrl = op++;
      ip += len;
    } else {
      literal();
    }
  }
  while (ip < inLen) literal();
  if (lit > 0) out[litCtrl] = lit - 1;
  else op--;
  return out.subarray(0, op);
}
