/**
 * RESP command encoder that never copies big values.
 *
 * Small pieces (headers, keys, short values) are copied into a shared slab; a value at or above
 * `BIG` bytes is referenced as its own chunk. `command()` returns the views that make up one command,
 * so a connection can keep them for a resend after reconnecting; `Outbox` merges adjacent slab views
 * back into one write, so a pipeline of small commands reaches the socket as a few large writes.
 *
 * Hand-written: client libraries (ioredis, node-redis) encode into one string or Buffer per command
 * and do not expose a way to pass a payload through as a separate chunk, which is what keeps a
 * 256 MB value out of a second copy.
 */

import { Lease, LeasePool, leaseOf, retire, type Pins } from '../io/buffer-lease.js';
import { RespArgs } from './resp-args.js';
import { writeAsciiBulk, writeHeader } from './header.js';
import { NATIVE_RESP } from './native-resp.js';

export { RespArgs } from './resp-args.js';

/**
 * One argument: bytes, text (UTF-8), an integer, several Buffers sent back to back as one argument,
 * or several arguments already encoded (RespArgs).
 */
export type Arg = Buffer | string | number | bigint | Buffer[] | RespArgs;

/** The pieces of a command with none yet: shared, never pushed to (RespEncoder.addPart). */
const NO_PARTS: Buffer[] = [];

/** Values at least this long are written as their own chunk instead of being copied into the slab. */
export const BIG = 16 * 1024;
const SLAB = 256 * 1024;

/**
 * Slabs of pooled encoders (see io/buffer-lease.ts for why and how). Bounded: the free ones are at
 * most what was in flight at once (the writer caps that at 8 MiB per node).
 */
const SLABS = new LeasePool(SLAB, 48);

export class RespEncoder {
  /** The current slab's lease when pooled (null: plain slabs, left to the GC). */
  private rec: Lease | null;
  private slab: Buffer;
  /**
   * Leases pinned since the last `takePins()`: each slab written once, plus every leased big value
   * referenced (the first apart, so the usual single pin needs no array).
   */
  private pinFirst: Lease | null = null;
  private pinRest: Lease[] | null = null;
  private curPinned = false;

  /**
   * `pooled`: slabs come from and return to the shared pool; then every command's bytes stay valid
   * only while its pins are held, so the caller must take them (`takePins()` after each command)
   * and release them when the command is done. Unpooled encoders (handshakes, backups) need neither.
   */
  constructor(pooled = false) {
    this.rec = pooled ? SLABS.take() : null;
    this.slab = this.rec ? this.rec.buf : Buffer.allocUnsafe(SLAB);
  }

  /**
   * The slabs written since the previous call, pinned: the bytes of the commands encoded in between
   * stay valid until `releasePins()` of what this returns.
   */
  takePins(): Pins {
    const first = this.pinFirst;
    const rest = this.pinRest;
    this.pinFirst = null;
    this.pinRest = null;
    this.curPinned = false;
    if (rest === null) return first;
    rest.unshift(first!);
    return rest;
  }

  private used = 0;
  /** Start of the current command's not-yet-emitted bytes in the slab. */
  private start = 0;
  private parts: Buffer[] = NO_PARTS;

  /** Encodes one command; returns its pieces (slab views and big Buffers) and total byte length. */
  command(args: readonly Arg[]): { parts: Buffer[]; bytes: number } {
    this.parts = NO_PARTS;
    this.start = this.used;
    let argc = args.length;
    for (const a of args) if (a instanceof RespArgs) argc += a.count - 1;
    let bytes = this.header(0x2a, argc);
    for (const a of args) {
      if (Buffer.isBuffer(a)) {
        bytes += this.header(0x24, a.length) + this.raw(a) + this.crlf();
      } else if (Array.isArray(a)) {
        let n = 0;
        for (const p of a) n += p.length;
        bytes += this.header(0x24, n);
        for (const p of a) bytes += this.raw(p);
        bytes += this.crlf();
      } else if (a instanceof RespArgs) {
        for (const p of a.parts) bytes += this.raw(p);
      } else {
        bytes += this.text(typeof a === 'string' ? a : String(a));
      }
    }
    this.cut();
    return { parts: this.takeParts(), bytes };
  }

  /** `<type><decimal n>\r\n` into the slab (resp/header.ts). */
  private header(type: number, n: number): number {
    this.ensure(24);
    const p = writeHeader(this.slab, this.used, type, n);
    const len = p - this.used;
    this.used = p;
    return len;
  }

  private crlf(): number {
    this.ensure(2);
    this.slab[this.used++] = 13;
    this.slab[this.used++] = 10;
    return 2;
  }

