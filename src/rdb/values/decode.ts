/** Picks the decoder for a type byte. One decoder per type family serves inline and streamed values. */
import type { ByteSource } from '../../io/byte-source.js';
import type { ValueChunk } from '../../entry/entry.js';
import { FerryError } from '../../errors/ferry-error.js';
import type { ReadLimits } from '../primitives.js';
import { typeInfo } from '../constants.js';
import type { DecodeContext } from './batches.js';
import { decodeList, decodeSet, decodeZset, decodeHash } from './collections.js';
import { decodeStream } from './stream.js';
import { decodeString, decodeModule } from './string-and-module.js';

export function decodeValue(src: ByteSource, typeByte: number, limits: ReadLimits, ctx: DecodeContext): AsyncGenerator<ValueChunk> {
  const info = typeInfo(ctx.magic, typeByte);
  if (!info) throw new FerryError('RDB_UNKNOWN_TYPE', `unknown value type ${typeByte}`, { file: src.name, offset: src.offset, key: ctx.key });
  switch (info.type) {
    case 'string':
      return decodeString(src, limits, ctx);
    case 'list':
      return decodeList(src, typeByte, limits, ctx);
    case 'set':
      return decodeSet(src, typeByte, limits, ctx);
    case 'zset':
      return decodeZset(src, typeByte, limits, ctx);
    case 'hash':
      return decodeHash(src, typeByte, limits, ctx);
    case 'stream':
      return decodeStream(src, typeByte, limits, ctx);
    case 'module':
      return decodeModule(src, limits, ctx);
  }
}
