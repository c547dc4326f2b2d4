/**
 * Listpack decoder (Redis src/listpack.c; RDB types 16, 17, 18 PACKED nodes, 20, 25, stream nodes).
 *
 * Layout: uint32 total_bytes LE, uint16 num_elements LE (65535 = unknown), elements, 0xFF.
 * Element: encoding byte(s), data, backlen. backlen holds the size of encoding+data in 1-5 bytes of
 * 7 bits, written by lpEncodeBacklen so it reads right to left; we check it holds exactly those bytes.
 * Checks mirror lpValidateIntegrity + lpValidateNext (deep), so what Redis refuses we refuse too.
 *
 * One walker serves both views: `strings` collects decimal ASCII for integers (what a client sees),
 * `values` collects bigint (what stream-node parsing needs). The mode is a plain argument, not a
 * callback, to keep the per-element loop free of closures.
 */
import { type BlobContext, corrupt, hex } from './context.js';
import { intText, int64Text, readInt64LE } from './int-text.js';
import { RespArgs } from '../../resp/resp-args.js';
import { writeAsciiBulk, writeHeader } from '../../resp/header.js';

const HEADER = 6;
const END = 0xff;

/** Every element as bytes: strings as zero-copy subarrays of `blob`, integers as decimal ASCII. */
export function listpackEntries(blob: Buffer, ctx: BlobContext = {}): Buffer[] {
  const out: Buffer[] = [];
  walk(blob, ctx, out, null);
  return out;
}

/** Every element: strings as zero-copy subarrays of `blob`, integers as bigint. */
export function listpackValues(blob: Buffer, ctx: BlobContext = {}): (Buffer | bigint)[] {
  const out: (Buffer | bigint)[] = [];
  walk(blob, ctx, null, out);
  return out;
}

/**
 * Every element as a RESP bulk string, all in one Buffer: what a writer sends for a big list's
 * elements (RPUSH), with no Buffer, decimal text or argument slot per element. Same checks, same
 * errors as listpackEntries. Measured on the big-keys bench file's 5,000,000-element list: the
 * per-element views and argument arrays held Ferry to ~5M elements/s while the target was 35-40% busy.
 */
export function listpackResp(blob: Buffer, ctx: BlobContext = {}): RespArgs {
  // The most an element grows: a 2-byte listpack integer (7-bit, plus its backlen) becomes
  // "$3\r\n127\r\n", 9 bytes; every other form grows less.
  const out: RespOut = { buf: Buffer.allocUnsafe(Math.ceil(blob.length * 4.5) + 64), pos: 0, count: 0 };
  walk(blob, ctx, null, null, out);
  const resp = out.buf.subarray(0, out.pos);
  return new RespArgs([resp], out.count, resp.length);
}

interface RespOut {
  buf: Buffer;
  pos: number;
  count: number;
}

/** An integer element as the decimal bulk string Redis replies with. */
function respInt(o: RespOut, v: number | bigint): void {
  o.pos = writeAsciiBulk(o.buf, o.pos, String(v));
  o.count++;
}

/** A string element: header, bytes, CRLF. */
function respStr(o: RespOut, blob: Buffer, start: number, n: number): void {
  o.pos = writeHeader(o.buf, o.pos, 0x24, n);
  const b = o.buf;
  let p = o.pos;
  if (n < 32) for (let i = 0; i < n; i++) b[p++] = blob[start + i]!;
  else {
    blob.copy(b, p, start, start + n);
    p += n;
  }
  b[p++] = 13;
  b[p++] = 10;
  o.pos = p;
  o.count++;
}

/** Bytes lpEncodeBacklen uses for an element of `l` bytes (note the odd boundaries: 16383 takes 3). */
function backlenSize(l: number): number {
  if (l <= 127) return 1;
  if (l < 16383) return 2;
  if (l < 2097151) return 3;
  if (l < 268435455) return 4;
  return 5;
}

