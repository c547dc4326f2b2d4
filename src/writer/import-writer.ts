/**
 * Entry -> commands, per entry, and the bookkeeping of what the target acknowledged.
 *
 * Write forms, chosen per entry (issue #3 measured them on Redis 7.0: for 1M 16-byte strings a
 * RESTORE pipe took 1.07 s, SET 0.96 s, MSET x100 0.73 s; on a mixed RDB, RESTORE 2.5 s against
 * 10.4 s element by element):
 * - `mset`: small plain strings with no TTL/LRU/LFU, standalone, conflict replace: batched MSET.
 * - `restore`: RESTORE key ttl payload [REPLACE] ABSTTL from the raw bytes; the default.
 * - `rewrite`: DEL + batched commands (rewrite.ts) when the target cannot take the payload, the value
 *   is streamed (too big to hold), or `--mode rewrite`.
 *
 * Every command carries an `Owner` (the key it writes). A key counts as written only when all its
 * commands were answered without error; the summary is built from those counts, never from what
 * was merely sent.
 */
import { KEY_RUN_STRIDE, type CommandRecord, type Entry, type KeyRun, type StringRun, type TransactionRecord } from '../entry/entry.js';
import { keyRunEntry, runEntry } from '../rdb/rdb-entry.js';
import { NATIVE_RESP } from '../resp/native-resp.js';
import { IMPORT_STRING_RUN_MAX } from '../pipeline/inline-limit.js';
import { FerryError, asFerryError } from '../errors/ferry-error.js';
import type { ErrorCode } from '../errors/catalogue.js';
import { RespDecoder, ReplyError, isReplyError, type Reply } from '../resp/decoder.js';
import { RespEncoder, type Arg } from '../resp/encoder.js';
import { readRdbStringAt } from '../rdb/blobs/rdb-string.js';
import type { ConflictPolicy, ImportErrorItem, ImportMode, OnErrorPolicy } from '../pipeline/types.js';
import { releaseItem, type Item, type Owner } from './node-writer.js';
import { acceptsFooter, DEFAULT_PROTO_MAX_BULK_LEN } from './probe.js';
import { encodeRestore, encodeRestoreInflating, footerVersion, minRdbForType, payloadLength, type RestoreFlags } from './restore.js';
import type { BlobContext } from '../rdb/blobs/context.js';
import { INFLATE_MAX, inflatePieces, lengthHeader, loneLzfLength, loneLzfStart, mayInflate, mayInflateLone } from './inflate-payload.js';
import { rewriteEntry, type RewriteEnv } from './rewrite.js';
import type { Target } from './target.js';
import { BROADCAST, REFUSED, SPLITTABLE, getkeysReply, keyIndexes, parseCommandTable, type KeySpec } from './command-keys.js';

/** Most RESTOREs in one batch item, and the bytes after which a batch is sent (flushRestores). */
const RESTORE_BATCH_KEYS = 128;
const RESTORE_BATCH_BYTES = 256 * 1024;
/** Keys per MSET (the measurement used 100). */
const MSET_KEYS = 100;
/** Largest raw string value sent through MSET; bigger ones gain nothing over RESTORE (the parser's string runs hold these). */
const MSET_MAX_RAW = IMPORT_STRING_RUN_MAX;
const MAX_ERROR_LIST = 100;
const MSET = Buffer.from('MSET');
const EMPTY = Buffer.alloc(0);

type OwnerKind = 'restore' | 'rewrite' | 'mset' | 'aof' | 'txn';

interface KeyOwner extends Owner {
  kind: OwnerKind;
  /** Commands in this owner; Infinity until a streamed rewrite finished sending. */
  total: number;
  errorsSeen: number;
  /** Keys this owner writes (MSET: many; AOF commands count as one each). */
  keyCount: number;
  done: boolean;
  failed: boolean;
  input: string;
  offset: number;
  module: string | null;
  /**
   * One owner for every plain RESTORE of an input (sharedRestoreOwner): a key's RESTORE is one
   * command, so its reply is the key's outcome, and the key and offset travel on the item. Its
   * counters (acked...) mean nothing.
   */
  shared: boolean;
}

export interface WriterOptions {
  mode: ImportMode;
  conflict: ConflictPolicy;
  onError: OnErrorPolicy;
  acceptLoss: boolean;
  /** Inflate LZF strings in RESTORE payloads (inflate-payload.ts). */
  inflate: boolean;
  /** Source db -> target db; throws TARGET_DB_UNSUPPORTED when there is no place for it. */
  mapDb(db: number): number;
  log(level: 'debug' | 'info' | 'warn' | 'error', code: string, message: string): void;
}

export interface Counters {
  keys: number;
  skippedExpired: number;
  skippedExisting: number;
  errors: number;
  commands: number;
  aofCommands: number;
  functions: number;
  scripts: number;
  lost: Record<string, number>;
  errorList: ImportErrorItem[];
  paths: { restore: number; rewrite: number; mset: number };
  /** Entries and commands handed to the writer, for the final completeness check. */
  seen: number;
  /** Owners that ended in a counted outcome (written, skipped, lost, error). */
  settled: number;
}

const HFE_TYPES = new Set([22, 23, 24, 25]);

export class ImportWriter {
  readonly c: Counters = {
    keys: 0, skippedExpired: 0, skippedExisting: 0, errors: 0, commands: 0, aofCommands: 0, functions: 0, scripts: 0,
    lost: {}, errorList: [], paths: { restore: 0, rewrite: 0, mset: 0 }, seen: 0, settled: 0,
  };
  private readonly protoMax: number;
  /** Encoder for the MSET batch being assembled (its own, so no other command interleaves with the span). */
  private readonly msetEnc = new RespEncoder(true);
  private msetOwner: KeyOwner | null = null;
  private msetDb = -1;
  /** Encoder for RESTOREs (its own: the MSET encoder may have a batch open). */
  private readonly restoreEnc = new RespEncoder(true);
  private commandTable: Map<string, KeySpec> | null = null;

