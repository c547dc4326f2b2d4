/**
 * Skipping a streamed (big) value nobody reads — `ferry inspect`, the backup check — without decoding
 * it: element extents are walked with the same primitives as skip-value.ts, a batch at a time, and a
 * big string's bytes (LZF-compressed or not) are passed over without inflating. Types with no walk of
 * their own here (blobs, modules, streams) fall back to the decoder and drop what it yields.
 */
import type { ByteSource } from '../../io/byte-source.js';
import { readLength, readLengthBig, skipString, type ReadLimits } from '../primitives.js';
import { readElements, readOne, BATCH_BYTES, type DecodeContext } from './batches.js';
import { decodeValue } from './decode.js';

async function skipBytes(src: ByteSource, n: number, ctx: DecodeContext): Promise<void> {
  let left = n;
  while (left > 0) {
    const piece = await readOne(src, () => src.bytes(Math.min(left, BATCH_BYTES, Math.max(1, src.available))), ctx, 'string');
    left -= piece.length;
  }
}

async function each(src: ByteSource, ctx: DecodeContext, step: () => void, what: string): Promise<void> {
  const n = await readOne(src, () => readLength(src), ctx, `${what} count`);
  for await (const _ of readElements(src, n, () => (step(), 64), ctx, what));
}

export async function skipStreamedValue(src: ByteSource, typeByte: number, limits: ReadLimits, ctx: DecodeContext): Promise<void> {
  switch (typeByte) {
    case 0: {
      const first = await readOne(src, () => src.peekU8(), ctx, 'string header');
      if (first === 0xc3) {
        const clen = await readOne(src, () => (src.u8(), readLength(src)), ctx, 'LZF header');
        await readOne(src, () => readLength(src), ctx, 'LZF header');
        return skipBytes(src, clen, ctx);
      }
      if (first >> 6 === 3) return void (await readOne(src, () => skipString(src, limits), ctx, 'integer string'));
      return skipBytes(src, await readOne(src, () => readLength(src), ctx, 'string length'), ctx);
    }
    case 1:
    case 2:
    case 14:
      return each(src, ctx, () => void skipString(src, limits), 'element');
    case 18:
      return each(src, ctx, () => (readLength(src), void skipString(src, limits)), 'quicklist node');
    case 3:
      return each(src, ctx, () => {
        skipString(src, limits);
        const l = src.u8();
        if (l < 253) src.skip(l);
      }, 'zset member');
    case 4:
      return each(src, ctx, () => (skipString(src, limits), void skipString(src, limits)), 'hash field');
    case 5:
      return each(src, ctx, () => (skipString(src, limits), src.skip(8)), 'zset member');
    case 24:
      await readOne(src, () => src.skip(8), ctx, 'hash min expiry');
      return each(src, ctx, () => (readLengthBig(src), skipString(src, limits), void skipString(src, limits)), 'hash field');
    default: {
      const gen = decodeValue(src, typeByte, limits, ctx);
      for (;;) if ((await gen.next()).done) return;
    }
  }
}
