/**
 * Streaming LZF inflation for big compressed strings: the compressed bytes are read from the input a
 * piece at a time and the output is emitted in ~1 MiB chunks, so a 256 MB string never exists whole.
 * LZF back-references reach at most 8 KiB back, so only that much output is kept between chunks.
 * (Small LZF strings use blobs/lzf.ts, which inflates in one go.)
 */
import { SHORT, type ByteSource } from '../../io/byte-source.js';
import { FerryError } from '../../errors/ferry-error.js';
import { needMore, type DecodeContext } from './batches.js';

const WINDOW = 8192;
const CHUNK = 1 << 20;
/** The most one instruction can write: a 264-byte back-reference (a literal run is at most 32). */
const MAX_STEP = 264;
/**
 * Copies at least this long use copyWithin/copy (a memmove); shorter ones a byte loop on Uint8Array
 * views. Measured: Buffer.copy per instruction (most are under 32 bytes) cost more than the inflation
 * itself (0.34 s of a 3.8 s mixed import for one 30 MB string), as in blobs/lzf.ts.
 */
const COPY_MIN = 32;

export async function* inflateLzfStream(src: ByteSource, clen: number, rawLen: number, ctx: DecodeContext): AsyncGenerator<Buffer> {
  const outBuf = Buffer.allocUnsafe(WINDOW + CHUNK + MAX_STEP);
  const out = new Uint8Array(outBuf.buffer, outBuf.byteOffset, outBuf.length);
  let o = WINDOW; // write position; [0, WINDOW) holds the tail of what was emitted before
  let emitFrom = WINDOW;
  let produced = 0; // total output bytes so far
  let consumed = 0; // compressed bytes used so far
  const start = src.offset;
  const bad = (why: string) => new FerryError('RDB_CORRUPT', `LZF string: ${why}`, { file: src.name, offset: src.offset, key: ctx.key });
  src.commit();
  while (consumed < clen) {
    // The inner loop reads the buffered input directly (no per-instruction views or calls): it stops
    // at an instruction that is not wholly buffered, at the end of the compressed data, or when the
    // output chunk is full.
    const buf = new Uint8Array(src.buf.buffer, src.buf.byteOffset, src.buf.length);
    let p = src.pos;
    const stop = Math.min(buf.length, p + (clen - consumed));
    const startP = p;
    while (o < WINDOW + CHUNK && p < stop) {
      const ctrl = buf[p]!;
      if (ctrl < 32) {
        const n = ctrl + 1;
        if (p + 1 + n > stop) break;
        if (produced + n > rawLen) throw bad(`inflates past its declared ${rawLen} bytes`);
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
        if (ref > produced) throw bad(`back-reference ${ref} bytes back with only ${produced} produced`);
        if (produced + n > rawLen) throw bad(`inflates past its declared ${rawLen} bytes`);
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
    consumed += p - startP;
    src.pos = p;
    src.commit();
    if (o >= WINDOW + CHUNK || consumed >= clen) {
      // Copy out: the caller may keep the chunk (e.g. queued on a socket) while we go on.
      yield Buffer.from(outBuf.subarray(emitFrom, o));
      const keep = Math.min(WINDOW, o);
      out.copyWithin(WINDOW - keep, o - keep, o);
      o = WINDOW;
      emitFrom = WINDOW;
      continue;
    }
    // An instruction runs past the buffered input: wait for more (truncation is a typed error).
    if (consumed < clen) {
      const instr = buf[p]! < 32 ? buf[p]! + 2 : 3;
      SHORT.need = instr;
      await needMore(src, ctx, 'LZF-compressed string');
    }
  }
  if (consumed !== clen) throw bad(`used ${consumed} of ${clen} compressed bytes`);
  if (produced !== rawLen) {
    throw new FerryError('RDB_CORRUPT', `LZF string inflates to ${produced} bytes, its header says ${rawLen}`, { file: src.name, offset: start, key: ctx.key });
  }
}
