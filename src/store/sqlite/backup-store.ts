/**
 * The BackupStore contract on SQLite (better-sqlite3). The tables come from migration 3 in
 * migrations.ts; opening this store runs the numbered migrations through SqliteTaskStore's migrator
 * first (so it also works on a file no task store opened yet), then keeps its own connection.
 */
import Database from 'better-sqlite3';
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
import { SqliteTaskStore } from './store.js';

import { toBackup, toRestore, BACKUP_PATCH_COLUMNS, RESTORE_PATCH_COLUMNS, type BackupRow, type RestoreRow } from '../backup-rows.js';

export class SqliteBackupStore implements BackupStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    if (path === ':memory:') throw new FerryError('STORE_FAILED', 'the backup store needs a file (it shares the task store database)');
    // Runs the numbered migrations (tables of migration 3 included) and releases its connection.
    new SqliteTaskStore(path).close();
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      throw new FerryError('STORE_FAILED', `cannot open the SQLite backup store: ${(err as Error).message}`, { file: path }, { cause: err });
    }
  }

  private wrap<T>(what: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      if (err instanceof FerryError) return Promise.reject(err);
      return Promise.reject(new FerryError('STORE_FAILED', `backup store failed to ${what}: ${(err as Error).message}`, {}, { cause: err }));
    }
  }

  createBackup(b: NewBackup, now: number): Promise<BackupRecord> {
    return this.wrap('create a backup record', () => {
      try {
        const row = this.db
          .prepare(
            `INSERT INTO backups (id, project_id, instance_id, name, status, format, remark, bucket, prefix, owner, created_at, updated_at)
             VALUES (?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          )
          .get(b.id, b.project_id, b.instance_id, b.name, b.format, b.remark, b.bucket, b.prefix, b.owner, now, now) as BackupRow;
        return toBackup(row);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new FerryError('INSTANCE_BACKUPING', 'the instance is backuping.');
        throw err;
      }
    });
  }

  getBackup(projectId: string, instanceId: string, id: string): Promise<BackupRecord | null> {
    return this.wrap('read a backup record', () => {
      const row = this.db.prepare("SELECT * FROM backups WHERE id = ? AND project_id = ? AND instance_id = ? AND status != 'deleted'").get(id, projectId, instanceId) as BackupRow | undefined;
      return row ? toBackup(row) : null;
    });
  }

  findBackup(projectId: string, id: string): Promise<BackupRecord | null> {
    return this.wrap('read a backup record', () => {
      const row = this.db.prepare("SELECT * FROM backups WHERE id = ? AND project_id = ? AND status != 'deleted'").get(id, projectId) as BackupRow | undefined;
      return row ? toBackup(row) : null;
    });
  }

  private timeWhere(projectId: string, instanceId: string, q: TimeQuery, extra: string): { where: string; args: unknown[] } {
    const where = ['project_id = ?', 'instance_id = ?'];
    const args: unknown[] = [projectId, instanceId];
    if (extra) where.push(extra);
    if (q.begin !== undefined) {
      where.push('created_at >= ?');
      args.push(q.begin);
    }
    if (q.end !== undefined) {
      where.push('created_at <= ?');
      args.push(q.end);
    }
    return { where: where.join(' AND '), args };
  }

  listBackups(projectId: string, instanceId: string, q: TimeQuery): Promise<{ count: number; records: BackupRecord[] }> {
    return this.wrap('list backup records', () => {
      const { where, args } = this.timeWhere(projectId, instanceId, q, "status != 'deleted'");
      const count = this.db.prepare(`SELECT COUNT(*) FROM backups WHERE ${where}`).pluck().get(...args) as number;
      const rows = this.db.prepare(`SELECT * FROM backups WHERE ${where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as BackupRow[];
      return { count, records: rows.map(toBackup) };
    });
  }

  transitionBackup(id: string, from: readonly BackupStatus[], to: BackupStatus, patch: BackupPatch, now: number): Promise<BackupRecord | null> {
    return this.wrap('update a backup record', () => {
      const sets = ['status = ?', 'updated_at = ?'];
      const args: unknown[] = [to, now];
      for (const k of BACKUP_PATCH_COLUMNS) {
        if (patch[k] !== undefined) {
          sets.push(`${k} = ?`);
          args.push(patch[k]);
        }
      }
      if (patch.files !== undefined) {
        sets.push('files = ?');
        args.push(JSON.stringify(patch.files));
      }
      const row = this.db
        .prepare(`UPDATE backups SET ${sets.join(', ')} WHERE id = ? AND status IN (${from.map(() => '?').join(', ')}) RETURNING *`)
        .get(...args, id, ...from) as BackupRow | undefined;
      return row ? toBackup(row) : null;
    });
  }

  backupProgress(id: string, progress: number, now: number): Promise<boolean> {
    return this.wrap('update backup progress', () => this.db.prepare("UPDATE backups SET progress = ?, updated_at = ? WHERE id = ? AND status = 'backuping'").run(progress, now, id).changes === 1);
  }

  runningBackups(): Promise<BackupRecord[]> {
    return this.wrap('list running backups', () => (this.db.prepare("SELECT * FROM backups WHERE status IN ('waiting', 'backuping')").all() as BackupRow[]).map(toBackup));
  }

  createRestore(r: NewRestore, now: number): Promise<RestoreRecord> {
    return this.wrap('create a restore record', () => {
      try {
        const row = this.db
          .prepare(`INSERT INTO restores (id, project_id, instance_id, backup_id, remark, status, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?, ?) RETURNING *`)
          .get(r.id, r.project_id, r.instance_id, r.backup_id, r.remark, r.owner, now, now) as RestoreRow;
        return toRestore(row);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new FerryError('INSTANCE_RESTORING', 'the instance is restoring.');
        throw err;
      }
    });
  }

  getRestore(id: string): Promise<RestoreRecord | null> {
    return this.wrap('read a restore record', () => {
      const row = this.db.prepare('SELECT * FROM restores WHERE id = ?').get(id) as RestoreRow | undefined;
      return row ? toRestore(row) : null;
    });
  }

  listRestores(projectId: string, instanceId: string, q: TimeQuery): Promise<{ count: number; records: RestoreRecord[] }> {
    return this.wrap('list restore records', () => {
      const { where, args } = this.timeWhere(projectId, instanceId, q, '');
      const count = this.db.prepare(`SELECT COUNT(*) FROM restores WHERE ${where}`).pluck().get(...args) as number;
      const rows = this.db.prepare(`SELECT * FROM restores WHERE ${where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as RestoreRow[];
      return { count, records: rows.map(toRestore) };
    });
  }

  transitionRestore(id: string, from: readonly RestoreStatus[], to: RestoreStatus, patch: RestorePatch, now: number): Promise<RestoreRecord | null> {
    return this.wrap('update a restore record', () => {
      const sets = ['status = ?', 'updated_at = ?'];
      const args: unknown[] = [to, now];
      for (const k of RESTORE_PATCH_COLUMNS) {
        if (patch[k] !== undefined) {
          sets.push(`${k} = ?`);
          args.push(patch[k]);
        }
      }
      const row = this.db
        .prepare(`UPDATE restores SET ${sets.join(', ')} WHERE id = ? AND status IN (${from.map(() => '?').join(', ')}) RETURNING *`)
        .get(...args, id, ...from) as RestoreRow | undefined;
      return row ? toRestore(row) : null;
    });
  }

  restoreProgress(id: string, progress: number, now: number): Promise<boolean> {
    return this.wrap('update restore progress', () => this.db.prepare("UPDATE restores SET progress = ?, updated_at = ? WHERE id = ? AND status = 'restoring'").run(progress, now, id).changes === 1);
  }

  appendRestoreLog(id: string, line: string, now: number): Promise<void> {
    return this.wrap('append to a restore log', () => {
      this.db.prepare("UPDATE restores SET log = json_insert(log, '$[#]', ?), updated_at = ? WHERE id = ?").run(line, now, id);
    });
  }

  runningRestores(): Promise<RestoreRecord[]> {
    return this.wrap('list running restores', () => (this.db.prepare("SELECT * FROM restores WHERE status IN ('waiting', 'restoring')").all() as RestoreRow[]).map(toRestore));
  }

  close(): void {
    this.db.close();
  }
}
