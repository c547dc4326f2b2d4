/** The Entry the RDB parser emits: raw bytes when small, a one-shot chunk stream when big. */
import { ByteSource } from '../io/byte-source.js';
import { FerryError } from '../errors/ferry-error.js';
import { KEY_RUN_STRIDE, type ChunkOptions, type Entry, type KeyRun, type SourceFormat, type StringRun, type ValueChunk, type ValueType } from '../entry/entry.js';
import { stringEncoding, typeInfo } from './constants.js';
import type { DecodeContext } from './values/batches.js';
import type { ReadLimits } from './primitives.js';
import { decodeValue } from './values/decode.js';

/** A streamed value's decoder, its context (`leased` is set before its first chunk), and whether a consumer took it. */
interface StreamState {
  gen: AsyncGenerator<ValueChunk>;
  ctx: DecodeContext;
  taken: boolean;
}

/**
 * One per key, millions per import: the fields are only what most keys need (a streamed value's
 * state is one field, null for the rest), and the entry is its own record (`kind`, `entry` are
 * getters), so the parser allocates one object per key, not two.
 */
export class RdbEntry implements Entry {
  idle: number | null = null;
  freq: number | null = null;
  keyMeta: Buffer | null = null;
  module: { name: string; encver: number; id: bigint } | null = null;
  private streamState: StreamState | null = null;

  /** As a record of the parser's batches: `{ kind: 'entry', entry }`. */
  get kind(): 'entry' {
    return 'entry';
  }

  get entry(): this {
    return this;
  }

  /** Makes this a streamed entry: `chunks()` hands out `gen` once. */
  setStream(gen: AsyncGenerator<ValueChunk>, ctx: DecodeContext): void {
    this.streamState = { gen, ctx, taken: false };
  }

  /** True once a consumer asked for the streamed value's chunks. */
  get streamTaken(): boolean {
    return this.streamState?.taken ?? false;
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
    const st = this.streamState;
    if (!st || st.taken) throw new FerryError('INTERNAL', 'a streamed value can be read only once, before the parser moves on', { key: ctx.key });
    st.taken = true;
    const inner = st.gen;
    if (opts.leased) st.ctx.leased = true;
    if (opts.packedLists) st.ctx.packedLists = true;
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

/**
 * Key `i` of a string run as an Entry, for a consumer that cannot batch it (a cluster target, another
 * conflict policy or mode): the key is copied (it may outlive the batch), the value is a view.
 */
export function runEntry(run: StringRun, i: number): RdbEntry {
  const p = run.pos;
  const ks = p[5 * i]!;
  const ke = p[5 * i + 1]!;
  const ve = p[5 * i + 3]!;
  const raw = run.buf.subarray(ke, ve);
  return new RdbEntry(run.db, Buffer.from(run.buf.subarray(ks, ke)), 0, 'string', 'raw', null, raw.length, raw, run.base + p[5 * i + 4]!, run.base + ke, run.source, run.file, run.limits);
}

/**
 * Key `i` of a key run as an Entry, for a consumer that does not encode the run whole (another
 * target, policy or mode; a key the native encoder declined): the entry the general parser path
 * makes of the same record, the key copied, the value a view.
 */
export function keyRunEntry(run: KeyRun, i: number): RdbEntry {
  const p = run.pos;
  const k = KEY_RUN_STRIDE * i;
  const ks = p[k]!;
  const ke = p[k + 1]!;
  const typeByte = p[k + 5]!;
  const raw = run.buf.subarray(p[k + 2]!, p[k + 3]!);
  const info = typeInfo(run.source.magic, typeByte)!;
  const encoding = typeByte === 0 ? stringEncoding(raw[0]) : info.encoding;
  const exp = run.exp[i]!;
  return new RdbEntry(run.db, Buffer.from(run.buf.subarray(ks, ke)), typeByte, info.type, encoding, exp < 0 ? null : exp, raw.length, raw, run.base + p[k + 4]!, run.base + ke, run.source, run.file, run.limits);
}