  /** A text argument: short ASCII copied by hand, anything else through UTF-8 encoding. */
  private text(a: string): number {
    if (a.length <= 64) {
      let ascii = true;
      for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) > 127) {
        ascii = false;
        break;
      }
      if (ascii) {
        this.ensure(a.length + 26);
        const start = this.used;
        this.used = writeAsciiBulk(this.slab, start, a);
        return this.used - start;
      }
    }
    const n = Buffer.byteLength(a);
    const h = this.header(0x24, n);
    if (n >= BIG) this.raw(Buffer.from(a));
    else {
      this.ensure(n);
      this.slab.write(a, this.used, 'utf8');
      this.used += n;
    }
    return h + n + this.crlf();
  }

  private raw(b: Buffer): number {
    if (b.length >= BIG) {
      this.cut();
      this.addPart(b);
      if (this.rec !== null) this.pinBig(b);
    } else if (b.length) {
      this.ensure(b.length);
      if (b.length < 32) {
        const s = this.slab;
        let p = this.used;
        for (let i = 0; i < b.length; i++) s[p++] = b[i]!;
      } else {
        // TypedArray set, not Buffer#copy: the same memmove without copy()'s argument checks and
        // wrapper calls (_copyActual was ~3% of a mixed import's CPU).
        this.slab.set(b, this.used);
      }
      this.used += b.length;
    }
    return b.length;
  }

  /**
   * Piecewise API for hot commands whose shape is fixed (RESTORE: one per key of an RDB import):
   * `begin(argc)`, one `arg*` call per argument, then `end()` for the pieces, with no argument array,
   * no number-to-string conversions and no per-argument type dispatch. Same bytes as `command()`.
   */
  begin(argc: number): void {
    this.startCommand();
    this.cmdBytes = this.header(0x2a, argc);
  }

  /**
   * A new command's pieces start here, unless a span is open (`beginSpan`): then the commands from
   * `begin`/`restoreNative` to `endParts` add up, back to back, to the span (a batch of RESTOREs).
   */
  private startCommand(): void {
    if (this.inSpan) return;
    this.parts = NO_PARTS;
    this.start = this.used;
  }

  private inSpan = false;

  /** True between `beginSpan` and `takeSpan`. */
  get spanOpen(): boolean {
    return this.inSpan;
  }

  /** One bulk argument. */
  arg(b: Buffer): void {
    this.cmdBytes += this.header(0x24, b.length) + this.raw(b) + this.crlf();
  }

  /** One bulk argument made of pieces sent back to back (a RESTORE payload: head, value, footer). */
  arg3(a: Buffer, b: Buffer | Buffer[], c: Buffer): void {
    if (Buffer.isBuffer(b)) {
      this.cmdBytes += this.header(0x24, a.length + b.length + c.length) + this.raw(a) + this.raw(b) + this.raw(c) + this.crlf();
      return;
    }
    let n = a.length + c.length;
    for (const p of b) n += p.length;
    this.cmdBytes += this.header(0x24, n) + this.raw(a);
    for (const p of b) this.cmdBytes += this.raw(p);
    this.cmdBytes += this.raw(c) + this.crlf();
  }

  /** A non-negative integer argument (a TTL, a unix-ms expiry) written as decimal digits. */
  argUint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) {
      this.cmdBytes += this.text(String(n));
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    const h = this.header(0x24, digits);
    this.ensure(digits + 2);
    const b = this.slab;
    let p = this.used + digits;
    let x = n;
    for (let i = 0; i < digits; i++) {
      b[--p] = 48 + (x % 10);
      x = Math.floor(x / 10);
    }
    this.used += digits;
    this.cmdBytes += h + digits + this.crlf();
  }

  /**
   * A whole `RESTORE key ttl payload [REPLACE] [ABSTTL]` by the native encoder (native-resp.ts):
   * `key[ks, ke)`, the payload from `typeByte`, `pre` (an inflated value's length header) if any,
   * `raw[rs, re)` and a footer of `version` and CRC-64; `flags` 1: REPLACE, 2: ABSTTL. Then
   * `endParts()` as after `begin`. The caller checked that NATIVE_RESP is there, and that the key and
   * value are under BIG (they are copied, never referenced). `inflated` >= 0: `raw[rs, re)` is LZF
   * data of that many bytes inflated, sent plain; false (nothing written) when it does not inflate
   * to exactly that (the caller's JS path then names the error).
   */
  restoreNative(key: Buffer, ks: number, ke: number, raw: Buffer, rs: number, re: number, typeByte: number, version: number, ttl: number, flags: number, pre?: Buffer, inflated = -1): boolean {
    this.startCommand();
    // Room for the longest form: the key, the value and at most ~150 bytes of headers and footer.
    this.ensure(ke - ks + (inflated >= 0 ? inflated : re - rs) + (pre === undefined ? 0 : pre.length) + 160);
    const n = NATIVE_RESP!;
    const io = n.io;
    io[0] = this.used;
    io[1] = ks;
    io[2] = ke;
    io[3] = rs;
    io[4] = re;
    io[5] = typeByte;
    io[6] = version;
    io[7] = ttl;
    io[8] = inflated >= 0 ? flags | 4 : flags;
    io[9] = inflated;
    if (pre === undefined) n.restore(this.slab, key, raw);
    else n.restore(this.slab, key, raw, pre);
    const end = io[0]!;
    if (end === -2) return false;
    this.cmdBytes = end - this.used;
    this.used = end;
    return true;
  }

  /** The pieces of the command since `begin`, and its length. */
  end(): { parts: Buffer[]; bytes: number } {
    this.cut();
    return { parts: this.takeParts(), bytes: this.cmdBytes };
  }

  /** `end()` without the result object (per key on the RESTORE path): the length is `lastBytes`. */
  endParts(): Buffer[] {
    // In a span the command's bytes stay in it: takeSpan() hands them over with the others.
    if (this.inSpan) return NO_PARTS;
    this.cut();
    return this.takeParts();
  }

  /** Length of the command the last `end()`/`endParts()` closed. */
  get lastBytes(): number {
    return this.cmdBytes;
  }

  private cmdBytes = 0;

  /**
   * Span API, for a command assembled argument by argument over time (the MSET batch): `bulk()`
   * appends one bulk string from a range of a Buffer without making a view of it; `takeSpan()`
   * returns everything appended since the previous take as pieces. Use a dedicated encoder for spans
   * so no other command interleaves with one.
   */
  bulk(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.header(0x24, n);
    if (n >= BIG) {
      this.cut();
      this.addPart(src.subarray(start, end));
      if (this.rec !== null) this.pinBig(src);
      this.crlf();
    } else {
      this.ensure(n + 2);
      const b = this.slab;
      let p = this.used;
      if (n < 32) for (let i = start; i < end; i++) b[p++] = src[i]!;
      else {
        b.set(src.subarray(start, end), p);
        p += n;
      }
      b[p++] = 13;
      b[p++] = 10;
      this.used = p;
    }
  }

  /**
   * Span API: `bulk()` of the key and then the value of string-run keys `from` to `to` - 1 (`pos`
   * holds their ranges in `src`, five numbers a key: entry.ts StringRun), by the native encoder when
   * it is there.
   */
  pairs(src: Buffer, pos: Int32Array, from: number, to: number): void {
    const n = NATIVE_RESP;
    if (n === null) {
      for (let i = from; i < to; i++) {
        const k = 5 * i;
        this.bulk(src, pos[k]!, pos[k + 1]!);
        this.bulk(src, pos[k + 2]!, pos[k + 3]!);
      }
      return;
    }
    const io = n.io;
    for (let i = from; i < to; ) {
      const k = 5 * i;
      // Room for at least the next pair (a rotation when the slab's rest is too small for it).
      this.ensure(pos[k + 1]! - pos[k]! + pos[k + 3]! - pos[k + 2]! + 48);
      io[0] = this.used;
      io[1] = i;
      io[2] = to;
      n.pairs(this.slab, src, pos);
      this.used = io[0]!;
      i = io[1]!;
    }
  }

  /**
   * Span API: the RESTOREs of key-run keys `from` to `to` - 1 (entry.ts KeyRun) by the native encoder
   * (resp.c respRestoreRun documents the arguments), rotating the slab when a key needs more room
   * than is left. Returns its status: 0 `to` reached, 2 key `runNext` declined (the caller writes it
   * by the per-key path), 3 `budget` bytes written. `runNext` is the first key not done, `runWritten`
   * and `runExpired` the keys written and skipped as expired, `runBytes` the bytes. The caller checked
   * that NATIVE_RESP is there.
   */
  restoreRun(src: Buffer, pos: Int32Array, exp: Float64Array, vers: Uint8Array, from: number, to: number, now: number, flags: number, protoMax: number, budget: number, inflateMax: number): number {
    const n = NATIVE_RESP!;
    const io = n.io;
    let status = 1;
    this.runNext = from;
    this.runWritten = 0;
    this.runExpired = 0;
    this.runBytes = 0;
    for (;;) {
      this.ensure(0);
      io[0] = this.used;
      io[1] = this.runNext;
      io[2] = to;
      io[3] = now;
      io[4] = flags;
      io[5] = protoMax;
      io[6] = budget - this.runBytes;
      io[7] = inflateMax;
      n.restoreRun(this.slab, src, pos, exp, vers);
      const end = io[0]!;
      this.runBytes += end - this.used;
      this.used = end;
      this.runNext = io[1]!;
      status = io[2]!;
      this.runWritten += io[3]!;
      this.runExpired += io[4]!;
      if (status !== 1) return status;
      // Key runNext did not fit the slab's rest: a new slab (the span so far is cut into a piece).
      this.ensure(io[5]!);
    }
  }

  runNext = 0;
  runWritten = 0;
  runExpired = 0;
  runBytes = 0;

  /** Starts a span (see `bulk`). */
  beginSpan(): void {
    this.parts = NO_PARTS;
    this.start = this.used;
    this.inSpan = true;
  }

  /** The pieces appended since `beginSpan`. */
  takeSpan(): Buffer[] {
    this.cut();
    this.inSpan = false;
    return this.takeParts();
  }

  /** A command header (`*argc`) as its own small piece. */
  arrayHeader(argc: number): Buffer[] {
    this.parts = NO_PARTS;
    this.start = this.used;
    this.header(0x2a, argc);
    this.cut();
    return this.takeParts();
  }

  /**
   * Adds a piece to the current command. The pieces array starts as the shared empty NO_PARTS and is
   * made with its first piece: most commands are one piece, and `[]` grown by push() allocated room
   * for 17 (~150 bytes a command, a tenth of a mixed import's allocation with its view).
   */
  private addPart(b: Buffer): void {
    if (this.parts === NO_PARTS) this.parts = [b];
    else this.parts.push(b);
  }

  /** The current command's pieces, a new array of the caller's own (never the shared NO_PARTS). */
  private takeParts(): Buffer[] {
    const p = this.parts;
    this.parts = NO_PARTS;
    return p === NO_PARTS ? [] : p;
  }

  /** Emits the slab bytes of the current command written since the last cut. */
  private cut(): void {
    if (this.used > this.start) this.addPart(this.slab.subarray(this.start, this.used));
    this.start = this.used;
  }

  /** Room for n more bytes in the slab; every write into a slab comes through here (so it pins it). */
  private ensure(n: number): void {
    if (this.used + n > this.slab.length) this.rotate(n);
    if (!this.curPinned && this.rec !== null) {
      this.curPinned = true;
      this.pin(this.rec);
    }
  }

  private rotate(n: number): void {
    this.cut();
    if (this.rec !== null) {
      retire(this.rec);
      // Pieces never exceed BIG (bigger ones are referenced, not copied), so a pool slab fits; the
      // fallback keeps an oversize piece correct anyway (a lease of no pool: left to the GC).
      this.rec = n <= SLAB ? SLABS.take() : new Lease(Buffer.allocUnsafeSlow(n), null);
      this.slab = this.rec.buf;
    } else {
      this.slab = Buffer.allocUnsafe(Math.max(SLAB, n));
    }
    this.curPinned = false;
    this.used = 0;
    this.start = 0;
  }

  /** A big value sent by reference: pinned if it is a leased buffer (a streamed string's chunk). */
  private pinBig(b: Buffer): void {
    const l = leaseOf(b);
    if (l !== undefined) this.pin(l);
  }

  private pin(l: Lease): void {
    l.pins++;
    if (this.pinFirst === null) this.pinFirst = l;
    else (this.pinRest ??= []).push(l);
  }
}

