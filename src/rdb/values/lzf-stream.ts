/**
 * Streaming LZF inflation for big compressed strings: the compressed bytes are read from the input a
 * piece at a time and the output is emitted in ~1 MiB chunks, so a 256 MB string never exists whole.
 * LZF back-references reach at most 8 KiB back, so only that much output is kept between chunks.
 * (Small LZF strings use blobs/lzf.ts, which inflates in one go.)
 *
 * Two engines behind one loop (so both wait, fail and emit alike): the WebAssembly module of
 * blobs/lzf.wat (several times faster: see bench/lzf.bench.ts), with an instance of its own for the
 * stream's life (its window and output chunk stay in the instance's memory across awaits: 2.1 MiB),
 * and the JS loop below where WebAssembly is unavailable (and as the tests' reference).
 */
import { SHORT, type ByteSource } from '../../io/byte-source.js';
import { FerryError } from '../../errors/ferry-error.js';
import {
  acquireLzfWasm, releaseLzfWasm, LZF_LAYOUT, LZF_OK, LZF_NEED, LZF_OVERFLOW, LZF_BEFORE_START, LZF_STATUS_SHIFT, LZF_OP_MASK,
  type LzfWasm,
} from '../blobs/lzf.js';
import { needMore, type DecodeContext } from './batches.js';
import { LeasePool, retire, type Lease } from '../../io/buffer-lease.js';

const WINDOW = 8192;
const CHUNK = 1 << 20;
/** The most one instruction can write: a 264-byte back-reference (a literal run is at most 32). */
const MAX_STEP = 264;
/**
 * Output chunks for consumers that take leased chunks (an import: ChunkOptions.leased): four are
 * enough for one stream and the commands in flight between resumes; more in flight are allocated
 * and come back here while the pool has room.
 */
const CHUNKS = new LeasePool(CHUNK + MAX_STEP, 4);
/**
 * Copies at least this long use copyWithin/copy (a memmove); shorter ones a byte loop on Uint8Array
 * views. Measured: Buffer.copy per instruction (most are under 32 bytes) cost more than the inflation
 * itself (0.34 s of a 3.8 s mixed import for one 30 MB string), as in blobs/lzf.ts.
 */
const COPY_MIN = 32;

export type LzfStreamEngine = 'wasm' | 'js';

/** One engine's inflation state: the output chunk being filled and the window before it. */
interface Inflater {
  /** Output bytes so far (all chunks). */
  produced: number;
  /**
   * Inflates whole instructions from buf[p, stop) until the chunk is full; returns where it stopped
   * (at an instruction not wholly before `stop`, or at stop). Throws `bad(...)` on corrupt input.
   */
  run(buf: Buffer, p: number, stop: number): number;
  /** True once the chunk holds CHUNK bytes or more. */
  full(): boolean;
  /** The chunk so far, copied into `into` (or a new Buffer when null); the window is kept. */
  take(into: Buffer | null): Buffer;
  close(): void;
}

type Bad = (why: string) => FerryError;

// The module's chunk and window are the JS engine's, so both emit the same chunks.
if (LZF_LAYOUT.IN_CAP !== 0 && (LZF_LAYOUT.OUT_CAP !== CHUNK || LZF_LAYOUT.WINDOW !== WINDOW)) {
  throw new Error('the LZF WebAssembly layout does not match lzf-stream.ts');
}

export async function* inflateLzfStream(
  src: ByteSource, clen: number, rawLen: number, ctx: DecodeContext, engine: LzfStreamEngine = 'wasm',
): AsyncGenerator<Buffer> {
  const bad: Bad = (why) => new FerryError('RDB_CORRUPT', `LZF string: ${why}`, { file: src.name, offset: src.offset, key: ctx.key });
  const w = engine === 'wasm' ? acquireLzfWasm() : null;
  const inf: Inflater = w !== null ? new WasmInflater(w, rawLen, bad) : new JsInflater(rawLen, bad);
  const start = src.offset;
  let consumed = 0; // compressed bytes used so far
  let lease: Lease | null = null;
  try {
    src.commit();
    while (consumed < clen) {
      // One pass over the buffered input: it stops at an instruction that is not wholly buffered, at
      // the end of the compressed data, or when the output chunk is full. Errors inside a pass carry
      // the offset where the pass began (src.pos moves at its end).
      const buf = src.buf;
      const from = src.pos;
      const end = from + (clen - consumed);
      const stop = Math.min(buf.length, end);
      const p = inf.run(buf, from, stop);
      consumed += p - from;
      src.pos = p;
      src.commit();
      if (inf.full() || consumed >= clen) {
        // A copy: the caller may keep the chunk (e.g. queued on a socket) while we go on. A leased
        // chunk is ours again once the caller asks for the next one, unless it pinned it.
        lease = ctx.leased ? CHUNKS.take() : null;
        yield inf.take(lease?.buf ?? null);
        if (lease) retire(lease);
        lease = null;
        continue;
      }
      const instr = buf[p]! < 32 ? buf[p]! + 2 : 3;
      // The compressed data ends inside an instruction (the input goes on with other records).
      if (end <= buf.length) throw bad(`an instruction of up to ${instr} bytes runs past the end of the ${clen} compressed bytes`);
      // An instruction runs past the buffered input: wait for more (truncation is a typed error).
      SHORT.need = instr;
      await needMore(src, ctx, 'LZF-compressed string');
    }
  } finally {
    if (lease) retire(lease);
    inf.close();
  }
  if (inf.produced !== rawLen) {
    throw new FerryError('RDB_CORRUPT', `LZF string inflates to ${inf.produced} bytes, its header says ${rawLen}`, { file: src.name, offset: start, key: ctx.key });
  }
}

