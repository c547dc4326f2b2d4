/**
 * The BackupStore contract (backup-contract.ts) on PostgreSQL: the same tables as the SQLite adapter
 * (migration 3), its own pool on the schema named in the URL. Conditional updates in one statement,
 * one running backup (or restore) per instance enforced by partial unique indexes.
 */
import type pg from 'pg';
import { FerryError } from '../../errors/ferry-error.js';
import type {
  BackupPatch,
  BackupRecord,
  BackupStatus,
  BackupStore,
  NewBackup,
  NewRestore,
  RestorePatch,
  RestoreRecord,
  RestoreStatus,
  TimeQuery,
} from '../backup-contract.js';
import { openPool, storeCall, type PgPoolOptions } from './pool.js';

import { toBackup, toRestore, BACKUP_PATCH_COLUMNS, RESTORE_PATCH_COLUMNS, type BackupRow, type RestoreRow } from '../backup-rows.js';

function uniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === constraint;
}

export class PgBackupStore implements BackupStore {
  private closing: Promise<void> | null = null;

  private constructor(private readonly pool: pg.Pool) {}

  static async open(rawUrl: string, o: PgPoolOptions = {}): Promise<PgBackupStore> {
    const { pool } = await openPool(rawUrl, { poolSize: o.poolSize ?? 4 });
    return new PgBackupStore(pool);
  }

  private async rows<T extends pg.QueryResultRow>(sql: string, args: unknown[]): Promise<T[]> {
    return (await this.pool.query<T>(sql, args)).rows;
  }

  createBackup(b: NewBackup, now: number): Promise<BackupRecord> {
    return storeCall('create a backup record', async () => {
      try {
        const [row] = await this.rows<BackupRow>(
          `INSERT INTO backups (id, project_id, instance_id, name, status, format, remark, bucket, prefix, owner, created_at, updated_at)
           VALUES ($1, $2, $3, $4, 'waiting', $5, $6, $7, $8, $9, $10, $10) RETURNING *`,
          [b.id, b.project_id, b.instance_id, b.name, b.format, b.remark, b.bucket, b.prefix, b.owner, now],
        );
        return toBackup(row!);
      } catch (err) {
        if (uniqueViolation(err, 'backups_one_running')) throw new FerryError('INSTANCE_BACKUPING', 'the instance is backuping.');
        throw err;
      }
    });
  }

  getBackup(projectId: string, instanceId: string, id: string): Promise<BackupRecord | null> {
    return storeCall('read a backup record', async () => {
      const [row] = await this.rows<BackupRow>("SELECT * FROM backups WHERE id = $1 AND project_id = $2 AND instance_id = $3 AND status != 'deleted'", [id, projectId, instanceId]);
      return row ? toBackup(row) : null;
    });
  }

  findBackup(projectId: string, id: string): Promise<BackupRecord | null> {
    return storeCall('read a backup record', async () => {
      const [row] = await this.rows<BackupRow>("SELECT * FROM backups WHERE id = $1 AND project_id = $2 AND status != 'deleted'", [id, projectId]);
      return row ? toBackup(row) : null;
    });
  }

  private timeWhere(projectId: string, instanceId: string, q: TimeQuery, extra: string): { where: string; args: unknown[] } {
    const where = ['project_id = $1', 'instance_id = $2'];
    const args: unknown[] = [projectId, instanceId];
    if (extra) where.push(extra);
    if (q.begin !== undefined) {
      args.push(q.begin);
      where.push(`created_at >= $${args.length}`);
    }
    if (q.end !== undefined) {
      args.push(q.end);
      where.push(`created_at <= $${args.length}`);
    }
    return { where: where.join(' AND '), args };
  }

  listBackups(projectId: string, instanceId: string, q: TimeQuery): Promise<{ count: number; records: BackupRecord[] }> {
    return storeCall('list backup records', async () => {
      const { where, args } = this.timeWhere(projectId, instanceId, q, "status != 'deleted'");
      const [c] = await this.rows<{ n: number }>(`SELECT count(*) AS n FROM backups WHERE ${where}`, args);
      // created_at ties (same millisecond) are broken by id, not by insertion order as SQLite's rowid does.
      const rows = await this.rows<BackupRow>(`SELECT * FROM backups WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}`, [...args, q.limit, q.offset]);
      return { count: c!.n, records: rows.map(toBackup) };
    });
  }