  /** Small plain strings go by MSET: mode auto, conflict replace (MSET overwrites), standalone target. */
  private readonly msetOk: boolean;

  constructor(private readonly t: Target, private readonly o: WriterOptions) {
    this.protoMax = t.info.protoMaxBulkLen ?? DEFAULT_PROTO_MAX_BULK_LEN;
    this.msetOk = o.mode === 'auto' && o.conflict === 'replace' && !t.cluster;
    this.batchRestores = o.conflict === 'replace' && !t.cluster;
    this.keyRunsNative = this.batchRestores && NATIVE_RESP !== null && o.mode !== 'rewrite' && t.info.features.absTtl;
    t.onReply = (item, r) => this.reply(item, r);
  }

  // ------------------------------------------------------------------ entries

  /** Writes one RDB entry. Returns a Promise only when the caller must wait (backpressure or async work). */
  entry(e: Entry, input: string): Promise<void> | undefined {
    this.c.seen++;
    let db: number;
    try {
      db = this.o.mapDb(e.db);
      if (e.expireAt !== null && e.expireAt <= Date.now()) {
        this.c.skippedExpired++;
        this.c.settled++;
        return e.raw === null ? drain(e) : undefined;
      }
      const form = this.choose(e);
      if (form === 'mset') return this.mset(e, db, input);
      if (form === 'restore') return this.restore(e, db, input);
      return this.rewrite(e, db, input).catch((err: unknown) => this.rewriteFailed(e, input, asFerryError(err)));
    } catch (err) {
      return this.keyFailed(e, input, asFerryError(err));
    }
  }

  private choose(e: Entry): OwnerKind {
    // The commonest case first (most keys of most datasets): a small plain string with no expiry or
    // hint, which MSET takes on any target (RESTORE of it is possible too, so nothing below applies).
    if (this.msetOk && e.typeByte === 0 && e.raw !== null && e.raw.length <= MSET_MAX_RAW && e.expireAt === null && e.idle === null && e.freq === null && e.keyMeta === null) {
      return 'mset';
    }
    const info = this.t.info;
    const ver = footerVersion(e);
    const restorable = e.raw !== null && ver !== null && acceptsFooter(info, ver) && payloadLength(e) <= this.protoMax;
    if (e.type === 'module') {
      if (!restorable) {
        throw new FerryError('TARGET_TOO_OLD', `module value of type ${e.module?.name ?? '?'} can only be imported by RESTORE, which this target cannot take for it`, { key: e.key.toString() });
      }
      return 'restore';
    }
    if (HFE_TYPES.has(e.typeByte) && !(restorable && this.o.mode !== 'rewrite') && !info.features.hashFieldTtl && !this.o.acceptLoss) {
      throw new FerryError('TARGET_TOO_OLD', `hash has field TTLs and target ${info.flavor} ${info.version} has no hash field expiry; pass --accept-loss to import the fields without their TTLs`, { key: e.key.toString() });
    }
    if (this.o.mode === 'rewrite') return 'rewrite';
    if (!restorable) {
      if (this.o.mode === 'restore') {
        const why = e.raw === null ? 'the value is too big to hold for RESTORE' : ver === null ? `type ${e.typeByte} has no RESTORE form` : !acceptsFooter(info, ver) ? `target ${info.flavor} ${info.version} (RDB ${info.maxRdb}) cannot read type ${e.typeByte} (needs RDB ${ver})` : 'the payload is above proto-max-bulk-len';
        throw new FerryError('TARGET_TOO_OLD', `--mode restore: ${why}`, { key: e.key.toString() });
      }
      return 'rewrite';
    }
    return 'restore';
  }

  private owner(kind: OwnerKind, key: Buffer, db: number, input: string, offset: number, replay: Owner['replay'], total: number): KeyOwner {
    return { kind, key, db, replay, items: null, acked: 0, total, errorsSeen: 0, keyCount: 1, done: false, failed: false, input, offset, module: null, shared: false };
  }

  /**
   * The owner plain RESTOREs of `input` share: an owner object per key was 83 MB of the mixed bench
   * import's 1.1 GB of allocation, and each reply touched it (a cache miss, the command long sent).
   */
  private sharedRestoreOwner(input: string, replay: Owner['replay']): KeyOwner {
    const s = this.sharedOwner;
    if (s !== null && s.input === input && s.replay === replay) return s;
    const o = this.owner('restore', EMPTY, -1, input, -1, replay, 1);
    o.shared = true;
    return (this.sharedOwner = o);
  }

  private sharedOwner: KeyOwner | null = null;
  /** RESTORE flags, reused per key (read by encodeRestore before it returns). */
  private readonly flags: RestoreFlags = { replace: true, absTtl: true, now: 0 };
  /** Where an inflated payload's LZF strings are, for their errors (reused: inflatePieces is synchronous). */
  private readonly blobCtx = new EntryBlobContext();

  private send(args: readonly Arg[], key: Buffer | null, db: number, owner: KeyOwner | null): Promise<void> | undefined {
    const it = this.t.item(args, key, db, owner);
    this.c.commands++;
    return this.t.write(it);
  }

  private sendRaw(bytes: Buffer, db: number, owner: KeyOwner): Promise<void> | undefined {
    this.c.commands++;
    return this.t.write(this.t.itemFromParts([bytes], bytes.length, db, owner));
  }

