/**
 * What the service needs from a task store, with no driver types: SQLite (one process) and
 * PostgreSQL (many processes sharing the work) implement it; test/conformance/store.test.ts runs the
 * same suite on every adapter. State changes are conditional ("only if the status is still X"), so
 * two actors (an API call and a runner, or two runners in different processes) can never both win,
 * and one running task per target is enforced by the store. Every method is async: a networked
 * database is never waited for synchronously.
 */

export type TaskStatus = 'MIGRATING' | 'TERMINATING' | 'TERMINATED' | 'SUCCESS' | 'FAILED';
export const ACTIVE_STATUSES: readonly TaskStatus[] = ['MIGRATING', 'TERMINATING'];
export const FINAL_STATUSES: readonly TaskStatus[] = ['TERMINATED', 'SUCCESS', 'FAILED'];

export interface BackupFileRef {
  file_name: string;
  size?: string;
  update_at?: string;
}

/** The import plan as accepted by create (password never stored: it lives in the instance registry). */
export interface TaskSpec {
  file_source: 'self_build_obs' | 'backup_record';
  bucket_name: string | null;
  files: BackupFileRef[];
  backup_id: string | null;
  target: {
    id: string;
    name: string;
    addrs: string;
    db: string | null;
    proxy_multi_db: boolean | null;
  };
}

export interface TaskProgress {
  bytes_read: number;
  total_bytes: number | null;
  keys: number;
  commands: number;
  keys_per_second: number;
  bytes_per_second: number;
  seconds: number;
  errors: number;
}

export interface TaskRecord {
  id: string;
  project_id: string;
  name: string;
  description: string;
  status: TaskStatus;
  migration_type: string;
  migration_method: string;
  spec: TaskSpec;
  error_code: string | null;
  error_message: string | null;
  progress: TaskProgress | null;
  /** Runs started so far: 0 until a runner claims it; every claim (first run or re-run after a crash) adds 1. */
  attempt: number;
  /** Runner that holds the task and until when (ms); null when nobody runs it. */
  owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  deleted_at: number | null;
}

export interface NewTask {
  id: string;
  project_id: string;
  name: string;
  description: string;
  migration_type: string;
  migration_method: string;
  spec: TaskSpec;
}

export interface TaskLog {
  id: number;
  task_id: string;
  created_at: number;
  level: 'INFO' | 'ERROR';
  code: string;
  message: string;
  keyword: string[];
}

export interface ListQuery {
  offset: number;
  limit: number;
  /** Substring of the task name. */
  name?: string;
}

export interface TransitionPatch {
  error_code?: string | null;
  error_message?: string | null;
  progress?: TaskProgress | null;
  owner?: string | null;
  lease_until?: number | null;
  finished_at?: number | null;
  attempt?: number;
}

/**
 * A task with several independent files (one RDB per shard of a cluster) is spread: each file is a
 * work item claimed by any free worker under its own lease, progress summed at the task level.
 */
export type FileStatus = 'PENDING' | 'RUNNING' | 'DONE' | 'FAILED';

export interface TaskFile {
  task_id: string;
  idx: number;
  file_name: string;
  status: FileStatus;
  owner: string | null;
  lease_until: number | null;
  /** Runs started for this file (every claim adds 1). */
  attempt: number;
  progress: TaskProgress | null;
  error_code: string | null;
  error_message: string | null;
}

/** One row per claim of a task (or of one of its files) by a runner: the proof that nothing ran twice at once. */
export interface TaskClaim {
  task_id: string;
  /** The file item claimed; null for a claim of the whole task. */
  file_idx: number | null;
  attempt: number;
  owner: string;
  claimed_at: number;
  lease_until: number;
  /** The holder this claim replaced (null for a first claim or after a release) and its lease then. */
  prev_owner: string | null;
  prev_lease_until: number | null;
}

export interface TaskStore {
  /** Inserts a MIGRATING task; throws FerryError TARGET_BUSY when the target already has an active task. */
  createTask(task: NewTask, now: number): Promise<TaskRecord>;
  /** A task of this project, deleted ones included when `withDeleted`. */
  getTask(projectId: string, id: string, withDeleted?: boolean): Promise<TaskRecord | null>;
  /** Any project's task, by id (runner side). */
  getTaskById(id: string): Promise<TaskRecord | null>;
  /** The MIGRATING or TERMINATING task importing into this target instance, if any. */
  activeTaskFor(targetId: string): Promise<TaskRecord | null>;
  /** Newest first; deleted tasks are never listed. */
  listTasks(projectId: string, q: ListQuery): Promise<{ count: number; tasks: TaskRecord[] }>;
  /** Changes the status only if it is one of `from`; returns the new record, or null when it was not. */
  transition(id: string, from: readonly TaskStatus[], to: TaskStatus, patch: TransitionPatch, now: number): Promise<TaskRecord | null>;
  /** Takes a MIGRATING task for a runner if no live lease holds it (atomically, recorded in the claim history); returns it, or null. */
  claim(id: string, owner: string, leaseUntil: number, now: number): Promise<TaskRecord | null>;
  /**
   * Takes the oldest MIGRATING task nobody holds (never claimed, released, or lease expired), skipping
   * rows another runner is claiming at this instant; null when there is none.
   */
  claimNext(owner: string, leaseUntil: number, now: number): Promise<TaskRecord | null>;
  /** Claims of a task and of its files, oldest first. */
  claims(taskId: string): Promise<TaskClaim[]>;
  /** Creates the task's per-file work items, PENDING; items that exist are kept as they are. */
  addFiles(taskId: string, files: string[]): Promise<void>;
  /** The task's file items by index. */
  listFiles(taskId: string): Promise<TaskFile[]>;
  /**
   * Takes one file item of a MIGRATING task (of `taskId` only, when given): PENDING, or RUNNING under
   * a lapsed lease. At most `maxParallel(target_id)` items of one task run at once: claimers of one
   * task are serialised, so the limit is exact. Recorded in the claim history; null when none.
   */
  claimFile(owner: string, leaseUntil: number, now: number, maxParallel: (targetId: string) => number, taskId?: string): Promise<TaskFile | null>;
  /** Extends a file item's lease and stores its progress; false when the runner no longer holds it. */
  heartbeatFile(taskId: string, idx: number, owner: string, leaseUntil: number, progress: TaskProgress | null, now: number): Promise<boolean>;
  /** Ends the holder's run of a file: DONE, FAILED (with the error) or PENDING (released); false when not held. */
  finishFile(taskId: string, idx: number, owner: string, to: 'DONE' | 'FAILED' | 'PENDING', patch: { progress?: TaskProgress | null; error_code?: string | null; error_message?: string | null }, now: number): Promise<boolean>;
  /** Extends the lease and stores progress; false when the runner no longer holds the task. */
  heartbeat(id: string, owner: string, leaseUntil: number, progress: TaskProgress | null, now: number): Promise<boolean>;
  /** Active tasks nobody holds (no owner, or lease expired). */
  orphans(now: number): Promise<TaskRecord[]>;
  /** Marks final tasks deleted (hidden from the list); returns the ids that were deleted. */
  markDeleted(projectId: string, ids: string[], now: number): Promise<string[]>;
  appendLog(log: Omit<TaskLog, 'id'>): Promise<void>;
  /** Oldest first. */
  listLogs(taskId: string, q: { offset: number; limit: number; level?: 'INFO' | 'ERROR' }): Promise<{ count: number; logs: TaskLog[] }>;
  /** Task counts by status (deleted excluded), for /metrics. */
  countByStatus(): Promise<Record<string, number>>;
  close(): Promise<void>;
}
