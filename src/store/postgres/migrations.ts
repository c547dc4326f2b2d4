/**
 * The PostgreSQL schema: the same numbered, append-only steps as sqlite/migrations.ts (same version
 * numbers and names, this dialect), so one store can move between adapters and the conformance suite
 * checks both lists stay in step. A released step is never edited; a change is a new step.
 */
import type { Migration } from '../sqlite/migrations.js';

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tasks and task logs',
    sql: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        migration_type TEXT NOT NULL,
        migration_method TEXT NOT NULL,
        target_id TEXT NOT NULL,
        spec TEXT NOT NULL,
        error_code TEXT,
        error_message TEXT,
        progress TEXT,
        attempt INTEGER NOT NULL DEFAULT 0,
        owner TEXT,
        lease_until BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        finished_at BIGINT,
        deleted_at BIGINT
      );
      CREATE INDEX tasks_project_created ON tasks(project_id, created_at DESC);
      CREATE INDEX tasks_status ON tasks(status);
      -- One active import per target: the store, not the caller, enforces it (DCS.4017).
      CREATE UNIQUE INDEX tasks_one_active_per_target ON tasks(target_id) WHERE status IN ('MIGRATING', 'TERMINATING');
      CREATE TABLE task_logs (
        id BIGSERIAL PRIMARY KEY,
        task_id TEXT NOT NULL REFERENCES tasks(id),
        created_at BIGINT NOT NULL,
        level TEXT NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        keyword TEXT NOT NULL DEFAULT '[]'
      );
      CREATE INDEX task_logs_task ON task_logs(task_id, id);
    `,
  },
  {
    version: 2,
    name: 'task claim history',
    sql: `
      CREATE TABLE task_claims (
        id BIGSERIAL PRIMARY KEY,
        task_id TEXT NOT NULL REFERENCES tasks(id),
        attempt INTEGER NOT NULL,
        owner TEXT NOT NULL,
        claimed_at BIGINT NOT NULL,
        lease_until BIGINT NOT NULL,
        prev_owner TEXT,
        prev_lease_until BIGINT
      );
      CREATE INDEX task_claims_task ON task_claims(task_id, id);
    `,
  },
  {
    version: 3,
    name: 'backup and restore records',
    sql: `
      CREATE TABLE backups (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        format TEXT NOT NULL,
        remark TEXT NOT NULL DEFAULT '',
        backup_type TEXT NOT NULL DEFAULT 'manual',
        bucket TEXT NOT NULL,
        prefix TEXT NOT NULL,
        files TEXT NOT NULL DEFAULT '[]',
        size BIGINT NOT NULL DEFAULT 0,
        progress DOUBLE PRECISION NOT NULL DEFAULT 0,
        error_code TEXT,
        error_message TEXT,
        owner TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        execution_at BIGINT,
        finished_at BIGINT
      );
      CREATE INDEX backups_instance_created ON backups(project_id, instance_id, created_at DESC);
      -- One running backup per instance (DCS.4096): the store, not the caller, enforces it.
      CREATE UNIQUE INDEX backups_one_running ON backups(instance_id) WHERE status IN ('waiting', 'backuping');
      CREATE TABLE restores (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        backup_id TEXT NOT NULL,
        remark TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        progress DOUBLE PRECISION NOT NULL DEFAULT 0,
        error_code TEXT,
        error_message TEXT,
        log TEXT NOT NULL DEFAULT '[]',
        owner TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        finished_at BIGINT
      );
      CREATE INDEX restores_instance_created ON restores(project_id, instance_id, created_at DESC);
      CREATE UNIQUE INDEX restores_one_running ON restores(instance_id) WHERE status IN ('waiting', 'restoring');
    `,
  },
  {
    version: 4,
    name: 'per-file work items',
    sql: `
      -- A task's files spread over workers: each row is claimed, leased and finished on its own.
      CREATE TABLE task_files (
        task_id TEXT NOT NULL REFERENCES tasks(id),
        idx INTEGER NOT NULL,
        file_name TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'PENDING',
        owner TEXT,
        lease_until BIGINT,
        attempt INTEGER NOT NULL DEFAULT 0,
        progress TEXT,
        error_code TEXT,
        error_message TEXT,
        PRIMARY KEY (task_id, idx)
      );
      ALTER TABLE task_claims ADD COLUMN file_idx INTEGER;
    `,
  },
];