  private restore(e: Entry, db: number, input: string): Promise<void> | undefined {
    // Without REPLACE a re-sent RESTORE would answer BUSYKEY: under `fail` that is not safe to repeat.
    const replay = this.o.conflict === 'fail' ? 'never' : 'idempotent';
    let o: KeyOwner;
    if (e.type === 'module') {
      o = this.owner('restore', e.key, db, input, e.offset, replay, 1);
      o.module = e.module?.name ?? 'unknown';
    } else {
      o = this.sharedRestoreOwner(input, replay);
    }
    this.c.paths.restore++;
    const f = this.flags;
    f.replace = this.o.conflict === 'replace';
    f.absTtl = this.t.info.features.absTtl;
    f.now = e.expireAt === null ? 0 : Date.now();
    const enc = this.restoreEnc;
    const version = footerVersion(e)!;
    const batched = this.batchRestores && o.shared;
    const p = batched ? this.restoreBatch(db, o) : this.flushRestores();
    const parts = this.restoreInflating(e, version, f) ?? encodeRestore(enc, e, version, f, this.payloadRaw(e, input));
    this.c.commands++;
    if (!batched) {
      const it = this.t.itemOfKey(parts, enc.lastBytes, e.key, db, o, enc.takePins());
      it.offset = e.offset;
      const q = this.t.write(it);
      return both(p, q);
    }
    this.rbOffsets.push(e.offset);
    this.rbBytes += enc.lastBytes;
    if (++this.rbCount >= RESTORE_BATCH_KEYS || this.rbBytes >= RESTORE_BATCH_BYTES) {
      const q = this.flushRestores();
      return both(p, q);
    }
    return p;
  }

  /**
   * Plain RESTOREs go in batches (standalone target, `--conflict replace`): one item of up to
   * RESTORE_BATCH_KEYS commands, their bytes back to back, answered by as many replies. Per key that
   * saves the item, its piece array and slab view, and the reply bookkeeping; and the in-flight
   * window holds a few hundred objects instead of thousands (they outlived young-generation GCs).
   * REPLACE makes a batch safe to send again whole after a reconnect (Item.settled keeps its
   * answered keys from counting twice).
   */
  private readonly batchRestores: boolean;
  private rbCount = 0;
  private rbDb = -1;
  private rbBytes = 0;
  private rbOffsets: number[] = [];
  /** The batch's owner: the shared owner of one input (a batch never mixes inputs). */
  private rbOwner: KeyOwner | null = null;

  /**
   * Makes the open RESTORE batch one of `db` and owner `o`: the pending batch is sent first when it
   * is another's (returned: the backpressure of that send), and a new one is begun when none is open.
   */
  private restoreBatch(db: number, o: KeyOwner): Promise<void> | undefined {
    const enc = this.restoreEnc;
    const p = enc.spanOpen && (this.rbDb !== db || this.rbOwner !== o) ? this.flushRestores() : undefined;
    if (!enc.spanOpen) {
      enc.beginSpan();
      this.rbOwner = o;
      this.rbDb = db;
      this.rbOffsets = [];
      this.rbBytes = 0;
    }
    return p;
  }

  /** Sends the pending RESTORE batch. */
  private flushRestores(): Promise<void> | undefined {
    const enc = this.restoreEnc;
    if (!enc.spanOpen) return undefined;
    const parts = enc.takeSpan();
    const n = this.rbCount;
    this.rbCount = 0;
    // A batch whose only key failed before anything of it was written: nothing to send.
    if (n === 0) return undefined;
    const it = this.t.itemFromParts(parts, this.rbBytes, this.rbDb, this.rbOwner!, enc.takePins());
    it.replies = n;
    it.offsets = this.rbOffsets;
    return this.t.write(it);
  }

  /** Sends every pending batch (MSET and RESTORE): before anything that must come after them. */
  flushBatches(): Promise<void> | undefined {
    const p = this.flushMset();
    const q = this.flushRestores();
    return both(p, q);
  }

  /**
   * The commonest inflated payload, a value that is one LZF string (a compressed listpack or string),
   * inflated by the native encoder straight into the RESTORE; null to take the general path (payloadRaw).
   */
  private restoreInflating(e: Entry, version: number, f: RestoreFlags): Buffer[] | null {
    const raw = e.raw!;
    if (!mayInflateLone(e.typeByte, raw) || !this.inflates(e)) return null;
    const len = loneLzfLength(raw);
    if (len < 0 || len > INFLATE_MAX) return null;
    const pre = lengthHeader(len);
    if (!this.fitsPayload(pre.length + len)) return null;
    return encodeRestoreInflating(this.restoreEnc, e, version, f, pre, loneLzfStart, len);
  }

  /** Whether this import sends the entry's LZF strings inflated (`--keep-lzf` not given; forms it rewrites). */
  private inflates(e: Entry): boolean {
    return this.o.inflate && e.source.magic === 'REDIS' && e.keyMeta === null;
  }

  /** Whether a RESTORE payload of `valueBytes` (type byte and footer aside) is within proto-max-bulk-len. */
  private fitsPayload(valueBytes: number): boolean {
    return valueBytes + 11 <= this.protoMax;
  }

  /**
   * The value bytes a RESTORE sends: with LZF strings inflated when that applies (the target then
   * skips decompression: inflate-payload.ts has the measurement), else as the file has them.
   */
  private payloadRaw(e: Entry, input: string): Buffer | Buffer[] {
    const raw = e.raw!;
    if (!this.inflates(e) || !mayInflate(e.typeByte, raw)) return raw;
    const inflated = inflatePieces(e.typeByte, raw, this.blobCtx.at(input, e.key, e.offset));
    if (inflated === null) return raw;
    let n = 0;
    for (const p of inflated) n += p.length;
    return this.fitsPayload(n) ? inflated : raw;
  }

