/**
 * Store records -> DCS wire objects. Times are ISO-8601 UTC with milliseconds; numbers the SDK
 * models type as String are strings; passwords are not part of any record, so none can leak here.
 */
import type { InstanceConfig } from '../config/schema.js';
import type { TaskLog, TaskRecord } from '../store/contract.js';
import type { TargetInfo } from '../writer/probe.js';
import type { Static } from '@sinclair/typebox';
import type { InstanceOut } from './schemas/instances.js';
import type { StatsResponse, TaskDetail, TaskListItem } from './schemas/tasks.js';

export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function firstAddr(addrs: string): { ip: string; port: string } {
  const first = addrs.split(',')[0]!.trim();
  const i = first.lastIndexOf(':');
  return { ip: first.slice(0, i).replace(/^\[|\]$/g, ''), port: first.slice(i + 1) };
}

export function taskDetail(t: TaskRecord): Static<typeof TaskDetail> {
  const s = t.spec;
  const { ip, port } = firstAddr(s.target.addrs);
  return {
    task_id: t.id,
    task_name: t.name,
    description: t.description,
    status: t.status,
    migration_type: t.migration_type,
    migration_method: t.migration_method,
    ecs_tenant_private_ip: '',
    backup_files: {
      file_source: s.file_source,
      bucket_name: s.bucket_name,
      files: s.files,
      backup_id: s.backup_id,
      ...(s.backup_id ? { backup_record: { backup_id: s.backup_id } } : {}),
    },
    network_type: null,
    source_instance: {},
    target_instance: {
      id: s.target.id,
      name: s.target.name,
      addrs: s.target.addrs,
      ip,
      port,
      ...(s.target.db !== null ? { db: s.target.db } : {}),
      ...(s.target.proxy_multi_db !== null ? { proxy_multi_db: s.target.proxy_multi_db } : {}),
      task_status: t.status,
    },
    created_at: iso(t.created_at)!,
    updated_at: iso(t.finished_at ?? t.updated_at)!,
    released_at: null,
    version: '',
    resume_mode: 'manual',
    supported_features: [],
    tenant_vpc_id: '',
    tenant_subnet_id: '',
    tenant_security_group_id: '',
    bandwidth_limit_mb: '',
    task_status: t.status,
    error_code: t.error_code,
    error_message: t.error_message,
  };
}

export function taskListItem(t: TaskRecord): Static<typeof TaskListItem> {
  const s = t.spec;
  return {
    task_id: t.id,
    task_name: t.name,
    status: t.status,
    migration_type: t.migration_type,
    migration_method: t.migration_method,
    ecs_tenant_private_ip: '',
    data_source: s.bucket_name ?? s.backup_id ?? '',
    source_instance_name: '',
    source_instance_id: '',
    target_instance_addrs: s.target.addrs,
    target_instance_name: s.target.name,
    target_instance_id: s.target.id,
    created_at: iso(t.created_at)!,
    description: t.description,
    source_instance_status: '',
    target_instance_status: '', // not probed for lists; GET /instances/{id} has the live status
    source_instance_subnet_id: '',
    target_instance_subnet_id: '',
    source_instance_spec_code: '',
    target_instance_spec_code: '',
    error_message: t.error_message,
    released_at: null,
    version: '',
    resume_mode: 'manual',
    supported_features: [],
  };
}

export function taskStats(t: TaskRecord): Static<typeof StatsResponse> {
  const p = t.progress;
  let pct = 0;
  if (t.status === 'SUCCESS') pct = 100;
  else if (p && p.total_bytes) pct = Math.min(99.99, (100 * p.bytes_read) / p.total_bytes);
  const keys = String(p?.keys ?? 0);
  return {
    full_migration_progress: pct.toFixed(2),
    offset: '0',
    source_dbsize: keys,
    target_dbsize: keys,
    target_input_kbps: p ? ((p.bytes_per_second * 8) / 1000).toFixed(0) : '0',
    target_ops: p && p.seconds > 0 ? (p.commands / p.seconds).toFixed(0) : '0',
    is_migrating: t.status === 'MIGRATING' || t.status === 'TERMINATING',
    imported_keys: keys,
    read_bytes: String(p?.bytes_read ?? 0),
    total_bytes: p?.total_bytes === null || p?.total_bytes === undefined ? '' : String(p.total_bytes),
    keys_per_second: p ? p.keys_per_second.toFixed(0) : '0',
    status: t.status,
  };
}

export function logItem(l: TaskLog): { created_at: string; log_level: string; message: string; log_code: string; keyword: string[] } {
  return { created_at: iso(l.created_at)!, log_level: l.level, message: l.message, log_code: l.code, keyword: l.keyword };
}

const CACHE_MODE = { single: 'single', master_standby: 'ha', cluster: 'cluster', proxy: 'proxy' } as const;

export function instanceOut(i: InstanceConfig, info: TargetInfo | null): Static<typeof InstanceOut> {
  const { ip, port } = firstAddr(i.addrs);
  return {
    instance_id: i.id,
    name: i.name,
    engine: 'Redis',
    engine_version: info ? info.version : '',
    status: info ? 'RUNNING' : 'ERROR',
    cache_mode: CACHE_MODE[i.type],
    ip,
    port: Number(port),
    addrs: i.addrs,
    no_password_access: i.password ? 'false' : 'true',
    enable_ssl: i.tls ?? false,
    project_id: i.project,
  };
}
