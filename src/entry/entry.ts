/**
 * The one value type that flows from parsers (RDB, AOF) to writers.
 *
 * A key read from an RDB becomes an `Entry`. Small values are held as the raw bytes that stand in
 * the file (`raw`), so a writer can build a RESTORE payload without re-encoding; the decoded view
 * is computed on demand by `rdb/decode.ts`. Values above the parser's inline limit are never held
 * whole: `raw` is null and `chunks()` yields the decoded value piece by piece, pulled from the input
 * stream as the consumer asks (the parser waits until the chunks are consumed).
 */
import type { RespArgs } from '../resp/resp-args.js';

/** Redis data types as `TYPE` reports them (module values are `module`). */
export type ValueType = 'string' | 'list' | 'set' | 'zset' | 'hash' | 'stream' | 'module';

export interface Entry {
  /** Database number in the source (SELECTDB). */
  db: number;
  key: Buffer;
  /** RDB object type byte as in the file (0..26). Meaning depends on `source.magic` for 22/23. */
  typeByte: number;
  type: ValueType;
  /** Encoding name, e.g. `raw`, `int`, `lzf`, `listpack`, `quicklist2`, `intset`, `ziplist`, `hashtable`. */
  encoding: string;
  /** Absolute expiry in unix ms, or null when the key has none. */
  expireAt: number | null;
  /** LRU idle seconds (IDLE opcode) when present. */
  idle: number | null;
  /** LFU counter (FREQ opcode) when present. */
  freq: number | null;
  /** RDB13 KEY_META block (raw, opcode byte excluded) when present; it precedes the type in DUMP payloads. */
  keyMeta: Buffer | null;
  /** Module type name (9 chars) and encoding version, for MODULE_2 values. */
  module: { name: string; encver: number; id: bigint } | null;
  /** Size of the serialized value in bytes (type byte excluded). */
  rawSize: number;
  /** The value bytes exactly as in the file, when held inline; null when streamed. */
  raw: Buffer | null;
  /** Byte offset in the input where this key's record starts (first key-specific opcode). */
  offset: number;
  /** Format facts about the file the entry came from. */
  source: SourceFormat;
  /**
   * Decoded value, in chunks. For inline values this decodes `raw`; for streamed values it reads
   * from the input and must be consumed fully before the parser can go on.
   */
  chunks(opts?: ChunkOptions): AsyncIterable<ValueChunk>;
}

export interface ChunkOptions {
  /**
   * The consumer is done with each chunk's bytes when it asks for the next one, unless it pinned
   * their lease (io/buffer-lease.ts; the RESP encoder pins what it references). The decoder may
   * then hand out pooled buffers that it reuses (today: a streamed LZF string's 1 MiB chunks).
   */
  leased?: boolean;
  /**
   * The consumer writes list elements as RESP arguments: a quicklist's listpack nodes may then come
   * as `packed` runs already encoded (blobs/listpack.ts listpackResp) instead of a Buffer each.
   */
  packedLists?: boolean;
}

export interface SourceFormat {
  magic: 'REDIS' | 'VALKEY';
  rdbVersion: number;
}

export interface StreamId {
  ms: bigint;
  seq: bigint;
}

export interface StreamPendingEntry {
  id: StreamId;
  deliveryTime: number;
  deliveryCount: number;
}

export interface StreamConsumer {
  name: Buffer;
  seenTime: number;
  activeTime: number | null;
  pending: StreamId[];
}

export interface StreamGroup {
  name: Buffer;
  lastId: StreamId;
  entriesRead: number | null;
  pending: StreamPendingEntry[];
  consumers: StreamConsumer[];
}

export interface StreamMeta {
  length: number;
  lastId: StreamId;
  firstId: StreamId | null;
  maxDeletedId: StreamId | null;
  entriesAdded: number | null;
  groups: StreamGroup[];
}

/**
 * One piece of a decoded value. A value's chunks are all of one kind matching `Entry.type`, except
 * streams, which yield `stream-entries` chunks and then exactly one `stream-meta` chunk.
 */
