/**
 * Ziplist decoder (Redis src/ziplist.c; RDB types 10, 12, 13 and quicklist-1 nodes).
 *
 * Layout: uint32 zlbytes, uint32 zltail (offset of the last entry), uint16 zllen (65535 = count
 * unknown), entries, 0xFF. Entry: prevlen (1 byte < 254, or 0xFE + uint32 LE; a 5-byte form holding a
 * small value is legal, Redis keeps it to avoid cascading shrinks), encoding, data.
 * All checks mirror ziplistValidateIntegrity's deep mode, so what Redis refuses we refuse too.
 */
import { type BlobContext, corrupt, hex } from './context.js';
import { intText, int64Text, readInt64LE } from './int-text.js';

const HEADER = 10;
const END = 0xff;
const BIG_PREVLEN = 0xfe;

/** Every entry as bytes: strings as zero-copy subarrays of `blob`, integers as decimal ASCII. */
export function ziplistEntries(blob: Buffer, ctx: BlobContext = {}): Buffer[] {
  const size = blob.length;
  if (size < HEADER + 1) {
    throw corrupt(ctx, 0, `ziplist: ${size} bytes, expected at least 11 (10-byte header and the end byte)`);
  }
  const zlbytes = (blob[0] | (blob[1] << 8) | (blob[2] << 16) | (blob[3] << 24)) >>> 0;
  if (zlbytes !== size) throw corrupt(ctx, 0, `ziplist: header zlbytes says ${zlbytes} bytes, the blob has ${size}`);
  const zltail = (blob[4] | (blob[5] << 8) | (blob[6] << 16) | (blob[7] << 24)) >>> 0;
  const zllen = blob[8] | (blob[9] << 8);
  const end = size - 1;
  if (blob[end] !== END) throw corrupt(ctx, end, `ziplist: last byte is 0x${hex(blob[end])}, expected the end byte 0xFF`);
  if (zltail > end) throw corrupt(ctx, 4, `ziplist: zltail ${zltail} points past the end byte at ${end}`);

  const out: Buffer[] = [];
  let p = HEADER;
  let prevSize = 0;
  let last = -1;
  while (p < end) {
    const start = p;
    let b = blob[p];
    if (b === END) throw corrupt(ctx, p, `ziplist: end byte 0xFF at ${p}, but zlbytes puts the end at ${end}`);
    let prevlen: number;
    if (b < BIG_PREVLEN) {
      prevlen = b;
      p += 1;
    } else {
      if (p + 5 > end) throw corrupt(ctx, p, `ziplist: 5-byte prevlen at ${p} runs past the end byte at ${end}`);
      prevlen = (blob[p + 1] | (blob[p + 2] << 8) | (blob[p + 3] << 16) | (blob[p + 4] << 24)) >>> 0;
      p += 5;
    }
    if (prevlen !== prevSize) {
      throw corrupt(ctx, start, `ziplist: entry ${out.length} has prevlen ${prevlen}, expected ${prevSize} (the size of the entry before it)`);
    }
    if (p >= end) throw corrupt(ctx, p, `ziplist: entry ${out.length} has no encoding byte before the end byte at ${end}`);
    b = blob[p];
    if (b < 0xc0) {
      // String: the top two bits select the length form (Redis masks the low bits of 0x80..0xBF away).
      let len: number;
      const kind = b & 0xc0;
      if (kind === 0x00) {
        len = b & 0x3f;
        p += 1;
      } else if (kind === 0x40) {
        if (p + 2 > end) throw corrupt(ctx, p, `ziplist: 14-bit string length at ${p} runs past the end byte at ${end}`);
        len = ((b & 0x3f) << 8) | blob[p + 1];
        p += 2;
      } else {
        if (p + 5 > end) throw corrupt(ctx, p, `ziplist: 32-bit string length at ${p} runs past the end byte at ${end}`);
        len = blob[p + 1] * 0x1000000 + ((blob[p + 2] << 16) | (blob[p + 3] << 8) | blob[p + 4]);
        p += 5;
      }
      if (len > end - p) {
        throw corrupt(ctx, start, `ziplist: entry ${out.length} is a string of ${len} bytes, only ${end - p} left before the end byte`);
      }
      out.push(blob.subarray(p, p + len));
      p += len;
    } else {
      const at = p;
      p += 1;
      let need: number;
      switch (b) {
        case 0xfe: need = 1; break; // int8
        case 0xc0: need = 2; break; // int16
        case 0xf0: need = 3; break; // int24 (RDB >= 6)
        case 0xd0: need = 4; break; // int32
        case 0xe0: need = 8; break; // int64
        default:
          if (b >= 0xf1 && b <= 0xfd) {
            out.push(intText((b & 0x0f) - 1)); // immediate 0..12 in the encoding byte itself
            prevSize = p - start;
            last = start;
            continue;
          }
          throw corrupt(ctx, at, `ziplist: entry ${out.length} has encoding byte 0x${hex(b)}, expected a string length or one of C0 D0 E0 F0 F1-FD FE`);
      }
      if (p + need > end) {
        throw corrupt(ctx, at, `ziplist: entry ${out.length} needs ${need} integer bytes, only ${end - p} left before the end byte`);
      }
      switch (need) {
        case 1: out.push(intText((blob[p] << 24) >> 24)); break;
        case 2: out.push(intText(((blob[p] | (blob[p + 1] << 8)) << 16) >> 16)); break;
        case 3: out.push(intText(((blob[p] | (blob[p + 1] << 8) | (blob[p + 2] << 16)) << 8) >> 8)); break;
        case 4: out.push(intText(blob[p] | (blob[p + 1] << 8) | (blob[p + 2] << 16) | (blob[p + 3] << 24))); break;
        default: out.push(int64Text(readInt64LE(blob, p)));
      }
      p += need;
    }
    prevSize = p - start;
    last = start;
  }
  if (last !== -1 && zltail !== last) {
    throw corrupt(ctx, 4, `ziplist: zltail says the last entry starts at ${zltail}, it starts at ${last}`);
  }
  if (zllen !== 0xffff && zllen !== out.length) {
    throw corrupt(ctx, 8, `ziplist: zllen says ${zllen} entries, found ${out.length}`);
  }
  return out;
}