  /**
   * Adds a small plain string to the pending MSET batch. The batch is encoded as keys arrive, straight
   * from the raw RDB bytes (no per-key Buffer views or argument arrays: this path is per key on
   * datasets of millions of small strings).
   */
  private mset(e: Entry, db: number, input: string): Promise<void> | undefined {
    // Locate the value first: a bad value must fail before anything of it is in the batch.
    this.locateValue(e.raw!, input);
    return this.msetAdd(e.key, 0, e.key.length, this.vBuf, this.vStart, this.vEnd, db, input, e.offset, e.key);
  }

  /**
   * Adds one key (bytes [ks, ke) of `kb`) and value ([vs, ve) of `vb`) to the pending MSET batch;
   * `owned` is the key as a Buffer that outlives the batch, when the caller has one (the batch's
   * first key names it in errors; otherwise it is copied).
   */
  private msetAdd(kb: Buffer, ks: number, ke: number, vb: Buffer, vs: number, ve: number, db: number, input: string, offset: number, owned: Buffer | null): Promise<void> | undefined {
    const p = this.msetBegin(kb, ks, ke, db, input, offset, owned);
    const o = this.msetOwner!;
    this.msetEnc.bulk(kb, ks, ke);
    this.msetEnc.bulk(vb, vs, ve);
    o.keyCount++;
    this.c.paths.mset++;
    if (o.keyCount >= MSET_KEYS) {
      return both(p, this.flushMset());
    }
    return p;
  }

  /**
   * Makes sure an MSET batch for `db` is open, its first key (for errors) the one at [ks, ke) of `kb`:
   * flushes a batch of another db (its backpressure Promise is returned: the caller waits after adding).
   */
  private msetBegin(kb: Buffer, ks: number, ke: number, db: number, input: string, offset: number, owned: Buffer | null): Promise<void> | undefined {
    let p: Promise<void> | undefined;
    if (this.msetOwner && this.msetDb !== db) p = this.flushMset();
    if (!this.msetOwner) {
      this.msetOwner = this.owner('mset', owned ?? Buffer.from(kb.subarray(ks, ke)), db, input, offset, 'idempotent', 1);
      this.msetOwner.keyCount = 0;
      this.msetDb = db;
      this.msetEnc.beginSpan();
      this.msetEnc.bulk(MSET, 0, MSET.length);
    }
    return p;
  }

  /**
   * A run of small plain strings (StringRun): straight into MSET batches from the input's bytes, no
   * Entry per key, when this import would MSET them anyway (choose()); else key by key as entries.
   * Returns a Promise only when the caller must wait (backpressure), resuming where it stopped.
   */
  strings(run: StringRun, input: string): Promise<void> | undefined {
    if (!this.msetOk) return this.runEntries(run, runEntry, input, run.from, run.to);
    this.c.seen += run.to - run.from;
    const db = this.o.mapDb(run.db);
    return this.runMset(run, db, input, run.from, run.to);
  }

  /** Keys `from` to `n` - 1 of a run into MSET batches, as many at a time as the batch has room for. */
  private runMset(run: StringRun, db: number, input: string, from: number, n: number): Promise<void> | undefined {
    const b = run.buf;
    const pos = run.pos;
    for (let i = from; i < n; ) {
      const k = 5 * i;
      let p = this.msetBegin(b, pos[k]!, pos[k + 1]!, db, input, run.base + pos[k + 4]!, null);
      const o = this.msetOwner!;
      const upto = Math.min(n, i + MSET_KEYS - o.keyCount);
      this.msetEnc.pairs(b, pos, i, upto);
      o.keyCount += upto - i;
      this.c.paths.mset += upto - i;
      i = upto;
      if (o.keyCount >= MSET_KEYS) {
        const q = this.flushMset();
        p = both(p, q);
      }
      if (p) return p.then(() => this.runMset(run, db, input, i, n));
    }
    return undefined;
  }

  /** Keys `from` to `n` - 1 of a string or key run, each made an Entry by `make` and written as one. */
  private runEntries<R extends StringRun | KeyRun>(run: R, make: (run: R, i: number) => Entry, input: string, from: number, n: number): Promise<void> | undefined {
    for (let i = from; i < n; i++) {
      const p = this.entry(make(run, i), input);
      if (p) return p.then(() => this.runEntries(run, make, input, i + 1, n));
    }
    return undefined;
  }

  /**
   * A key run (KeyRun): straight into RESTORE batches by one native call per batch, from the input's
   * bytes, when this import batches plain RESTOREs (standalone, `--conflict replace`) with ABSTTL
   * and the native encoder; else key by key as entries. The native encoder writes what restore()
   * would (the same choices: expired keys skipped, types the target cannot take, payloads above
   * proto-max-bulk-len and LZF values it cannot inflate handed back here to go key by key).
   * Returns a Promise only when the caller must wait (backpressure), resuming where it stopped.
   */
  keys(run: KeyRun, input: string): Promise<void> | undefined {
    if (!this.keyRunsNative) return this.runEntries(run, keyRunEntry, input, run.from, run.to);
    return this.runRestores(run, this.o.mapDb(run.db), input, run.from, run.to);
  }

  private readonly keyRunsNative: boolean;

