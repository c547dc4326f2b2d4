/**
 * The contract between input producers (sources: RDB files, AOFs, archives, buckets) and the import
 * engine. Sources build `ImportInput`s; `importRecords` (pipeline/import.ts) writes them to a target.
 */
import type { CommandRecord, RdbRecord, TransactionRecord } from '../entry/entry.js';
import type { TargetSpec } from '../writer/target-spec.js';

/** Anything an input yields: RDB records, AOF commands, and AOF MULTI/EXEC blocks. */
export type ImportRecord = RdbRecord | CommandRecord | TransactionRecord;

export interface ImportInput {
  /** Shown in progress, errors and logs (file name, archive entry, object key). */
  name: string;
  /** Total input bytes when known (progress/ETA), else null. */
  size: number | null;
  /**
   * The input's checking passes (AOF check, whole .gz expansion, archive listing and entry checks),
   * run at most once: `importRecords` calls it on every input before writing anything, so one bad
   * input among several writes nothing. Throws the typed error reading would throw. Absent when the
   * input has nothing to check (a plain RDB).
   */
  check?(): Promise<void>;
  /**
   * The records, in batches. A streamed entry (`raw === null`) is consumed before the next batch is
   * pulled. Runs `check()` first when nobody did; after it, the checking passes are not repeated.
   */
  records(): AsyncIterable<ImportRecord[]>;
  /** Input bytes consumed so far (progress counts input bytes, not output). */
  bytesRead(): number;
}

/** How entries become commands: `auto` picks per entry, `restore` refuses to rewrite, `rewrite` never RESTOREs. */
export type ImportMode = 'auto' | 'restore' | 'rewrite';
/** What to do with a key that already exists on the target. */
export type ConflictPolicy = 'replace' | 'skip' | 'fail';
/** What to do when the target answers a key's write with an error. */
export type OnErrorPolicy = 'stop' | 'skip';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ImportOptions {
  /** A `redis://` / `rediss://` URL or an already-built spec. */
  target: string | TargetSpec;
  mode?: ImportMode;
  conflict?: ConflictPolicy;
  onError?: OnErrorPolicy;
  /** Source db -> target db. Dbs not listed keep their number (standalone) or are refused (cluster). */
  dbMap?: Map<number, number>;
  /** Every source db goes to this target db (overrides dbMap). */
  targetDb?: number;
  /** Features the target cannot represent are dropped and counted instead of failing the import. */
  acceptLoss?: boolean;
  /**
   * RESTORE payloads keep their LZF strings as the file has them (fewer bytes on the wire, more
   * work for the target). Default false: they are inflated, which the target restores faster.
   */
  keepLzf?: boolean;
  signal?: AbortSignal;
  /** Called at most every `progressIntervalMs` (default 500) and once at the end. */
  onProgress?: (p: ImportProgress) => void;
  progressIntervalMs?: number;
  log?: (level: LogLevel, code: string, message: string) => void;
  /** Writer tuning (defaults suit a local Redis); exposed for benchmarks and tests. */
  maxInflightCommands?: number;
  maxInflightBytes?: number;
}

export interface ImportProgress {
  input: string;
  bytesRead: number;
  totalBytes: number | null;
  keys: number;
  commands: number;
  seconds: number;
  keysPerSecond: number;
  /** Seconds left, estimated from input bytes; null when the total is unknown. */
  etaSeconds: number | null;
}

export interface ImportErrorItem {
  code: string;
  message: string;
  key?: string;
  input?: string;
  offset?: number;
}

export interface ImportSummary {
  /** Keys written (RDB entries) plus AOF commands applied. */
  keys: number;
  skippedExpired: number;
  skippedExisting: number;
  errors: number;
  /** Input bytes read. */
  bytes: number;
  seconds: number;
  /** Commands sent to the target (for rates). */
  commands: number;
  /** AOF commands applied (included in `keys`). */
  aofCommands: number;
  functions: number;
  scripts: number;
  /** Feature name -> how many times it was dropped under `acceptLoss` (e.g. `hash-field-ttl`, `module:ReJSON-RL`). */
  lost: Record<string, number>;
  /** The first errors (at most 100), each naming the key. */
  errorList: ImportErrorItem[];
  /** How entries were written: restore, rewrite, mset. */
  paths: { restore: number; rewrite: number; mset: number };
  /** Cluster MOVED/ASK redirections followed. */
  redirects: number;
  /** Connections re-established after a drop. */
  reconnects: number;
}
