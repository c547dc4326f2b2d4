/**
 * Integers rendered as the decimal ASCII Redis prints for them (no sign for zero, '-' for negatives,
 * no leading zeros). 64-bit values beyond 2^53 go through BigInt so every digit is exact; the rest
 * stay on plain numbers, which is several times cheaper.
 */

const TWO32 = 4294967296;
/** |hi| below this keeps hi * 2^32 + lo within Number.MAX_SAFE_INTEGER. */
const SAFE_HI = 0x200000;

/**
 * The characters of a short ASCII string as a Buffer. A pooled allocUnsafe plus a charCode loop
 * measured ~2.5x faster than Buffer.from(str, 'latin1') for number-sized strings (~100 vs ~250 ns).
 */
function asciiBuffer(t: string): Buffer {
  const n = t.length;
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = t.charCodeAt(i);
  return b;
}

/** Decimal text of a safe integer. */
export function intText(v: number): Buffer {
  return asciiBuffer(String(v));
}

/** The signed 64-bit little-endian integer at `pos` (caller checked 8 bytes are there) as a number if it is exact, else bigint. */
export function readInt64LE(b: Uint8Array, pos: number): number | bigint {
  const lo = (b[pos] | (b[pos + 1] << 8) | (b[pos + 2] << 16) | (b[pos + 3] << 24)) >>> 0;
  const hi = b[pos + 4] | (b[pos + 5] << 8) | (b[pos + 6] << 16) | (b[pos + 7] << 24);
  if (hi < SAFE_HI && hi >= -SAFE_HI) return hi * TWO32 + lo;
  return (BigInt(hi) << 32n) + BigInt(lo);
}

/** Decimal text of a value from readInt64LE. */
export function int64Text(v: number | bigint): Buffer {
  return asciiBuffer(v.toString());
}
