/**
 * Reads one AOF file (plain RESP, or RDB preamble + RESP) from a ByteSource into import records.
 *
 * Mirrors Redis' loadSingleAppendOnlyFile: `#` annotation lines are skipped, SELECT sets the db of
 * the commands after it (each file starts in db 0, as Redis gives each file a fresh fake client),
 * MULTI ... EXEC becomes one TransactionRecord, and a short tail or dangling MULTI is AOF_TRUNCATED
 * unless the caller accepts it (`truncated: 'load'`, only for the last file of a set).
 */
import { SHORT, type ByteSource } from '../io/byte-source.js';
import type { CommandRecord, TransactionRecord } from '../entry/entry.js';
import type { ImportRecord } from '../pipeline/types.js';
import { DEFAULT_RESP_LIMITS, readRespItem, type RespLimits } from './resp-command.js';
import { refusedCommand } from './refused.js';
import { isAofMarker, isDbNumber, badSelect, nestedMulti, unopened, refusedError, refusedMessage, acceptsTruncated, endOfInput, truncatedError } from './aof-rules.js';
import { parseRdb } from '../rdb/parser.js';

export interface AofNotice {
  kind: 'truncated' | 'refused' | 'trailing';
  file: string;
  offset: number;
  message: string;
}

export interface AofReadOptions {
  /** What to do with an incomplete last command or an open MULTI at end of input. */
  truncated?: 'error' | 'load';
  /** False for every file of a multi-part set but the last: those must be whole. Default true. */
  isLast?: boolean;
  /** Commands in refused.ts: fail (default) or drop and report. */
  refused?: 'error' | 'skip';
  limits?: Partial<RespLimits>;
  /** Truncations accepted and commands dropped are reported here. */
  onNotice?: (n: AofNotice) => void;
  /** Passed to the RDB parser for a preamble. */
  checksum?: 'verify' | 'ignore';
  inlineLimit?: number;
  /** Passed to the RDB parser (RdbParseOptions.leased): the consumer is an import writer. */
  leased?: boolean;
  /** Passed to the RDB parser (RdbParseOptions.stringRuns): the consumer handles string runs. */
  stringRuns?: number;
  /** Passed to the RDB parser (RdbParseOptions.keyRuns): the consumer handles key runs. */
  keyRuns?: boolean;
  /** Input size when known (lets the RDB parser refuse lengths past the end at once). */
  size?: number | null;
  /** Records per yielded batch. */
  batchSize?: number;
}

/** First fill when starting, and the least a retry asks for; retries double what they had. */
const MIN_FILL = 64 * 1024;
const DEFAULT_BATCH = 512;

/** True when the bytes start like an RDB (REDIS or VALKEY magic): an RDB file or AOF preamble. */
export function startsWithRdbMagic(head: Buffer): boolean {
  return head.subarray(0, 5).toString('latin1') === 'REDIS' || head.subarray(0, 6).toString('latin1') === 'VALKEY';
}

interface OpenMulti {
  db: number;
  offset: number;
  commands: CommandRecord[];
}

