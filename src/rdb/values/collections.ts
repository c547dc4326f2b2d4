/**
 * Decoders for list, set, zset and hash values in every RDB encoding (formats reference §1.4, §1.8,
 * §1.9). Each is an async generator of ValueChunks over a ByteSource positioned at the value's first
 * byte; see batches.ts for how big values are read in bounded pieces.
 */
import type { ByteSource } from '../../io/byte-source.js';
import type { ValueChunk } from '../../entry/entry.js';
import { FerryError } from '../../errors/ferry-error.js';
import { readLength, readLengthBig, readString, readStringDouble, parseScore, readBlob, type ReadLimits, type BlobAt } from '../primitives.js';
import { ziplistEntries, listpackEntries, listpackResp, intsetMembers, zipmapPairs } from '../blobs/index.js';
import { RespArgs } from '../../resp/resp-args.js';
import { bulkHeader } from '../../resp/header.js';
import { readElements, readOne, BATCH_ELEMENTS, type DecodeContext } from './batches.js';

type Chunks = AsyncGenerator<ValueChunk>;

/** Reads one blob string (ziplist, listpack, intset, zipmap), inflating LZF. */
async function readBlobValue(src: ByteSource, limits: ReadLimits, ctx: DecodeContext, what: string): Promise<BlobAt> {
  return readOne(src, () => readBlob(src, limits), ctx, what);
}

function* slices<T>(arr: T[], size = BATCH_ELEMENTS): Generator<T[]> {
  if (arr.length <= size) {
    yield arr;
    return;
  }
  for (let i = 0; i < arr.length; i += size) yield arr.slice(i, i + size);
}

function blobCtx(src: ByteSource, offset: number, ctx: DecodeContext, inflated = false) {
  return { file: src.name, offset, key: ctx.key, inflated };
}

/** `offset` is the blob's: the score's own position is inside it. */
function scoreOf(b: Buffer, src: ByteSource, offset: number, ctx: DecodeContext): number {
  const v = parseScore(b.toString('latin1'));
  if (Number.isNaN(v)) throw new FerryError('RDB_CORRUPT', `invalid zset score ${JSON.stringify(b.toString('latin1'))} in the blob`, { file: src.name, offset, key: ctx.key });
  return v;
}

function pairsOf(flat: Buffer[], src: ByteSource, offset: number, ctx: DecodeContext, what: string): void {
  if (flat.length % 2 !== 0) throw new FerryError('RDB_CORRUPT', `${what} holds an odd number of entries (${flat.length})`, { file: src.name, offset, key: ctx.key });
}

// ---------------------------------------------------------------- lists

export async function* decodeList(src: ByteSource, typeByte: number, limits: ReadLimits, ctx: DecodeContext): Chunks {
  switch (typeByte) {
    case 1: {
      const n = await readOne(src, () => readLength(src), ctx, 'list length');
      let items: Buffer[] = [];
      for await (const _ of readElements(src, n, () => {
        const s = readString(src, limits);
        items.push(s);
        return s.length + 8;
      }, ctx, 'list element')) {
        yield { t: 'list', items };
        items = [];
      }
      return;
    }
    case 10: {
      const { blob, offset, inflated } = await readBlobValue(src, limits, ctx, 'ziplist');
      for (const items of slices(ziplistEntries(blob, blobCtx(src, offset, ctx, inflated)))) yield { t: 'list', items };
      return;
    }
    case 14:
    case 18: {
      if (typeByte === 18 && ctx.packedLists) {
        yield* decodeQuicklistPacked(src, limits, ctx);
        return;
      }
      const n = await readOne(src, () => readLength(src), ctx, 'quicklist node count');
      let items: Buffer[] = [];
      for await (const _ of readElements(src, n, () => {
        const before = items.length;
        const container = typeByte === 18 ? readLength(src) : 2;
        const { blob, offset, inflated } = readBlob(src, limits);
        if (typeByte === 14) {
          for (const e of ziplistEntries(blob, blobCtx(src, offset, ctx, inflated))) items.push(e);
        } else if (container === 1) {
          items.push(blob);
        } else if (container === 2) {
          const entries = listpackEntries(blob, blobCtx(src, offset, ctx, inflated));
          if (entries.length === 0) throw new FerryError('RDB_CORRUPT', 'empty quicklist node', { file: src.name, offset, key: ctx.key });
          for (const e of entries) items.push(e);
        } else {
          throw new FerryError('RDB_CORRUPT', `unknown quicklist container ${container}`, { file: src.name, offset: offset - 1, key: ctx.key });
        }
        // Weighted by element count too: each element is a JS object, which costs more than its bytes.
        return blob.length + 64 * (items.length - before);
      }, ctx, 'quicklist node')) {
        if (items.length) yield { t: 'list', items };
        items = [];
      }
      return;
    }
  }
}

