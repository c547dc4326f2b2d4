/**
 * A pull-based byte queue over an async stream of chunks, built for restartable synchronous parsing.
 *
 * Why this shape: a per-primitive `await` costs far more than parsing a small key, so parsers read
 * synchronously from the buffered bytes and throw `SHORT` when a read runs past them. The parser then
 * `rewind()`s to its last `commit()` (a record or element boundary), awaits `fill()` and tries again.
 * To keep that linear, a parser asks for at least twice what it had before each retry (see
 * `growTarget`). Bytes before the last commit are released (and fed to the running CRC) when the
 * buffer is compacted, so memory is bounded by the largest uncommitted span, not by the input.
 *
 * Reads return zero-copy `subarray`s: they stay valid after compaction (they keep their chunk alive),
 * except in leased mode, where a big buffer is reused once released (see `leaseBigFills`).
 */
import { FerryError } from '../errors/ferry-error.js';
import { retire, type Lease, type LeasePool } from './buffer-lease.js';

/** Thrown by synchronous reads that need bytes not yet buffered. A singleton: cheap to throw. */
export class ShortRead {
  need = 0;
  /**
   * An estimate of the bytes still to come after the read position (set by skipValue inside a
   * collection, from its element count and the mean element so far), or 0: how much the parser asks
   * to buffer next, so a multi-megabyte value is buffered in a read or two instead of re-walked at
   * every doubling from 64 KiB. Never a decision (`need` alone says a value is too big to inline);
   * the parser resets it once read.
   */
  hint = 0;
}
export const SHORT = new ShortRead();

export interface ByteSourceOptions {
  /** Name used in error messages (file name, archive entry, object key). */
  name?: string;
  /** Called with each chunk's length as it is read (progress in input bytes). */
  onBytes?: (n: number) => void;
  /** Called with every byte range as it is released, in order (running checksums). */
  onRelease?: (buf: Buffer, start: number, end: number) => void;
}

const EMPTY = Buffer.alloc(0);

/**
 * Chunks whose memory has this many free bytes in front of them (chunk -> bytes), registered by the
 * reader that allocated them (source/local-file.ts). When the parser still needs the tail of the
 * previous chunk, that tail is copied into the room in front of the new chunk instead of both being
 * concatenated into a third buffer: per chunk, a copy of a few bytes instead of 256 KiB, and one
 * allocation instead of two (on a 395 MB import: ~0.1 s of CPU and half the buffer churn).
 */
export const HEADROOM = new WeakMap<Buffer, number>();
/**
 * A fill needing at least this many more bytes copies chunks into one buffer as they arrive instead
 * of collecting them and concatenating: a big value is then held once (plus one chunk), not twice
 * (its chunks and their concatenation), which kept a mixed import's peak RSS above 200 MB.
 */
const BIG_FILL = 1 << 20;
/** Room past the request for the last chunk's overshoot (file chunks are 256 KiB). */
const FILL_SLACK = 256 * 1024;

export class ByteSource {
  /** Buffered bytes; `buf[0]` is at absolute input offset `base`. */
  buf: Buffer = EMPTY;
  /** Read position inside `buf`. */
  pos = 0;
  /** Absolute input offset of `buf[0]`. */
  base = 0;
  /** True once the underlying stream has ended. */
  ended = false;
  readonly name: string;
  private readonly it: AsyncIterator<Buffer | Uint8Array | string> | null;
  private readonly onBytes?: (n: number) => void;
  private onRelease?: (buf: Buffer, start: number, end: number) => void;
  /** Position in `buf` of the last commit (restart point); bytes before it may be released. */
  private mark = 0;
  /** Position in `buf` up to which bytes were already passed to onRelease. */
  private released = 0;
  /** Pool for big fills (leased mode, see `leaseBigFills`), the lease `buf` lives in, and the ones left behind. */
  private bigPool: LeasePool | null = null;
  private bigLease: Lease | null = null;
  private dropped: Lease[] = [];
  /**
   * Leased mode, paused: no new leases (fills allocate as usual); the current one is still filled in
   * place. For a streamed value, whose consumer may hold element views across chunks (a rewrite
   * batch being assembled), so nothing may be retired until the value ends.
   */
  bigFillsPaused = false;

  constructor(input: AsyncIterable<Buffer | Uint8Array | string> | Buffer, opts: ByteSourceOptions = {}) {
    this.name = opts.name ?? 'input';
    this.onBytes = opts.onBytes;
    this.onRelease = opts.onRelease;
    if (Buffer.isBuffer(input)) {
      this.buf = input;
      this.ended = true;
      this.it = null;
    } else {
      this.it = input[Symbol.asyncIterator]();
    }
  }

  /** Absolute input offset of the read position. */
  get offset(): number {
    return this.base + this.pos;
  }

  get available(): number {
    return this.buf.length - this.pos;
  }

  /** Sets (or clears) the release hook, e.g. when a checksum starts at the current position. */
  setOnRelease(fn: ((buf: Buffer, start: number, end: number) => void) | undefined): void {
    this.flushRelease(this.pos);
    this.onRelease = fn;
  }

