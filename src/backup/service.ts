/**
 * Backup and restore records, as the API and the import path use them: validation and DCS rules
 * (single-node refusal, remark length, 24 records per instance, only `succeed` records are used),
 * then the store, then a background job under its own AbortController. A small runner of its own
 * (not the task runner): backups are short, per instance, and cannot be resumed, so a record left
 * running by a process that died is marked failed at the next start.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { InstanceConfig } from '../config/schema.js';
import { FerryError } from '../errors/ferry-error.js';
import type { BackupFormat, BackupRecord, BackupStore, RestoreRecord, TimeQuery } from '../store/backup-contract.js';
import type { InstanceRegistry } from '../task/instances.js';
import { targetFromInstance } from '../writer/target-spec.js';
import { dcsTime, runBackup, runRestore, type JobContext } from './jobs.js';
import { LinkSigner } from './links.js';
import type { BackupBucket } from './sink.js';

/** DCS keeps at most 24 backups per instance; the 25th evicts the oldest (reference §5.4). */
export const MAX_RECORDS_PER_INSTANCE = 24;
/** DCS answers at most 64 links. */
const MAX_LINKS = 64;
/** Running records are touched this often, so other processes can tell a live job from a dead one. */
export const HEARTBEAT_MS = 10_000;
/** A running record untouched for this long belongs to a process that is gone (any host). */
export const STALE_MS = 12 * HEARTBEAT_MS;

export interface BackupServiceDeps {
  store: BackupStore;
  registry: InstanceRegistry;
  bucket: BackupBucket;
  signer: LinkSigner;
  dataRoot: string;
  /** `allow_single_node_backup` in the configuration. */
  allowSingleNode: boolean;
  /** This process, as stored in running records (`host:pid:random`). */
  owner?: string;
  now?: () => number;
  log?: JobContext['log'];
}

interface Job {
  kind: 'backup' | 'restore';
  project: string;
  ac: AbortController;
  done: Promise<void>;
}

export class BackupService {
  private readonly now: () => number;
  private readonly owner: string;
  private readonly jobs = new Map<string, Job>();
  private readonly ctx: JobContext;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(private readonly d: BackupServiceDeps) {
    this.now = d.now ?? Date.now;
    this.owner = d.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.ctx = { store: d.store, bucket: d.bucket, dataRoot: d.dataRoot, now: this.now, log: d.log ?? (() => undefined) };
  }

  get bucketName(): string {
    return this.d.bucket.name;
  }

  private instance(projectId: string, instanceId: string): InstanceConfig {
    const inst = this.d.registry.get(projectId, instanceId);
    if (inst.type === 'single' && !this.d.allowSingleNode) {
      throw new FerryError('BACKUP_NOT_SUPPORTED', 'only master standby instance is support this action (single-node instances cannot be backed up or restored; set allow_single_node_backup: true to allow it)');
    }
    return inst;
  }

  private start(kind: Job['kind'], project: string, id: string, run: (signal: AbortSignal) => Promise<void>): void {
    const ac = new AbortController();
    const done = run(ac.signal)
      .catch((err: unknown) => this.ctx.log('error', 'backup job crashed', { id, error: String(err) }))
      .finally(() => {
        this.jobs.delete(id);
        if (!this.jobs.size && this.heartbeat) {
          clearInterval(this.heartbeat);
          this.heartbeat = null;
        }
      });
    this.jobs.set(id, { kind, project, ac, done });
    this.heartbeat ??= setInterval(() => void this.beat(), HEARTBEAT_MS).unref();
  }

  /** Re-writes each running record's progress, which refreshes its updated_at (the liveness mark). */
  private async beat(): Promise<void> {
    for (const [id, j] of this.jobs) {
      try {
        if (j.kind === 'backup') {
          const r = await this.d.store.findBackup(j.project, id);
          if (r) await this.d.store.backupProgress(id, r.progress, this.now());
        } else {
          const r = await this.d.store.getRestore(id);
          if (r) await this.d.store.restoreProgress(id, r.progress, this.now());
        }
      } catch {
        /* the next beat tries again */
      }
    }
  }

