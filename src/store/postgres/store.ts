/**
 * The TaskStore contract on PostgreSQL (`pg` with a pool), for several Ferry processes sharing one
 * database. Atomicity comes from single statements with conditions in their WHERE clause (a
 * concurrent writer's change is re-checked by PostgreSQL before the row is updated) and from
 * `FOR UPDATE SKIP LOCKED` when runners pick the next task. No `pg` type leaves this folder.
 */
import pg from 'pg';
import { FerryError } from '../../errors/ferry-error.js';
import type { FileStatus, ListQuery, NewTask, TaskClaim, TaskFile, TaskLog, TaskProgress, TaskRecord, TaskStatus, TaskStore, TransitionPatch } from '../contract.js';
import { openPool, type PgPoolOptions } from './pool.js';

const PATCH_COLUMNS = new Set(['error_code', 'error_message', 'progress', 'owner', 'lease_until', 'finished_at', 'attempt']);
const TASK_COLUMNS = 'id, project_id, name, description, status, migration_type, migration_method, spec, error_code, error_message, progress, attempt, owner, lease_until, created_at, updated_at, finished_at, deleted_at';

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
  return {
    id: r.id,
    project_id: r.project_id,
    name: r.name,
    description: r.description,
    status: r.status,
    migration_type: r.migration_type,
    migration_method: r.migration_method,
    spec: JSON.parse(r.spec) as TaskRecord['spec'],
    error_code: r.error_code,
    error_message: r.error_message,
    progress: r.progress ? (JSON.parse(r.progress) as TaskProgress) : null,
    attempt: r.attempt,
    owner: r.owner,
    lease_until: r.lease_until,
    created_at: r.created_at,
    updated_at: r.updated_at,
    finished_at: r.finished_at,
    deleted_at: r.deleted_at,
  };
}

