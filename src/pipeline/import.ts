/**
 * The one place that composes an import: inputs (records from parsers) -> ImportWriter -> Target.
 * Handles abort, progress, option validation, and the final completeness check: the summary is
 * returned only when every entry handed to the writer ended in a counted outcome.
 */
import { FerryError, asFerryError } from '../errors/ferry-error.js';
import { ImportWriter, type Counters } from '../writer/import-writer.js';
import { Target } from '../writer/target.js';
import { describeTarget, toTargetSpec } from '../writer/target-spec.js';
import type { ImportInput, ImportOptions, ImportProgress, ImportRecord, ImportSummary } from './types.js';

export type { ImportInput, ImportOptions, ImportSummary, ImportProgress } from './types.js';

export async function importRecords(inputs: ImportInput[], opts: ImportOptions): Promise<ImportSummary> {
  const spec = toTargetSpec(opts.target);
  const log = opts.log ?? (() => {});
  validate(opts);
  if (opts.signal?.aborted) throw new FerryError('ABORTED', 'import stopped before it started');
  const started = performance.now();
  const target = await Target.open(spec, {
    limits: {
      ...(opts.maxInflightCommands ? { maxInflightCommands: opts.maxInflightCommands } : {}),
      ...(opts.maxInflightBytes ? { maxInflightBytes: opts.maxInflightBytes } : {}),
    },
    log: (m) => log('warn', 'TARGET_CONNECTION_LOST', m),
    loading: { notice: (m) => log('warn', 'TARGET_LOADING', m), ...(opts.signal ? { signal: opts.signal } : {}) },
  });
  const info = target.info;
  log('info', 'IMPORT_START', `target ${describeTarget(spec)}: ${info.flavor} ${info.version} (RDB ${info.maxRdb}), ${info.topology}${info.topology === 'cluster' ? ` with ${info.masters.length} masters` : ''}`);

  const mapDb = (db: number): number => {
    const to = opts.targetDb ?? opts.dbMap?.get(db) ?? spec.db ?? db;
    if (target.cluster && to !== 0) {
      throw new FerryError('TARGET_DB_UNSUPPORTED', `the backup has keys in db ${db} but a Redis Cluster has only db 0; map it with --db-map ${db}:0 or --target-db 0`, { field: 'db' });
    }
    return to;
  };
  const w = new ImportWriter(target, {
    mode: opts.mode ?? 'auto',
    conflict: opts.conflict ?? 'replace',
    onError: opts.onError ?? 'stop',
    acceptLoss: opts.acceptLoss ?? false,
    inflate: !(opts.keepLzf ?? false),
    mapDb,
    log,
  });

  const totalBytes = inputs.every((i) => i.size !== null) ? inputs.reduce((a, i) => a + (i.size ?? 0), 0) : null;
  let current: ImportInput | null = null;
  // Every input counts its own passes (checks run for all inputs first, then each is read).
  const bytesNow = (): number => inputs.reduce((a, i) => a + i.bytesRead(), 0);
  const progress = (): ImportProgress => {
    const seconds = (performance.now() - started) / 1000;
    const bytesRead = bytesNow();
    const rate = seconds > 0 ? bytesRead / seconds : 0;
    return {
      input: current?.name ?? '',
      bytesRead,
      totalBytes,
      keys: w.c.keys,
      commands: w.c.commands,
      seconds,
      keysPerSecond: seconds > 0 ? w.c.keys / seconds : 0,
      etaSeconds: totalBytes !== null && rate > 0 ? Math.max(0, (totalBytes - bytesRead) / rate) : null,
    };
  };
  const timer = opts.onProgress ? setInterval(() => opts.onProgress!(progress()), opts.progressIntervalMs ?? 500) : null;
  timer?.unref();
  const onAbort = (): void => target.fail(new FerryError('ABORTED', 'import stopped on request'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    // The checking passes of every input run before the first write: one bad input among several
    // (files, shards, backups in one archive) fails the import with nothing written.
    for (const input of inputs) {
      if (target.fatal) throw target.fatal;
      current = input;
      await input.check?.();
    }
    for (const input of inputs) {
      current = input;
      for await (const batch of input.records()) {
        if (target.fatal) throw target.fatal;
        for (const rec of batch) {
          const p = dispatch(w, rec, input.name);
          if (p) await p;
        }
      }
      current = null;
    }
    await w.finish();
    if (target.fatal) throw target.fatal;
  } catch (err) {
    target.destroy();
    const fe = asFerryError(target.fatal ?? err);
    fe.context.summary = summarize(w.c, bytesNow(), started, target);
    throw fe;
  } finally {
    if (timer) clearInterval(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  await target.close();
  const summary = summarize(w.c, bytesNow(), started, target);
  opts.onProgress?.(progress());
  if (w.c.settled !== w.c.seen) {
    throw new FerryError('IMPORT_INCOMPLETE', `${w.c.seen - w.c.settled} of ${w.c.seen} records have no acknowledged outcome`, { summary });
  }
  log('info', 'IMPORT_DONE', `${summary.keys} keys in ${summary.seconds.toFixed(2)} s (${summary.skippedExpired} expired skipped, ${summary.skippedExisting} existing kept, ${summary.errors} errors)`);
  return summary;
}

function dispatch(w: ImportWriter, rec: ImportRecord, input: string): Promise<void> | undefined {
  switch (rec.kind) {
    case 'entry':
      return w.entry(rec.entry, input);
    case 'strings':
      return w.strings(rec, input);
    case 'keys':
      return w.keys(rec, input);
    case 'function':
      return w.func(rec.code, input, rec.offset);
    case 'aux':
      if (rec.key.toString('latin1') === 'lua') return w.script(rec.value, input, rec.offset);
      return undefined;
    case 'command':
      return w.command(rec, input);
    case 'transaction':
      return w.transaction(rec, input);
    default:
      return undefined;
  }
}

function summarize(c: Counters, bytes: number, started: number, t: Target): ImportSummary {
  return {
    keys: c.keys,
    skippedExpired: c.skippedExpired,
    skippedExisting: c.skippedExisting,
    errors: c.errors,
    bytes,
    seconds: Math.round((performance.now() - started)) / 1000,
    commands: c.commands,
    aofCommands: c.aofCommands,
    functions: c.functions,
    scripts: c.scripts,
    lost: { ...c.lost },
    errorList: [...c.errorList],
    paths: { ...c.paths },
    redirects: t.redirects,
    reconnects: t.reconnects,
  };
}

function validate(o: ImportOptions): void {
  if (o.mode && !['auto', 'restore', 'rewrite'].includes(o.mode)) throw new FerryError('BAD_ARGUMENT', `mode must be auto, restore or rewrite, got ${o.mode}`, { field: 'mode' });
  if (o.conflict && !['replace', 'skip', 'fail'].includes(o.conflict)) throw new FerryError('BAD_ARGUMENT', `conflict must be replace, skip or fail, got ${o.conflict}`, { field: 'conflict' });
  if (o.onError && !['stop', 'skip'].includes(o.onError)) throw new FerryError('BAD_ARGUMENT', `on-error must be stop or skip, got ${o.onError}`, { field: 'onError' });
  if (o.targetDb !== undefined && (!Number.isInteger(o.targetDb) || o.targetDb < 0)) throw new FerryError('BAD_ARGUMENT', 'target db must be a non-negative integer', { field: 'targetDb' });
}

/** "1:0,5:0" -> Map. */
export function parseDbMap(s: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const r = /^(\d+):(\d+)$/.exec(part);
    if (!r) throw new FerryError('BAD_ARGUMENT', `--db-map entries are FROM:TO, got ${JSON.stringify(part)}`, { field: 'dbMap' });
    m.set(Number(r[1]), Number(r[2]));
  }
  return m;
}