  private runRestores(run: KeyRun, db: number, input: string, from: number, n: number): Promise<void> | undefined {
    const enc = this.restoreEnc;
    const o = this.sharedRestoreOwner(input, 'idempotent');
    const vers = this.footerVersions(run.source.magic);
    const flags = 1 | (this.o.inflate && run.source.magic === 'REDIS' ? 2 : 0);
    const pos = run.pos;
    const exp = run.exp;
    for (let i = from; i < n; ) {
      let p = this.restoreBatch(db, o);
      const now = Date.now();
      const status = enc.restoreRun(run.buf, pos, exp, vers, i, Math.min(n, i + RESTORE_BATCH_KEYS - this.rbCount), now, flags, this.protoMax, RESTORE_BATCH_BYTES - this.rbBytes, INFLATE_MAX);
      const next = enc.runNext;
      // The written keys' record offsets, for a refused one's error (the same rule skips the expired).
      for (let j = i; j < next; j++) {
        const x = exp[j]!;
        if (!(x >= 0 && x <= now)) this.rbOffsets.push(run.base + pos[KEY_RUN_STRIDE * j + 4]!);
      }
      const c = this.c;
      c.seen += next - i;
      c.skippedExpired += enc.runExpired;
      c.settled += enc.runExpired;
      c.paths.restore += enc.runWritten;
      c.commands += enc.runWritten;
      this.rbCount += enc.runWritten;
      this.rbBytes += enc.runBytes;
      i = next;
      if (this.rbCount >= RESTORE_BATCH_KEYS || this.rbBytes >= RESTORE_BATCH_BYTES) p = both(p, this.flushRestores());
      if (status === 2) p = both(p, this.entry(keyRunEntry(run, i++), input));
      if (p) {
        const at = i;
        return p.then(() => this.runRestores(run, db, input, at, n));
      }
    }
    return undefined;
  }

  /** Footer version by type byte (0: not one this target takes by RESTORE), as choose() decides it. */
  private footerVersions(magic: 'REDIS' | 'VALKEY'): Uint8Array {
    const cached = this.versions.get(magic);
    if (cached) return cached;
    const t = new Uint8Array(256);
    for (let b = 0; b < 256; b++) {
      const v = minRdbForType(b, magic);
      if (v !== null && v < 256 && acceptsFooter(this.t.info, v)) t[b] = v;
    }
    this.versions.set(magic, t);
    return t;
  }

  private readonly versions = new Map<string, Uint8Array>();

  /** Where the located value is (fields, not an object: this runs per key). */
  private vBuf: Buffer = MSET;
  private vStart = 0;
  private vEnd = 0;

  /** Finds an RDB string's value bytes in `raw` (plain length: in place; int or LZF: decoded). */
  private locateValue(raw: Buffer, input: string): void {
    const b = raw[0]!;
    let start = -1;
    let len = 0;
    if (b >> 6 === 0) {
      start = 1;
      len = b & 0x3f;
    } else if (b >> 6 === 1) {
      start = 2;
      len = ((b & 0x3f) << 8) | raw[1]!;
    } else if (b === 0x80) {
      start = 5;
      len = raw.readUInt32BE(1);
    } else if (b === 0xc0 || b === 0xc1 || b === 0xc2) {
      const v = b === 0xc0 ? raw.readInt8(1) : b === 0xc1 ? raw.readInt16LE(1) : raw.readInt32LE(1);
      this.vBuf = Buffer.from(String(v), 'latin1');
      this.vStart = 0;
      this.vEnd = this.vBuf.length;
      return;
    }
    if (start < 0 || start + len !== raw.length) {
      // LZF, 64-bit lengths, or anything odd: the shared decoder validates and decodes it.
      this.vBuf = readRdbStringAt(raw, 0, { file: input }).value;
      this.vStart = 0;
      this.vEnd = this.vBuf.length;
      return;
    }
    this.vBuf = raw;
    this.vStart = start;
    this.vEnd = start + len;
  }

  /** Sends the pending MSET batch. */
  flushMset(): Promise<void> | undefined {
    const o = this.msetOwner;
    if (!o) return undefined;
    this.msetOwner = null;
    const body = this.msetEnc.takeSpan();
    const parts = [...this.msetEnc.arrayHeader(1 + 2 * o.keyCount), ...body];
    let bytes = 0;
    for (const x of parts) bytes += x.length;
    this.c.commands++;
    // The batch settles `keyCount` entries at once; `seen` already counted each of them.
    return this.t.write(this.t.itemFromParts(parts, bytes, this.msetDb, o, this.msetEnc.takePins()));
  }

  private async rewrite(e: Entry, db: number, input: string): Promise<void> {
    const key = e.key;
    const keyText = key.toString();
    if (this.o.conflict !== 'replace') {
      const r = await this.t.request(['EXISTS', key], key, db);
      if (r instanceof ReplyError) throw new FerryError('TARGET_REPLY_ERROR', `EXISTS failed: ${r.message}`, { key: keyText });
      if (r === 1) {
        if (this.o.conflict === 'skip') {
          if (e.raw === null) await drain(e);
          this.c.skippedExisting++;
          this.c.settled++;
          return;
        }
        // keyFailed drains a streamed value.
        throw new FerryError('TARGET_REPLY_ERROR', 'key already exists on the target (--conflict fail)', { key: keyText });
      }
    }
    this.c.paths.rewrite++;
    const env: RewriteEnv = {
      now: Date.now(),
      del: this.o.conflict === 'replace',
      hashFieldTtl: this.t.info.features.hashFieldTtl,
      streamMeta7: this.t.info.features.streamMeta7,
      acceptLoss: this.o.acceptLoss,
      lose: (f) => this.lose(f),
      // Both loops below encode each command (pinning its bytes) before asking for the next.
      leased: true,
    };
    if (e.raw !== null) {
      // Inline value: build every command first, so the whole DEL + rebuild can be re-sent after a reconnect.
      const o = this.owner('rewrite', key, db, input, e.offset, 'group', Infinity);
      const items: Item[] = [];
      for await (const cmd of rewriteEntry(e, env)) items.push(this.t.item(cmd, key, db, o));
      o.items = items;
      o.total = items.length;
      if (!items.length) return this.settle(o, 'written');
      for (const it of items) {
        this.c.commands++;
        const p = this.t.write(it);
        if (p) await p;
      }
      return;
    }
    // Streamed value: commands go out as chunks arrive; a dropped connection halfway fails with the key named.
    const o = this.owner('rewrite', key, db, input, e.offset, 'never', Infinity);
    let sent = 0;
    try {
      for await (const cmd of rewriteEntry(e, env)) {
        sent++;
        const p = this.send(cmd, key, db, o);
        if (p) await p;
      }
    } catch (err) {
      const fe = asFerryError(err);
      fe.context.streamStarted = true;
      throw fe;
    }
    o.total = sent;
    if (sent === 0 || o.acked + o.errorsSeen >= o.total) this.complete(o);
  }

