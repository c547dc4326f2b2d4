/**
 * Incremental RESP2 reply decoder: simple strings, errors, integers, bulk strings (null included)
 * and arrays (nested, null included). Feed it socket chunks in any split; it calls `onReply` once per
 * complete top-level reply, in order.
 *
 * Hand-written because the hot path is millions of `+OK\r\n` replies: this decoder returns the
 * interned string 'OK' for them without allocating. The npm `redis-parser` (the one maintained
 * standalone RESP parser) allocates per reply and is no longer updated; ioredis and node-redis keep
 * theirs internal. A reply that is not complete yet is re-parsed from its start when more bytes
 * come, except a long bulk string, whose bytes are collected until its announced length is there.
 */
import { FerryError } from '../errors/ferry-error.js';

/** An error reply (`-ERR ...`): a value, not a thrown exception; `code` is the first word. */
export class ReplyError {
  readonly code: string;
  constructor(readonly message: string) {
    const sp = message.indexOf(' ');
    this.code = sp < 0 ? message : message.slice(0, sp);
  }
}

export type Reply = string | number | Buffer | null | ReplyError | Reply[];

/**
 * `r instanceof ReplyError`, but cheap for the common reply: `instanceof` on a primitive (the
 * string "OK" of every RESTORE/MSET) took ~0.2 s of a 1.1M-key import's per-reply path.
 */
export function isReplyError(r: Reply): r is ReplyError {
  return typeof r === 'object' && r !== null && r instanceof ReplyError;
}

const INCOMPLETE = Symbol('incomplete');
type Parsed = Reply | typeof INCOMPLETE;

/** Replies larger than this are refused (no legitimate reply to an import is near it). */
const MAX_BULK = 512 * 1024 * 1024;

export class RespDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Chunks waiting until `need` bytes are buffered (a long bulk in progress). */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  private need = 0;
  /** Start of the top-level reply being parsed. */
  private top = 0;

  constructor(private readonly onReply: (r: Reply) => void) {}

  feed(chunk: Buffer): void {
    if (this.need > 0) {
      this.waiting.push(chunk);
      this.waitingBytes += chunk.length;
      if (this.buf.length - this.pos + this.waitingBytes < this.need) return;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), ...this.waiting]);
      this.pos = 0;
      this.waiting = [];
      this.waitingBytes = 0;
      this.need = 0;
    } else if (this.pos < this.buf.length) {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.pos = 0;
    } else {
      this.buf = chunk;
      this.pos = 0;
    }
    for (;;) {
      if (this.pos >= this.buf.length) break;
      const start = this.pos;
      this.top = start;
      const r = this.parse();
      if (r === INCOMPLETE) {
        this.pos = start;
        break;
      }
      this.onReply(r);
    }
    if (this.pos >= this.buf.length) {
      this.buf = Buffer.alloc(0);
      this.pos = 0;
    }
  }

  /** Bytes held for an incomplete reply. */
  get buffered(): number {
    return this.buf.length - this.pos + this.waitingBytes;
  }

  private parse(): Parsed {
    const b = this.buf;
    if (this.pos >= b.length) return INCOMPLETE;
    const t = b[this.pos]!;
    // Fast path: "+OK\r\n".
    if (t === 0x2b && b[this.pos + 1] === 0x4f && b[this.pos + 2] === 0x4b && b[this.pos + 3] === 0x0d && b[this.pos + 4] === 0x0a) {
      this.pos += 5;
      return 'OK';
    }
    const eol = b.indexOf(0x0d, this.pos + 1);
    if (eol < 0 || eol + 1 >= b.length) return INCOMPLETE;
    if (b[eol + 1] !== 0x0a) throw this.protocol('CR without LF');
    const line = b.toString('latin1', this.pos + 1, eol);
    this.pos = eol + 2;
    switch (t) {
      case 0x2b: // +
        return line;
      case 0x2d: // -
        return new ReplyError(b.toString('utf8', eol - line.length, eol));
      case 0x3a: // :
        return this.int(line);
      case 0x24: {
        // $
        const n = this.int(line);
        if (n === -1) return null;
        if (n < 0 || n > MAX_BULK) throw this.protocol(`bad bulk length ${line}`);
        if (b.length - this.pos < n + 2) {
          // Long bulk: collect chunks until all of it (counted from the reply's start) is there.
          if (n >= 64 * 1024) this.need = this.pos - this.top + n + 2;
          return INCOMPLETE;
        }
        const v = b.subarray(this.pos, this.pos + n);
        if (b[this.pos + n] !== 0x0d || b[this.pos + n + 1] !== 0x0a) throw this.protocol('bulk not followed by CRLF');
        this.pos += n + 2;
        return v;
      }
      case 0x2a: {
        // *
        const n = this.int(line);
        if (n === -1) return null;
        if (n < 0) throw this.protocol(`bad array length ${line}`);
        const out: Reply[] = new Array(n);
        for (let i = 0; i < n; i++) {
          const r = this.parse();
          if (r === INCOMPLETE) return INCOMPLETE;
          out[i] = r;
        }
        return out;
      }
      default:
        throw this.protocol(`unexpected reply type byte 0x${t.toString(16)}`);
    }
  }

  private int(s: string): number {
    if (!/^-?\d+$/.test(s)) throw this.protocol(`bad integer ${JSON.stringify(s)}`);
    return Number(s);
  }

  private protocol(msg: string): FerryError {
    return new FerryError('TARGET_PROTOCOL', `unparseable reply from target: ${msg}`);
  }
}