  transitionBackup(id: string, from: readonly BackupStatus[], to: BackupStatus, patch: BackupPatch, now: number): Promise<BackupRecord | null> {
    return storeCall('update a backup record', async () => {
      const args: unknown[] = [to, now];
      const sets = ['status = $1', 'updated_at = $2'];
      for (const k of BACKUP_PATCH_COLUMNS) {
        if (patch[k] === undefined) continue;
        args.push(patch[k]);
        sets.push(`${k} = $${args.length}`);
      }
      if (patch.files !== undefined) {
        args.push(JSON.stringify(patch.files));
        sets.push(`files = $${args.length}`);
      }
      args.push(id, [...from]);
      const [row] = await this.rows<BackupRow>(`UPDATE backups SET ${sets.join(', ')} WHERE id = $${args.length - 1} AND status = ANY($${args.length}) RETURNING *`, args);
      return row ? toBackup(row) : null;
    });
  }

  backupProgress(id: string, progress: number, now: number): Promise<boolean> {
    return storeCall('update backup progress', async () => (await this.pool.query("UPDATE backups SET progress = $1, updated_at = $2 WHERE id = $3 AND status = 'backuping'", [progress, now, id])).rowCount === 1);
  }

  runningBackups(): Promise<BackupRecord[]> {
    return storeCall('list running backups', async () => (await this.rows<BackupRow>("SELECT * FROM backups WHERE status IN ('waiting', 'backuping') ORDER BY created_at", [])).map(toBackup));
  }

  createRestore(r: NewRestore, now: number): Promise<RestoreRecord> {
    return storeCall('create a restore record', async () => {
      try {
        const [row] = await this.rows<RestoreRow>(
          `INSERT INTO restores (id, project_id, instance_id, backup_id, remark, status, owner, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'waiting', $6, $7, $7) RETURNING *`,
          [r.id, r.project_id, r.instance_id, r.backup_id, r.remark, r.owner, now],
        );
        return toRestore(row!);
      } catch (err) {
        if (uniqueViolation(err, 'restores_one_running')) throw new FerryError('INSTANCE_RESTORING', 'the instance is restoring.');
        throw err;
      }
    });
  }

  getRestore(id: string): Promise<RestoreRecord | null> {
    return storeCall('read a restore record', async () => {
      const [row] = await this.rows<RestoreRow>('SELECT * FROM restores WHERE id = $1', [id]);
      return row ? toRestore(row) : null;
    });
  }

  listRestores(projectId: string, instanceId: string, q: TimeQuery): Promise<{ count: number; records: RestoreRecord[] }> {
    return storeCall('list restore records', async () => {
      const { where, args } = this.timeWhere(projectId, instanceId, q, '');
      const [c] = await this.rows<{ n: number }>(`SELECT count(*) AS n FROM restores WHERE ${where}`, args);
      const rows = await this.rows<RestoreRow>(`SELECT * FROM restores WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}`, [...args, q.limit, q.offset]);
      return { count: c!.n, records: rows.map(toRestore) };
    });
  }

  transitionRestore(id: string, from: readonly RestoreStatus[], to: RestoreStatus, patch: RestorePatch, now: number): Promise<RestoreRecord | null> {
    return storeCall('update a restore record', async () => {
      const args: unknown[] = [to, now];
      const sets = ['status = $1', 'updated_at = $2'];
      for (const k of RESTORE_PATCH_COLUMNS) {
        if (patch[k] === undefined) continue;
        args.push(patch[k]);
        sets.push(`${k} = $${args.length}`);
      }
      args.push(id, [...from]);
      const [row] = await this.rows<RestoreRow>(`UPDATE restores SET ${sets.join(', ')} WHERE id = $${args.length - 1} AND status = ANY($${args.length}) RETURNING *`, args);
      return row ? toRestore(row) : null;
    });
  }

  restoreProgress(id: string, progress: number, now: number): Promise<boolean> {
    return storeCall('update restore progress', async () => (await this.pool.query("UPDATE restores SET progress = $1, updated_at = $2 WHERE id = $3 AND status = 'restoring'", [progress, now, id])).rowCount === 1);
  }

  appendRestoreLog(id: string, line: string, now: number): Promise<void> {
    return storeCall('append to a restore log', async () => {
      // One statement: concurrent appends each land (the row lock orders them).
      await this.pool.query('UPDATE restores SET log = (log::jsonb || jsonb_build_array($1::text))::text, updated_at = $2 WHERE id = $3', [line, now, id]);
    });
  }

  runningRestores(): Promise<RestoreRecord[]> {
    return storeCall('list running restores', async () => (await this.rows<RestoreRow>("SELECT * FROM restores WHERE status IN ('waiting', 'restoring') ORDER BY created_at", [])).map(toRestore));
  }

  /** The contract's close() is synchronous: the pool ends in the background; `closed()` waits for it. */
  close(): void {
    this.closing ??= this.pool.end().catch(() => {});
  }

  closed(): Promise<void> {
    this.close();
    return this.closing!;
  }
}
