/**
 * Intset decoder (Redis src/intset.c; RDB type 11).
 *
 * Layout: uint32 encoding LE (2, 4 or 8 = bytes per member), uint32 length LE, then `length` signed
 * little-endian integers sorted ascending without duplicates. Checks mirror intsetValidateIntegrity
 * (deep): encoding, exact size, strict order.
 */
import { type FerryError } from '../../errors/ferry-error.js';
import { type BlobContext, corrupt } from './context.js';
import { intText, int64Text, readInt64LE } from './int-text.js';

const HEADER = 8;

/** Every member as decimal ASCII, in the stored (ascending) order. */
export function intsetMembers(blob: Buffer, ctx: BlobContext = {}): Buffer[] {
  const size = blob.length;
  if (size < HEADER) throw corrupt(ctx, 0, `intset: ${size} bytes, expected at least the 8-byte header`);
  const enc = (blob[0] | (blob[1] << 8) | (blob[2] << 16) | (blob[3] << 24)) >>> 0;
  if (enc !== 2 && enc !== 4 && enc !== 8) throw corrupt(ctx, 0, `intset: encoding ${enc}, expected 2, 4 or 8 bytes per member`);
  const length = (blob[4] | (blob[5] << 8) | (blob[6] << 16) | (blob[7] << 24)) >>> 0;
  const want = HEADER + length * enc;
  if (want !== size) {
    throw corrupt(ctx, 4, `intset: ${length} members of ${enc} bytes need ${want} bytes, the blob has ${size}`);
  }
  const out: Buffer[] = new Array(length);
  let p = HEADER;
  if (enc === 8) {
    let prevHi = 0;
    let prevLo = 0;
    for (let i = 0; i < length; i++, p += 8) {
      const lo = (blob[p] | (blob[p + 1] << 8) | (blob[p + 2] << 16) | (blob[p + 3] << 24)) >>> 0;
      const hi = blob[p + 4] | (blob[p + 5] << 8) | (blob[p + 6] << 16) | (blob[p + 7] << 24);
      if (i > 0 && (hi < prevHi || (hi === prevHi && lo <= prevLo))) throw unordered(ctx, p, i);
      prevHi = hi;
      prevLo = lo;
      out[i] = int64Text(readInt64LE(blob, p));
    }
    return out;
  }
  let prev = 0;
  for (let i = 0; i < length; i++, p += enc) {
    const v = enc === 2
      ? ((blob[p] | (blob[p + 1] << 8)) << 16) >> 16
      : blob[p] | (blob[p + 1] << 8) | (blob[p + 2] << 16) | (blob[p + 3] << 24);
    if (i > 0 && v <= prev) throw unordered(ctx, p, i);
    prev = v;
    out[i] = intText(v);
  }
  return out;
}

function unordered(ctx: BlobContext, pos: number, i: number): FerryError {
  return corrupt(ctx, pos, `intset: member ${i} is not greater than member ${i - 1} (members must be strictly ascending)`);
}
