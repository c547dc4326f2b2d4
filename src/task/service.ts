/**
 * The migration-task operations the API (and later the CLI) call: validation and pre-checks before
 * anything is stored, then store + runner. HTTP knows nothing of this file's internals and this file
 * knows nothing of HTTP; every refusal is a FerryError whose code the catalogue maps to DCS.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { BucketConfig, InstanceConfig } from '../config/schema.js';
import { asFerryError, FerryError } from '../errors/ferry-error.js';
import type { BackupFileRef, TaskLog, TaskRecord, TaskSpec, TaskStore } from '../store/contract.js';
import { targetFromInstance } from '../writer/target-spec.js';
import type { TaskEngine } from './engine.js';
import type { InstanceRegistry } from './instances.js';
import type { TaskMetrics, TaskRunner } from './runner.js';

/** The CreateMigrationTask body after schema validation (snake_case, as on the wire). */
export interface CreateTaskInput {
  task_name: string;
  description?: string;
  migration_type: string;
  migration_method: string;
  backup_files?: {
    file_source?: string;
    bucket_name?: string;
    files?: BackupFileRef[] | null;
    backup_id?: string;
  };
  target_instance: {
    id: string;
    name?: string;
    password?: string;
    db?: string;
    proxy_multi_db?: boolean;
  };
}

export interface ServiceDeps {
  store: TaskStore;
  registry: InstanceRegistry;
  buckets: readonly BucketConfig[];
  engine: TaskEngine;
  runner: TaskRunner;
  metrics?: TaskMetrics;
  now?: () => number;
}

export interface BatchStopItem {
  task_id: string;
  result: 'success' | 'failed';
  error_code?: string;
  error_msg?: string;
}

const SYNC_STOP_WAIT_MS = 10_000;

export class TaskService {
  private readonly now: () => number;

  constructor(private readonly d: ServiceDeps) {
    this.now = d.now ?? Date.now;
  }

  /** `origin.backup_id`: the files come from that backup record (file_source backup_record). */
  async create(projectId: string, body: CreateTaskInput, origin?: { backup_id: string }): Promise<TaskRecord> {
    if (body.migration_type !== 'backupfile_import') {
      throw fieldError(
        'migration_type',
        'this API creates backup import tasks only (migration_type "backupfile_import"); online migration is created with CreateOnlineMigrationTask, which Ferry does not offer',
      );
    }
    const bf = body.backup_files;
    if (!bf) throw fieldError('backup_files', 'backup_files is required for backupfile_import');
    const source = bf.file_source ?? 'self_build_obs';
    if (source === 'backup_record') {
      if (!bf.backup_id) throw fieldError('backup_files.backup_id', 'backup_id is required when file_source is backup_record');
      throw fieldError('backup_files.backup_id', `no backup record ${JSON.stringify(bf.backup_id)} exists (backup records are not enabled in this process)`);
    }
    if (!bf.bucket_name) throw fieldError('backup_files.bucket_name', 'bucket_name is required when file_source is self_build_obs');
    const bucket = this.d.buckets.find((b) => b.name === bf.bucket_name);
    if (!bucket) throw fieldError('backup_files.bucket_name', `no bucket named ${JSON.stringify(bf.bucket_name)} is configured`);
    const files = bf.files ?? [];
    if (!files.length) throw fieldError('backup_files.files', 'list at least one file to import');
    files.forEach((f, i) => {
      if (!f.file_name || f.file_name.includes('\0') || f.file_name.split('/').includes('..')) throw fieldError(`backup_files.files[${i}].file_name`, 'file_name must be a path inside the bucket');
    });

    const inst = this.d.registry.get(projectId, body.target_instance.id);
    checkPassword(inst, body.target_instance.password);
    const db = parseDb(body.target_instance.db, inst);
    // Fail fast on a busy target before touching it; the store re-checks atomically at insert.
    if (await this.d.store.activeTaskFor(inst.id)) throw new FerryError('TARGET_BUSY', 'This DCS instance job task is still running.');

    const target = targetFromInstance(inst);
    const info = await this.d.engine.probeTarget(target);
    let fileProblem: FerryError | null = null;
    try {
      await this.d.engine.checkFiles(bucket, files.map((f) => f.file_name), info);
    } catch (err) {
      // File content problems (missing object, bad header, version the target cannot read) end the
      // task FAILED right away, as DCS reports them: the create answer already carries the reason.
      fileProblem = asFerryError(err);
      if (fileProblem.code === 'INTERNAL') throw fileProblem;
    }

    const spec: TaskSpec = {
      file_source: origin ? 'backup_record' : 'self_build_obs',
      bucket_name: bucket.name,
      files: files.map((f) => ({ file_name: f.file_name, ...(f.size !== undefined ? { size: f.size } : {}), ...(f.update_at !== undefined ? { update_at: f.update_at } : {}) })),
      backup_id: origin?.backup_id ?? null,
      target: { id: inst.id, name: inst.name, addrs: inst.addrs, db: db === undefined ? null : String(db), proxy_multi_db: body.target_instance.proxy_multi_db ?? null },
    };
    const now = this.now();
    const task = await this.d.store.createTask(
      { id: randomUUID(), project_id: projectId, name: body.task_name, description: body.description ?? '', migration_type: body.migration_type, migration_method: body.migration_method, spec },
      now,
    );
    await this.d.store.appendLog({ task_id: task.id, created_at: now, level: 'INFO', code: 'MIGRATION_CREATED', message: `task created: ${files.length} file(s) from bucket ${bucket.name} into ${inst.name}; target ${info.flavor} ${info.version} (${info.topology})`, keyword: [] });
    if (fileProblem) {
      const failed = await this.d.store.transition(task.id, ['MIGRATING'], 'FAILED', { error_code: fileProblem.spec.dcs, error_message: fileProblem.message, finished_at: this.now() }, this.now());
      await this.d.store.appendLog({ task_id: task.id, created_at: this.now(), level: 'ERROR', code: fileProblem.spec.dcs, message: `${fileProblem.code}: ${fileProblem.message}`, keyword: [] });
      this.d.metrics?.finished('FAILED', fileProblem.spec.dcs);
      return failed ?? task;
    }
    this.d.runner.enqueue(task.id);
    return task;
  }

