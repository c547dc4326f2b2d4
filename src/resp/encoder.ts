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

/** One argument: bytes, text (UTF-8), an integer, or several Buffers sent back to back as one argument. */
export type Arg = Buffer | string | number | bigint | Buffer[];

/** Values at least this long are written as their own chunk instead of being copied into the slab. */
export const BIG = 16 * 1024;
const SLAB = 256 * 1024;

export class RespEncoder {
  private slab = Buffer.allocUnsafe(SLAB);
  private used = 0;
  /** Start of the current command's not-yet-emitted bytes in the slab. */
  private start = 0;
  private parts: Buffer[] = [];

  /** Encodes one command; returns its pieces (slab views and big Buffers) and total byte length. */
  command(args: readonly Arg[]): { parts: Buffer[]; bytes: number } {
    this.parts = [];
    this.start = this.used;
    let bytes = 0;
    bytes += this.ascii(`*${args.length}\r\n`);
    for (const a of args) {
      if (Buffer.isBuffer(a)) {
        bytes += this.ascii(`$${a.length}\r\n`);
        bytes += this.raw(a);
        bytes += this.ascii('\r\n');
      } else if (Array.isArray(a)) {
        let n = 0;
        for (const p of a) n += p.length;
        bytes += this.ascii(`$${n}\r\n`);
        for (const p of a) bytes += this.raw(p);
        bytes += this.ascii('\r\n');
      } else if (typeof a === 'string') {
        const n = Buffer.byteLength(a);
        bytes += this.ascii(`$${n}\r\n`);
        if (n >= BIG) bytes += this.raw(Buffer.from(a));
        else {
          this.ensure(n);
          this.slab.write(a, this.used, 'utf8');
          this.used += n;
          bytes += n;
        }
        bytes += this.ascii('\r\n');
      } else {
        const s = String(a);
        bytes += this.ascii(`$${s.length}\r\n${s}\r\n`);
      }
    }
    this.cut();
    return { parts: this.parts, bytes };
  }

  private ascii(s: string): number {
    this.ensure(s.length);
    this.used += this.slab.write(s, this.used, 'latin1');
    return s.length;
  }

  private raw(b: Buffer): number {
    if (b.length >= BIG) {
      this.cut();
      this.parts.push(b);
    } else if (b.length) {
      this.ensure(b.length);
      b.copy(this.slab, this.used);
      this.used += b.length;
    }
    return b.length;
  }

  /** Emits the slab bytes of the current command written since the last cut. */
  private cut(): void {
    if (this.used > this.start) this.parts.push(this.slab.subarray(this.start, this.used));
    this.start = this.used;
  }

  private ensure(n: number): void {
    if (this.used + n <= this.slab.length) return;
    this.cut();
    this.slab = Buffer.allocUnsafe(Math.max(SLAB, n));
    this.used = 0;
    this.start = 0;
  }
}

/**
 * Pending output for one socket. Adjacent views of the same slab are merged, so thousands of small
 * commands leave as one write; big values stay separate chunks.
 */
export class Outbox {
  private chunks: Buffer[] = [];
  bytes = 0;

  push(parts: readonly Buffer[]): void {
    for (const p of parts) {
      const last = this.chunks[this.chunks.length - 1];
      if (last && last.buffer === p.buffer && last.byteOffset + last.length === p.byteOffset) {
        this.chunks[this.chunks.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + p.length);
      } else {
        this.chunks.push(p);
      }
      this.bytes += p.length;
    }
  }

  get empty(): boolean {
    return this.chunks.length === 0;
  }

  take(): Buffer[] {
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
