/**
 * RESTORE payloads with their LZF-compressed strings stored plain.
 *
 * Why: the target is the bottleneck of an import, and decompressing LZF is a good part of what a
 * RESTORE costs it. Measured with redis-server 7.0 on the mixed bench dataset (395 MB RDB): the same
 * keys restored by `redis-cli --pipe` took 3.08-3.12 s of server CPU with payloads as DUMP makes them
 * (LZF, `rdbcompression yes`) and 2.77-2.82 s with plain ones (`rdbcompression no`), for 9% more
 * bytes on the wire (475 -> 517 MB). Ferry inflates with its WebAssembly LZF on the other core.
 *
 * The rewritten value is exactly what the server would have serialized with compression off: each
 * LZF string `C3 <clen> <len> <data>` becomes `<len> <plain bytes>`. Only the forms whose strings are
 * found without decoding the value are rewritten: one-blob encodings (ziplist, listpack, intset,
 * zipmap, plain strings), quicklist nodes and stream nodes (a stream's listpacks are its bulk, and
 * compress well: on the mixed bench file they were 31 MB the target inflated itself, ~1.7% of its
 * CPU for the import). Everything else passes through untouched.
 */
import { plainLengthAt, plainLengthEnd, readRdbLengthAt, readRdbStringAt } from '../rdb/blobs/rdb-string.js';
import type { BlobContext } from '../rdb/blobs/context.js';
import { lzfDecompress } from '../rdb/blobs/lzf.js';

/** Values are rewritten only up to this size inflated: a bigger one goes as the file has it. */
export const INFLATE_MAX = 4 * 1024 * 1024;

/** Types whose whole value is one RDB string (formats reference §3): string, zipmap, ziplist, intset, listpack. */
const ONE_BLOB = new Set([0, 9, 10, 11, 12, 13, 16, 17, 20]);
const QUICKLIST = 14;
const QUICKLIST_2 = 18;
/**
 * Stream types (Redis magic; the only one inflated): the value starts with its node count, then per
 * node its master ID (a string) and its listpack (a string); the lengths, IDs and groups follow.
 */
const STREAM = new Set([15, 19, 21, 26]);
const LZF = 0xc3;

/** RDB length encoding (rdbSaveLen). */
export function encodeRdbLength(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  if (n <= 0xffffffff) {
    const b = Buffer.allocUnsafe(5);
    b[0] = 0x80;
    b.writeUInt32BE(n, 1);
    return b;
  }
  const b = Buffer.allocUnsafe(9);
  b[0] = 0x81;
  b.writeUInt32BE(Math.floor(n / 4294967296), 1);
  b.writeUInt32BE(n >>> 0, 5);
  return b;
}

/**
 * False when `inflatePieces` surely has nothing to do (a cheap test for the per-key path: most values
 * are neither quicklists nor LZF blobs).
 */
export function mayInflate(typeByte: number, raw: Buffer): boolean {
  return typeByte === QUICKLIST || typeByte === QUICKLIST_2 || STREAM.has(typeByte) || mayInflateLone(typeByte, raw);
}

/** The one-blob half of `mayInflate`: a one-blob type whose value starts with an LZF string. */
export function mayInflateLone(typeByte: number, raw: Buffer): boolean {
  return raw[0] === LZF && ONE_BLOB.has(typeByte);
}

/**
 * `raw` (the value bytes of an entry of `typeByte`, Redis magic) with its LZF strings inflated, or
 * null when there is nothing to inflate, the form is not one this rewrites, or the result would pass
 * INFLATE_MAX. Corrupt input throws the blob decoders' typed errors.
 */
export function inflatePayload(typeByte: number, raw: Buffer, ctx: BlobContext = {}): Buffer | null {
  const parts = inflatePieces(typeByte, raw, ctx);
  return parts === null ? null : Buffer.concat(parts);
}

/**
 * `inflatePayload` as the pieces that make it up, back to back (the encoder copies small pieces into
 * its slab anyway, so joining them first would copy every value twice).
 */
export function inflatePieces(typeByte: number, raw: Buffer, ctx: BlobContext = {}): Buffer[] | null {
  if (ONE_BLOB.has(typeByte)) {
    if (raw[0] !== LZF) return null;
    const fast = inflateLone(raw);
    if (fast !== undefined) return fast;
    // Declared size first: never inflate past the cap.
    const clen = readRdbLengthAt(raw, 1, ctx);
    const len = readRdbLengthAt(raw, clen.end, ctx);
    if (len.value > INFLATE_MAX) return null;
    const s = readRdbStringAt(raw, 0, ctx);
    if (s.end !== raw.length) return null; // not a lone string: leave it to the target to judge
    return [encodeRdbLength(s.value.length), s.value];
  }
  if (typeByte === QUICKLIST || typeByte === QUICKLIST_2) return inflateNodes(raw, ctx, typeByte === QUICKLIST_2 ? 'container' : 'none');
  if (STREAM.has(typeByte)) return inflateNodes(raw, ctx, 'stream');
  return null;
}

