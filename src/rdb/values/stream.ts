/**
 * Stream values (types 15, 19, 21, 26; formats reference §1.10). Entries come from listpack nodes
 * keyed by a 16-byte big-endian master ID; each node starts with a master entry listing the shared
 * field names. Deleted entries are skipped. The metadata (length, last/first/max-deleted IDs,
 * consumer groups with PELs and consumers) follows the nodes and is yielded last.
 */
import type { ByteSource } from '../../io/byte-source.js';
import type { StreamConsumer, StreamGroup, StreamId, StreamMeta, StreamPendingEntry, ValueChunk } from '../../entry/entry.js';
import { FerryError } from '../../errors/ferry-error.js';
import { readLength, readLengthBig, readString, readBlob, type ReadLimits } from '../primitives.js';
import { listpackValues } from '../blobs/index.js';
import { readElements, readOne, type DecodeContext } from './batches.js';
import { readIdmp } from './stream-idmp.js';

const FLAG_DELETED = 1;
const FLAG_SAMEFIELDS = 2;

function rawId(b: Buffer, at = 0): StreamId {
  return { ms: b.readBigUInt64BE(at), seq: b.readBigUInt64BE(at + 8) };
}

export async function* decodeStream(src: ByteSource, typeByte: number, limits: ReadLimits, ctx: DecodeContext): AsyncGenerator<ValueChunk> {
  const nodes = await readOne(src, () => readLength(src), ctx, 'stream node count');
  let ids: StreamId[] = [];
  let fields: Buffer[][] = [];
  for await (const _ of readElements(src, nodes, () => {
    const keyAt = src.offset;
    const nodeKey = readString(src, limits);
    if (nodeKey.length !== 16) throw new FerryError('RDB_CORRUPT', `stream node key of ${nodeKey.length} bytes, expected 16`, { file: src.name, offset: keyAt, key: ctx.key });
    const { blob: lp, offset: lpAt, inflated } = readBlob(src, limits);
    decodeNode(rawId(nodeKey), listpackValues(lp, { file: src.name, offset: lpAt, key: ctx.key, inflated }), ids, fields, src, lpAt, ctx);
    return lp.length;
  }, ctx, 'stream node')) {
    if (ids.length) yield { t: 'stream-entries', ids, fields };
    ids = [];
    fields = [];
  }
  const meta = await readOne(src, () => readMeta(src, typeByte, limits), ctx, 'stream metadata');
  yield { t: 'stream-meta', meta };
}

function num(v: Buffer | bigint, src: ByteSource, at: number, ctx: DecodeContext): bigint {
  if (typeof v === 'bigint') return v;
  const s = v.toString('latin1');
  if (!/^-?\d+$/.test(s)) throw new FerryError('RDB_CORRUPT', `stream listpack holds ${JSON.stringify(s)} where a number belongs`, { file: src.name, offset: at, key: ctx.key });
  return BigInt(s);
}

function buf(v: Buffer | bigint): Buffer {
  return typeof v === 'bigint' ? Buffer.from(v.toString()) : v;
}

function decodeNode(master: StreamId, lp: (Buffer | bigint)[], ids: StreamId[], fields: Buffer[][], src: ByteSource, at: number, ctx: DecodeContext): void {
  const bad = (why: string) => new FerryError('RDB_CORRUPT', `stream listpack node: ${why}`, { file: src.name, offset: at, key: ctx.key });
  if (lp.length < 4) throw bad('shorter than its master entry');
  let i = 0;
  const count = Number(num(lp[i++]!, src, at, ctx));
  const deleted = Number(num(lp[i++]!, src, at, ctx));
  const nMaster = Number(num(lp[i++]!, src, at, ctx));
  if (nMaster < 0 || i + nMaster + 1 > lp.length) throw bad(`master entry claims ${nMaster} fields`);
  const masterFields = lp.slice(i, i + nMaster).map(buf);
  i += nMaster + 1; // the master entry's terminating 0
  let seen = 0;
  while (i < lp.length) {
    const flags = Number(num(lp[i++]!, src, at, ctx));
    if (i + 2 > lp.length) throw bad('entry cut short');
    const ms = master.ms + num(lp[i++]!, src, at, ctx);
    const seq = master.seq + num(lp[i++]!, src, at, ctx);
    let entryFields: Buffer[];
    if (flags & FLAG_SAMEFIELDS) {
      if (i + nMaster > lp.length) throw bad('entry values cut short');
      entryFields = new Array<Buffer>(nMaster * 2);
      for (let f = 0; f < nMaster; f++) {
        entryFields[2 * f] = masterFields[f]!;
        entryFields[2 * f + 1] = buf(lp[i++]!);
      }
    } else {
      const n = Number(num(lp[i++]!, src, at, ctx));
      if (n < 0 || i + 2 * n > lp.length) throw bad(`entry claims ${n} fields`);
      entryFields = new Array<Buffer>(n * 2);
      for (let f = 0; f < 2 * n; f++) entryFields[f] = buf(lp[i++]!);
    }
    i++; // lp-count
    if (i > lp.length) throw bad('entry without its count');
    seen++;
    if (flags & FLAG_DELETED) continue;
    ids.push({ ms, seq });
    fields.push(entryFields);
  }
  if (seen !== count + deleted) throw bad(`holds ${seen} entries, header says ${count} live + ${deleted} deleted`);
}

function readId(src: ByteSource): StreamId {
  const ms = readLengthBig(src);
  const seq = readLengthBig(src);
  return { ms, seq };
}

function readMeta(src: ByteSource, typeByte: number, limits: ReadLimits): StreamMeta {
  const length = readLength(src);
  const lastId = readId(src);
  let firstId: StreamId | null = null;
  let maxDeletedId: StreamId | null = null;
  let entriesAdded: number | null = null;
  if (typeByte >= 19) {
    firstId = readId(src);
    maxDeletedId = readId(src);
    entriesAdded = readLength(src);
  }
  const nGroups = readLength(src);
  const groups: StreamGroup[] = [];
  for (let g = 0; g < nGroups; g++) {
    const name = readString(src, limits);
    const gLast = readId(src);
    const entriesRead = typeByte >= 19 ? readLengthBig(src) : null;
    const nPel = readLength(src);
    const pending: StreamPendingEntry[] = [];
    for (let p = 0; p < nPel; p++) {
      const id = rawId(src.bytes(16));
      const deliveryTime = src.i64leNumber();
      const deliveryCount = readLength(src);
      pending.push({ id, deliveryTime, deliveryCount });
    }
    const nConsumers = readLength(src);
    const consumers: StreamConsumer[] = [];
    for (let c = 0; c < nConsumers; c++) {
      const cname = readString(src, limits);
      const seenTime = src.i64leNumber();
      const activeTime = typeByte >= 21 ? src.i64leNumber() : null;
      const n = readLength(src);
      const cp: StreamId[] = [];
      for (let k = 0; k < n; k++) cp.push(rawId(src.bytes(16)));
      consumers.push({ name: cname, seenTime, activeTime, pending: cp });
    }
    // An unknown entries-read (-1 in the server) is saved as 2^64-1: keep it as unknown.
    const known = entriesRead !== null && entriesRead <= BigInt(Number.MAX_SAFE_INTEGER);
    groups.push({ name, lastId: gLast, entriesRead: known ? Number(entriesRead) : null, pending, consumers });
  }
  if (typeByte >= 26) readIdmp(src, limits);
  return { length, lastId, firstId, maxDeletedId, entriesAdded, groups };
}
