/**
 * The configuration file's shape, as one JSON schema (TypeBox): the loader validates with it, and
 * docs/configuration.md describes it. Field names are snake_case like the DCS API they serve.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { BucketConfig } from '../source/bucket-config.js';
import type { TargetTls } from '../writer/target-spec.js';

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' });

export const ProjectSchema = Type.Object(
  {
    id: Id,
    /** Opaque bearer tokens accepted in X-Auth-Token for this project. */
    tokens: Type.Optional(Type.Array(Type.String({ minLength: 8 }))),
    /** AK/SK pairs accepted for SDK-HMAC-SHA256 signatures. */
    credentials: Type.Optional(Type.Array(Type.Object({ ak: Type.String({ minLength: 1 }), sk: Type.String({ minLength: 1 }) }, { additionalProperties: false }))),
  },
  { additionalProperties: false },
);

export const InstanceSchema = Type.Object(
  {
    id: Id,
    project: Id,
    name: Type.String({ minLength: 1 }),
    type: Type.Union([Type.Literal('single'), Type.Literal('master_standby'), Type.Literal('cluster'), Type.Literal('proxy')]),
    /** "host:port[,host:port]" */
    addrs: Type.String({ minLength: 3 }),
    password: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    tls: Type.Optional(Type.Boolean()),
    /** With tls: PEM CA file to verify the server with (instead of Node's store), client certificate and key files, name to verify. */
    tls_ca_file: Type.Optional(Type.String({ minLength: 1 })),
    tls_cert_file: Type.Optional(Type.String({ minLength: 1 })),
    tls_key_file: Type.Optional(Type.String({ minLength: 1 })),
    tls_servername: Type.Optional(Type.String({ minLength: 1 })),
    /** Cap on bytes of commands sent but not yet answered by this target, whichever worker imports into it. */
    max_inflight_bytes: Type.Optional(Type.Integer({ minimum: 65536 })),
    /** Files of one task importing into this target at once, over all workers (a spread task: one file per shard). */
    max_parallel_files: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })),
  },
  { additionalProperties: false },
);

export const ConfigFileSchema = Type.Object(
  {
    listen: Type.Optional(Type.String({ pattern: '^(\\[[^\\]]+\\]|[^:]+):\\d{1,5}$' })),
    data_dir: Type.Optional(Type.String({ minLength: 1 })),
    /** "sqlite:PATH" (one process) or "postgres://user@host:5432/db[?schema=name]" (many processes sharing the work). */
    store: Type.Optional(Type.String({ minLength: 1 })),
    log_level: Type.Optional(Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)))),
    projects: Type.Optional(Type.Array(ProjectSchema)),
    instances: Type.Optional(Type.Array(InstanceSchema)),
    /** Local `{name, path}` or S3/OBS `{name, endpoint, region, access_key, secret_key, path_style}`: checked by source/bucket-config.ts. */
    buckets: Type.Optional(Type.Array(Type.Unknown())),
    /** Bucket that receives instance backups (default: a local bucket `backups` under <data_dir>/buckets). */
    backup_bucket: Type.Optional(Type.String({ minLength: 1 })),
    /** DCS refuses backups of single-node instances (DCS.4086); true allows them. */
    allow_single_node_backup: Type.Optional(Type.Boolean()),
    tasks: Type.Optional(
      Type.Object(
        {
          /** Imports running at once in this process. */
          concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
          /** A task found running after a crash: run it again from the start, or mark it FAILED. */
          on_restart: Type.Optional(Type.Union([Type.Literal('rerun'), Type.Literal('fail')])),
          /** Re-runs after crashes before a task is marked FAILED. */
          max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
          /** How long a runner's claim on a task lasts without a heartbeat. */
          lease_seconds: Type.Optional(Type.Integer({ minimum: 2, maximum: 3600 })),
          /** Bytes in flight to targets across all imports of this worker process (split evenly over `concurrency`). */
          worker_max_inflight_bytes: Type.Optional(Type.Integer({ minimum: 65536 })),
          /** How often an idle worker looks for unclaimed tasks in the store (other processes may have created them). */
          poll_ms: Type.Optional(Type.Integer({ minimum: 50, maximum: 60000 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type ConfigFile = Static<typeof ConfigFileSchema>;
export type ProjectConfig = Static<typeof ProjectSchema>;
/** An instance as configured, plus its TLS files' contents (read once at start-up by the loader). */
export type InstanceConfig = Static<typeof InstanceSchema> & { tlsOptions?: TargetTls };
export type { BucketConfig, LocalBucketConfig, S3BucketConfig } from '../source/bucket-config.js';

/** The validated, defaulted configuration the service runs with (passed in, never global). */
export interface Config {
  listen: { host: string; port: number };
  dataDir: string;
  store: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  logLevel: string;
  projects: { id: string; tokens: string[]; credentials: { ak: string; sk: string }[] }[];
  instances: InstanceConfig[];
  buckets: BucketConfig[];
  /** Backups: the bucket they go to (one of `buckets`) and whether single-node instances may be backed up. */
  backups: { bucket: string; allowSingleNode: boolean };
  tasks: { concurrency: number; onRestart: 'rerun' | 'fail'; maxAttempts: number; leaseMs: number; workerMaxInflightBytes: number | null; pollMs: number };
  /** Where the settings came from, for the start-up log line. */
  origin: { file: string | null; generated: boolean };
}