const CRLF = Buffer.from('\r\n');

/**
 * A quicklist-2 list for a consumer that writes its elements as RESP (ChunkOptions.packedLists):
 * each listpack node becomes one RESP-encoded run (listpackResp: same checks, no Buffer per element);
 * a plain node (one big element) a run of header, the element's bytes and CRLF.
 */
async function* decodeQuicklistPacked(src: ByteSource, limits: ReadLimits, ctx: DecodeContext): Chunks {
  const n = await readOne(src, () => readLength(src), ctx, 'quicklist node count');
  let packed: RespArgs[] = [];
  for await (const _ of readElements(src, n, () => {
    const container = readLength(src);
    const { blob, offset, inflated } = readBlob(src, limits);
    let run: RespArgs;
    if (container === 1) {
      const head = bulkHeader(blob.length);
      run = new RespArgs([head, blob, CRLF], 1, head.length + blob.length + 2);
    } else if (container === 2) {
      run = listpackResp(blob, blobCtx(src, offset, ctx, inflated));
      if (run.count === 0) throw new FerryError('RDB_CORRUPT', 'empty quicklist node', { file: src.name, offset, key: ctx.key });
    } else {
      throw new FerryError('RDB_CORRUPT', `unknown quicklist container ${container}`, { file: src.name, offset: offset - 1, key: ctx.key });
    }
    packed.push(run);
    return blob.length + run.bytes;
  }, ctx, 'quicklist node')) {
    if (packed.length) yield { t: 'list', items: [], packed };
    packed = [];
  }
}

// ---------------------------------------------------------------- sets

export async function* decodeSet(src: ByteSource, typeByte: number, limits: ReadLimits, ctx: DecodeContext): Chunks {
  switch (typeByte) {
    case 2: {
      const n = await readOne(src, () => readLength(src), ctx, 'set size');
      let members: Buffer[] = [];
      for await (const _ of readElements(src, n, () => {
        const s = readString(src, limits);
        members.push(s);
        return s.length + 8;
      }, ctx, 'set member')) {
        yield { t: 'set', members };
        members = [];
      }
      return;
    }
    case 11: {
      const { blob, offset, inflated } = await readBlobValue(src, limits, ctx, 'intset');
      for (const members of slices(intsetMembers(blob, blobCtx(src, offset, ctx, inflated)))) yield { t: 'set', members };
      return;
    }
    case 20: {
      const { blob, offset, inflated } = await readBlobValue(src, limits, ctx, 'set listpack');
      for (const members of slices(listpackEntries(blob, blobCtx(src, offset, ctx, inflated)))) yield { t: 'set', members };
      return;
    }
  }
}

// ---------------------------------------------------------------- sorted sets

export async function* decodeZset(src: ByteSource, typeByte: number, limits: ReadLimits, ctx: DecodeContext): Chunks {
  switch (typeByte) {
    case 3:
    case 5: {
      const n = await readOne(src, () => readLength(src), ctx, 'zset size');
      let members: Buffer[] = [];
      let scores: number[] = [];
      for await (const _ of readElements(src, n, () => {
        const m = readString(src, limits);
        const s = typeByte === 5 ? src.f64le() : readStringDouble(src);
        if (Number.isNaN(s)) throw new FerryError('RDB_CORRUPT', 'zset score is NaN', { file: src.name, offset: src.offset - 8, key: ctx.key });
        members.push(m);
        scores.push(s);
        return m.length + 16;
      }, ctx, 'zset member')) {
        yield { t: 'zset', members, scores };
        members = [];
        scores = [];
      }
      return;
    }
    case 12:
    case 17: {
      const { blob, offset, inflated } = await readBlobValue(src, limits, ctx, typeByte === 12 ? 'zset ziplist' : 'zset listpack');
      const flat = typeByte === 12 ? ziplistEntries(blob, blobCtx(src, offset, ctx, inflated)) : listpackEntries(blob, blobCtx(src, offset, ctx, inflated));
      pairsOf(flat, src, offset, ctx, 'zset blob');
      for (let i = 0; i < flat.length; i += 2 * BATCH_ELEMENTS) {
        const members: Buffer[] = [];
        const scores: number[] = [];
        for (let j = i; j < Math.min(flat.length, i + 2 * BATCH_ELEMENTS); j += 2) {
          members.push(flat[j]!);
          scores.push(scoreOf(flat[j + 1]!, src, offset, ctx));
        }
        yield { t: 'zset', members, scores };
      }
      return;
    }
  }
}

