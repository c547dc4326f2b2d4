/**
 * How backup and restore records are stored as rows, shared by the SQLite and PostgreSQL adapters:
 * list-valued fields are JSON text columns, and these are the columns a patch may change.
 */
import type { BackupRecord, RestoreRecord } from './backup-contract.js';

export type BackupRow = Omit<BackupRecord, 'files'> & { files: string };
export type RestoreRow = Omit<RestoreRecord, 'log'> & { log: string };

export const toBackup = (r: BackupRow): BackupRecord => ({ ...r, files: JSON.parse(r.files) as BackupRecord['files'] });
export const toRestore = (r: RestoreRow): RestoreRecord => ({ ...r, log: JSON.parse(r.log) as string[] });

export const BACKUP_PATCH_COLUMNS = ['size', 'progress', 'error_code', 'error_message', 'owner', 'execution_at', 'finished_at'] as const;
export const RESTORE_PATCH_COLUMNS = ['progress', 'error_code', 'error_message', 'owner', 'finished_at'] as const;
