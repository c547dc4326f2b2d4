/**
 * What the backup service needs from a store: backup records (one per backup of an instance, all
 * its shard files) and restore records, with no driver types. Kept apart from the task store's
 * contract so the two evolve separately. State changes are conditional ("only if the status is still
 * X"), and one running backup (or restore) per instance is enforced by the store itself.
 */

/** DCS record states (reference §1.8); `expired` is never produced by Ferry (no automatic policy). */
export type BackupStatus = 'waiting' | 'backuping' | 'succeed' | 'failed' | 'expired' | 'deleted';
export type RestoreStatus = 'waiting' | 'restoring' | 'succeed' | 'failed';
export type BackupFormat = 'rdb' | 'aof';

export interface BackupFileInfo {
  /** Object key inside the backup bucket (`<prefix><name>`). */
  file_name: string;
  size: number;
  /** Node the file was taken from ("host:port"). */
  node: string;
  /** Slot ranges the node served ("0-5460"), or "" for a standalone instance. */
  slots: string;
}

export interface BackupRecord {
  id: string;
  project_id: string;
  instance_id: string;
  /** `backup_<yyyyMMddHHmmss>` as DCS names them. */
  name: string;
  status: BackupStatus;
  format: BackupFormat;
  remark: string;
  backup_type: 'manual' | 'auto';
  bucket: string;
  /** Folder of the files inside the bucket (ends with "/"). */
  prefix: string;
  /** Files planned (while running) or written (succeed). */
  files: BackupFileInfo[];
  size: number;
  /** 0..100 */
  progress: number;
  /** DCS record code (dcs.08.000x) when failed. */
  error_code: string | null;
  /** `<FERRY CODE>: <message>` when failed. */
  error_message: string | null;
  /** Process running it (`host:pid:random`), while waiting/backuping. */
  owner: string | null;
  created_at: number;
  updated_at: number;
  execution_at: number | null;
  finished_at: number | null;
}

export interface NewBackup {
  id: string;
  project_id: string;
  instance_id: string;
  name: string;
  format: BackupFormat;
  remark: string;
  bucket: string;
  prefix: string;
  owner: string;
}

export interface BackupPatch {
  files?: BackupFileInfo[];
  size?: number;
  progress?: number;
  error_code?: string | null;
  error_message?: string | null;
  owner?: string | null;
  execution_at?: number | null;
  finished_at?: number | null;
}

export interface RestoreRecord {
  id: string;
  project_id: string;
  instance_id: string;
  backup_id: string;
  remark: string;
  status: RestoreStatus;
  progress: number;
  error_code: string | null;
  error_message: string | null;
  /** What the restore did, in order (the emptying of the target is the first line). */
  log: string[];
  owner: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface NewRestore {
  id: string;
  project_id: string;
  instance_id: string;
  backup_id: string;
  remark: string;
  owner: string;
}

export interface RestorePatch {
  progress?: number;
  error_code?: string | null;
  error_message?: string | null;
  owner?: string | null;
  finished_at?: number | null;
}

export interface TimeQuery {
  offset: number;
  limit: number;
  /** created_at bounds, unix ms, inclusive. */
  begin?: number;
  end?: number;
}

export interface BackupStore {
  /** Inserts a `waiting` record; throws INSTANCE_BACKUPING when the instance has one waiting or running. */
  createBackup(b: NewBackup, now: number): Promise<BackupRecord>;
  /** A record of this instance (deleted ones are not found). */
  getBackup(projectId: string, instanceId: string, id: string): Promise<BackupRecord | null>;
  /** Any instance's record in the project (imports name a backup id only). */
  findBackup(projectId: string, id: string): Promise<BackupRecord | null>;
  /** Newest first; deleted records are never listed. */
  listBackups(projectId: string, instanceId: string, q: TimeQuery): Promise<{ count: number; records: BackupRecord[] }>;
  /** Changes the status only if it is one of `from`; returns the new record, or null. */
  transitionBackup(id: string, from: readonly BackupStatus[], to: BackupStatus, patch: BackupPatch, now: number): Promise<BackupRecord | null>;
  /** Progress while running; false when the record is no longer running. */
  backupProgress(id: string, progress: number, now: number): Promise<boolean>;
  /** Records in `waiting` / `backuping` (recovery at start-up). */
  runningBackups(): Promise<BackupRecord[]>;

  /** Inserts a `waiting` restore; throws INSTANCE_RESTORING when the instance has one waiting or running. */
  createRestore(r: NewRestore, now: number): Promise<RestoreRecord>;
  getRestore(id: string): Promise<RestoreRecord | null>;
  listRestores(projectId: string, instanceId: string, q: TimeQuery): Promise<{ count: number; records: RestoreRecord[] }>;
  transitionRestore(id: string, from: readonly RestoreStatus[], to: RestoreStatus, patch: RestorePatch, now: number): Promise<RestoreRecord | null>;
  restoreProgress(id: string, progress: number, now: number): Promise<boolean>;
  appendRestoreLog(id: string, line: string, now: number): Promise<void>;
  runningRestores(): Promise<RestoreRecord[]>;
  close(): void;
}