  async create(projectId: string, instanceId: string, body: { remark?: string; backup_format?: string }): Promise<BackupRecord> {
    const remark = body.remark ?? '';
    if ([...remark].length > 128) throw new FerryError('BACKUP_REMARK_INVALID', 'The value of the remark parameter must be 0 to 128 characters in length.', { field: 'remark' });
    const format: BackupFormat = body.backup_format === 'aof' ? 'aof' : 'rdb';
    const inst = this.instance(projectId, instanceId);
    if ((await this.d.store.runningRestores()).some((r) => r.instance_id === inst.id)) throw new FerryError('INSTANCE_RESTORING', 'the instance is restoring.');
    const id = randomUUID();
    const now = this.now();
    const rec = await this.d.store.createBackup(
      { id, project_id: projectId, instance_id: inst.id, name: `backup_${dcsTime(now)}`, format, remark, bucket: this.d.bucket.name, prefix: `${inst.id}/${id}/`, owner: this.owner },
      now,
    );
    await this.evict(projectId, inst.id);
    const target = targetFromInstance(inst);
    this.start('backup', projectId, id, (signal) => runBackup(this.ctx, rec, target, signal));
    return rec;
  }

  /** Keeps the newest 24 records of an instance; older finished ones are deleted with their files. */
  private async evict(projectId: string, instanceId: string): Promise<void> {
    const all = await this.d.store.listBackups(projectId, instanceId, { offset: MAX_RECORDS_PER_INSTANCE, limit: 1000 });
    for (const old of all.records) {
      if (old.status === 'waiting' || old.status === 'backuping') continue;
      await this.removeRecord(old);
    }
  }

  private async removeRecord(rec: BackupRecord): Promise<void> {
    for (const f of rec.files) {
      try {
        await this.d.bucket.remove(f.file_name);
      } catch (err) {
        throw new FerryError('BACKUP_DEST_FAILED', `Delete instance backup file failed: ${(err as Error).message}`, { object: f.file_name }, { cause: err });
      }
    }
    await this.d.bucket.removeFolder(rec.prefix);
    await this.d.store.transitionBackup(rec.id, [rec.status], 'deleted', { owner: null }, this.now());
  }

  list(projectId: string, instanceId: string, q: TimeQuery): Promise<{ count: number; records: BackupRecord[] }> {
    this.d.registry.get(projectId, instanceId);
    return this.d.store.listBackups(projectId, instanceId, q);
  }

  async get(projectId: string, instanceId: string, backupId: string): Promise<BackupRecord> {
    this.d.registry.get(projectId, instanceId);
    const rec = await this.d.store.getBackup(projectId, instanceId, backupId);
    if (!rec) throw new FerryError('BACKUP_NOT_FOUND', `no backup record ${JSON.stringify(backupId)} for this instance`, { field: 'backup_id' });
    return rec;
  }

  /** Deletes a finished record and its files (a running backup is refused: DCS.4096). */
  async delete(projectId: string, instanceId: string, backupId: string): Promise<void> {
    const rec = await this.get(projectId, instanceId, backupId);
    if (rec.status === 'waiting' || rec.status === 'backuping') throw new FerryError('INSTANCE_BACKUPING', 'the instance is backuping; delete the record once it has finished.');
    await this.removeRecord(rec);
  }

  /** Download links: signed Ferry URLs on a local bucket, pre-signed URLs on S3. */
  async links(projectId: string, instanceId: string, backupId: string, expiration: number, baseUrl: string): Promise<{ file_path: string; bucket_name: string; links: { file_name: string; link: string }[] }> {
    const rec = await this.get(projectId, instanceId, backupId);
    if (rec.status !== 'succeed') throw new FerryError('BACKUP_STATE', `the backup record status is err: ${rec.status}, only succeed records have files`);
    const expires = Math.floor(this.now() / 1000) + expiration;
    const links = [];
    for (const f of rec.files.slice(0, MAX_LINKS)) {
      const name = f.file_name.slice(rec.prefix.length);
      const link = this.d.bucket.localPath(f.file_name) !== null
        ? this.d.signer.url(baseUrl, { project: projectId, backup: rec.id, file: name, expires })
        : await this.d.bucket.presign(f.file_name, expiration);
      links.push({ file_name: name, link });
    }
    return { file_path: rec.prefix, bucket_name: rec.bucket, links };
  }

  /** Opens a file a signed link names, after checking the link. */
  async download(q: { project: string; backup: string; file: string; expires: number; signature: string }): Promise<{ stream: ReadStream; size: number; name: string }> {
    this.d.signer.verify({ project: q.project, backup: q.backup, file: q.file, expires: q.expires }, q.signature, this.now());
    const rec = await this.d.store.findBackup(q.project, q.backup);
    if (!rec || rec.status !== 'succeed') throw new FerryError('BACKUP_NOT_FOUND', 'the backup behind this link no longer exists');
    const f = rec.files.find((x) => x.file_name === rec.prefix + q.file);
    const path = f ? this.d.bucket.localPath(f.file_name) : null;
    if (!f || !path) throw new FerryError('BACKUP_NOT_FOUND', 'the backup has no such file');
    const size = (await stat(path)).size;
    return { stream: createReadStream(path), size, name: q.file };
  }