  /** Declares the current position a restart point; bytes before it are no longer needed. */
  commit(): void {
    this.mark = this.pos;
  }

  /** Goes back to the last commit (after a SHORT). */
  rewind(): void {
    this.pos = this.mark;
  }

  /** Offset of the last commit. */
  get committedOffset(): number {
    return this.base + this.mark;
  }

  /** Bytes buffered beyond the last commit: how much a retrying parser already had. */
  get uncommitted(): number {
    return this.buf.length - this.mark;
  }

  /**
   * Reads until at least `n` bytes are buffered after the current position. Returns false when the
   * stream ended first (the caller decides whether that is truncation).
   */
  async fill(n: number): Promise<boolean> {
    if (this.buf.length - this.pos >= n) return true;
    if (this.ended || !this.it) return false;
    if (n - (this.buf.length - this.pos) >= BIG_FILL) return this.fillInto(n);
    const parts: Buffer[] = [];
    let have = this.buf.length - this.pos;
    while (have < n) {
      const chunk = await this.nextChunk();
      if (chunk === null) break;
      parts.push(chunk);
      have += chunk.length;
    }
    if (parts.length) this.append(parts);
    return this.buf.length - this.pos >= n;
  }

  /** `fill` for big requests: chunks are copied into one buffer sized for the request as they come. */
  private async fillInto(n: number): Promise<boolean> {
    const keepFrom = Math.min(this.mark, this.pos);
    this.flushRelease(keepFrom);
    const kept = this.buf.length - keepFrom;
    const want = this.pos - keepFrom + n;
    let big: Buffer;
    // `at`: where the kept bytes start in `big`.
    let at = this.roomInLease(keepFrom, want - kept + FILL_SLACK);
    if (at >= 0) {
      big = this.bigLease!.buf; // in place: the kept bytes are already there
    } else {
      at = 0;
      const pool = this.bigPool;
      if (pool !== null && !this.bigFillsPaused && want + FILL_SLACK <= pool.size) {
        const l = pool.take();
        big = l.buf;
        this.buf.copy(big, 0, keepFrom);
        this.leaveLease();
        this.bigLease = l;
      } else {
        big = Buffer.allocUnsafe(want + FILL_SLACK);
        this.buf.copy(big, 0, keepFrom);
        this.leaveLease();
      }
    }
    this.dropBefore(keepFrom);
    let w = kept;
    this.buf = big.subarray(at, at + w);
    while (w < want) {
      const chunk = await this.nextChunk();
      if (chunk === null) break;
      if (at + w + chunk.length > big.length) {
        // A chunk bigger than the slack (rare): grow to fit it.
        const grown = Buffer.allocUnsafe(w + chunk.length);
        big.copy(grown, 0, at, at + w);
        big = grown;
        at = 0;
        this.leaveLease();
      }
      chunk.copy(big, at + w);
      w += chunk.length;
      this.buf = big.subarray(at, at + w);
    }
    return this.buf.length - this.pos >= n;
  }

  /**
   * Leased mode (an import's parser): big fills (a value being buffered whole, up to the inline
   * limit) go into reused buffers of `pool`'s size instead of a fresh allocation per doubling step,
   * and small fills after one are appended into its free room. Views read from such a buffer stay
   * valid only until `releaseDropped()`, unless the holder pinned the lease (io/buffer-lease.ts).
   * Measured on the mixed bench file: the probes of its four 4-16 MB values allocated ~2x each value
   * in fresh memory; on big-keys they were the peak RSS. Pass null to stop (the current buffer is
   * then left to the GC).
   */
  leaseBigFills(pool: LeasePool | null): void {
    this.bigPool = pool;
    if (pool === null) this.bigLease = null;
  }

  /** True while `buf` is a leased buffer (views into it are not valid indefinitely). */
  get leased(): boolean {
    return this.bigLease !== null;
  }

  /** Retires the big buffers `buf` has moved away from: call once no one reads views into them unpinned. */
  releaseDropped(): void {
    for (const l of this.dropped) retire(l);
    this.dropped.length = 0;
  }

  /** `buf` leaves the current lease. */
  private leaveLease(): void {
    const l = this.bigLease;
    if (l === null) return;
    this.bigLease = null;
    this.dropped.push(l);
  }

  /** Where the kept bytes [keepFrom, end) of `buf` sit in the current lease, if `extra` more bytes fit after them. */
  private roomInLease(keepFrom: number, extra: number): number {
    const l = this.bigLease;
    if (l === null) return -1;
    const at = this.buf.byteOffset - l.buf.byteOffset + keepFrom;
    return at + (this.buf.length - keepFrom) + extra <= l.buf.length ? at : -1;
  }

  /**
   * Ends the underlying stream now (its file handle or connection is closed by its own cleanup). A
   * parser stops at the RDB's EOF opcode without asking for the stream's end, which would otherwise
   * leave a file reader suspended with its handle open until the GC found it.
   */
  async close(): Promise<void> {
    const it = this.it;
    if (!it || this.ended) return;
    this.ended = true;
    try {
      await it.return?.(undefined);
    } catch {
      // A stream that fails while closing has nothing more to give.
    }
  }

