/**
 * The streaming RDB parser: bytes in, batches of RdbRecords out (formats reference §1).
 *
 * Each record is parsed synchronously from the buffered input; when the input runs short the parser
 * rewinds to the record's start, hands over the batch so far, and waits for more bytes (see
 * io/byte-source.ts). A key whose value fits in `inlineLimit` is emitted with its raw bytes (the
 * RESTORE fast path, no decoding). A bigger value is emitted as a streamed Entry: the consumer reads
 * its chunks straight from the input, so no big key is ever held whole.
 */
import { SHORT, type ByteSource } from '../io/byte-source.js';
import { LeasePool } from '../io/buffer-lease.js';
import { FerryError } from '../errors/ferry-error.js';
import { KEY_RUN_STRIDE, type KeyRun, type RdbRecord, type StringRun } from '../entry/entry.js';
import { Crc64 } from './crc64.js';
import { OP, typeInfo, stringEncoding, MAX_REDIS_RDB, VALKEY_RDB_VERSIONS } from './constants.js';
import { readLength, readLengthBig, readString, skipString, skipModuleOpcodes, moduleIdToName, STR_INT, STR_LZF, DEFAULT_LIMITS, type ReadLimits } from './primitives.js';
import { skipValue } from './skip-value.js';
import { plainLengthAt, plainLengthEnd } from './blobs/rdb-string.js';
import { RdbEntry } from './rdb-entry.js';
import { decodeValue } from './values/decode.js';
import { skipStreamedValue } from './values/skip-streamed.js';

export interface RdbParseOptions {
  /** Name for error messages (defaults to the ByteSource's name). */
  name?: string;
  /** Verify the CRC-64 trailer (default) or ignore a mismatch. */
  checksum?: 'verify' | 'ignore';
  /** Largest value emitted with raw bytes; bigger ones are streamed. Default 4 MiB (measured: keeps peak RSS of inspect under 150 MB on a 395 MB mixed RDB, where 8 MiB reached 167 MB). */
  inlineLimit?: number;
  /** Largest single string/blob materialized. Default 512 MiB (Redis's proto-max-bulk-len). */
  maxString?: number;
  /** Input size when known: lengths running past it fail at once. */
  size?: number | null;
  /**
   * The consumer is done with a batch's records when it asks for the next batch, and with a
   * streamed value's chunk when it asks for the next chunk, except for what it pinned (the RESP
   * encoder pins the leased buffers it references: io/buffer-lease.ts). The parser may then buffer
   * big values in reused buffers (ByteSource.leaseBigFills) and hand out leased chunks. Keys are
   * copied out of such buffers, so an entry's key stays valid for as long as it is held.
   */
  leased?: boolean;
  /**
   * Emit small plain strings (no expiry, hint or key metadata; value of at most this many bytes with
   * its length header) as `strings` runs of byte ranges instead of an Entry each: the consumer must
   * handle StringRun records (the import writer batches them into MSETs). 0 or absent: never.
   */
  stringRuns?: number;
  /**
   * Emit keys of the simple RESTORE-able forms (KEY_RUN_TYPES; no hint or key metadata; an expiry
   * of at most 2^53 ms; a value of at most `inlineLimit` wholly in the buffer) as `keys` runs of byte
   * ranges instead of an Entry each: the consumer must handle KeyRun records (the import writer
   * encodes them as batches of RESTOREs in one native call). Plain strings with no expiry are left to
   * string runs or entries (the writer sends them by MSET).
   */
  keyRuns?: boolean;
}

/**
 * Type bytes a key run may hold: every type whose RESTORE form the writer chooses from the type byte
 * alone. Not modules (6, 7: the writer names the module per key) nor hashes with field TTLs (22-25:
 * the target's hash field expiry decides). 1 = yes.
 */
const KEY_RUN_TYPES = [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 26];

/** KEY_RUN_TYPES as a table by type byte, of the types `magic` defines (1 = may join a key run). */
function keyRunTable(magic: 'REDIS' | 'VALKEY'): Uint8Array {
  const t = new Uint8Array(256);
  for (const b of KEY_RUN_TYPES) if (typeInfo(magic, b)) t[b] = 1;
  return t;
}

