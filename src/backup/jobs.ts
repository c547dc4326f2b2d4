/**
 * The two background jobs: taking a backup of an instance (every master, one file each, in one
 * record) and restoring a record into its instance (FLUSHALL on every master, then the import
 * engine). Each runs under its own AbortSignal; the record's state moves only through the store's
 * conditional transitions, so a record already failed by someone else is never overwritten.
 */
import { FerryError, asFerryError } from '../errors/ferry-error.js';
import { importRecords } from '../pipeline/import.js';
import { ReplyError } from '../resp/decoder.js';
import { openInputs } from '../source/index.js';
import type { BackupFileInfo, BackupRecord, BackupStore, RestoreRecord } from '../store/backup-contract.js';
import { Connection } from '../writer/connection.js';
import { probeTarget } from '../writer/probe.js';
import type { HostPort, TargetSpec } from '../writer/target-spec.js';
import type { BackupBucket } from './sink.js';
import { backupNode, replicaAuth, type BackupFormat } from './snapshot.js';
import { IMPORT_INLINE_LIMIT } from '../pipeline/inline-limit.js';

export interface JobContext {
  store: BackupStore;
  bucket: BackupBucket;
  dataRoot: string;
  now: () => number;
  log: (level: 'info' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** DCS record error codes (reference §4.2) for a Ferry failure; the Ferry code stays in error_message. */
export function recordErrorCode(e: FerryError, kind: 'backup' | 'restore'): string {
  if (e.code === 'REPLICATION_TIMEOUT') return 'dcs.08.0002';
  if (kind === 'restore') return 'dcs.08.0007';
  return 'dcs.08.0001';
}

export interface Shard {
  addr: HostPort;
  /** "0-5460,10923-10923" or "" (standalone). */
  slots: string;
}

/** The nodes to back up: the one node, or every cluster master with its slot ranges. */
export async function shardsOf(target: TargetSpec): Promise<Shard[]> {
  const info = await probeTarget(target);
  if (info.topology === 'standalone') return [{ addr: info.addr, slots: '' }];
  const by = new Map<string, Shard>();
  for (const r of [...info.slots].sort((a, b) => a.start - b.start)) {
    const k = `${r.master.host}:${r.master.port}`;
    const s = by.get(k) ?? { addr: r.master, slots: '' };
    s.slots += `${s.slots ? ',' : ''}${r.start}-${r.end}`;
    by.set(k, s);
  }
  return [...by.values()];
}

/** `yyyyMMddHHmmss` in UTC (DCS record names and query times). */
export function dcsTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** `redis_<ip>_<port>_<slots>_<yyyyMMddHHmmss>.<rdb|aof>`, as DCS names shard files. */
export function shardFileName(s: Shard, ms: number, format: BackupFormat): string {
  const slots = s.slots ? s.slots.replace(/,/g, '_') : 'all';
  return `redis_${s.addr.host.replace(/[^0-9A-Za-z.-]/g, '-')}_${s.addr.port}_${slots}_${dcsTime(ms)}.${format}`;
}

export async function runBackup(ctx: JobContext, rec: BackupRecord, target: TargetSpec, signal: AbortSignal): Promise<void> {
  const started = await ctx.store.transitionBackup(rec.id, ['waiting'], 'backuping', { execution_at: ctx.now() }, ctx.now());
  if (!started) return;
  const done: BackupFileInfo[] = [];
  try {
    const shards = await shardsOf(target);
    const planned = shards.map((s) => ({ file_name: rec.prefix + shardFileName(s, rec.created_at, rec.format), size: 0, node: `${s.addr.host}:${s.addr.port}`, slots: s.slots }));
    // The planned names are stored first, so a process that dies mid-backup leaves enough to clean up.
    await ctx.store.transitionBackup(rec.id, ['backuping'], 'backuping', { files: planned }, ctx.now());
    for (let i = 0; i < shards.length; i++) {
      const s = shards[i]!;
      const file = planned[i]!;
      let lastSaved = 0;
      const r = await backupNode({
        addr: s.addr,
        auth: replicaAuth(target),
        sink: ctx.bucket.sink(file.file_name),
        format: rec.format,
        signal,
        onProgress: (p) => {
          const part = p.total ? Math.min(1, p.received / p.total) : 0.5;
          const pct = Math.min(99.99, ((i + part) / shards.length) * 100);
          if (ctx.now() - lastSaved >= 500) {
            lastSaved = ctx.now();
            void ctx.store.backupProgress(rec.id, pct, ctx.now()).catch(() => undefined);
          }
        },
      });
      done.push({ ...file, size: r.size });
      ctx.log('info', 'backup shard written', { backup_id: rec.id, node: file.node, file: file.file_name, bytes: r.size, keys: r.keys, form: r.form, seconds: r.seconds });
    }
    const size = done.reduce((a, f) => a + f.size, 0);
    const ok = await ctx.store.transitionBackup(rec.id, ['backuping'], 'succeed', { files: done, size, progress: 100, owner: null, finished_at: ctx.now() }, ctx.now());
    if (!ok) await removeFiles(ctx, done); // deleted or failed meanwhile: its files must not linger
  } catch (err) {
    const e = asFerryError(err);
    await removeFiles(ctx, done);
    await ctx.bucket.removeFolder(rec.prefix);
    await ctx.store.transitionBackup(rec.id, ['waiting', 'backuping'], 'failed', { error_code: recordErrorCode(e, 'backup'), error_message: `${e.code}: ${e.message}`, owner: null, finished_at: ctx.now(), files: [], size: 0 }, ctx.now());
    ctx.log('error', 'backup failed', { backup_id: rec.id, code: e.code, error: e.message });
  }
}

async function removeFiles(ctx: JobContext, files: BackupFileInfo[]): Promise<void> {
  for (const f of files) await ctx.bucket.remove(f.file_name).catch(() => undefined);
}

export async function runRestore(ctx: JobContext, rec: RestoreRecord, backup: BackupRecord, target: TargetSpec, signal: AbortSignal): Promise<void> {
  const started = await ctx.store.transitionRestore(rec.id, ['waiting'], 'restoring', {}, ctx.now());
  if (!started) return;
  const note = (line: string) => ctx.store.appendRestoreLog(rec.id, line, ctx.now());
  try {
    const info = await probeTarget(target);
    const masters = info.masters.length ? info.masters : [info.addr];
    await note(`emptying the instance before the restore: FLUSHALL on every master (${masters.map((m) => `${m.host}:${m.port}`).join(', ')}); a restore replaces the instance's data`);
    for (const m of masters) {
      if (signal.aborted) throw new FerryError('ABORTED', 'restore stopped on request');
      const c = await Connection.open(m, target);
      try {
        const r = await c.call(['FLUSHALL']);
        if (r instanceof ReplyError) throw new FerryError('TARGET_REPLY_ERROR', `FLUSHALL on ${m.host}:${m.port} failed: ${r.message}`);
      } finally {
        c.destroy();
      }
    }
    await note(`importing backup ${backup.id} (${backup.files.length} file(s), ${backup.size} bytes, ${backup.format})`);
    const inputs = await openInputs(
      backup.files.map((f) => ({ bucket: ctx.bucket.name, key: f.file_name })),
      { buckets: [ctx.bucket.config], dataRoot: ctx.dataRoot, signal, inlineLimit: IMPORT_INLINE_LIMIT },
    );
    let lastSaved = 0;
    const summary = await importRecords(inputs, {
      target,
      signal,
      conflict: 'replace',
      onProgress: (p) => {
        if (!p.totalBytes || ctx.now() - lastSaved < 500) return;
        lastSaved = ctx.now();
        void ctx.store.restoreProgress(rec.id, Math.min(99.99, (100 * p.bytesRead) / p.totalBytes), ctx.now()).catch(() => undefined);
      },
      log: (level, code, message) => {
        if (level !== 'debug') void note(`${code}: ${message}`).catch(() => undefined);
      },
    });
    await note(`restored ${summary.keys} keys in ${summary.seconds.toFixed(1)} s (${summary.errors} errors)`);
    if (summary.errors) throw new FerryError('IMPORT_INCOMPLETE', `${summary.errors} keys could not be written`);
    await ctx.store.transitionRestore(rec.id, ['restoring'], 'succeed', { progress: 100, owner: null, finished_at: ctx.now() }, ctx.now());
  } catch (err) {
    const e = asFerryError(err);
    await note(`failed: ${e.code}: ${e.message}`).catch(() => undefined);
    await ctx.store.transitionRestore(rec.id, ['waiting', 'restoring'], 'failed', { error_code: recordErrorCode(e, 'restore'), error_message: `${e.code}: ${e.message}`, owner: null, finished_at: ctx.now() }, ctx.now());
    ctx.log('error', 'restore failed', { restore_id: rec.id, code: e.code, error: e.message });
  }
}