export type ValueChunk =
  /**
   * Successive pieces of a string; their concatenation is the value. `total`, when the decoder knows
   * it up front (it always does for RDB strings), is the whole value's length: a writer can size the
   * target's string once instead of growing it piece by piece.
   */
  | { t: 'string'; data: Buffer; total?: number }
  /**
   * List elements, head to tail: in `items`, or, when the consumer asked for packed lists
   * (ChunkOptions.packedLists), in `packed` as RESP-encoded runs (then `items` is empty).
   */
  | { t: 'list'; items: Buffer[]; packed?: RespArgs[] }
  | { t: 'set'; members: Buffer[] }
  /** Scores are IEEE doubles (may be ±Infinity). */
  | { t: 'zset'; members: Buffer[]; scores: number[] }
  /** Field TTLs are absolute unix ms, or null; `expireAts` is omitted when no field has one. */
  | { t: 'hash'; fields: Buffer[]; values: Buffer[]; expireAts?: (number | null)[] }
  /** Live (not deleted) entries in ID order; `fields` alternates field, value. */
  | { t: 'stream-entries'; ids: StreamId[]; fields: Buffer[][] }
  | { t: 'stream-meta'; meta: StreamMeta }
  /** Opaque module value bytes (only replayable with RESTORE on a target with the module). */
  | { t: 'module'; data: Buffer };

/**
 * Small plain strings of one db, with no expiry, LRU/LFU hint or key metadata, as byte ranges of one
 * input buffer instead of an Entry each (RdbParseOptions.stringRuns: only for a consumer that handles
 * them, the import writer). A run holds every such key of its batch that lies in `buf` (other records
 * of the batch may come between them in the file: keys are distinct, so their order does not
 * matter). Keys `from` to `to` - 1, five numbers each in `pos` (shared by the batch's runs): key
 * start and end, value start and end (the value's bytes, after its RDB length header, which starts
 * at the key's end), and the start of the key's record (its input offset is `base` plus this), all
 * positions in `buf`. Valid while the batch is:
 * the parser reuses `pos` for the next one.
 */
export interface StringRun extends InputRun {
  kind: 'strings';
}

/** What string and key runs share: keys `from` to `to` - 1 of one db, as byte ranges of `buf`. */
interface InputRun {
  db: number;
  buf: Buffer;
  pos: Int32Array;
  from: number;
  to: number;
  /** For entries made from the run (runEntry, keyRunEntry): the file's format, name and read limits. */
  source: SourceFormat;
  file: string;
  limits: { maxString: number; inputSize: number | null };
  /** Absolute input offset of buf[0]. */
  base: number;
}

/**
 * Keys of one db whose value is small and in one of the forms a RESTORE takes as the file has them
 * (KEY_RUN_TYPES in rdb/parser.ts: strings with an expiry, listpacks, ziplists, intsets, quicklists,
 * hashtable sets, hashes and zsets), with no LRU/LFU hint or key metadata, as byte ranges of one
 * input buffer instead of an Entry each (RdbParseOptions.keyRuns: only for a consumer that handles
 * them, the import writer, which encodes a whole run of RESTOREs in one native call). Like StringRun:
 * keys `from` to `to` - 1 of the batch, in `buf`, valid while the batch is. Per key, six numbers in
 * `pos`: key start and end, value start and end (the value's bytes: a RESTORE payload's middle), the
 * start of its record (expiry opcode included) relative to `base`, and the type byte; and in `exp`
 * its expiry in unix ms, or -1 for none.
 */
export interface KeyRun extends InputRun {
  kind: 'keys';
  exp: Float64Array;
}

/** Numbers per key in KeyRun.pos. */
export const KEY_RUN_STRIDE = 6;

/** Non-key records an RDB holds; writers act on functions and scripts, inspect reports all. */
export type RdbRecord =
  | { kind: 'header'; magic: 'REDIS' | 'VALKEY'; version: number }
  | { kind: 'aux'; key: Buffer; value: Buffer; offset: number }
  | { kind: 'resizedb'; db: number; size: number; expires: number }
  | { kind: 'function'; code: Buffer; offset: number }
  | { kind: 'module-aux'; moduleName: string; when: number; raw: Buffer; offset: number }
  | { kind: 'entry'; entry: Entry }
  | StringRun
  | KeyRun
  /** `emptyKeysSkipped`: empty collections in the file, which Redis refuses to load, dropped by the parser. */
  | { kind: 'end'; bytes: number; checksum: bigint | null; checksumOk: boolean | null; emptyKeysSkipped?: number };

/** A command replayed from an AOF (or any command-shaped source). */
export interface CommandRecord {
  kind: 'command';
  db: number;
  argv: Buffer[];
  offset: number;
  /**
   * The command's exact RESP bytes as read from the file (`*argc ... $len arg`), when the reader
   * has them: a standalone writer sends them as they are instead of re-encoding `argv`.
   */
  raw?: Buffer;
}

/** A MULTI/EXEC block from an AOF (MULTI and EXEC themselves excluded); replayed atomically. */
export interface TransactionRecord {
  kind: 'transaction';
  db: number;
  commands: CommandRecord[];
  offset: number;
}

export function streamIdToString(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}