/**
 * Pending output for one socket. Adjacent views of the same slab are merged, so thousands of small
 * commands leave as one write; big values stay separate chunks.
 */
export class Outbox {
  private chunks: Buffer[] = [];
  /** The run being merged, as numbers, so no Buffer object is made per command. */
  private runBuf: ArrayBufferLike | null = null;
  private runOff = 0;
  private runLen = 0;
  bytes = 0;

  push(parts: readonly Buffer[]): void {
    for (const p of parts) {
      if (this.runBuf === p.buffer && this.runOff + this.runLen === p.byteOffset) {
        this.runLen += p.length;
      } else {
        this.endRun();
        this.runBuf = p.buffer;
        this.runOff = p.byteOffset;
        this.runLen = p.length;
      }
      this.bytes += p.length;
    }
  }

  private endRun(): void {
    if (this.runBuf) this.chunks.push(Buffer.from(this.runBuf, this.runOff, this.runLen));
    this.runBuf = null;
  }

  get empty(): boolean {
    return this.chunks.length === 0 && this.runBuf === null;
  }

  take(): Buffer[] {
    this.endRun();
    const c = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return c;
  }
}

/** Whole command as one Buffer (tests, handshakes). */
export function encodeCommand(args: readonly Arg[]): Buffer {
  const { parts } = new RespEncoder().command(args);
  return Buffer.concat(parts);
}