// ---------------------------------------------------------------- hashes

function hashChunk(fields: Buffer[], values: Buffer[], expireAts: (number | null)[] | null): ValueChunk {
  return expireAts && expireAts.some((e) => e !== null) ? { t: 'hash', fields, values, expireAts } : { t: 'hash', fields, values };
}

export async function* decodeHash(src: ByteSource, typeByte: number, limits: ReadLimits, ctx: DecodeContext): Chunks {
  switch (typeByte) {
    case 4: {
      const n = await readOne(src, () => readLength(src), ctx, 'hash size');
      let fields: Buffer[] = [];
      let values: Buffer[] = [];
      for await (const _ of readElements(src, n, () => {
        const f = readString(src, limits);
        const v = readString(src, limits);
        fields.push(f);
        values.push(v);
        return f.length + v.length + 16;
      }, ctx, 'hash field')) {
        yield { t: 'hash', fields, values };
        fields = [];
        values = [];
      }
      return;
    }
    case 9:
    case 13:
    case 16: {
      const { blob, offset, inflated } = await readBlobValue(src, limits, ctx, 'hash blob');
      const bc = blobCtx(src, offset, ctx, inflated);
      const flat = typeByte === 9 ? zipmapPairs(blob, bc) : typeByte === 13 ? ziplistEntries(blob, bc) : listpackEntries(blob, bc);
      pairsOf(flat, src, offset, ctx, 'hash blob');
      for (let i = 0; i < flat.length; i += 2 * BATCH_ELEMENTS) {
        const fields: Buffer[] = [];
        const values: Buffer[] = [];
        for (let j = i; j < Math.min(flat.length, i + 2 * BATCH_ELEMENTS); j += 2) {
          fields.push(flat[j]!);
          values.push(flat[j + 1]!);
        }
        yield { t: 'hash', fields, values };
      }
      return;
    }
    case 23:
    case 25: {
      if (typeByte === 25) await readOne(src, () => src.skip(8), ctx, 'hash min expiry');
      const { blob, offset, inflated } = await readBlobValue(src, limits, ctx, 'hash listpack with field TTLs');
      const flat = listpackEntries(blob, blobCtx(src, offset, ctx, inflated));
      if (flat.length % 3 !== 0) throw new FerryError('RDB_CORRUPT', `hash listpack with TTLs holds ${flat.length} entries, not triplets`, { file: src.name, offset, key: ctx.key });
      for (let i = 0; i < flat.length; i += 3 * BATCH_ELEMENTS) {
        const fields: Buffer[] = [];
        const values: Buffer[] = [];
        const expireAts: (number | null)[] = [];
        for (let j = i; j < Math.min(flat.length, i + 3 * BATCH_ELEMENTS); j += 3) {
          fields.push(flat[j]!);
          values.push(flat[j + 1]!);
          const ttl = Number(flat[j + 2]!.toString('latin1'));
          if (!Number.isSafeInteger(ttl) || ttl < 0) throw new FerryError('RDB_CORRUPT', `invalid field TTL ${flat[j + 2]!.toString('latin1')}`, { file: src.name, offset, key: ctx.key });
          expireAts.push(ttl === 0 ? null : ttl);
        }
        yield hashChunk(fields, values, expireAts);
      }
      return;
    }
    case 22:
    case 24: {
      const valkey = typeByte === 22 && ctx.magic === 'VALKEY';
      const minExpire = typeByte === 24 ? await readOne(src, () => src.i64leNumber(), ctx, 'hash min expiry') : 0;
      const n = await readOne(src, () => readLength(src), ctx, 'hash size');
      let fields: Buffer[] = [];
      let values: Buffer[] = [];
      let expireAts: (number | null)[] = [];
      for await (const _ of readElements(src, n, () => {
        let f: Buffer;
        let v: Buffer;
        let at: number | null;
        if (valkey) {
          f = readString(src, limits);
          v = readString(src, limits);
          const e = src.i64leNumber();
          at = e === -1 ? null : e;
        } else {
          const ttl = Number(readLengthBig(src));
          f = readString(src, limits);
          v = readString(src, limits);
          at = ttl === 0 ? null : typeByte === 24 ? ttl + minExpire - 1 : ttl;
        }
        fields.push(f);
        values.push(v);
        expireAts.push(at);
        return f.length + v.length + 24;
      }, ctx, 'hash field')) {
        yield hashChunk(fields, values, expireAts);
        fields = [];
        values = [];
        expireAts = [];
      }
      return;
    }
  }
}
