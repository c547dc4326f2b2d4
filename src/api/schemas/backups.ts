/** Backup and restore record wire shapes (DCS v2 §1.8: CopyInstance, ListBackupRecords, links, restores). */
import { Type } from '@sinclair/typebox';
import { Pagination } from './common.js';

const Str = Type.String();
const Id = Type.String({ minLength: 1, maxLength: 128 });

export const BackupParams = Type.Object({ project_id: Type.String({ minLength: 1, maxLength: 64 }), instance_id: Id, backup_id: Id });

/** The remark length is checked by the service (DCS.4098), not here (which would answer DCS.4062). */
export const CreateBackupBody = Type.Object({
  remark: Type.Optional(Type.String()),
  backup_format: Type.Optional(Type.String({ enum: ['rdb', 'aof'] })),
});
export const CreateBackupResponse = Type.Object({ backup_id: Str });

/** `yyyyMMddHHmmss` (UTC); the doc example's misspellings are accepted too. */
const DcsTime = Type.Optional(Type.String({ pattern: '^\\d{14}$' }));
export const TimeListQuery = Type.Object({ ...Pagination, begin_time: DcsTime, end_time: DcsTime, beginTime: DcsTime, begin_Time: DcsTime, end_Time: DcsTime });

export const BackupRecordOut = Type.Object({
  backup_id: Str,
  backup_name: Str,
  instance_id: Str,
  period: Str,
  size: Type.Integer(),
  backup_type: Str,
  created_at: Str,
  updated_at: Str,
  execution_at: Str,
  progress: Str,
  error_code: Str,
  error_message: Str,
  remark: Str,
  status: Str,
  is_support_restore: Str,
  backup_format: Str,
  files: Type.Array(Type.Object({ file_name: Str, size: Type.Integer(), node: Str, slots: Str })),
});
export const BackupListResponse = Type.Object({ total_num: Type.Integer(), backup_record_response: Type.Array(BackupRecordOut) });

export const LinksBody = Type.Object({ expiration: Type.Integer({ minimum: 300, maximum: 86400 }) });
export const LinksResponse = Type.Object({ file_path: Str, bucket_name: Str, links: Type.Array(Type.Object({ file_name: Str, link: Str })) });

export const RestoreBody = Type.Object({ backup_id: Id, remark: Type.Optional(Type.String()) });
export const RestoreResponse = Type.Object({ restore_id: Str });
export const RestoreRecordOut = Type.Object({
  restore_id: Str,
  backup_id: Str,
  backup_name: Str,
  backup_remark: Str,
  restore_remark: Str,
  created_at: Str,
  updated_at: Str,
  progress: Str,
  status: Str,
  error_code: Str,
  error_message: Str,
  restore_log: Type.Array(Str),
});
export const RestoreListResponse = Type.Object({ total_num: Type.Integer(), restore_record_response: Type.Array(RestoreRecordOut) });
