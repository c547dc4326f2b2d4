/**
 * String values (type 0) and module values (type 7), both streamable: a big raw string is yielded
 * in pieces straight from the input, never held whole; a module value is passed on as its raw bytes.
 */
import type { ByteSource } from '../../io/byte-source.js';
import type { ValueChunk } from '../../entry/entry.js';
import { FerryError } from '../../errors/ferry-error.js';
import { readLength, readLengthBig, readString, skipModuleValue, type ReadLimits } from '../primitives.js';
import { lzfDecompress } from '../blobs/index.js';
import { readOne, BATCH_BYTES, type DecodeContext } from './batches.js';
import { inflateLzfStream } from './lzf-stream.js';

/** LZF strings inflating to more than this are streamed. */
const STREAM_LZF_ABOVE = 4 * BATCH_BYTES;

export async function* decodeString(src: ByteSource, limits: ReadLimits, ctx: DecodeContext): AsyncGenerator<ValueChunk> {
  const first = await readOne(src, () => src.peekU8(), ctx, 'string header');
  if (first >> 6 === 3) {
    if ((first & 0x3f) === 3) {
      // LZF: small strings are inflated in one go; big ones stream (never held whole).
      let clen = 0;
      let rawLen = 0;
      await readOne(src, () => {
        src.u8();
        clen = readLength(src);
        rawLen = readLength(src);
      }, ctx, 'LZF header');
      if (limits.inputSize !== null && src.offset + clen > limits.inputSize) {
        throw new FerryError('RDB_TRUNCATED', `LZF string of ${clen} compressed bytes runs past the end of the input`, { file: src.name, offset: src.offset, key: ctx.key });
      }
      if (rawLen > STREAM_LZF_ABOVE) {
        for await (const data of inflateLzfStream(src, clen, rawLen, ctx)) yield { t: 'string', data, total: rawLen };
        return;
      }
      const at = src.offset;
      const data = await readOne(src, () => src.bytes(clen), ctx, 'LZF data');
      const out = lzfDecompress(data, rawLen, { file: src.name, offset: at, key: ctx.key });
      for (let i = 0; i < out.length; i += BATCH_BYTES) yield { t: 'string', data: out.subarray(i, i + BATCH_BYTES), total: out.length };
      if (out.length === 0) yield { t: 'string', data: out };
      return;
    }
    const v = await readOne(src, () => readString(src, limits), ctx, 'integer string');
    yield { t: 'string', data: v };
    return;
  }
  let left = await readOne(src, () => readLength(src), ctx, 'string length');
  if (limits.inputSize !== null && src.offset + left > limits.inputSize) {
    throw new FerryError('RDB_TRUNCATED', `string of ${left} bytes runs past the end of the input`, { file: src.name, offset: src.offset, key: ctx.key });
  }
  if (left === 0) {
    yield { t: 'string', data: Buffer.alloc(0) };
    return;
  }
  const total = left;
  while (left > 0) {
    const want = Math.min(left, BATCH_BYTES);
    const piece = await readOne(src, () => src.bytes(Math.min(want, Math.max(1, src.available))), ctx, 'string');
    left -= piece.length;
    yield { t: 'string', data: piece, total };
  }
}

/** Module value: yields its raw bytes (module id + opcode stream), read opcode by opcode. */
export async function* decodeModule(src: ByteSource, limits: ReadLimits, ctx: DecodeContext): AsyncGenerator<ValueChunk> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const take = (start: number) => {
    const b = src.buf.subarray(start - src.base, src.pos);
    pending.push(b);
    pendingBytes += b.length;
  };
  await readOne(src, () => {
    const start = src.offset;
    readLengthBig(src);
    take(start);
  }, ctx, 'module id');
  for (;;) {
    let more = true;
    await readOne(src, () => {
      const start = src.offset;
      more = skipModuleValue(src, limits);
      take(start);
    }, ctx, 'module value');
    if (!more || pendingBytes >= BATCH_BYTES) {
      yield { t: 'module', data: pending.length === 1 ? pending[0]! : Buffer.concat(pending) };
      pending = [];
      pendingBytes = 0;
    }
    if (!more) return;
  }
}
