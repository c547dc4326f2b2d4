/**
 * The real TaskEngine: bucket objects opened by the sources layer (`openInputs`, `peekFormat`),
 * targets described by the writer's `probeTarget`, the import run by `importRecords`. This file only
 * composes them; it adds no parsing or writing of its own.
 */
import type { BucketConfig } from '../config/schema.js';
import { FerryError } from '../errors/ferry-error.js';
import { importRecords } from '../pipeline/import.js';
import type { ImportOptions } from '../pipeline/types.js';
import { MAX_REDIS_RDB, VALKEY_RDB_VERSIONS } from '../rdb/constants.js';
import { openInputs, peekFormat } from '../source/index.js';
import { probeTarget, type TargetInfo } from '../writer/probe.js';
import type { TargetSpec } from '../writer/target-spec.js';
import type { ImportPlan, RunHooks, TaskEngine } from './engine.js';
import { IMPORT_INLINE_LIMIT, IMPORT_STRING_RUN_MAX } from '../pipeline/inline-limit.js';

/** Connect timeout for pre-checks: an unreachable target should fail the create call quickly. */
const PROBE_TIMEOUT_MS = 3000;

export class ImportEngine implements TaskEngine {
  constructor(private readonly o: { dataRoot: string; env?: NodeJS.ProcessEnv }) {}

  probeTarget(spec: TargetSpec): Promise<TargetInfo> {
    return probeTarget({ connectTimeoutMs: PROBE_TIMEOUT_MS, ...spec });
  }

  /**
   * Opening the inputs reads each object's head (missing object, unknown format, hostile archive all
   * throw here). A file newer than the target is not refused up front: the writer RESTOREs what the
   * target reads and rewrites the rest as commands, failing TARGET_TOO_OLD only on a value the
   * target cannot represent at all.
   */
  async checkFiles(bucket: BucketConfig, files: string[], _target: TargetInfo): Promise<void> {
    const inputs = await openInputs(
      files.map((key) => ({ bucket: bucket.name, key })),
      { buckets: [bucket], dataRoot: this.o.dataRoot, ...(this.o.env ? { env: this.o.env } : {}) },
    );
    for (const input of inputs) {
      const f = peekFormat(input);
      if (!f.rdb) continue;
      const readable = f.rdb.magic === 'REDIS' ? f.rdb.version >= 1 && f.rdb.version <= MAX_REDIS_RDB : VALKEY_RDB_VERSIONS.includes(f.rdb.version);
      if (!readable) {
        throw new FerryError('RDB_UNSUPPORTED_VERSION', `${f.rdb.magic} RDB version ${f.rdb.version} is not one Ferry reads`, { file: input.name, offset: 5 });
      }
    }
  }

  async fileKinds(bucket: BucketConfig, file: string): Promise<string[]> {
    const inputs = await openInputs([{ bucket: bucket.name, key: file }], { buckets: [bucket], dataRoot: this.o.dataRoot, ...(this.o.env ? { env: this.o.env } : {}) });
    return inputs.map((i) => peekFormat(i).kind);
  }

  async run(plan: ImportPlan, hooks: RunHooks) {
    const inputs = await openInputs(
      plan.files.map((key) => ({ bucket: plan.bucket.name, key })),
      { buckets: [plan.bucket], dataRoot: this.o.dataRoot, signal: hooks.signal, inlineLimit: IMPORT_INLINE_LIMIT, leased: true, stringRuns: IMPORT_STRING_RUN_MAX, keyRuns: true, ...(this.o.env ? { env: this.o.env } : {}) },
    );
    for (const input of inputs) {
      const f = peekFormat(input);
      hooks.log('info', 'INPUT', `${input.name}: ${f.kind} in ${f.container}${f.rdb ? `, ${f.rdb.magic} RDB ${f.rdb.version}` : ''}${input.size !== null ? `, ${input.size} bytes to read (checking passes included)` : ''}`);
    }
    const opts: ImportOptions = {
      target: plan.target,
      signal: hooks.signal,
      onProgress: hooks.onProgress,
      log: hooks.log,
      conflict: 'replace', // DCS: keys in both are overwritten by the backup, target-only keys kept
    };
    // Proxy targets take no SELECT: every db collapses into one (DCS user guide 5.1).
    const db = plan.targetDb ?? (plan.targetType === 'proxy' ? 0 : undefined);
    if (db !== undefined) opts.targetDb = db;
    if (plan.maxInflightBytes !== undefined) opts.maxInflightBytes = plan.maxInflightBytes;
    return importRecords(inputs, opts);
  }
}