export async function* readAof(src: ByteSource, opts: AofReadOptions = {}): AsyncGenerator<ImportRecord[]> {
  const lim: RespLimits = { ...DEFAULT_RESP_LIMITS, ...opts.limits };
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  const acceptTruncated = acceptsTruncated(opts);

  await src.fill(9);
  if (src.offset === 0 && startsWithRdbMagic(src.buf.subarray(src.pos, src.pos + 9))) {
    // The RDB parser reads the preamble on the same ByteSource and leaves it just past the RDB.
    // An RDB that does not say it is an AOF base may carry bytes after its CRC (some tools append a
    // hash); redis-server ignores them, so do we, with a notice, unless they read as commands.
    let aofBase = false;
    for await (const batch of parseRdb(src, { name: src.name, checksum: opts.checksum, inlineLimit: opts.inlineLimit, size: opts.size, leased: opts.leased ?? false, stringRuns: opts.stringRuns ?? 0, keyRuns: opts.keyRuns ?? false })) {
      for (const r of batch) {
        if (r.kind === 'aux' && isAofMarker(r.key, r.value)) aofBase = true;
      }
      yield batch;
    }
    src.commit();
    if (!aofBase && (await src.fill(1)) && src.buf[src.pos] !== 0x2a /* '*' */) {
      const at = src.offset;
      let n = 0;
      do {
        n += src.available;
        src.skip(src.available);
        src.commit();
      } while (await src.more());
      opts.onNotice?.({ kind: 'trailing', file: src.name, offset: at, message: `${n} bytes after the end of the RDB were ignored, as redis-server does` });
      return;
    }
  }

  let db = 0;
  let multi: OpenMulti | null = null;
  let batch: ImportRecord[] = [];

  // Most AOFs repeat a few command names back to back: reuse the last decoded name when the bytes match.
  let lastRaw: Buffer = Buffer.alloc(0);
  let lastName = '';
  const nameOf = (raw: Buffer): string => {
    if (raw.length > 32) return '';
    if (raw.length === lastRaw.length) {
      let same = true;
      for (let i = 0; i < raw.length; i++) if (raw[i] !== lastRaw[i]) { same = false; break; }
      if (same) return lastName;
    }
    lastRaw = raw;
    lastName = raw.toString('latin1').toLowerCase();
    return lastName;
  };

  const handle = (argv: Buffer[], offset: number, raw: Buffer): void => {
    const name = nameOf(argv[0]!);
    if (name === 'select') {
      if (argv.length !== 2 || !isDbNumber(argv[1]!)) throw badSelect(src.name, offset);
      db = Number(argv[1]!.toString('latin1'));
      return;
    }
    if (name === 'multi') {
      if (multi) throw nestedMulti(src.name, offset, multi.offset);
      multi = { db, offset, commands: [] };
      return;
    }
    if (name === 'exec') {
      if (!multi) throw unopened('EXEC', src.name, offset);
      const open: OpenMulti = multi;
      const rec: TransactionRecord = { kind: 'transaction', db: open.db, commands: open.commands, offset: open.offset };
      batch.push(rec);
      multi = null;
      return;
    }
    if (name === 'discard') {
      if (!multi) throw unopened('DISCARD', src.name, offset);
      multi = null;
      return;
    }
    const refused = refusedCommand(name, argv);
    if (refused !== null) {
      if (opts.refused !== 'skip') throw refusedError(refused, src.name, offset);
      opts.onNotice?.({ kind: 'refused', file: src.name, offset, message: `${refusedMessage(refused)}; skipped` });
      return;
    }
    const rec: CommandRecord = { kind: 'command', db, argv, offset, raw };
    if (multi) (multi as OpenMulti).commands.push(rec);
    else batch.push(rec);
  };

  src.commit();
  for (;;) {
    let needMore = false;
    try {
      while (batch.length < batchSize) {
        if (src.pos >= src.buf.length) {
          needMore = true;
          break;
        }
        const offset = src.offset;
        const start = src.pos;
        const argv = readRespItem(src, lim);
        // The command's bytes as read (a view, no copy): standalone writers send them as they are.
        const raw = src.buf.subarray(start, src.pos);
        src.commit();
        if (argv) handle(argv, offset, raw);
      }
    } catch (err) {
      if (err !== SHORT) throw err;
      src.rewind();
      needMore = true;
    }
    if (batch.length) {
      const out = batch;
      batch = [];
      yield out;
    }
    if (!needMore) continue;
    if (!src.ended) {
      await src.fill(Math.max(src.uncommitted * 2, MIN_FILL));
      continue;
    }
    // End of input: everything there is has been buffered.
    const end = endOfInput(src.uncommitted, (multi as OpenMulti | null)?.offset ?? null, src.committedOffset);
    if (!end) return;
    if (!acceptTruncated) throw truncatedError(src.name, end, opts.isLast);
    opts.onNotice?.({ kind: 'truncated', file: src.name, offset: end.offset, message: `${end.message}; the tail from offset ${end.offset} was dropped` });
    return;
  }
}