/**
 * The usual one-blob case (one LZF string, its lengths in plain form), per key on an import, without
 * the general path's result objects: the lengths read in place, the new header from a cache, the
 * value inflated straight from the payload. `undefined` for anything else, and for corrupt data:
 * the general path then reads it again and throws its error.
 */
function inflateLone(raw: Buffer): Buffer[] | null | undefined {
  const len = loneLzfLength(raw);
  if (len < 0) return undefined;
  if (len > INFLATE_MAX) return null;
  let value: Buffer;
  try {
    value = lzfDecompress(raw.subarray(loneLzfStart), len);
  } catch {
    return undefined;
  }
  return [lengthHeader(len), value];
}

/**
 * When `raw` (a one-blob value starting with the LZF marker) is one LZF string with its lengths in
 * plain form and nothing after it: its inflated length, the data starting at `loneLzfStart`
 * afterwards (a field, not a result object: this runs per key). -1 otherwise.
 */
export function loneLzfLength(raw: Buffer): number {
  const clen = plainLengthAt(raw, 1);
  if (clen < 0) return -1;
  const len = plainLengthAt(raw, plainLengthEnd);
  if (len < 0 || plainLengthEnd + clen !== raw.length) return -1;
  loneLzfStart = plainLengthEnd;
  return len;
}

/** Where the LZF data starts in the value `loneLzfLength` last measured. */
export let loneLzfStart = 0;

/**
 * RDB length headers of lengths under 16 KiB, each made once. Filled up front: an empty array written
 * at scattered indexes turns into a dictionary (lengthHeader was ~1% of a mixed import's profile).
 */
const HEADERS: (Buffer | null)[] = new Array<Buffer | null>(16384).fill(null);

/** The RDB length header of an inflated value of `n` bytes. */
export function lengthHeader(n: number): Buffer {
  if (n >= 16384) return encodeRdbLength(n);
  return (HEADERS[n] ??= encodeRdbLength(n));
}

/**
 * A value made of nodes: their count, then per node one string (a quicklist), a container length and
 * one string (QUICKLIST_2), or a master ID string and a listpack string (a stream, whose lengths,
 * IDs and groups then follow, copied as they are). A quicklist must end with its last node.
 */
function inflateNodes(raw: Buffer, ctx: BlobContext, node: 'none' | 'container' | 'stream'): Buffer[] | null {
  const count = readRdbLengthAt(raw, 0, ctx);
  const strings = node === 'stream' ? 2 : 1;
  let pos = count.end;
  let any = false;
  let size = raw.length;
  // First pass: find the LZF strings and the inflated size, without inflating anything.
  for (let i = 0; i < count.value; i++) {
    if (node === 'container') pos = readRdbLengthAt(raw, pos, ctx).end;
    for (let k = 0; k < strings; k++) {
      if (raw[pos] === LZF) {
        const clen = readRdbLengthAt(raw, pos + 1, ctx);
        const len = readRdbLengthAt(raw, clen.end, ctx);
        size += encodeRdbLength(len.value).length + len.value - (len.end - pos + clen.value);
        if (size > INFLATE_MAX) return null;
        pos = len.end + clen.value;
        any = true;
      } else {
        pos = readRdbStringAt(raw, pos, ctx).end;
      }
    }
  }
  if (!any || (node === 'stream' ? pos > raw.length : pos !== raw.length)) return null;
  const parts: Buffer[] = [raw.subarray(0, count.end)];
  pos = count.end;
  for (let i = 0; i < count.value; i++) {
    if (node === 'container') {
      const c = readRdbLengthAt(raw, pos, ctx);
      parts.push(raw.subarray(pos, c.end));
      pos = c.end;
    }
    for (let k = 0; k < strings; k++) {
      const s = readRdbStringAt(raw, pos, ctx);
      if (s.lzf) parts.push(lengthHeader(s.value.length), s.value);
      else parts.push(raw.subarray(pos, s.end));
      pos = s.end;
    }
  }
  if (pos < raw.length) parts.push(raw.subarray(pos));
  return parts;
}
