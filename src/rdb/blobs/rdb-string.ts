/**
 * RDB lengths and strings (formats reference §1.5-§1.6) read from a Buffer that holds them whole:
 * a DUMP payload, or a value the parser already holds inline. The streaming parser reads the same
 * encodings from a ByteSource (src/rdb/primitives.ts); this is the in-memory twin, used to open the
 * blobs nested inside an inline value (quicklist nodes, stream listpacks) and by the tests.
 */
import { type BlobContext, corrupt, hex } from './context.js';
import { lzfDecompress } from './lzf.js';
import { intText } from './int-text.js';

export interface AtResult<T> {
  value: T;
  /** Position just past what was read. */
  end: number;
  /** Set by readRdbStringAt when the string was LZF-compressed (pass `inflated: true` to the blob decoders). */
  lzf?: boolean;
}

/** Where the length `plainLengthAt` read last ends (a variable, not a result object: it runs per key). */
export let plainLengthEnd = 0;

/**
 * A plain 6-, 14- or 32-bit RDB length wholly inside `buf` at `pos`, or -1 for anything else (another
 * encoding, or past the end); never throws. For per-key fast paths, which leave whatever this
 * refuses to the checked readers (readRdbLengthAt, primitives.ts) and their errors.
 */
export function plainLengthAt(buf: Uint8Array, pos: number): number {
  if (pos >= buf.length) return -1;
  const b = buf[pos]!;
  if (b >> 6 === 0) {
    plainLengthEnd = pos + 1;
    return b & 0x3f;
  }
  if (b >> 6 === 1) {
    if (pos + 1 >= buf.length) return -1;
    plainLengthEnd = pos + 2;
    return ((b & 0x3f) << 8) | buf[pos + 1]!;
  }
  if (b === 0x80) {
    if (pos + 4 >= buf.length) return -1;
    plainLengthEnd = pos + 5;
    return ((buf[pos + 1]! << 24) >>> 0) + (buf[pos + 2]! << 16) + (buf[pos + 3]! << 8) + buf[pos + 4]!;
  }
  return -1;
}

/** A length at `pos` (ctx.offset, when given, is the absolute offset of buf[0]). Special string encodings (0xC0..0xFF) are an error here. */
export function readRdbLengthAt(buf: Buffer, pos: number, ctx: BlobContext = {}): AtResult<number> {
  need(buf, pos, 1, ctx, 'a length');
  const b = buf[pos];
  switch (b >> 6) {
    case 0:
      return { value: b & 0x3f, end: pos + 1 };
    case 1:
      need(buf, pos, 2, ctx, 'a 14-bit length');
      return { value: ((b & 0x3f) << 8) | buf[pos + 1], end: pos + 2 };
    case 2:
      if (b === 0x80) {
        need(buf, pos, 5, ctx, 'a 32-bit length');
        return { value: buf.readUInt32BE(pos + 1), end: pos + 5 };
      }
      if (b === 0x81) {
        need(buf, pos, 9, ctx, 'a 64-bit length');
        const hi = buf.readUInt32BE(pos + 1);
        if (hi > 0x1fffff) throw corrupt(ctx, pos, `64-bit length with high word ${hi} is beyond any input`);
        return { value: hi * 4294967296 + buf.readUInt32BE(pos + 5), end: pos + 9 };
      }
      throw corrupt(ctx, pos, `invalid length prefix byte 0x${hex(b)}, expected 00-BF except 82-BF`);
    default:
      throw corrupt(ctx, pos, `expected a length, found string encoding byte 0x${hex(b)}`);
  }
}

/**
 * A string at `pos`: raw bytes (a zero-copy subarray), an int-encoded string (decimal ASCII), or
 * LZF (decompressed; rawLen is bounded by lzfDecompress's expansion check and by `maxRaw`).
 * ctx.offset, when given, is the absolute offset of buf[0].
 */
export function readRdbStringAt(buf: Buffer, pos: number, ctx: BlobContext = {}, maxRaw = 2 ** 32): AtResult<Buffer> {
  need(buf, pos, 1, ctx, 'a string');
  const b = buf[pos];
  if (b < 0xc0) {
    const len = readRdbLengthAt(buf, pos, ctx);
    if (len.value > buf.length - len.end) {
      throw corrupt(ctx, pos, `string of ${len.value} bytes, only ${buf.length - len.end} left`);
    }
    return { value: buf.subarray(len.end, len.end + len.value), end: len.end + len.value };
  }
  switch (b) {
    case 0xc0:
      need(buf, pos, 2, ctx, 'an 8-bit integer string');
      return { value: intText(buf.readInt8(pos + 1)), end: pos + 2 };
    case 0xc1:
      need(buf, pos, 3, ctx, 'a 16-bit integer string');
      return { value: intText(buf.readInt16LE(pos + 1)), end: pos + 3 };
    case 0xc2:
      need(buf, pos, 5, ctx, 'a 32-bit integer string');
      return { value: intText(buf.readInt32LE(pos + 1)), end: pos + 5 };
    case 0xc3: {
      const clen = readRdbLengthAt(buf, pos + 1, ctx);
      const rawLen = readRdbLengthAt(buf, clen.end, ctx);
      if (clen.value > buf.length - rawLen.end) {
        throw corrupt(ctx, pos, `LZF string of ${clen.value} compressed bytes, only ${buf.length - rawLen.end} left`);
      }
      if (rawLen.value > maxRaw) {
        throw corrupt(ctx, pos, `LZF string declares ${rawLen.value} bytes, above the limit of ${maxRaw}`);
      }
      const at = ctx.offset === undefined ? ctx : { ...ctx, offset: ctx.offset + rawLen.end };
      const value = lzfDecompress(buf.subarray(rawLen.end, rawLen.end + clen.value), rawLen.value, at);
      return { value, end: rawLen.end + clen.value, lzf: true };
    }
    default:
      throw corrupt(ctx, pos, `string encoding byte 0x${hex(b)}, expected a length or C0-C3`);
  }
}

function need(buf: Buffer, pos: number, n: number, ctx: BlobContext, what: string): void {
  if (pos < 0 || pos + n > buf.length) {
    throw corrupt(ctx, pos, `expected ${what} (${n} bytes) at ${pos}, only ${Math.max(0, buf.length - pos)} left`);
  }
}