  // ------------------------------------------------------------------ functions, scripts

  async func(code: Buffer, input: string, offset: number): Promise<void> {
    const name = /name=(\S+)/.exec(code.subarray(0, 200).toString('latin1'))?.[1] ?? '?';
    if (!this.t.info.features.functions) {
      return this.lossOrFail('function', `function library ${name}: target ${this.t.info.version} has no FUNCTION LOAD (needs 7.0+)`, input, offset);
    }
    await this.flushAndWait();
    const replies = await this.t.broadcast(['FUNCTION', 'LOAD', 'REPLACE', code]);
    const bad = replies.find((r) => r instanceof ReplyError) as ReplyError | undefined;
    if (bad) return this.report({ code: 'TARGET_REPLY_ERROR', message: `FUNCTION LOAD of library ${name} failed: ${bad.message}`, input, offset });
    this.c.functions++;
  }

  async script(body: Buffer, input: string, offset: number): Promise<void> {
    await this.flushAndWait();
    const replies = await this.t.broadcast(['SCRIPT', 'LOAD', body]);
    const bad = replies.find((r) => r instanceof ReplyError) as ReplyError | undefined;
    if (bad) return this.report({ code: 'TARGET_REPLY_ERROR', message: `SCRIPT LOAD failed: ${bad.message}`, input, offset });
    this.c.scripts++;
  }

  private async flushAndWait(): Promise<void> {
    const p = this.flushBatches();
    if (p) await p;
  }

  // ------------------------------------------------------------------ AOF commands

  /**
   * Replays one AOF command. Standalone: in order on the one connection, synchronously (no Promise
   * unless backpressure asks for one); cluster: routed by key.
   */
  command(rec: CommandRecord, input: string): Promise<void> | undefined {
    this.c.seen++;
    try {
      const name = rec.argv[0]?.toString('latin1').toLowerCase() ?? '';
      const db = this.o.mapDb(rec.db);
      this.refuseCheck(name, rec);
      if (name === 'select') {
        this.c.settled++;
        return undefined;
      }
      if (this.t.cluster) return this.clusterCommand(rec, name, input).catch((err: unknown) => this.commandFailed(rec, input, err));
      const flushed = this.flushBatches();
      const o = this.owner('aof', rec.argv[1] ?? EMPTY, db, input, rec.offset, 'never', 1);
      // The file's own RESP bytes when the reader kept them: no re-encoding, and consecutive commands
      // (views of one read buffer) leave as one socket write.
      const p = rec.raw ? this.sendRaw(rec.raw, db, o) : this.send(rec.argv, null, db, o);
      return both(flushed, p);
    } catch (err) {
      this.commandFailed(rec, input, err);
      return undefined;
    }
  }

  private commandFailed(rec: CommandRecord, input: string, err: unknown): void {
    const fe = asFerryError(err);
    if (fe === this.t.fatal) return;
    this.report({ code: fe.code, message: fe.message, input, offset: rec.offset, key: fe.context.key });
  }

  private async clusterCommand(rec: CommandRecord, name: string, input: string): Promise<void> {
    await this.flushAndWait();
    if (BROADCAST.has(name)) {
      const sub = rec.argv[1]?.toString('latin1').toLowerCase();
      if (sub === 'flush') throw new FerryError('AOF_COMMAND_REFUSED', `${name.toUpperCase()} FLUSH is not replayed: Ferry never flushes the target`, { file: input, offset: rec.offset });
      const replies = await this.t.broadcast(rec.argv);
      const bad = replies.find((r) => r instanceof ReplyError) as ReplyError | undefined;
      this.c.commands += replies.length;
      if (bad) throw new FerryError('TARGET_REPLY_ERROR', `${name.toUpperCase()} failed: ${bad.message}`, { file: input, offset: rec.offset });
      this.c.aofCommands++;
      this.c.keys++;
      this.c.settled++;
      return;
    }
    const keys = await this.keysOf(rec.argv, name, input, rec.offset);
    const split = SPLITTABLE[name];
    const slots = new Set(keys.map((k) => this.t.slotOf(k)));
    if (slots.size > 1 && split) {
      // Per-key independent: one command per slot, with the same arguments in the same order.
      const bySlot = new Map<number, Buffer[]>();
      for (let i = 1; i < rec.argv.length; i += split) {
        const s = this.t.slotOf(rec.argv[i]!);
        let g = bySlot.get(s);
        if (!g) bySlot.set(s, (g = []));
        for (let j = 0; j < split; j++) g.push(rec.argv[i + j]!);
      }
      const o = this.owner('aof', keys[0]!, 0, input, rec.offset, 'never', bySlot.size);
      for (const g of bySlot.values()) {
        const p = this.send([rec.argv[0]!, ...g], g[0]!, 0, o);
        if (p) await p;
      }
      return;
    }
    if (slots.size > 1) throw new FerryError('AOF_COMMAND_REFUSED', `${name.toUpperCase()} touches keys in different cluster slots and cannot be replayed on a cluster`, { file: input, offset: rec.offset, key: keys[0]!.toString() });
    if (!keys.length) throw new FerryError('AOF_COMMAND_REFUSED', `${name.toUpperCase()} has no key, so it has no node to go to on a cluster`, { file: input, offset: rec.offset });
    const o = this.owner('aof', keys[0]!, 0, input, rec.offset, 'never', 1);
    const p = this.send(rec.argv, keys[0]!, 0, o);
    if (p) await p;
  }