/** Fills exactly one of `text` / `vals` / `resp`. */
function walk(blob: Buffer, ctx: BlobContext, text: Buffer[] | null, vals: (Buffer | bigint)[] | null, resp: RespOut | null = null): void {
  const size = blob.length;
  if (size < HEADER + 1) {
    throw corrupt(ctx, 0, `listpack: ${size} bytes, expected at least 7 (6-byte header and the end byte)`);
  }
  const total = (blob[0] | (blob[1] << 8) | (blob[2] << 16) | (blob[3] << 24)) >>> 0;
  if (total !== size) throw corrupt(ctx, 0, `listpack: header total_bytes says ${total}, the blob has ${size}`);
  const numElements = blob[4] | (blob[5] << 8);
  const end = size - 1;
  if (blob[end] !== END) throw corrupt(ctx, end, `listpack: last byte is 0x${hex(blob[end])}, expected the end byte 0xFF`);

  let count = 0;
  let p = HEADER;
  while (p < end) {
    const start = p;
    const b = blob[p];
    // Decode the element; `str` >= 0 means a string of that many bytes at p, else `num`/`big` holds the integer.
    let str = -1;
    let num = 0;
    let big: number | bigint = 0;
    let wide = false;
    if (b < 0x80) {
      num = b; // 7-bit unsigned
      p += 1;
    } else if (b < 0xc0) {
      str = b & 0x3f; // 6-bit string length
      p += 1;
    } else if (b < 0xe0) {
      if (p + 2 > end) throw corrupt(ctx, p, `listpack: 13-bit integer at ${p} runs past the end byte at ${end}`);
      num = ((b & 0x1f) << 8) | blob[p + 1];
      if (num >= 4096) num -= 8192;
      p += 2;
    } else if (b < 0xf0) {
      if (p + 2 > end) throw corrupt(ctx, p, `listpack: 12-bit string length at ${p} runs past the end byte at ${end}`);
      str = ((b & 0x0f) << 8) | blob[p + 1];
      p += 2;
    } else {
      switch (b) {
        case 0xf0:
          if (p + 5 > end) throw corrupt(ctx, p, `listpack: 32-bit string length at ${p} runs past the end byte at ${end}`);
          str = (blob[p + 1] | (blob[p + 2] << 8) | (blob[p + 3] << 16) | (blob[p + 4] << 24)) >>> 0;
          p += 5;
          break;
        case 0xf1:
          if (p + 3 > end) throw corrupt(ctx, p, `listpack: 16-bit integer at ${p} runs past the end byte at ${end}`);
          num = ((blob[p + 1] | (blob[p + 2] << 8)) << 16) >> 16;
          p += 3;
          break;
        case 0xf2:
          if (p + 4 > end) throw corrupt(ctx, p, `listpack: 24-bit integer at ${p} runs past the end byte at ${end}`);
          num = ((blob[p + 1] | (blob[p + 2] << 8) | (blob[p + 3] << 16)) << 8) >> 8;
          p += 4;
          break;
        case 0xf3:
          if (p + 5 > end) throw corrupt(ctx, p, `listpack: 32-bit integer at ${p} runs past the end byte at ${end}`);
          num = blob[p + 1] | (blob[p + 2] << 8) | (blob[p + 3] << 16) | (blob[p + 4] << 24);
          p += 5;
          break;
        case 0xf4:
          if (p + 9 > end) throw corrupt(ctx, p, `listpack: 64-bit integer at ${p} runs past the end byte at ${end}`);
          big = readInt64LE(blob, p + 1);
          wide = true;
          p += 9;
          break;
        case END:
          throw corrupt(ctx, p, `listpack: end byte 0xFF at ${p}, but total_bytes puts the end at ${end}`);
        default:
          throw corrupt(ctx, p, `listpack: element ${count} has encoding byte 0x${hex(b)}, expected 00-F4`);
      }
    }
    if (str >= 0) {
      if (str > end - p) {
        throw corrupt(ctx, start, `listpack: element ${count} is a string of ${str} bytes, only ${end - p} left before the end byte`);
      }
      if (resp !== null) respStr(resp, blob, p, str);
      else {
        const s = blob.subarray(p, p + str);
        if (text !== null) text.push(s);
        else if (vals !== null) vals.push(s);
      }
      p += str;
    } else if (resp !== null) {
      respInt(resp, wide ? big : num);
    } else if (text !== null) {
      text.push(wide ? int64Text(big) : intText(num));
    } else if (vals !== null) {
      vals.push(wide ? BigInt(big) : BigInt(num));
    }

    // backlen: the element's encoded size, as lpEncodeBacklen writes it.
    const l = p - start;
    const n = backlenSize(l);
    if (p + n > end) {
      throw corrupt(ctx, p, `listpack: element ${count} needs a ${n}-byte backlen at ${p}, only ${end - p} bytes left before the end byte`);
    }
    if (n === 1) {
      if (blob[p] !== l) throw corrupt(ctx, p, `listpack: element ${count} has backlen byte ${blob[p]}, expected ${l} (its encoded size)`);
    } else {
      for (let i = 0; i < n; i++) {
        const shift = 7 * (n - 1 - i);
        const part = Math.floor(l / 2 ** shift) & 127;
        const want = i === 0 ? part : part | 128;
        if (blob[p + i] !== want) {
          throw corrupt(ctx, p + i, `listpack: element ${count} has a backlen that does not encode its size ${l} (byte ${i} is 0x${hex(blob[p + i])}, expected 0x${hex(want)})`);
        }
      }
    }
    p += n;
    count++;
  }
  if (numElements !== 0xffff && numElements !== count) {
    throw corrupt(ctx, 4, `listpack: num_elements says ${numElements}, found ${count}`);
  }
}
