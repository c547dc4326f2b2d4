/**
 * Synchronous RESP command reader for AOF files, over the restartable ByteSource.
 *
 * Hand-written because no RESP library parses the *request* side restartably over our ByteSource
 * (ioredis/redis-parser parse replies, and push-style parsers copy every argument). Each read either
 * returns one whole item or throws `SHORT`; the caller rewinds to the last commit and fills more.
 * Every length is checked against a limit before anything is allocated or awaited.
 */
import { SHORT, type ByteSource } from '../io/byte-source.js';
import { FerryError } from '../errors/ferry-error.js';

export interface RespLimits {
  /** Most arguments in one command (Redis itself has no small cap; this only stops garbage). */
  maxArgs: number;
  /** Largest single argument in bytes (Redis' proto-max-bulk-len default is 512 MB). */
  maxArgBytes: number;
  /** Longest `#...` annotation line (Redis reads them into a 1024-byte buffer; we allow more). */
  maxAnnotation: number;
}

export const DEFAULT_RESP_LIMITS: RespLimits = {
  maxArgs: 1 << 24,
  maxArgBytes: 512 * 1024 * 1024,
  maxAnnotation: 64 * 1024,
};

/** One item at a command boundary: a command's arguments, or an annotation line (skipped). */
export type RespItem = Buffer[] | null;

const STAR = 0x2a;
const DOLLAR = 0x24;
const HASH = 0x23;
const CR = 0x0d;
const LF = 0x0a;

function short(n: number): never {
  SHORT.need = n;
  throw SHORT;
}

function corrupt(src: ByteSource, message: string, offset: number): FerryError {
  return new FerryError('AOF_CORRUPT', message, { file: src.name, offset });
}

/**
 * Reads `<prefix><decimal>\r\n` at the read position and returns the number. Throws AOF_CORRUPT on
 * anything else, and on a number above `max` as soon as its digits pass it (so no huge value is used).
 */
function numberLine(src: ByteSource, prefix: number, max: number, what: string): number {
  const buf = src.buf;
  const start = src.pos;
  let p = start;
  if (p >= buf.length) short(1);
  if (buf[p] !== prefix) {
    throw corrupt(src, `expected '${String.fromCharCode(prefix)}' (${what}), found byte 0x${buf[p]!.toString(16).padStart(2, '0')}`, src.base + p);
  }
  p++;
  let n = 0;
  let digits = 0;
  for (;;) {
    if (p >= buf.length) short(p - start + 2);
    const c = buf[p]!;
    if (c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      digits++;
      if (n > max) throw corrupt(src, `${what} above the limit of ${max}`, src.base + start);
      p++;
      continue;
    }
    if (c === CR && digits > 0) {
      if (p + 1 >= buf.length) short(p - start + 2);
      if (buf[p + 1] !== LF) break;
      src.pos = p + 2;
      return n;
    }
    break;
  }
  throw corrupt(src, `bad ${what} line`, src.base + start);
}

/** Reads one command (`*N` then N bulk strings) or one `#` annotation line; throws SHORT if incomplete. */
export function readRespItem(src: ByteSource, lim: RespLimits): RespItem {
  const buf = src.buf;
  if (src.pos >= buf.length) short(1);
  if (buf[src.pos] === HASH) {
    // The limit counts the bytes before the line's LF, whether or not the LF is buffered yet, so the
    // verdict does not depend on how the input was chunked.
    const end = buf.indexOf(LF, src.pos);
    if ((end < 0 ? buf.length : end) - src.pos > lim.maxAnnotation) throw corrupt(src, `annotation line longer than ${lim.maxAnnotation} bytes`, src.offset);
    if (end < 0) short(buf.length - src.pos + 1);
    src.pos = end + 1;
    return null;
  }
  const argc = numberLine(src, STAR, lim.maxArgs, 'argument count');
  if (argc === 0) throw corrupt(src, 'command with zero arguments', src.offset);
  const argv: Buffer[] = [];
  for (let i = 0; i < argc; i++) {
    const len = numberLine(src, DOLLAR, lim.maxArgBytes, 'argument length');
    const b = src.buf;
    const at = src.pos;
    if (at + len + 2 > b.length) short(len + 2);
    if (b[at + len] !== CR || b[at + len + 1] !== LF) throw corrupt(src, 'argument not followed by CRLF', src.base + at + len);
    argv.push(b.subarray(at, at + len));
    src.pos = at + len + 2;
  }
  return argv;
}
