/**
 * The TaskStore contract on SQLite (better-sqlite3: synchronous, so each statement and each
 * transaction is atomic within the process; WAL + busy_timeout for a second process on the file).
 * One machine only: several Ferry processes sharing work use the PostgreSQL adapter.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FerryError } from '../../errors/ferry-error.js';
import type { FileStatus, ListQuery, NewTask, TaskClaim, TaskFile, TaskLog, TaskProgress, TaskRecord, TaskStatus, TaskStore, TransitionPatch } from '../contract.js';
import { MIGRATIONS } from './migrations.js';

interface TaskRow {
  id: string;
  project_id: string;
  name: string;
  description: string;
  status: TaskStatus;
  migration_type: string;
  migration_method: string;
  spec: string;
  error_code: string | null;
  error_message: string | null;
  progress: string | null;
  attempt: number;
  owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  deleted_at: number | null;
}

interface LogRow {
  id: number;
  task_id: string;
  created_at: number;
  level: 'INFO' | 'ERROR';
  code: string;
  message: string;
  keyword: string;
}

interface FileRow {
  task_id: string;
  idx: number;
  file_name: string;
  status: FileStatus;
  owner: string | null;
  lease_until: number | null;
  attempt: number;
  progress: string | null;
  error_code: string | null;
  error_message: string | null;
}

function toFile(r: FileRow): TaskFile {
  return { ...r, progress: r.progress ? (JSON.parse(r.progress) as TaskProgress) : null };
}

function toRecord(r: TaskRow): TaskRecord {
  return { ...r, spec: JSON.parse(r.spec) as TaskRecord['spec'], progress: r.progress ? (JSON.parse(r.progress) as TaskProgress) : null };
}

export class SqliteTaskStore implements TaskStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('foreign_keys = ON');
      this.migrate();
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw new FerryError('STORE_FAILED', `cannot open the SQLite store: ${(err as Error).message}`, { file: path }, { cause: err });
    }
  }

  /** Versions applied, in order (for tests and the start-up log). */
  appliedMigrations(): number[] {
    return this.db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[];
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const done = new Set(this.appliedMigrations());
    const known = Math.max(0, ...MIGRATIONS.map((m) => m.version));
    const newest = Math.max(0, ...done);
    if (newest > known) {
      throw new FerryError('STORE_FAILED', `the store was written by a newer Ferry (schema ${newest}, this version knows ${known})`);
    }
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      })();
    }
  }

  private wrap<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw new FerryError('STORE_FAILED', `task store failed to ${what}: ${(err as Error).message}`, {}, { cause: err });
    }
  }

  async createTask(t: NewTask, now: number): Promise<TaskRecord> {
    return this.wrap('create a task', () => {
      try {
        const row = this.db
          .prepare(
            `INSERT INTO tasks (id, project_id, name, description, status, migration_type, migration_method, target_id, spec, created_at, updated_at)
             VALUES (?, ?, ?, ?, 'MIGRATING', ?, ?, ?, ?, ?, ?) RETURNING *`,
          )
          .get(t.id, t.project_id, t.name, t.description, t.migration_type, t.migration_method, t.spec.target.id, JSON.stringify(t.spec), now, now) as TaskRow;
        return toRecord(row);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && String((err as Error).message).includes('target_id')) {
          throw new FerryError('TARGET_BUSY', 'This DCS instance job task is still running.');
        }
        throw err;
      }
    });
  }

  async getTask(projectId: string, id: string, withDeleted = false): Promise<TaskRecord | null> {
    return this.wrap('read a task', () => {
      const row = this.db.prepare(`SELECT * FROM tasks WHERE id = ? AND project_id = ?${withDeleted ? '' : ' AND deleted_at IS NULL'}`).get(id, projectId) as TaskRow | undefined;
      return row ? toRecord(row) : null;
    });
  }

  async getTaskById(id: string): Promise<TaskRecord | null> {
    return this.wrap('read a task', () => {
      const row = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as TaskRow | undefined;
      return row ? toRecord(row) : null;
    });
  }

  async activeTaskFor(targetId: string): Promise<TaskRecord | null> {
    return this.wrap('read a task', () => {
      const row = this.db.prepare("SELECT * FROM tasks WHERE target_id = ? AND status IN ('MIGRATING', 'TERMINATING')").get(targetId) as TaskRow | undefined;
      return row ? toRecord(row) : null;
    });
  }

  async listTasks(projectId: string, q: ListQuery): Promise<{ count: number; tasks: TaskRecord[] }> {
    return this.wrap('list tasks', () => {
      const where = ['project_id = ?', 'deleted_at IS NULL'];
      const args: unknown[] = [projectId];
      if (q.name) {
        where.push("instr(name, ?) > 0");
        args.push(q.name);
      }
      const w = where.join(' AND ');
      const count = this.db.prepare(`SELECT count(*) FROM tasks WHERE ${w}`).pluck().get(...args) as number;
      const rows = this.db.prepare(`SELECT * FROM tasks WHERE ${w} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as TaskRow[];
      return { count, tasks: rows.map(toRecord) };
    });
  }

  async transition(id: string, from: readonly TaskStatus[], to: TaskStatus, patch: TransitionPatch, now: number): Promise<TaskRecord | null> {
    return this.wrap('change a task status', () => {
      const sets = ['status = ?', 'updated_at = ?'];
      const args: unknown[] = [to, now];
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) continue;
        sets.push(`${k} = ?`);
        args.push(k === 'progress' && v !== null ? JSON.stringify(v) : v);
      }
      const row = this.db
        .prepare(`UPDATE tasks SET ${sets.join(', ')} WHERE id = ? AND status IN (${from.map(() => '?').join(', ')}) RETURNING *`)
        .get(...args, id, ...from) as TaskRow | undefined;
      return row ? toRecord(row) : null;
    });
  }

  async claim(id: string, owner: string, leaseUntil: number, now: number): Promise<TaskRecord | null> {
    return this.wrap('claim a task', () => this.claimSync(id, owner, leaseUntil, now));
  }

  async claimNext(owner: string, leaseUntil: number, now: number): Promise<TaskRecord | null> {
    // One process holds the file's write lock for the transaction: no second claimer to skip.
    return this.wrap('claim a task', () =>
      this.db.transaction(() => {
        const id = this.db
          .prepare(`SELECT id FROM tasks WHERE status = 'MIGRATING' AND deleted_at IS NULL AND (owner IS NULL OR lease_until IS NULL OR lease_until < ?) ORDER BY created_at, id LIMIT 1`)
          .pluck()
          .get(now) as string | undefined;
        return id === undefined ? null : this.claimSync(id, owner, leaseUntil, now);
      }).immediate(),
    );
  }

  private claimSync(id: string, owner: string, leaseUntil: number, now: number): TaskRecord | null {
    return this.db.transaction(() => {
      const prev = this.db.prepare('SELECT owner, lease_until FROM tasks WHERE id = ?').get(id) as { owner: string | null; lease_until: number | null } | undefined;
      const row = this.db
        .prepare(
          `UPDATE tasks SET owner = ?, lease_until = ?, updated_at = ?, attempt = attempt + 1
           WHERE id = ? AND status = 'MIGRATING' AND (owner IS NULL OR lease_until IS NULL OR lease_until < ?) RETURNING *`,
        )
        .get(owner, leaseUntil, now, id, now) as TaskRow | undefined;
      if (!row) return null;
      this.db
        .prepare('INSERT INTO task_claims (task_id, attempt, owner, claimed_at, lease_until, prev_owner, prev_lease_until) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, row.attempt, owner, now, leaseUntil, prev?.owner ?? null, prev?.owner ? (prev.lease_until ?? null) : null);
      return toRecord(row);
    }).immediate();
  }

  async claims(taskId: string): Promise<TaskClaim[]> {
    return this.wrap('read claims', () =>
      this.db.prepare('SELECT task_id, file_idx, attempt, owner, claimed_at, lease_until, prev_owner, prev_lease_until FROM task_claims WHERE task_id = ? ORDER BY id').all(taskId) as TaskClaim[],
    );
  }

  async addFiles(taskId: string, files: string[]): Promise<void> {
    this.wrap('add file items', () =>
      this.db.transaction(() => {
        const ins = this.db.prepare('INSERT INTO task_files (task_id, idx, file_name) VALUES (?, ?, ?) ON CONFLICT (task_id, idx) DO NOTHING');
        files.forEach((f, i) => ins.run(taskId, i, f));
      })(),
    );
  }

  async listFiles(taskId: string): Promise<TaskFile[]> {
    return this.wrap('read file items', () => (this.db.prepare('SELECT * FROM task_files WHERE task_id = ? ORDER BY idx').all(taskId) as FileRow[]).map(toFile));
  }

  async claimFile(owner: string, leaseUntil: number, now: number, maxParallel: (targetId: string) => number, taskId?: string): Promise<TaskFile | null> {
    // One writer at a time on the file (immediate transaction): the count and the claim cannot interleave.
    return this.wrap('claim a file', () =>
      this.db.transaction(() => {
        const candidates = this.db
          .prepare(
            `SELECT t.id, t.target_id FROM tasks t WHERE t.status = 'MIGRATING' AND t.deleted_at IS NULL ${taskId !== undefined ? 'AND t.id = ?' : ''}
             AND EXISTS (SELECT 1 FROM task_files f WHERE f.task_id = t.id AND (f.status = 'PENDING' OR (f.status = 'RUNNING' AND f.lease_until < ?)))
             ORDER BY t.created_at, t.id`,
          )
          .all(...(taskId !== undefined ? [taskId, now] : [now])) as { id: string; target_id: string }[];
        for (const c of candidates) {
          const running = this.db.prepare("SELECT count(*) FROM task_files WHERE task_id = ? AND status = 'RUNNING' AND lease_until >= ?").pluck().get(c.id, now) as number;
          if (running >= maxParallel(c.target_id)) continue;
          const item = this.db
            .prepare("SELECT * FROM task_files WHERE task_id = ? AND (status = 'PENDING' OR (status = 'RUNNING' AND lease_until < ?)) ORDER BY idx LIMIT 1")
            .get(c.id, now) as FileRow;
          const row = this.db
            .prepare("UPDATE task_files SET status = 'RUNNING', owner = ?, lease_until = ?, attempt = attempt + 1 WHERE task_id = ? AND idx = ? RETURNING *")
            .get(owner, leaseUntil, c.id, item.idx) as FileRow;
          const prevOwner = item.status === 'RUNNING' ? item.owner : null;
          this.db
            .prepare('INSERT INTO task_claims (task_id, file_idx, attempt, owner, claimed_at, lease_until, prev_owner, prev_lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
            .run(c.id, item.idx, row.attempt, owner, now, leaseUntil, prevOwner, prevOwner ? item.lease_until : null);
          return toFile(row);
        }
        return null;
      }).immediate(),
    );
  }

  async heartbeatFile(taskId: string, idx: number, owner: string, leaseUntil: number, progress: TaskProgress | null, now: number): Promise<boolean> {
    void now;
    return this.wrap('renew a file lease', () => {
      const r = this.db
        .prepare("UPDATE task_files SET lease_until = ?, progress = coalesce(?, progress) WHERE task_id = ? AND idx = ? AND owner = ? AND status = 'RUNNING'")
        .run(leaseUntil, progress ? JSON.stringify(progress) : null, taskId, idx, owner);
      return r.changes === 1;
    });
  }

  async finishFile(taskId: string, idx: number, owner: string, to: 'DONE' | 'FAILED' | 'PENDING', patch: { progress?: TaskProgress | null; error_code?: string | null; error_message?: string | null }, now: number): Promise<boolean> {
    void now;
    return this.wrap('finish a file', () => {
      const keep = to === 'PENDING';
      const r = this.db
        .prepare(
          `UPDATE task_files SET status = ?, owner = ${keep ? 'NULL' : 'owner'}, lease_until = NULL, progress = coalesce(?, progress), error_code = ?, error_message = ?
           WHERE task_id = ? AND idx = ? AND owner = ? AND status = 'RUNNING'`,
        )
        .run(to, patch.progress ? JSON.stringify(patch.progress) : null, patch.error_code ?? null, patch.error_message ?? null, taskId, idx, owner);
      return r.changes === 1;
    });
  }

  async heartbeat(id: string, owner: string, leaseUntil: number, progress: TaskProgress | null, now: number): Promise<boolean> {
    return this.wrap('renew a lease', () => {
      const r = this.db
        .prepare(`UPDATE tasks SET lease_until = ?, progress = coalesce(?, progress), updated_at = ? WHERE id = ? AND owner = ? AND status IN ('MIGRATING', 'TERMINATING')`)
        .run(leaseUntil, progress ? JSON.stringify(progress) : null, now, id, owner);
      return r.changes === 1;
    });
  }

  async orphans(now: number): Promise<TaskRecord[]> {
    return this.wrap('find orphaned tasks', () => {
      const rows = this.db
        .prepare(`SELECT * FROM tasks WHERE status IN ('MIGRATING', 'TERMINATING') AND (owner IS NULL OR lease_until IS NULL OR lease_until < ?) ORDER BY created_at`)
        .all(now) as TaskRow[];
      return rows.map(toRecord);
    });
  }

  async markDeleted(projectId: string, ids: string[], now: number): Promise<string[]> {
    return this.wrap('delete tasks', () =>
      this.db.transaction(() => {
        const out: string[] = [];
        const stmt = this.db.prepare(
          `UPDATE tasks SET deleted_at = ?, updated_at = ? WHERE id = ? AND project_id = ? AND deleted_at IS NULL AND status IN ('TERMINATED', 'SUCCESS', 'FAILED')`,
        );
        for (const id of ids) if (stmt.run(now, now, id, projectId).changes === 1) out.push(id);
        return out;
      })(),
    );
  }

  async appendLog(log: Omit<TaskLog, 'id'>): Promise<void> {
    this.wrap('write a task log', () => {
      this.db
        .prepare('INSERT INTO task_logs (task_id, created_at, level, code, message, keyword) VALUES (?, ?, ?, ?, ?, ?)')
        .run(log.task_id, log.created_at, log.level, log.code, log.message, JSON.stringify(log.keyword));
    });
  }

  async listLogs(taskId: string, q: { offset: number; limit: number; level?: 'INFO' | 'ERROR' }): Promise<{ count: number; logs: TaskLog[] }> {
    return this.wrap('read task logs', () => {
      const w = q.level ? 'task_id = ? AND level = ?' : 'task_id = ?';
      const args: unknown[] = q.level ? [taskId, q.level] : [taskId];
      const count = this.db.prepare(`SELECT count(*) FROM task_logs WHERE ${w}`).pluck().get(...args) as number;
      const rows = this.db.prepare(`SELECT * FROM task_logs WHERE ${w} ORDER BY id LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as LogRow[];
      return { count, logs: rows.map((r) => ({ ...r, keyword: JSON.parse(r.keyword) as string[] })) };
    });
  }

  async countByStatus(): Promise<Record<string, number>> {
    return this.wrap('count tasks', () => {
      const rows = this.db.prepare('SELECT status, count(*) AS n FROM tasks WHERE deleted_at IS NULL GROUP BY status').all() as { status: string; n: number }[];
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
