/**
 * Buffers that are reused once nothing needs their bytes any more, instead of being left to the GC.
 *
 * Why: an import streams its whole input through a few kinds of short-lived buffers (the RESP
 * encoder's slabs: ~475 MB for the 395 MB mixed bench file; the 1 MiB chunks of a 256 MB LZF
 * string). Left to the GC, each is fresh memory (a page fault per 4 KiB) and, once a command in
 * flight has kept it alive past a young collection, external memory that only a full collection
 * frees: V8 lets ~64 MB of it pile up before it starts one, which was most of the big-keys
 * bench's peak RSS above its ~120 MB working set.
 *
 * The protocol: a producer `take()`s a lease and writes into its buffer; everyone who will still
 * send those bytes later `pin`s it (the RESP encoder does, for the commands it encodes) and unpins
 * when the bytes are no longer needed (the command was answered and will not be re-sent). When
 * the producer is done writing it `retire()`s the lease; a retired lease with no pins goes back to
 * its pool. A pin that is never released only means the buffer is left to the GC, as before.
 */

export class Lease {
  pins = 0;
  retired = false;
  /** In its pool's free list (so a second retire or put cannot list it twice). */
  idle = false;
  constructor(readonly buf: Buffer, readonly pool: LeasePool | null) {}
}

/** Leases of one size; keeps at most `max` free ones. */
export class LeasePool {
  private readonly free: Lease[] = [];
  constructor(readonly size: number, readonly max: number) {}

  take(): Lease {
    const l = this.free.pop();
    if (l !== undefined) {
      l.retired = false;
      l.idle = false;
      return l;
    }
    const lease = new Lease(Buffer.allocUnsafeSlow(this.size), this);
    LEASED.set(lease.buf.buffer, lease);
    return lease;
  }

  /** Free leases held now (tests, benchmarks). */
  get idle(): number {
    return this.free.length;
  }

  /** @internal called when a retired lease has no pins left. */
  put(l: Lease): void {
    if (l.idle || l.pins !== 0 || this.free.length >= this.max) return;
    l.idle = true;
    this.free.push(l);
  }
}

/** The lease a buffer (or any view of it) belongs to, if it is pooled. */
const LEASED = new WeakMap<ArrayBufferLike, Lease>();

export function leaseOf(b: Buffer): Lease | undefined {
  return LEASED.get(b.buffer);
}

/** The producer is done writing into the lease: it returns to its pool once unpinned. */
export function retire(l: Lease): void {
  l.retired = true;
  if (l.pins === 0) l.pool?.put(l);
}

export function unpin(l: Lease): void {
  if (--l.pins === 0 && l.retired) l.pool?.put(l);
}

/** The pins one command holds: usually one lease, an array when it has bytes in several. */
export type Pins = Lease | Lease[] | null;

/** Releases what `RespEncoder.takePins()` returned. Call at most once per result. */
export function releasePins(p: Pins): void {
  if (p === null) return;
  if (p instanceof Lease) unpin(p);
  else for (const l of p) unpin(l);
}
