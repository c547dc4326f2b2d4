/**
 * Zipmap decoder (Redis src/zipmap.c; RDB type 9, hashes written by Redis <= 2.4).
 *
 * Layout: 1-byte count (254 = not counted), then per pair: len, field, len, 1-byte `free`, value,
 * `free` unused bytes; then 0xFF. A len is one byte when < 254, else 0xFE + uint32 (host order, which
 * was little-endian on every machine that wrote these files). Checks mirror zipmapValidateIntegrity.
 */
import { type BlobContext, corrupt, hex } from './context.js';

const BIGLEN = 0xfe;
const END = 0xff;

/** Field, value, field, value... as zero-copy subarrays of `blob`. */
export function zipmapPairs(blob: Buffer, ctx: BlobContext = {}): Buffer[] {
  const size = blob.length;
  if (size < 2) throw corrupt(ctx, 0, `zipmap: ${size} bytes, expected at least 2 (count and the end byte)`);
  const end = size - 1;
  if (blob[end] !== END) throw corrupt(ctx, end, `zipmap: last byte is 0x${hex(blob[end])}, expected the end byte 0xFF`);
  const out: Buffer[] = [];
  let p = 1;
  while (blob[p] !== END) {
    // Field length.
    let len = blob[p];
    if (len === BIGLEN) {
      if (p + 5 > end) throw corrupt(ctx, p, `zipmap: 5-byte field length at ${p} runs past the end byte at ${end}`);
      len = (blob[p + 1] | (blob[p + 2] << 8) | (blob[p + 3] << 16) | (blob[p + 4] << 24)) >>> 0;
      p += 5;
    } else {
      p += 1;
    }
    if (len > end - p) throw corrupt(ctx, p, `zipmap: field of ${len} bytes at ${p}, only ${end - p} left before the end byte`);
    out.push(blob.subarray(p, p + len));
    p += len;
    // Value length, free byte, value, free bytes.
    if (p >= end) throw corrupt(ctx, p, `zipmap: field ${out.length / 2 | 0} has no value before the end byte at ${end}`);
    len = blob[p];
    // As in zipmapDecodeLength, any byte >= 254 here announces a 4-byte length (0xFF only ends the
    // map where a field would start); writers only ever use 0xFE, but this is what Redis loads.
    if (len >= BIGLEN) {
      if (p + 5 > end) throw corrupt(ctx, p, `zipmap: 5-byte value length at ${p} runs past the end byte at ${end}`);
      len = (blob[p + 1] | (blob[p + 2] << 8) | (blob[p + 3] << 16) | (blob[p + 4] << 24)) >>> 0;
      p += 5;
    } else {
      p += 1;
    }
    if (p >= end) throw corrupt(ctx, p, `zipmap: value at ${p} has no free-space byte before the end byte at ${end}`);
    const free = blob[p++];
    if (len + free > end - p) {
      throw corrupt(ctx, p, `zipmap: value of ${len} bytes plus ${free} free bytes at ${p}, only ${end - p} left before the end byte`);
    }
    out.push(blob.subarray(p, p + len));
    p += len + free;
  }
  if (p !== end) throw corrupt(ctx, p, `zipmap: end byte 0xFF at ${p}, but the blob ends at ${end}`);
  // 254 means "too many to count" (writers stop incrementing there); any other value must be exact.
  const count = blob[0];
  if (count !== BIGLEN && count !== out.length / 2) {
    throw corrupt(ctx, 0, `zipmap: header count says ${count} pairs, found ${out.length / 2}`);
  }
  return out;
}