/** The JS engine: output chunk in a Buffer of its own, [0, WINDOW) holding the tail of what was emitted. */
class JsInflater implements Inflater {
  produced = 0;
  private readonly outBuf = Buffer.allocUnsafe(WINDOW + CHUNK + MAX_STEP);
  private readonly out = new Uint8Array(this.outBuf.buffer, this.outBuf.byteOffset, this.outBuf.length);
  private o = WINDOW; // write position

  constructor(private readonly rawLen: number, private readonly bad: Bad) {}

  run(buffer: Buffer, start: number, stop: number): number {
    // The inner loop reads the buffered input directly (no per-instruction views or calls).
    const buf = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
    const out = this.out;
    const rawLen = this.rawLen;
    let o = this.o;
    let produced = this.produced;
    let p = start;
    while (o < WINDOW + CHUNK && p < stop) {
      const ctrl = buf[p]!;
      if (ctrl < 32) {
        const n = ctrl + 1;
        if (p + 1 + n > stop) break;
        if (produced + n > rawLen) throw this.bad(`inflates past its declared ${rawLen} bytes`);
        for (let i = p + 1, e = p + 1 + n; i < e; i++) out[o++] = buf[i]!;
        produced += n;
        p += 1 + n;
      } else {
        let n = ctrl >> 5;
        let q = p + 1;
        if (n === 7) {
          if (q >= stop) break;
          n += buf[q++]!;
        }
        if (q >= stop) break;
        const ref = ((ctrl & 0x1f) << 8) + buf[q++]! + 1;
        n += 2;
        if (ref > produced) throw this.bad(`back-reference ${ref} bytes back with only ${produced} produced`);
        if (produced + n > rawLen) throw this.bad(`inflates past its declared ${rawLen} bytes`);
        let from = o - ref;
        if (ref === 1) {
          out.fill(out[from]!, o, o + n);
          o += n;
        } else if (ref >= n && n >= COPY_MIN) {
          out.copyWithin(o, from, from + n);
          o += n;
        } else {
          for (let i = 0; i < n; i++) out[o++] = out[from++]!;
        }
        produced += n;
        p = q;
      }
    }
    this.o = o;
    this.produced = produced;
    return p;
  }

  full(): boolean {
    return this.o >= WINDOW + CHUNK;
  }

  take(into: Buffer | null): Buffer {
    const chunk = copyOut(this.outBuf.subarray(WINDOW, this.o), into);
    const keep = Math.min(WINDOW, this.o);
    this.out.copyWithin(WINDOW - keep, this.o - keep, this.o);
    this.o = WINDOW;
    return chunk;
  }

  close(): void {}
}

/**
 * The WebAssembly engine: input copied into the instance IN_CAP bytes at a time; the chunk grows at
 * OUT_BASE across calls (and awaits) and is copied out once, when taken.
 */
class WasmInflater implements Inflater {
  produced = 0;
  private outPos = 0; // chunk bytes at OUT_BASE
  private hist = 0; // window bytes before OUT_BASE

  constructor(private readonly w: LzfWasm, private readonly rawLen: number, private readonly bad: Bad) {}

  run(buf: Buffer, start: number, stop: number): number {
    const { IN_CAP } = LZF_LAYOUT;
    const w = this.w;
    let p = start;
    while (p < stop && this.outPos < CHUNK) {
      const block = p;
      const n = Math.min(stop - block, IN_CAP);
      w.mem.set(buf.subarray(block, block + n), 0);
      const r = w.inflate(n, this.outPos, CHUNK, this.hist, Math.min(this.rawLen - this.produced, 0x7fffffff));
      const status = r >>> LZF_STATUS_SHIFT;
      const op = r & LZF_OP_MASK;
      this.produced += op - this.outPos;
      this.outPos = op;
      p = block + w.ip.value;
      if (status === LZF_OK) continue;
      if (status === LZF_NEED) {
        // Across the end of this block: the next call does it. Across `stop`: the caller decides.
        if (block + n < stop) continue;
        break;
      }
      if (status === LZF_BEFORE_START) {
        const ctrl = buf[p]!;
        const dist = ((ctrl & 0x1f) << 8) + buf[ctrl >> 5 === 7 ? p + 2 : p + 1]! + 1;
        throw this.bad(`back-reference ${dist} bytes back with only ${this.produced} produced`);
      }
      if (status === LZF_OVERFLOW) throw this.bad(`inflates past its declared ${this.rawLen} bytes`);
      throw new Error(`LZF WebAssembly engine refused its arguments (status ${status})`);
    }
    return p;
  }

  full(): boolean {
    return this.outPos >= CHUNK;
  }

  take(into: Buffer | null): Buffer {
    const { OUT_BASE } = LZF_LAYOUT;
    const mem = this.w.mem;
    const end = OUT_BASE + this.outPos;
    const chunk = copyOut(mem.subarray(OUT_BASE, end), into);
    // Old window and the chunk are contiguous: keep their last WINDOW bytes before OUT_BASE.
    const keep = Math.min(WINDOW, this.hist + this.outPos);
    mem.copyWithin(OUT_BASE - keep, end - keep, end);
    this.hist = keep;
    this.outPos = 0;
    return chunk;
  }

  close(): void {
    releaseLzfWasm(this.w);
  }
}

/** `bytes` copied into the front of `into` (a lease's buffer), or into a new Buffer. */
function copyOut(bytes: Uint8Array, into: Buffer | null): Buffer {
  if (into === null) return Buffer.from(bytes);
  into.set(bytes);
  return into.subarray(0, bytes.length);
}