  /** Replays a MULTI/EXEC block atomically on the node owning its keys. */
  async transaction(rec: TransactionRecord, input: string): Promise<void> {
    this.c.seen++;
    try {
      await this.flushAndWait();
      const db = this.o.mapDb(rec.db);
      let route: Buffer | null = null;
      for (const cmd of rec.commands) {
        const name = cmd.argv[0]?.toString('latin1').toLowerCase() ?? '';
        this.refuseCheck(name, cmd);
        if (cmd.db !== rec.db) throw new FerryError('AOF_COMMAND_REFUSED', 'a MULTI block that switches databases cannot be replayed', { file: input, offset: rec.offset });
        if (this.t.cluster) {
          for (const k of await this.keysOf(cmd.argv, name, input, cmd.offset)) {
            if (route && this.t.slotOf(route) !== this.t.slotOf(k)) {
              throw new FerryError('AOF_COMMAND_REFUSED', 'a MULTI block with keys in different cluster slots cannot be replayed atomically on a cluster', { file: input, offset: rec.offset, key: k.toString() });
            }
            route ??= k;
          }
        }
      }
      if (this.t.cluster && !route) throw new FerryError('AOF_COMMAND_REFUSED', 'a MULTI block without keys has no node to go to on a cluster', { file: input, offset: rec.offset });
      const o = this.owner('txn', route ?? rec.commands[0]?.argv[1] ?? Buffer.alloc(0), db, input, rec.offset, 'never', rec.commands.length + 2);
      o.keyCount = rec.commands.length;
      for (const argv of [[Buffer.from('MULTI')], ...rec.commands.map((c) => c.argv), [Buffer.from('EXEC')]]) {
        const p = this.send(argv, route, db, o);
        if (p) await p;
      }
    } catch (err) {
      const fe = asFerryError(err);
      this.report({ code: fe.code, message: fe.message, input, offset: rec.offset, key: fe.context.key });
    }
  }

  private refuseCheck(name: string, rec: CommandRecord): void {
    if (REFUSED.has(name) || name === 'multi' || name === 'exec' || name === 'discard') {
      throw new FerryError('AOF_COMMAND_REFUSED', `${name.toUpperCase()} is not replayed by an import (Ferry never flushes or reconfigures the target)`, { offset: rec.offset });
    }
  }

  private async keysOf(argv: Buffer[], name: string, input: string, offset: number): Promise<Buffer[]> {
    if (!this.commandTable) {
      const r = await this.t.broadcast(['COMMAND']);
      this.commandTable = parseCommandTable(r[0] ?? null);
    }
    const spec = this.commandTable.get(name);
    if (!spec) throw new FerryError('AOF_COMMAND_REFUSED', `unknown command ${name.toUpperCase()} for this target`, { file: input, offset });
    const idx = keyIndexes(argv, spec);
    if (idx) return idx.map((i) => argv[i]!);
    const r = await this.t.broadcast(['COMMAND', 'GETKEYS', ...argv]);
    return getkeysReply(r[0] ?? null, name);
  }

  // ------------------------------------------------------------------ replies and outcomes

  private reply(item: Item, r: Reply): void {
    const o = item.owner as KeyOwner | null;
    if (!o) return;
    if (o.shared) {
      // Reply i of the item (a batch has many); one a re-sent batch already had is not counted again.
      const i = item.got - 1;
      if (i < item.settled) return;
      item.settled = i + 1;
      if (!isReplyError(r)) {
        this.c.keys++;
        this.c.settled++;
      } else if (r.code === 'BUSYKEY' && this.o.conflict === 'skip') {
        this.c.skippedExisting++;
        this.c.settled++;
      } else {
        const key = item.offsets === null ? item.key!.toString() : commandKey(item.parts, i).toString();
        this.report({ code: 'TARGET_REPLY_ERROR', message: `target refused the write: ${r.message}`, key, input: o.input, offset: item.offsets === null ? item.offset : item.offsets[i]! });
      }
      return;
    }
    if (isReplyError(r)) {
      o.errorsSeen++;
      this.replyError(o, r);
    } else if (o.kind === 'txn' && Array.isArray(r)) {
      const bad = r.find((x) => x instanceof ReplyError) as ReplyError | undefined;
      if (bad) this.replyError(o, bad);
    } else if (o.kind === 'txn' && r === null) {
      this.replyError(o, new ReplyError('EXECABORT transaction aborted'));
    }
    if (!o.done && o.acked + o.errorsSeen >= o.total) this.complete(o);
  }