export const DEFAULT_INLINE_LIMIT = 4 * 1024 * 1024;
const MAX_BATCH = 4096;
/** scanKeys's answer when the batch holds MAX_BATCH keys. */
const BATCH_FULL = -1;
/** The lowest opcode (242): type bytes are below it. */
const OP_VALKEY_UPDATE = OP.VALKEY_UPDATE;
/** The opcodes that only set state for the next key, which the hot loop reads itself (scanKeys). */
const PER_KEY_EXPIRE_MS = 1;
const PER_KEY_IDLE = 2;
const PER_KEY_FREQ = 3;
const PER_KEY_OP = new Uint8Array(256);
PER_KEY_OP[OP.EXPIRETIME_MS] = PER_KEY_EXPIRE_MS;
PER_KEY_OP[OP.IDLE] = PER_KEY_IDLE;
PER_KEY_OP[OP.FREQ] = PER_KEY_FREQ;

export async function* parseRdb(src: ByteSource, opts: RdbParseOptions = {}): AsyncGenerator<RdbRecord[]> {
  if (!opts.leased) return yield* parseRecords(src, opts);
  src.leaseBigFills(bigFillPool(opts.inlineLimit ?? DEFAULT_INLINE_LIMIT));
  try {
    return yield* parseRecords(src, opts);
  } finally {
    // The consumer is done with the last batch. The buffer still in use is not retired: whoever
    // reads on (an AOF after its RDB preamble) keeps it, and then the GC has it.
    src.bigFillsPaused = false;
    src.leaseBigFills(null);
    src.releaseDropped();
  }
}

/** Pools of big-fill buffers, one per inline limit: room for a value at the limit plus a few chunks. */
const BIG_FILL_POOLS = new Map<number, LeasePool>();
function bigFillPool(inlineLimit: number): LeasePool {
  let p = BIG_FILL_POOLS.get(inlineLimit);
  if (!p) BIG_FILL_POOLS.set(inlineLimit, (p = new LeasePool(inlineLimit + (1 << 20), 2)));
  return p;
}