export class PgTaskStore implements TaskStore {
  private constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
  ) {}

  /** Connects, creates the schema if needed and applies pending migrations under an advisory lock. */
  static async open(rawUrl: string, o: PgPoolOptions = {}): Promise<PgTaskStore> {
    const { pool, schema } = await openPool(rawUrl, o);
    return new PgTaskStore(pool, schema);
  }

  /** Versions applied, in order (for tests and the start-up log). */
  async appliedMigrations(): Promise<number[]> {
    const r = await this.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    return r.rows.map((x) => x.version);
  }

  private async wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw new FerryError('STORE_FAILED', `task store failed to ${what}: ${(err as Error).message}`, {}, { cause: err });
    }
  }

  private async one(sql: string, args: unknown[]): Promise<TaskRecord | null> {
    const r = await this.pool.query<TaskRow>(sql, args);
    return r.rows[0] ? toRecord(r.rows[0]) : null;
  }

  createTask(t: NewTask, now: number): Promise<TaskRecord> {
    return this.wrap('create a task', async () => {
      try {
        const r = await this.one(
          `INSERT INTO tasks (id, project_id, name, description, status, migration_type, migration_method, target_id, spec, created_at, updated_at)
           VALUES ($1, $2, $3, $4, 'MIGRATING', $5, $6, $7, $8, $9, $9) RETURNING ${TASK_COLUMNS}`,
          [t.id, t.project_id, t.name, t.description, t.migration_type, t.migration_method, t.spec.target.id, JSON.stringify(t.spec), now],
        );
        return r!;
      } catch (err) {
        const e = err as { code?: string; constraint?: string };
        if (e.code === '23505' && e.constraint === 'tasks_one_active_per_target') throw new FerryError('TARGET_BUSY', 'This DCS instance job task is still running.');
        throw err;
      }
    });
  }

  getTask(projectId: string, id: string, withDeleted = false): Promise<TaskRecord | null> {
    return this.wrap('read a task', () => this.one(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1 AND project_id = $2${withDeleted ? '' : ' AND deleted_at IS NULL'}`, [id, projectId]));
  }

  getTaskById(id: string): Promise<TaskRecord | null> {
    return this.wrap('read a task', () => this.one(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1`, [id]));
  }

  activeTaskFor(targetId: string): Promise<TaskRecord | null> {
    return this.wrap('read a task', () => this.one(`SELECT ${TASK_COLUMNS} FROM tasks WHERE target_id = $1 AND status IN ('MIGRATING', 'TERMINATING')`, [targetId]));
  }

  listTasks(projectId: string, q: ListQuery): Promise<{ count: number; tasks: TaskRecord[] }> {
    return this.wrap('list tasks', async () => {
      const args: unknown[] = [projectId];
      let w = 'project_id = $1 AND deleted_at IS NULL';
      if (q.name) {
        args.push(q.name);
        w += ' AND strpos(name, $2) > 0';
      }
      const count = (await this.pool.query<{ n: number }>(`SELECT count(*) AS n FROM tasks WHERE ${w}`, args)).rows[0]!.n;
      const rows = await this.pool.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE ${w} ORDER BY created_at DESC, id DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}`, [...args, q.limit, q.offset]);
      return { count, tasks: rows.rows.map(toRecord) };
    });
  }

  transition(id: string, from: readonly TaskStatus[], to: TaskStatus, patch: TransitionPatch, now: number): Promise<TaskRecord | null> {
    return this.wrap('change a task status', () => {
      const args: unknown[] = [to, now];
      const sets = ['status = $1', 'updated_at = $2'];
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) continue;
        if (!PATCH_COLUMNS.has(k)) throw new FerryError('INTERNAL', `not a task column: ${k}`);
        args.push(k === 'progress' && v !== null ? JSON.stringify(v) : v);
        sets.push(`${k} = $${args.length}`);
      }
      args.push(id, [...from]);
      return this.one(`UPDATE tasks SET ${sets.join(', ')} WHERE id = $${args.length - 1} AND status = ANY($${args.length}) RETURNING ${TASK_COLUMNS}`, args);
    });
  }

  /**
   * The claim, its history row and the check that nobody holds a live lease are one statement: the
   * row lock taken by `FOR UPDATE` makes a second claimer wait (claim) or pass over it (claimNext),
   * and PostgreSQL re-checks the lease condition on the locked row before updating it.
   */
  private claimWhere(pick: string, args: unknown[]): Promise<TaskRecord | null> {
    return this.one(
      `WITH pick AS (
         SELECT id, owner AS prev_owner, lease_until AS prev_lease FROM tasks
         WHERE status = 'MIGRATING' AND deleted_at IS NULL AND (owner IS NULL OR lease_until IS NULL OR lease_until < $4) ${pick}
       ), upd AS (
         UPDATE tasks t SET owner = $1, lease_until = $2, updated_at = $3, attempt = t.attempt + 1
         FROM pick WHERE t.id = pick.id RETURNING t.*, pick.prev_owner, pick.prev_lease
       ), hist AS (
         INSERT INTO task_claims (task_id, attempt, owner, claimed_at, lease_until, prev_owner, prev_lease_until)
         SELECT id, attempt, owner, $3, $2, prev_owner, CASE WHEN prev_owner IS NULL THEN NULL ELSE prev_lease END FROM upd
       )
       SELECT ${TASK_COLUMNS} FROM upd`,
      args,
    );
  }

  claim(id: string, owner: string, leaseUntil: number, now: number): Promise<TaskRecord | null> {
    return this.wrap('claim a task', () => this.claimWhere('AND id = $5 FOR UPDATE', [owner, leaseUntil, now, now, id]));
  }

  claimNext(owner: string, leaseUntil: number, now: number): Promise<TaskRecord | null> {
    return this.wrap('claim a task', () => this.claimWhere('ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED', [owner, leaseUntil, now, now]));
  }

  claims(taskId: string): Promise<TaskClaim[]> {
    return this.wrap('read claims', async () => {
      const r = await this.pool.query<TaskClaim>('SELECT task_id, file_idx, attempt, owner, claimed_at, lease_until, prev_owner, prev_lease_until FROM task_claims WHERE task_id = $1 ORDER BY id', [taskId]);
      return r.rows;
    });
  }

  addFiles(taskId: string, files: string[]): Promise<void> {
    return this.wrap('add file items', async () => {
      await this.pool.query('INSERT INTO task_files (task_id, idx, file_name) SELECT $1, i - 1, f FROM unnest($2::text[]) WITH ORDINALITY AS u(f, i) ON CONFLICT (task_id, idx) DO NOTHING', [taskId, files]);
    });
  }

  listFiles(taskId: string): Promise<TaskFile[]> {
    return this.wrap('read file items', async () => (await this.pool.query<FileRow>('SELECT * FROM task_files WHERE task_id = $1 ORDER BY idx', [taskId])).rows.map(toFile));
  }

  /**
   * In one transaction: lock the candidate tasks' rows (SKIP LOCKED: a task another claimer is
   * serving is passed over), then count and claim with fresh statements, which see every claim
   * committed before the lock was taken. So the per-task parallel limit is exact.
   */
  claimFile(owner: string, leaseUntil: number, now: number, maxParallel: (targetId: string) => number, taskId?: string): Promise<TaskFile | null> {
    return this.wrap('claim a file', async () => {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        const candidates = await c.query<{ id: string; target_id: string }>(
          `SELECT t.id, t.target_id FROM tasks t WHERE t.status = 'MIGRATING' AND t.deleted_at IS NULL ${taskId !== undefined ? 'AND t.id = $2' : ''}
           AND EXISTS (SELECT 1 FROM task_files f WHERE f.task_id = t.id AND (f.status = 'PENDING' OR (f.status = 'RUNNING' AND f.lease_until < $1)))
           ORDER BY t.created_at, t.id FOR UPDATE OF t SKIP LOCKED`,
          taskId !== undefined ? [now, taskId] : [now],
        );
        for (const t of candidates.rows) {
          const running = (await c.query<{ n: number }>("SELECT count(*) AS n FROM task_files WHERE task_id = $1 AND status = 'RUNNING' AND lease_until >= $2", [t.id, now])).rows[0]!.n;
          if (running >= maxParallel(t.target_id)) continue;
          const item = (
            await c.query<FileRow>("SELECT * FROM task_files WHERE task_id = $1 AND (status = 'PENDING' OR (status = 'RUNNING' AND lease_until < $2)) ORDER BY idx LIMIT 1 FOR UPDATE", [t.id, now])
          ).rows[0];
          if (!item) continue;
          const row = (
            await c.query<FileRow>("UPDATE task_files SET status = 'RUNNING', owner = $1, lease_until = $2, attempt = attempt + 1 WHERE task_id = $3 AND idx = $4 RETURNING *", [owner, leaseUntil, t.id, item.idx])
          ).rows[0]!;
          const prevOwner = item.status === 'RUNNING' ? item.owner : null;
          await c.query('INSERT INTO task_claims (task_id, file_idx, attempt, owner, claimed_at, lease_until, prev_owner, prev_lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
            t.id,
            item.idx,
            row.attempt,
            owner,
            now,
            leaseUntil,
            prevOwner,
            prevOwner ? item.lease_until : null,
          ]);
          await c.query('COMMIT');
          return toFile(row);
        }
        await c.query('COMMIT');
        return null;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    });
  }

  heartbeatFile(taskId: string, idx: number, owner: string, leaseUntil: number, progress: TaskProgress | null, _now: number): Promise<boolean> {
    return this.wrap('renew a file lease', async () => {
      const r = await this.pool.query("UPDATE task_files SET lease_until = $1, progress = coalesce($2, progress) WHERE task_id = $3 AND idx = $4 AND owner = $5 AND status = 'RUNNING'", [
        leaseUntil,
        progress ? JSON.stringify(progress) : null,
        taskId,
        idx,
        owner,
      ]);
      return r.rowCount === 1;
    });
  }

  finishFile(taskId: string, idx: number, owner: string, to: 'DONE' | 'FAILED' | 'PENDING', patch: { progress?: TaskProgress | null; error_code?: string | null; error_message?: string | null }, _now: number): Promise<boolean> {
    return this.wrap('finish a file', async () => {
      const r = await this.pool.query(
        `UPDATE task_files SET status = $1, owner = ${to === 'PENDING' ? 'NULL' : 'owner'}, lease_until = NULL, progress = coalesce($2, progress), error_code = $3, error_message = $4
         WHERE task_id = $5 AND idx = $6 AND owner = $7 AND status = 'RUNNING'`,
        [to, patch.progress ? JSON.stringify(patch.progress) : null, patch.error_code ?? null, patch.error_message ?? null, taskId, idx, owner],
      );
      return r.rowCount === 1;
    });
  }

  heartbeat(id: string, owner: string, leaseUntil: number, progress: TaskProgress | null, now: number): Promise<boolean> {
    return this.wrap('renew a lease', async () => {
      const r = await this.pool.query(
        `UPDATE tasks SET lease_until = $1, progress = coalesce($2, progress), updated_at = $3 WHERE id = $4 AND owner = $5 AND status IN ('MIGRATING', 'TERMINATING')`,
        [leaseUntil, progress ? JSON.stringify(progress) : null, now, id, owner],
      );
      return r.rowCount === 1;
    });
  }

  orphans(now: number): Promise<TaskRecord[]> {
    return this.wrap('find orphaned tasks', async () => {
      const r = await this.pool.query<TaskRow>(
        `SELECT ${TASK_COLUMNS} FROM tasks WHERE status IN ('MIGRATING', 'TERMINATING') AND (owner IS NULL OR lease_until IS NULL OR lease_until < $1) ORDER BY created_at`,
        [now],
      );
      return r.rows.map(toRecord);
    });
  }

  markDeleted(projectId: string, ids: string[], now: number): Promise<string[]> {
    return this.wrap('delete tasks', async () => {
      const r = await this.pool.query<{ id: string }>(
        `UPDATE tasks SET deleted_at = $1, updated_at = $1 WHERE id = ANY($2) AND project_id = $3 AND deleted_at IS NULL AND status IN ('TERMINATED', 'SUCCESS', 'FAILED') RETURNING id`,
        [now, ids, projectId],
      );
      const hit = new Set(r.rows.map((x) => x.id));
      // In the caller's order, each id once (as the SQLite adapter answers).
      return [...new Set(ids)].filter((id) => hit.has(id));
    });
  }

  appendLog(log: Omit<TaskLog, 'id'>): Promise<void> {
    return this.wrap('write a task log', async () => {
      await this.pool.query('INSERT INTO task_logs (task_id, created_at, level, code, message, keyword) VALUES ($1, $2, $3, $4, $5, $6)', [
        log.task_id,
        log.created_at,
        log.level,
        log.code,
        log.message,
        JSON.stringify(log.keyword),
      ]);
    });
  }

  listLogs(taskId: string, q: { offset: number; limit: number; level?: 'INFO' | 'ERROR' }): Promise<{ count: number; logs: TaskLog[] }> {
    return this.wrap('read task logs', async () => {
      const w = q.level ? 'task_id = $1 AND level = $2' : 'task_id = $1';
      const args: unknown[] = q.level ? [taskId, q.level] : [taskId];
      const count = (await this.pool.query<{ n: number }>(`SELECT count(*) AS n FROM task_logs WHERE ${w}`, args)).rows[0]!.n;
      const rows = await this.pool.query<Omit<TaskLog, 'keyword'> & { keyword: string }>(
        `SELECT id, task_id, created_at, level, code, message, keyword FROM task_logs WHERE ${w} ORDER BY id LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
        [...args, q.limit, q.offset],
      );
      return { count, logs: rows.rows.map((r) => ({ ...r, keyword: JSON.parse(r.keyword) as string[] })) };
    });
  }

  countByStatus(): Promise<Record<string, number>> {
    return this.wrap('count tasks', async () => {
      const r = await this.pool.query<{ status: string; n: number }>('SELECT status, count(*) AS n FROM tasks WHERE deleted_at IS NULL GROUP BY status');
      return Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
    });
  }

  private closing: Promise<void> | null = null;
  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }
}