  /** Reads at least one more chunk; false at end of stream. */
  async more(): Promise<boolean> {
    return this.fill(this.buf.length - this.pos + 1);
  }

  private append(parts: Buffer[]): void {
    // Release everything before the restart mark, then keep [mark, end) plus the new chunks.
    const keepFrom = Math.min(this.mark, this.pos);
    this.flushRelease(keepFrom);
    const kept = this.buf.length - keepFrom;
    let at = -1;
    if (this.bigLease !== null) {
      let total = 0;
      for (const p of parts) total += p.length;
      at = this.roomInLease(keepFrom, total);
    }
    if (at >= 0) {
      // Leased mode: the new bytes go into the big buffer's free room, after the kept ones.
      const big = this.bigLease!.buf;
      let w = at + kept;
      for (const p of parts) w += p.copy(big, w);
      this.buf = big.subarray(at, w);
      this.dropBefore(keepFrom);
      return;
    }
    this.leaveLease();
    const room = parts.length === 1 ? HEADROOM.get(parts[0]!) : undefined;
    if (kept === 0 && parts.length === 1) {
      this.buf = parts[0]!;
    } else if (room !== undefined && kept <= room) {
      // The kept tail goes into the room in front of the chunk (only this reader writes there).
      const chunk = parts[0]!;
      HEADROOM.delete(chunk);
      const whole = Buffer.from(chunk.buffer, chunk.byteOffset - kept, kept + chunk.length);
      this.buf.copy(whole, 0, keepFrom);
      this.buf = whole;
    } else {
      this.buf = Buffer.concat(kept ? [this.buf.subarray(keepFrom), ...parts] : parts);
    }
    this.dropBefore(keepFrom);
  }

  /** Positions after `buf` lost its first `n` bytes (released already): offsets stay absolute. */
  private dropBefore(n: number): void {
    this.base += n;
    this.pos -= n;
    this.mark -= n;
    this.released -= n;
  }

  /** The next non-empty chunk of the input as a Buffer (counted by onBytes), or null at its end. */
  private async nextChunk(): Promise<Buffer | null> {
    for (;;) {
      const r = await this.it!.next();
      if (r.done) {
        this.ended = true;
        return null;
      }
      const v = r.value;
      const chunk = Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (chunk.length === 0) continue;
      this.onBytes?.(chunk.length);
      return chunk;
    }
  }

  /** Passes bytes [released, upTo) to the release hook. */
  private flushRelease(upTo: number): void {
    if (upTo > this.released) {
      this.onRelease?.(this.buf, this.released, upTo);
      this.released = upTo;
    }
  }

  /** Feeds the hook every byte up to the read position (e.g. before checking a checksum). */
  releaseToPos(): void {
    this.flushRelease(this.pos);
  }

  // ---- synchronous reads; each throws SHORT (with `need` set) when bytes are missing ----

  private short(n: number): never {
    SHORT.need = n;
    throw SHORT;
  }

  u8(): number {
    if (this.pos >= this.buf.length) this.short(1);
    return this.buf[this.pos++]!;
  }

  peekU8(): number {
    if (this.pos >= this.buf.length) this.short(1);
    return this.buf[this.pos]!;
  }

  u16le(): number {
    if (this.pos + 2 > this.buf.length) this.short(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32le(): number {
    if (this.pos + 4 > this.buf.length) this.short(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  i32le(): number {
    if (this.pos + 4 > this.buf.length) this.short(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u32be(): number {
    if (this.pos + 4 > this.buf.length) this.short(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i64le(): bigint {
    if (this.pos + 8 > this.buf.length) this.short(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  u64le(): bigint {
    if (this.pos + 8 > this.buf.length) this.short(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  u64be(): bigint {
    if (this.pos + 8 > this.buf.length) this.short(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Signed 64-bit little-endian as a JS number (exact up to 2^53; used for ms timestamps). */
  i64leNumber(): number {
    if (this.pos + 8 > this.buf.length) this.short(8);
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readInt32LE(this.pos + 4);
    this.pos += 8;
    return hi * 0x100000000 + lo;
  }

  f64le(): number {
    if (this.pos + 8 > this.buf.length) this.short(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  f32le(): number {
    if (this.pos + 4 > this.buf.length) this.short(4);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  /** `n` bytes as a zero-copy view. */
  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) this.short(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  skip(n: number): void {
    if (this.pos + n > this.buf.length) this.short(n);
    this.pos += n;
  }

  /** Error helper: a typed error at the current (or given) absolute offset. */
  corrupt(message: string, ctx: { key?: string; expected?: string; offset?: number } = {}): FerryError {
    return new FerryError('RDB_CORRUPT', message, { file: this.name, offset: ctx.offset ?? this.offset, ...ctx });
  }
}

/** Adapts a ByteSource's remaining bytes (from the read position) back into an async stream. */
export async function* remainingChunks(src: ByteSource): AsyncGenerator<Buffer> {
  for (;;) {
    if (src.available > 0) {
      const b = src.bytes(src.available);
      src.commit();
      yield b;
    }
    if (!(await src.more())) return;
  }
}
