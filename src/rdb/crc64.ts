/**
 * CRC-64/Jones as Redis computes it (crc64.c): reflected polynomial 0x95AC9329AC4BC9B5, init 0,
 * no final xor. Check value: "123456789" -> 0xe9c6d914c4b8d9ca.
 *
 * Written by hand because no npm package implements this variant at speed: BigInt per byte runs at a
 * few MB/s, so the state is kept as two uint32 halves and input is consumed 8 bytes a step with
 * slicing-by-8 tables (the same technique as Redis's crcspeed).
 */
const POLY = 0x95ac9329ac4bc9b5n;
const LO = new Uint32Array(8 * 256);
const HI = new Uint32Array(8 * 256);

(function buildTables() {
  const base: bigint[] = [];
  for (let n = 0; n < 256; n++) {
    let c = BigInt(n);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ POLY : c >> 1n;
    base.push(c);
  }
  for (let n = 0; n < 256; n++) {
    let c = base[n]!;
    for (let t = 0; t < 8; t++) {
      LO[t * 256 + n] = Number(c & 0xffffffffn);
      HI[t * 256 + n] = Number(c >> 32n);
      c = base[Number(c & 0xffn)]! ^ (c >> 8n);
    }
  }
})();

/** Incremental CRC-64 state. */
export class Crc64 {
  lo = 0;
  hi = 0;

  update(buf: Uint8Array, start = 0, end = buf.length): this {
    let lo = this.lo;
    let hi = this.hi;
    let i = start;
    const end8 = start + ((end - start) & ~7);
    while (i < end8) {
      lo ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
      hi ^= buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
      const l =
        LO[1792 + (lo & 0xff)]! ^ LO[1536 + ((lo >>> 8) & 0xff)]! ^ LO[1280 + ((lo >>> 16) & 0xff)]! ^ LO[1024 + (lo >>> 24)]! ^
        LO[768 + (hi & 0xff)]! ^ LO[512 + ((hi >>> 8) & 0xff)]! ^ LO[256 + ((hi >>> 16) & 0xff)]! ^ LO[hi >>> 24]!;
      const h =
        HI[1792 + (lo & 0xff)]! ^ HI[1536 + ((lo >>> 8) & 0xff)]! ^ HI[1280 + ((lo >>> 16) & 0xff)]! ^ HI[1024 + (lo >>> 24)]! ^
        HI[768 + (hi & 0xff)]! ^ HI[512 + ((hi >>> 8) & 0xff)]! ^ HI[256 + ((hi >>> 16) & 0xff)]! ^ HI[hi >>> 24]!;
      lo = l;
      hi = h;
      i += 8;
    }
    while (i < end) {
      const idx = (lo ^ buf[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ LO[idx]!;
      hi = (hi >>> 8) ^ HI[idx]!;
      i++;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this;
  }

  /** The CRC as an unsigned 64-bit bigint. */
  value(): bigint {
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }

  /** The CRC as 8 little-endian bytes (how RDB files and DUMP payloads store it). */
  bytesLE(): Buffer {
    const b = Buffer.allocUnsafe(8);
    b.writeUInt32LE(this.lo >>> 0, 0);
    b.writeUInt32LE(this.hi >>> 0, 4);
    return b;
  }
}

export function crc64(buf: Uint8Array): bigint {
  return new Crc64().update(buf).value();
}
