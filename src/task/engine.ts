/**
 * What the task layer needs from the import machinery, as one small interface so the service and
 * runner read on one screen; import-engine.ts composes the real sources, probe and import engine.
 */
import type { BucketConfig } from '../config/schema.js';
import type { ImportProgress, ImportSummary, LogLevel } from '../pipeline/types.js';
import type { TargetInfo } from '../writer/probe.js';
import type { TargetSpec } from '../writer/target-spec.js';

export interface ImportPlan {
  taskId: string;
  bucket: BucketConfig;
  files: string[];
  target: TargetSpec;
  /** Registry type of the target (proxy targets collapse dbs; cluster targets take db 0 only). */
  targetType: 'single' | 'master_standby' | 'cluster' | 'proxy';
  /** Every source db goes here (proxy_multi_db / db in the request). */
  targetDb?: number;
  /** Bytes of commands in flight to the target (worker share / instance cap from the configuration). */
  maxInflightBytes?: number;
}

export interface RunHooks {
  signal: AbortSignal;
  onProgress(p: ImportProgress): void;
  log(level: LogLevel, code: string, message: string): void;
}

export interface TaskEngine {
  /** Connects, authenticates and describes the target; throws TARGET_UNREACHABLE / TARGET_AUTH / ... */
  probeTarget(spec: TargetSpec): Promise<TargetInfo>;
  /** Every file exists and its header is one the target can take; throws the first problem. */
  checkFiles(bucket: BucketConfig, files: string[], target: TargetInfo): Promise<void>;
  /** What each file holds ('rdb', 'aof', 'aof-multipart' per input in it): RDB-only files may be imported in parallel. */
  fileKinds(bucket: BucketConfig, file: string): Promise<string[]>;
  /** Runs the whole import; rejects with a FerryError (ABORTED when the signal fired). */
  run(plan: ImportPlan, hooks: RunHooks): Promise<ImportSummary>;
}