  private replyError(o: KeyOwner, r: ReplyError): void {
    if (o.failed) return;
    o.failed = true;
    if (o.kind === 'restore' && r.code === 'BUSYKEY' && this.o.conflict === 'skip') {
      this.c.skippedExisting++;
      this.c.settled++;
      o.done = true;
      return;
    }
    if (o.module !== null && this.o.acceptLoss) {
      this.lose(`module:${o.module}`);
      this.c.settled++;
      o.done = true;
      return;
    }
    const what = o.module !== null ? ` (module type ${o.module}: does the target have the module?)` : '';
    this.report({ code: 'TARGET_REPLY_ERROR', message: `target refused the write: ${r.message}${what}`, key: o.key.toString(), input: o.input, offset: o.offset }, o.kind === 'mset' ? o.keyCount : 1);
    o.done = true;
  }

  private complete(o: KeyOwner): void {
    if (o.done) return;
    o.done = true;
    // Every item of a group was answered: nothing re-sends them now, their slabs may be reused.
    if (o.items) for (const it of o.items) releaseItem(it);
    o.items = null;
    this.settle(o, 'written');
  }

  private settle(o: KeyOwner, _how: 'written'): void {
    o.done = true;
    if (o.kind === 'aof' || o.kind === 'txn') {
      this.c.aofCommands += o.kind === 'txn' ? o.keyCount : 1;
      this.c.keys += o.kind === 'txn' ? o.keyCount : 1;
      this.c.settled++;
      return;
    }
    this.c.keys += o.keyCount;
    this.c.settled += o.keyCount;
  }

  private lose(feature: string): void {
    this.c.lost[feature] = (this.c.lost[feature] ?? 0) + 1;
  }

  private lossOrFail(feature: string, message: string, input: string, offset: number): void {
    if (this.o.acceptLoss) {
      this.lose(feature);
      this.o.log('warn', 'TARGET_TOO_OLD', `${message} (dropped: --accept-loss)`);
      return;
    }
    throw new FerryError('TARGET_TOO_OLD', `${message}; pass --accept-loss to import without it`, { file: input, offset });
  }

  /**
   * A rewrite that failed. Inline values and streamed ones that were not started are one key's
   * failure (policy applies); a streamed value that failed halfway cannot be skipped (its remaining
   * bytes are mid-stream), so it stops the import.
   */
  private rewriteFailed(e: Entry, input: string, err: FerryError & { streamStarted?: boolean }): Promise<void> | undefined {
    if (e.raw === null && err.context.streamStarted) {
      this.report({ code: err.code, message: err.message, key: e.key.toString(), input, offset: e.offset });
      if (!this.t.fatal) this.t.fail(err);
      return undefined;
    }
    return this.keyFailed(e, input, err);
  }

  /** A key that could not be written before anything was sent for it. */
  private keyFailed(e: Entry, input: string, err: FerryError): Promise<void> | undefined {
    // The writer already stopped: this is not a new key failure, and the import is ending.
    if (err === this.t.fatal) return undefined;
    const isLoss = err.code === 'TARGET_TOO_OLD' && this.o.acceptLoss;
    if (isLoss) {
      this.lose(e.type === 'module' ? `module:${e.module?.name ?? '?'}` : 'type');
      this.c.settled++;
    } else {
      this.report({ code: err.code, message: err.message, key: e.key.toString(), input, offset: e.offset });
    }
    return e.raw === null ? drain(e).catch(() => {}) : undefined;
  }

  /** Counts an error; under `--on-error stop` stops the import with it. */
  private report(item: ImportErrorItem, keys = 1): void {
    this.c.errors += keys;
    this.c.settled += keys;
    if (this.c.errorList.length < MAX_ERROR_LIST) this.c.errorList.push(item);
    this.o.log('error', item.code, item.message);
    if (this.o.onError === 'stop') {
      const ctx: Record<string, unknown> = { file: item.input, offset: item.offset };
      if (item.key !== undefined) ctx.key = item.key;
      const msg = item.message.replace(/ \((file|key) .*\)$/, '');
      this.t.fail(new FerryError(item.code as ErrorCode, msg, ctx));
    }
  }

  /** Sends what is batched and waits until the target answered everything. */
  async finish(): Promise<void> {
    const p = this.flushBatches();
    if (p) await p;
    await this.t.idle();
  }
}

/** A BlobContext re-pointed per entry; the key becomes a string only when an error is built. */
class EntryBlobContext implements BlobContext {
  file = '';
  offset = 0;
  private k: Buffer = EMPTY;

  at(file: string, key: Buffer, offset: number): this {
    this.file = file;
    this.k = key;
    this.offset = offset;
    return this;
  }

  get key(): string {
    return this.k.toString();
  }
}

/** Reads a streamed value to its end without using it (skipped keys must still be consumed). */
/** Two backpressure answers as one: undefined when neither asks to wait. */
function both(p: Promise<void> | undefined, q: Promise<void> | undefined): Promise<void> | undefined {
  return p && q ? Promise.all([p, q]).then(() => undefined) : p ?? q;
}

async function drain(e: Entry): Promise<void> {
  for await (const _ of e.chunks()) {
    /* discard */
  }
}

/**
 * The key (second argument) of command `i` of an item's RESP bytes: how a batch's error names its key
 * without keeping one per command. The error path only, so the reply decoder reads the commands
 * (arrays of bulk strings, like any array reply).
 */
export function commandKey(parts: readonly Buffer[], i: number): Buffer {
  let n = 0;
  let key: Buffer = EMPTY;
  const dec = new RespDecoder((r) => {
    if (n++ === i && Array.isArray(r) && Buffer.isBuffer(r[1])) key = r[1];
  });
  for (const p of parts) dec.feed(p);
  return key;
}