async function* parseRecords(src: ByteSource, opts: RdbParseOptions): AsyncGenerator<RdbRecord[]> {
  const name = opts.name ?? src.name;
  const leased = opts.leased ?? false;
  /** Keys (and key metadata) outlive their batch (error reports, cluster re-routing): copied out of a leased buffer. */
  const own = (b: Buffer): Buffer => (leased && src.leased ? Buffer.from(b) : b);
  const inlineLimit = opts.inlineLimit ?? DEFAULT_INLINE_LIMIT;
  const limits: ReadLimits = { maxString: opts.maxString ?? DEFAULT_LIMITS.maxString, inputSize: opts.size ?? null };
  const crc = new Crc64();
  const rdbStart = src.offset;
  // A hint left by another parse (one that ended in an error, say) must not size this one's reads.
  SHORT.hint = 0;
  src.commit();
  src.setOnRelease((b, s, e) => crc.update(b, s, e));

  // ---- header: "REDIS" + 4 digits, or "VALKEY" + 3 digits
  if (!(await src.fill(9))) {
    if (src.available >= 5 && !src.buf.subarray(src.pos, src.pos + 5).equals(Buffer.from('REDIS')) && !src.buf.subarray(src.pos, src.pos + 6).equals(Buffer.from('VALKEY'))) {
      throw new FerryError('RDB_BAD_MAGIC', 'not an RDB file: it does not start with REDIS or VALKEY', { file: name, offset: rdbStart });
    }
    throw new FerryError('RDB_TRUNCATED', `input ended inside the 9-byte RDB header (${src.available} bytes)`, { file: name, offset: rdbStart });
  }
  const head = src.bytes(9).toString('latin1');
  let magic: 'REDIS' | 'VALKEY';
  let version: number;
  if (/^REDIS\d{4}$/.test(head)) {
    magic = 'REDIS';
    version = Number(head.slice(5));
    if (version < 1 || version > MAX_REDIS_RDB) {
      throw new FerryError('RDB_UNSUPPORTED_VERSION', `RDB version ${version} under a REDIS header is not one Ferry reads (1..${MAX_REDIS_RDB}; Valkey 9+ files start with VALKEY)`, { file: name, offset: rdbStart + 5 });
    }
  } else if (/^VALKEY\d{3}$/.test(head)) {
    magic = 'VALKEY';
    version = Number(head.slice(6));
    if (!VALKEY_RDB_VERSIONS.includes(version)) {
      throw new FerryError('RDB_UNSUPPORTED_VERSION', `RDB version ${version} under a VALKEY header is not one Ferry reads (${VALKEY_RDB_VERSIONS.join(', ')})`, { file: name, offset: rdbStart + 6 });
    }
  } else {
    throw new FerryError('RDB_BAD_MAGIC', `not an RDB file: header ${JSON.stringify(head)} is neither REDIS#### nor VALKEY###`, { file: name, offset: rdbStart });
  }
  const source = { magic, rdbVersion: version };
  let batch: RdbRecord[] = [{ kind: 'header', magic, version }];
  /** Keys in `batch` (a run holds many): the batch is handed over at MAX_BATCH keys. */
  let batchKeys = 0;
  const runMax = opts.stringRuns ?? 0;
  /** The run being extended (until the buffer or the db changes, or the batch ends). */
  let run: StringRun | null = null;
  /**
   * Key ranges of the batch's runs (StringRun.pos): room for a whole batch, reused for the next one.
   * Int32, not Float64: positions within a buffer fit, and a Float64Array's elements passed on to the
   * encoder were boxed (a heap number each: ~70 MB of a mixed import's allocation).
   */
  const runPos = runMax > 0 ? new Int32Array(5 * MAX_BATCH) : new Int32Array(0);
  let runKeys = 0;
  const keyRuns = opts.keyRuns ?? false;
  /** The key run being extended, and its batch's key ranges and expiries (reused like runPos). */
  const keyTypes = keyRunTable(magic);
  let krun: KeyRun | null = null;
  const keyPos = keyRuns ? new Int32Array(KEY_RUN_STRIDE * MAX_BATCH) : new Int32Array(0);
  const keyExp = keyRuns ? new Float64Array(MAX_BATCH) : new Float64Array(0);
  let keyRunKeys = 0;

  // ---- per-key state set by key-specific opcodes, reset after each key
  let db = 0;
  let expireAt: number | null = null;
  let idle: number | null = null;
  let freq: number | null = null;
  let keyMeta: Buffer | null = null;
  let keyStart = -1;
  // What is being read, for errors and for the streaming decision.
  let curType = -1;
  // Typed by a cast: it is set inside scanKeys, and a plain `: Buffer | null = null` would have the
  // generator's own code narrow it to null for good.
  let curKey = null as Buffer | null;
  let curValueOffset = -1;
  let curRecStart = -1;
  let emptyKeysSkipped = 0;

  /**
   * The stringRuns fast path, after a type-0 byte with no expiry/hint/metadata pending: when key and
   * value are plain-length strings wholly in the buffer and the value is small, records their ranges
   * in the current run and returns true; else returns false with nothing consumed (the general path
   * then reads the record, with its checks and errors). Never throws.
   */
  const tryRun = (recStart: number): boolean => {
    const b = src.buf;
    const klen = plainLengthAt(b, src.pos);
    if (klen < 0 || klen > limits.maxString) return false;
    const ks = plainLengthEnd;
    const ke = ks + klen;
    const len = plainLengthAt(b, ke);
    if (len < 0) return false;
    const p = plainLengthEnd;
    const ve = p + len;
    if (ve > b.length || ve - ke > runMax || len > limits.maxString) return false;
    if (run === null || run.buf !== b || run.db !== db) {
      run = { kind: 'strings', db, buf: b, pos: runPos, from: runKeys, to: runKeys, source, file: name, limits, base: src.offset - src.pos };
      batch.push(run);
    }
    const k = 5 * runKeys++;
    runPos[k] = ks;
    runPos[k + 1] = ke;
    runPos[k + 2] = p;
    runPos[k + 3] = ve;
    runPos[k + 4] = recStart - run.base;
    run.to = runKeys;
    src.pos = ve;
    return true;
  };

  /**
   * The keyRuns fast path, after a type byte of KEY_RUN_TYPES with no hint or metadata pending: when
   * the key is a plain-length string and the value is wholly in the buffer, small and not empty,
   * records their ranges in the current key run and returns true; else returns false with nothing
   * consumed (the general path then reads the record, with its checks and errors).
   */
  const tryKeyRun = (recStart: number, op: number): boolean => {
    const b = src.buf;
    const at = src.pos;
    const klen = plainLengthAt(b, at);
    if (klen < 0 || klen > limits.maxString) return false;
    const ks = plainLengthEnd;
    const ke = ks + klen;
    if (ke > b.length) return false;
    src.pos = ke;
    let empty: boolean;
    try {
      empty = skipValue(src, op, magic, limits).empty;
    } catch {
      // Short or corrupt: the general path reads it again and waits for bytes or names the error.
      src.pos = at;
      return false;
    }
    if (empty || src.pos - ke > inlineLimit) {
      src.pos = at;
      return false;
    }
    if (krun === null || krun.buf !== b || krun.db !== db) {
      krun = { kind: 'keys', db, buf: b, pos: keyPos, exp: keyExp, from: keyRunKeys, to: keyRunKeys, source, file: name, limits, base: src.base };
      batch.push(krun);
    }
    const k = KEY_RUN_STRIDE * keyRunKeys;
    keyPos[k] = ks;
    keyPos[k + 1] = ke;
    keyPos[k + 2] = ke;
    keyPos[k + 3] = src.pos;
    keyPos[k + 4] = (keyStart >= 0 ? keyStart : recStart) - krun.base;
    keyPos[k + 5] = op;
    keyExp[keyRunKeys] = expireAt ?? -1;
    krun.to = ++keyRunKeys;
    return true;
  };

  const resetKeyState = () => {
    expireAt = null;
    idle = null;
    freq = null;
    keyMeta = null;
    keyStart = -1;
  };

  /** Record offset of the opcode scanKeys returned. */
  let opStart = -1;

  /**
   * Reads records while they are keys or the per-key opcodes before one (expiry, LRU/LFU hint): the
   * hot loop of a parse, a plain function so that V8 optimizes it on its own. Returns the first other
   * opcode (its byte read; `opStart` is its offset) for the generator to handle, or BATCH_FULL. Kept
   * out of the generator because an optimized function is thrown away the first time it reaches code
   * it has not run yet: with the rare opcodes, the batch hand-over and the streaming path in the same
   * function, V8 compiled the whole parser four times per import (~170 ms of compiler time, most of it
   * in the first half-second, when the target is waiting for Ferry).
   */
  const scanKeys = (): number => {
    for (;;) {
      src.commit();
      curType = -1;
      curKey = null;
      const recStart = src.offset;
      const op = src.u8();
      if (op >= OP_VALKEY_UPDATE) {
        // A table, not comparisons with OP's properties: optimized code is thrown away the first time
        // it evaluates a comparison it never ran before, and the first SELECTDB or AUX after the
        // parser got hot did exactly that (each case of a switch is one such comparison).
        const k = PER_KEY_OP[op]!;
        if (k === 0) {
          opStart = recStart;
          return op;
        }
        if (k === PER_KEY_EXPIRE_MS) expireAt = src.i64leNumber();
        else if (k === PER_KEY_IDLE) idle = readLength(src);
        else freq = src.u8();
        if (keyStart < 0) keyStart = recStart;
        continue;
      }
      // A small plain string may join the batch's string run (stringRuns); any other key is an entry.
      const plain = idle === null && freq === null && keyMeta === null;
      const inRun = op === 0 && runMax > 0 && expireAt === null && plain && tryRun(recStart);
      // Any other key of a simple RESTORE-able form may join the batch's key run (keyRuns). Its
      // expiry is kept as a double, -1 for none: a negative or unsafe one takes the general path.
      const inKeys = !inRun && keyRuns && plain && keyTypes[op] === 1 && (expireAt === null ? op !== 0 : expireAt >= 0 && expireAt <= Number.MAX_SAFE_INTEGER) && tryKeyRun(recStart, op);
      if (inKeys) resetKeyState();
      if (!inRun && !inKeys) {
        // ---- a key: type byte, key string, value
        const info = typeInfo(magic, op);
        if (!info) {
          throw new FerryError('RDB_UNKNOWN_TYPE', `unknown object type byte ${op} in a ${magic} RDB version ${version}`, { file: name, offset: recStart });
        }
        curType = op;
        curRecStart = recStart;
        const keyAt = src.offset;
        const key = readString(src, limits);
        curKey = key;
        curValueOffset = src.offset;
        const valueStart = src.pos;
        const r = skipValue(src, op, magic, limits);
        const empty = r.empty;
        let encoding = info.encoding;
        if (op === 0) encoding = r.strEncoding === STR_INT ? 'int' : r.strEncoding === STR_LZF ? 'lzf' : 'raw';
        if (src.pos - valueStart > inlineLimit) {
          // Fits in the buffer but is above the inline limit: stream it all the same.
          SHORT.need = 0;
          src.pos = valueStart;
          throw new StreamInstead(keyAt);
        }
        if (empty) {
          emptyKeysSkipped++;
        } else {
          const raw = src.buf.subarray(valueStart, src.pos);
          const e = new RdbEntry(db, own(key), op, info.type, encoding, expireAt, raw.length, raw, keyStart >= 0 ? keyStart : recStart, curValueOffset, source, name, limits);
          e.idle = idle;
          e.freq = freq;
          e.keyMeta = keyMeta === null ? null : own(keyMeta);
          if (op === 7) e.module = moduleIdToName(readModuleId(raw));
          batch.push(e);
        }
        resetKeyState();
      }
      if (++batchKeys >= MAX_BATCH) return BATCH_FULL;
    }
  };

  for (;;) {
    try {
      for (;;) {
        const op = scanKeys();
        if (op === BATCH_FULL) {
          src.commit();
          yield batch;
          batch = [];
          batchKeys = 0;
          run = null;
          runKeys = 0;
          krun = null;
          keyRunKeys = 0;
          src.releaseDropped();
          continue;
        }
        const recStart = opStart;
        switch (op) {
          case OP.EXPIRETIME:
            expireAt = src.i32le() * 1000;
            if (keyStart < 0) keyStart = recStart;
            break;
          case OP.SELECTDB:
            db = readLength(src);
            break;
          case OP.RESIZEDB: {
            const size = readLength(src);
            const expires = readLength(src);
            batch.push({ kind: 'resizedb', db, size, expires });
            break;
          }
          case OP.AUX: {
            const k = readString(src, limits);
            const v = readString(src, limits);
            batch.push({ kind: 'aux', key: k, value: v, offset: recStart });
            break;
          }
          case OP.FUNCTION2:
            batch.push({ kind: 'function', code: readString(src, limits), offset: recStart });
            break;
          case OP.FUNCTION_PRE_GA:
            throw new FerryError('RDB_UNKNOWN_TYPE', 'function saved in the Redis 7.0 release-candidate format (opcode 246), which no released server loads; re-save the data with Redis 7.0 GA or later', { file: name, offset: recStart });
          case OP.MODULE_AUX: {
            const start = src.pos;
            const id = readLengthBig(src);
            const whenOp = readLength(src);
            if (whenOp !== 2) throw src.corrupt(`module aux 'when' opcode is ${whenOp}, expected 2`, { offset: recStart });
            const when = readLength(src);
            skipModuleOpcodes(src, limits);
            batch.push({ kind: 'module-aux', moduleName: moduleIdToName(id).name, when, raw: src.buf.subarray(start, src.pos), offset: recStart });
            break;
          }
          case OP.SLOT_INFO:
            readLength(src);
            readLength(src);
            readLength(src);
            break;
          case OP.KEY_META_OR_SLOT_IMPORT:
            if (magic === 'VALKEY') {
              skipString(src, limits);
              const n = readLength(src);
              for (let i = 0; i < n; i++) {
                readLength(src);
                readLength(src);
              }
            } else {
              const start = src.pos;
              const classes = readLength(src);
              for (let i = 0; i < classes; i++) {
                src.skip(4);
                skipModuleOpcodes(src, limits);
              }
              keyMeta = src.buf.subarray(start, src.pos);
              if (keyStart < 0) keyStart = recStart;
            }
            break;
          case OP.VALKEY_UPDATE:
            throw new FerryError('RDB_UNKNOWN_TYPE', 'opcode 242 (Valkey forkless-save UPDATE) appears only in replication streams, not in backup files', { file: name, offset: recStart });
          case OP.EOF: {
            src.releaseToPos();
            src.setOnRelease(undefined);
            let stored: bigint | null = null;
            if (version >= 5) {
              if (!(await src.fill(8))) {
                throw new FerryError('RDB_TRUNCATED', 'input ended inside the 8-byte CRC-64 after EOF', { file: name, offset: src.offset });
              }
              stored = src.u64le();
            }
            const computed = crc.value();
            let ok: boolean | null = null;
            if (stored !== null && stored !== 0n) {
              ok = stored === computed;
              if (!ok && opts.checksum !== 'ignore') {
                throw new FerryError('RDB_CHECKSUM_MISMATCH', `CRC-64 mismatch: file says ${stored.toString(16)}, content gives ${computed.toString(16)} (use the option to ignore checksums to load it anyway)`, { file: name, offset: src.offset - 8 });
              }
            }
            src.commit();
            const end: RdbRecord = { kind: 'end', bytes: src.offset - rdbStart, checksum: stored, checksumOk: ok, emptyKeysSkipped };
            batch.push(end);
            yield batch;
            return;
          }
          default:
            throw new FerryError('RDB_UNKNOWN_TYPE', `unknown opcode ${op}`, { file: name, offset: recStart });
        }
      }
    } catch (err) {
      let streamInstead = err instanceof StreamInstead;
      if (!streamInstead && err !== SHORT) throw err;
      const at = src.offset;
      const need = at - src.committedOffset + SHORT.need;
      // A key whose value will not fit the inline limit is streamed: decided as soon as the missing
      // bytes are known to be too many, or the buffer already holds the limit and it was not enough.
      if (!streamInstead && curKey !== null && (need > inlineLimit || at - src.committedOffset >= inlineLimit)) streamInstead = true;
      if (batch.length) {
        yield batch;
        batch = [];
        src.releaseDropped();
      }
      batchKeys = 0;
      run = null;
      runKeys = 0;
      krun = null;
      keyRunKeys = 0;
      if (streamInstead && curKey !== null) {
        // ---- a big value: emitted as a stream read straight from the input
        SHORT.hint = 0;
        const key = curKey;
        const typeByte = curType;
        const info = typeInfo(magic, typeByte)!;
        src.pos = curValueOffset - src.base;
        src.commit();
        let encoding = info.encoding;
        if (typeByte === 0 && src.available > 0) encoding = stringEncoding(src.buf[src.pos]);
        const e = new RdbEntry(db, own(key), typeByte, info.type, encoding, expireAt, 0, null, keyStart >= 0 ? keyStart : curRecStart, curValueOffset, source, name, limits);
        e.idle = idle;
        e.freq = freq;
        e.keyMeta = keyMeta === null ? null : own(keyMeta);
        const ctx = { key: key.toString('latin1'), magic, rdbVersion: version, leased: false };
        const gen = decodeValue(src, typeByte, limits, ctx);
        e.setStream(gen, ctx);
        resetKeyState();
        // While the value streams its consumer may hold element views across chunks (a rewrite batch
        // being assembled): no new leases, and the ones left behind are retired after the value.
        src.bigFillsPaused = true;
        yield [e];
        // Whatever the consumer left unread is read (and dropped) here, so the parser stays in step:
        // a value nobody asked for is skipped without decoding; a half-read one is read to its end.
        if (!e.streamTaken && typeByte !== 7) {
          await skipStreamedValue(src, typeByte, limits, { key: key.toString('latin1'), magic, rdbVersion: version });
        } else {
          for (;;) {
            const r = await gen.next();
            if (r.done) break;
            if (e.type === 'module' && r.value.t === 'module' && !e.module && r.value.data.length >= 9) e.module = moduleIdToName(readModuleId(r.value.data));
          }
        }
        e.rawSize = src.offset - curValueOffset;
        src.bigFillsPaused = false;
        continue;
      }
      // skipValue's estimate of a collection's rest (SHORT.hint) sizes the next read; it decides nothing.
      const hinted = SHORT.hint > 0 ? at - src.committedOffset + SHORT.hint : 0;
      SHORT.hint = 0;
      src.rewind();
      let want = Math.max(src.available * 2, need, hinted, 64 * 1024);
      if (curKey !== null) want = Math.min(want, inlineLimit + 64 * 1024);
      if (!(await src.fill(want)) && src.available < need) {
        const what = curKey !== null ? `the value of key ${JSON.stringify(curKey.toString('latin1'))} (type ${curType})` : curType >= 0 ? `a key of type ${curType}` : 'a record';
        throw new FerryError('RDB_TRUNCATED', `input ended inside ${what}: ${need} bytes needed, ${src.available} left`, { file: name, offset: at, key: curKey?.toString('latin1') });
      }
    }
  }
}

/** Internal signal: the current key's value is above the inline limit. */
class StreamInstead {
  constructor(readonly keyAt: number) {}
}

/** Reads the 64-bit module id at the start of a MODULE_2 value (it is a length-encoded uint64). */
function readModuleId(raw: Buffer): bigint {
  const b = raw[0]!;
  if (b === 0x81) return raw.readBigUInt64BE(1);
  if (b === 0x80) return BigInt(raw.readUInt32BE(1));
  if (b >> 6 === 1) return BigInt(((b & 0x3f) << 8) | raw[1]!);
  return BigInt(b & 0x3f);
}
