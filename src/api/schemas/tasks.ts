/**
 * The migration-task wire shapes (DCS v2, snake_case, numbers as strings), as JSON schemas: the
 * routes validate requests and serialise responses with them, and /openapi.json is built from them.
 * Response schemas also mask by construction: a field not listed here (a password) is never sent.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Pagination } from './common.js';

const Str = Type.String();
const NullableStr = Type.Union([Type.String(), Type.Null()]);

export const BackupFile = Type.Object({
  file_name: Type.String({ minLength: 1, maxLength: 1024 }),
  size: Type.Optional(Type.String({ description: 'free text; DCS examples send "754.0MB"' })),
  update_at: Type.Optional(Type.String()),
});

export const CreateTaskBody = Type.Object({
  task_name: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{3,63}$', description: 'starts with a letter; 4-64 letters, digits, - or _' }),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  migration_type: Type.String({ enum: ['backupfile_import', 'online_migration'] }),
  migration_method: Type.String({ enum: ['full_amount_migration', 'incremental_migration'] }),
  backup_files: Type.Optional(
    Type.Object({
      file_source: Type.Optional(Type.String({ enum: ['self_build_obs', 'backup_record'] })),
      bucket_name: Type.Optional(Type.String({ maxLength: 255 })),
      files: Type.Optional(Type.Union([Type.Array(BackupFile, { maxItems: 1024 }), Type.Null()])),
      backup_id: Type.Optional(Type.String()),
    }),
  ),
  network_type: Type.Optional(Type.String()),
  source_instance: Type.Optional(Type.Object({})),
  target_instance: Type.Object({
    id: Type.String({ minLength: 1, maxLength: 128 }),
    name: Type.Optional(Type.String()),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
    task_status: Type.Optional(Type.String()),
    ip: Type.Optional(Type.String()),
    port: Type.Optional(Type.String()),
    addrs: Type.Optional(Type.String()),
    proxy_multi_db: Type.Optional(Type.Boolean()),
    db: Type.Optional(Type.String()),
  }),
});
export type CreateTaskBodyT = Static<typeof CreateTaskBody>;

export const CreateTaskResponse = Type.Object({ id: Str, name: Str, status: Str, error: Str });

export const TargetInstanceOut = Type.Object({
  id: Str,
  name: Str,
  addrs: Str,
  ip: Str,
  port: Str,
  db: Type.Optional(Str),
  proxy_multi_db: Type.Optional(Type.Boolean()),
  task_status: Str,
});

export const BackupFilesOut = Type.Object({
  file_source: Str,
  bucket_name: NullableStr,
  files: Type.Array(BackupFile),
  backup_id: NullableStr,
  backup_record: Type.Optional(Type.Object({ backup_id: Str })),
});

export const TaskDetail = Type.Object(
  {
    task_id: Str,
    task_name: Str,
    description: Str,
    status: Str,
    migration_type: Str,
    migration_method: Str,
    ecs_tenant_private_ip: Str,
    backup_files: BackupFilesOut,
    network_type: NullableStr,
    source_instance: Type.Object({}),
    target_instance: TargetInstanceOut,
    created_at: Str,
    updated_at: Str,
    released_at: NullableStr,
    version: Str,
    resume_mode: Str,
    supported_features: Type.Array(Str),
    tenant_vpc_id: Str,
    tenant_subnet_id: Str,
    tenant_security_group_id: Str,
    bandwidth_limit_mb: Str,
    task_status: Str,
    error_code: NullableStr,
    error_message: NullableStr,
  },
  { description: 'ShowMigrationTask / StopMigrationTask response' },
);

export const TaskListItem = Type.Object({
  task_id: Str,
  task_name: Str,
  status: Str,
  migration_type: Str,
  migration_method: Str,
  ecs_tenant_private_ip: Str,
  data_source: Str,
  source_instance_name: Str,
  source_instance_id: Str,
  target_instance_addrs: Str,
  target_instance_name: Str,
  target_instance_id: Str,
  created_at: Str,
  description: Str,
  source_instance_status: Str,
  target_instance_status: Str,
  source_instance_subnet_id: Str,
  target_instance_subnet_id: Str,
  source_instance_spec_code: Str,
  target_instance_spec_code: Str,
  error_message: NullableStr,
  released_at: NullableStr,
  version: Str,
  resume_mode: Str,
  supported_features: Type.Array(Str),
});

export const ListQuery = Type.Object({ ...Pagination, name: Type.Optional(Type.String({ maxLength: 64 })) });
export const ListResponse = Type.Object({ count: Type.Integer(), migration_tasks: Type.Array(TaskListItem) });

export const StatsResponse = Type.Object({
  full_migration_progress: Str,
  offset: Str,
  source_dbsize: Str,
  target_dbsize: Str,
  target_input_kbps: Str,
  target_ops: Str,
  is_migrating: Type.Boolean(),
  imported_keys: Str,
  read_bytes: Str,
  total_bytes: Str,
  keys_per_second: Str,
  status: Str,
});

export const LogsQuery = Type.Object({ ...Pagination, log_level: Type.Optional(Type.String({ enum: ['INFO', 'ERROR'] })) });
export const LogsResponse = Type.Object({
  log_num: Type.Integer(),
  migration_logs: Type.Array(Type.Object({ created_at: Str, log_level: Str, message: Str, log_code: Str, keyword: Type.Array(Str) })),
});

export const BatchStopBody = Type.Object({ migration_tasks: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 1000 }) });
export const BatchStopResponse = Type.Object({
  migration_tasks: Type.Array(Type.Object({ result: Str, task_id: Str, error_code: Type.Optional(Str), error_msg: Type.Optional(Str) })),
});

export const DeleteBody = Type.Object({ task_id_list: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 1000 }) });
export const DeleteResponse = Type.Object({ task_id_list: Type.Array(Str) });
