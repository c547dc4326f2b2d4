/** The Entry the RDB parser emits: raw bytes when small, a one-shot chunk stream when big. */
import { ByteSource } from '../io/byte-source.js';
import { FerryError } from '../errors/ferry-error.js';
import type { ChunkOptions, Entry, SourceFormat, ValueChunk, ValueType } from '../entry/entry.js';
import type { DecodeContext } from './values/batches.js';
import type { ReadLimits } from './primitives.js';
import { decodeValue } from './values/decode.js';

export class RdbEntry implements Entry {
  idle: number | null = null;
  freq: number | null = null;
  keyMeta: Buffer | null = null;
  module: { name: string; encver: number; id: bigint } | null = null;
  /** For streamed values: the decoder reading from the input, and whether a consumer took it. */
  stream: AsyncGenerator<ValueChunk> | null = null;
  /** The streamed decoder's context (read when its first chunk is asked for: `leased` is set before). */
  streamCtx: DecodeContext | null = null;
  private taken = false;

  /** True once a consumer asked for the streamed value's chunks. */
  get streamTaken(): boolean {
    return this.taken;
  }

  constructor(
    public db: number,
    public key: Buffer,
    public typeByte: number,
    public type: ValueType,
    public encoding: string,
    public expireAt: number | null,
    public rawSize: number,
    public raw: Buffer | null,
    public offset: number,
    /** Absolute offset of the value's first byte (after the key). */
    public valueOffset: number,
    public source: SourceFormat,
    private readonly fileName: string,
    private readonly limits: ReadLimits,
  ) {}

  chunks(opts: ChunkOptions = {}): AsyncIterable<ValueChunk> {
    const ctx = { key: this.key.toString('latin1'), magic: this.source.magic, rdbVersion: this.source.rdbVersion, packedLists: opts.packedLists ?? false };
    if (this.raw) {
      const src = new ByteSource(this.raw, { name: this.fileName });
      src.base = this.valueOffset;
      return checkEnd(decodeValue(src, this.typeByte, this.limits, ctx), src, ctx.key);
    }
    const inner = this.stream;
    if (!inner || this.taken) throw new FerryError('INTERNAL', 'a streamed value can be read only once, before the parser moves on', { key: ctx.key });
    this.taken = true;
    if (opts.leased && this.streamCtx) this.streamCtx.leased = true;
    if (opts.packedLists && this.streamCtx) this.streamCtx.packedLists = true;
    // Breaking out of a for-await must not close the decoder: the parser drains what is left.
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => inner.next(),
        return: async () => ({ done: true as const, value: undefined }),
      }),
    };
  }
}

/** For inline values: the decoder must use every byte of the value, no more, no less. */
async function* checkEnd(gen: AsyncGenerator<ValueChunk>, src: ByteSource, key: string): AsyncGenerator<ValueChunk> {
  yield* gen;
  if (src.available !== 0) {
    throw new FerryError('RDB_CORRUPT', `value has ${src.available} unexpected trailing bytes`, { file: src.name, offset: src.offset, key });
  }
}