  /** For create-migration-task with file_source backup_record: the record's files, if it succeeded. */
  async importSource(projectId: string, backupId: string): Promise<{ bucket_name: string; files: { file_name: string; size: string }[] }> {
    const rec = await this.d.store.findBackup(projectId, backupId);
    if (!rec) throw new FerryError('BAD_ARGUMENT', `no backup record ${JSON.stringify(backupId)} exists in this project`, { field: 'backup_files.backup_id' });
    if (rec.status !== 'succeed') throw new FerryError('BACKUP_STATE', `the backup record status is err when restore this instance (backup ${backupId} is ${rec.status})`);
    return { bucket_name: rec.bucket, files: rec.files.map((f) => ({ file_name: f.file_name, size: String(f.size) })) };
  }

  async restore(projectId: string, instanceId: string, body: { backup_id: string; remark?: string }): Promise<RestoreRecord> {
    const remark = body.remark ?? '';
    if ([...remark].length > 128) throw new FerryError('BACKUP_REMARK_INVALID', 'The value of the remark parameter must be 0 to 128 characters in length.', { field: 'remark' });
    const inst = this.instance(projectId, instanceId);
    const backup = await this.d.store.getBackup(projectId, inst.id, body.backup_id);
    if (!backup || backup.status !== 'succeed') throw new FerryError('BACKUP_STATE', `the backup record status is err when restore this instance (${backup ? `backup is ${backup.status}` : 'no such backup of this instance'})`);
    if ((await this.d.store.runningBackups()).some((b) => b.instance_id === inst.id)) throw new FerryError('INSTANCE_BACKUPING', 'the instance is backuping.');
    const rec = await this.d.store.createRestore({ id: randomUUID(), project_id: projectId, instance_id: inst.id, backup_id: backup.id, remark, owner: this.owner }, this.now());
    const target = targetFromInstance(inst);
    this.start('restore', projectId, rec.id, (signal) => runRestore(this.ctx, rec, backup, target, signal));
    return rec;
  }

  listRestores(projectId: string, instanceId: string, q: TimeQuery): Promise<{ count: number; records: RestoreRecord[] }> {
    this.d.registry.get(projectId, instanceId);
    return this.d.store.listRestores(projectId, instanceId, q);
  }

  /** Waits for a job (tests, CLI). */
  async settled(id: string): Promise<void> {
    await this.jobs.get(id)?.done;
  }

  /**
   * At start-up: records left waiting/backuping/restoring by a process that is gone (of this host, by
   * pid; of any host, when its heartbeat stopped for STALE_MS) cannot be resumed; they are failed
   * with the reason, and a backup's unpublished files are removed.
   */
  async recover(): Promise<number> {
    let n = 0;
    const host = hostname();
    const now = this.now();
    // Dead: a process of this host that is gone (by pid), or any process whose record stopped
    // getting heartbeats (a host that vanished).
    const dead = (owner: string | null, updatedAt: number): boolean => {
      if (owner === this.owner) return false;
      if (!owner || now - updatedAt > STALE_MS) return true;
      const [h, pid] = owner.split(':');
      return h === host && (Number(pid) === process.pid || !alive(Number(pid)));
    };
    for (const b of await this.d.store.runningBackups()) {
      if (!dead(b.owner, b.updated_at)) continue;
      for (const f of b.files) await this.d.bucket.remove(f.file_name).catch(() => undefined);
      const ok = await this.d.store.transitionBackup(b.id, ['waiting', 'backuping'], 'failed', { error_code: 'dcs.08.0001', error_message: 'TASK_INTERRUPTED: the Ferry process running this backup stopped before it finished; no file was kept', owner: null, files: [], size: 0, finished_at: this.now() }, this.now());
      if (ok) n++;
    }
    for (const r of await this.d.store.runningRestores()) {
      if (!dead(r.owner, r.updated_at)) continue;
      await this.d.store.appendRestoreLog(r.id, 'failed: the Ferry process running this restore stopped before it finished; the instance holds part of the backup', this.now());
      const ok = await this.d.store.transitionRestore(r.id, ['waiting', 'restoring'], 'failed', { error_code: 'dcs.08.0007', error_message: 'TASK_INTERRUPTED: the Ferry process running this restore stopped before it finished', owner: null, finished_at: this.now() }, this.now());
      if (ok) n++;
    }
    return n;
  }

  /** Stops every job (records end failed: a backup cannot be resumed) and waits for them. */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const j of this.jobs.values()) j.ac.abort();
    await Promise.all([...this.jobs.values()].map((j) => j.done));
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
