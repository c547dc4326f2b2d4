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

export async function* inflateLzfStream(src: ByteSource, clen: number, rawLen: number, ctx: DecodeContext): AsyncGenerator<Buffer> {
  const out = Buffer.allocUnsafe(WINDOW + CHUNK + MAX_STEP);
  let o = WINDOW; // write position; [0, WINDOW) holds the tail of what was emitted before
  let emitFrom = WINDOW;
  let produced = 0; // total output bytes so far
  let consumed = 0; // compressed bytes used so far
  const start = src.offset;
  const bad = (why: string) => new FerryError('RDB_CORRUPT', `LZF string: ${why}`, { file: src.name, offset: src.offset, key: ctx.key });
  src.commit();
  while (consumed < clen) {
    try {
      // Run instructions synchronously until the output chunk is full or input is short.
      while (consumed < clen && o < WINDOW + CHUNK) {
        const before = src.pos;
        const ctrl = src.u8();
        if (ctrl < 32) {
          const n = ctrl + 1;
          if (consumed + 1 + n > clen) throw bad(`literal run of ${n} bytes passes the end of the ${clen} compressed bytes`);
          if (produced + n > rawLen) throw bad(`inflates past its declared ${rawLen} bytes`);
          const lit = src.bytes(n);
          lit.copy(out, o);
          o += n;
          produced += n;
        } else {
          let n = ctrl >> 5;
          if (n === 7) n += src.u8();
          const ref = ((ctrl & 0x1f) << 8) + src.u8() + 1;
          n += 2;
          if (ref > produced) throw bad(`back-reference ${ref} bytes back with only ${produced} produced`);
          if (produced + n > rawLen) throw bad(`inflates past its declared ${rawLen} bytes`);
          let from = o - ref;
          for (let i = 0; i < n; i++) out[o++] = out[from++]!;
          produced += n;
        }
        consumed += src.pos - before;
        src.commit();
      }
    } catch (err) {
      if (err !== SHORT) throw err;
      await needMore(src, ctx, 'LZF-compressed string');
      continue;
    }
    if (o >= WINDOW + CHUNK || consumed >= clen) {
      // Copy out: the caller may keep the chunk (e.g. queued on a socket) while we go on.
      yield Buffer.from(out.subarray(emitFrom, o));
      const keep = Math.min(WINDOW, o);
      out.copy(out, WINDOW - keep, o - keep, o);
      o = WINDOW;
      emitFrom = WINDOW;
    }
  }
  if (consumed !== clen) throw bad(`used ${consumed} of ${clen} compressed bytes`);
  if (produced !== rawLen) {
    throw new FerryError('RDB_CORRUPT', `LZF string inflates to ${produced} bytes, its header says ${rawLen}`, { file: src.name, offset: start, key: ctx.key });
  }
}