  list(projectId: string, q: { offset: number; limit: number; name?: string }): Promise<{ count: number; tasks: TaskRecord[] }> {
    return this.d.store.listTasks(projectId, q);
  }

  async get(projectId: string, id: string): Promise<TaskRecord> {
    const t = await this.d.store.getTask(projectId, id);
    if (!t) throw new FerryError('TASK_NOT_FOUND', 'Instance job is not found.');
    return t;
  }

  /**
   * Moves MIGRATING -> TERMINATING and tells the local runner; a runner in another process sees the
   * status on its next check. A stop of a stopping task is a no-op.
   */
  async stop(projectId: string, id: string): Promise<TaskRecord> {
    const t = await this.get(projectId, id);
    if (t.status === 'TERMINATING') return t;
    const moved = await this.d.store.transition(id, ['MIGRATING'], 'TERMINATING', {}, this.now());
    if (!moved) throw new FerryError('TASK_STATE', `This operation is not allowed when the task is in the current state (${(await this.get(projectId, id)).status}).`);
    await this.d.store.appendLog({ task_id: id, created_at: this.now(), level: 'INFO', code: 'MIGRATION_STOPPING', message: 'stop requested', keyword: [] });
    await this.d.runner.stop(id);
    return moved;
  }

  /** Stops and waits (bounded) until the task is final, wherever it runs. */
  async syncStop(projectId: string, id: string): Promise<TaskRecord> {
    await this.stop(projectId, id);
    const deadline = this.now() + SYNC_STOP_WAIT_MS;
    await Promise.race([this.d.runner.settled(id), new Promise((r) => setTimeout(r, SYNC_STOP_WAIT_MS).unref())]);
    // Running in another process: its status check ends it; watch the store (bounded).
    for (;;) {
      const t = await this.get(projectId, id);
      if (t.status !== 'TERMINATING' || this.now() >= deadline) return t;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  batchStop(projectId: string, ids: string[]): Promise<BatchStopItem[]> {
    return Promise.all(ids.map(async (id) => {
      try {
        await this.stop(projectId, id);
        return { task_id: id, result: 'success' as const };
      } catch (err) {
        const e = asFerryError(err);
        const code = e.code === 'TASK_NOT_FOUND' ? new FerryError('TASK_ID_INVALID', 'invalid migration task id in the request.') : e;
        return { task_id: id, result: 'failed' as const, error_code: code.spec.dcs, error_msg: code.message };
      }
    }));
  }

  /** All or nothing: every id must exist in the project and be final. */
  async delete(projectId: string, ids: string[]): Promise<string[]> {
    for (const id of ids) {
      const t = await this.get(projectId, id);
      if (t.status === 'MIGRATING' || t.status === 'TERMINATING') {
        throw new FerryError('TASK_STATE', `This operation is not allowed when the task is in the current state (task ${id} is ${t.status}; stop it first).`);
      }
    }
    return this.d.store.markDeleted(projectId, [...new Set(ids)], this.now());
  }

  async logs(projectId: string, id: string, q: { offset: number; limit: number; level?: 'INFO' | 'ERROR' }): Promise<{ count: number; logs: TaskLog[] }> {
    await this.get(projectId, id);
    return this.d.store.listLogs(id, q);
  }
}

/** The API answers "Invalid <leaf> parameter in the request." and puts this detail in error_ext_msg. */
function fieldError(field: string, detail: string): FerryError {
  return new FerryError('BAD_ARGUMENT', detail, { field });
}

function checkPassword(inst: InstanceConfig, given: string | undefined): void {
  const want = inst.password ?? '';
  const got = given ?? '';
  // No password registered: nothing to compare (the probe still fails if the server wants one).
  if (!want) return;
  const a = Buffer.from(want, 'utf8');
  const b = Buffer.from(got, 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new FerryError('TARGET_AUTH', 'Instance password verify failed.');
  }
}

function parseDb(db: string | undefined, inst: InstanceConfig): number | undefined {
  if (db === undefined || db === '') return undefined;
  if (!/^\d{1,3}$/.test(db) || Number(db) > 255) throw fieldError('target_instance.db', 'db must be a number from 0 to 255');
  if (inst.type === 'cluster' && db !== '0') throw fieldError('target_instance.db', 'a Redis Cluster target has db 0 only');
  return Number(db);
}
