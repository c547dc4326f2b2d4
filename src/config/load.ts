/**
 * Reads the configuration once at start-up: one YAML or JSON file (`--config`, FERRY_CONFIG, or
 * ./ferry.yaml when present) plus FERRY_* environment overrides, validated against the schema and
 * cross-checked (ids unique, instances point at projects, addresses parse). Every problem is a
 * CONFIG_INVALID FerryError naming the file and the field; nothing here reads config later.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { FerryError } from '../errors/ferry-error.js';
import { parseAddrs } from '../writer/target-spec.js';
import { loadTargetTls } from '../writer/tls.js';
import { isLocalBucket, parseBucketConfig, type BucketConfig } from '../source/bucket-config.js';
import { parsePgLocation } from '../store/postgres/location.js';
import { ConfigFileSchema, type Config, type ConfigFile, type InstanceConfig } from './schema.js';
import type { TargetTls } from '../writer/target-spec.js';

export interface LoadOptions {
  /** Explicit --config path. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Environment variables that override a top-level key (documented in docs/configuration.md). */
export const ENV_OVERRIDES = {
  FERRY_LISTEN: 'listen',
  FERRY_DATA_DIR: 'data_dir',
  FERRY_STORE: 'store',
  FERRY_LOG_LEVEL: 'log_level',
} as const;

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const file = findConfigFile(opts.configPath ?? env.FERRY_CONFIG, cwd);
  const raw: Record<string, unknown> = file ? readConfigFile(file) : {};
  for (const [name, key] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  if (env.FERRY_TASK_CONCURRENCY) {
    const n = Number(env.FERRY_TASK_CONCURRENCY);
    raw.tasks = { ...(raw.tasks as object | undefined), concurrency: Number.isInteger(n) ? n : env.FERRY_TASK_CONCURRENCY };
  }
  const where = file ?? 'environment';
  const firstError = Value.Errors(ConfigFileSchema, raw).First();
  if (firstError) {
    const field = firstError.path.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
    throw new FerryError('CONFIG_INVALID', `invalid configuration: ${firstError.message}`, { file: where, field });
  }
  return finish(raw as ConfigFile, cwd, file);
}

function findConfigFile(explicit: string | undefined, cwd: string): string | null {
  if (explicit) {
    const p = resolve(cwd, explicit);
    if (!existsSync(p)) throw new FerryError('CONFIG_INVALID', `configuration file not found: ${p}`, { file: p });
    return p;
  }
  for (const name of ['ferry.yaml', 'ferry.yml', 'ferry.json']) {
    const p = resolve(cwd, name);
    if (existsSync(p)) return p;
  }
  return null;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FerryError('CONFIG_INVALID', `cannot read configuration: ${(err as Error).message}`, { file }, { cause: err });
  }
  // YAML 1.2 is a superset of JSON, so one parser reads both forms.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new FerryError('CONFIG_INVALID', `configuration is not valid YAML/JSON: ${e.message.split('\n')[0]}`, { file, offset: e.pos[0] });
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new FerryError('CONFIG_INVALID', 'configuration must be a mapping of keys (listen, data_dir, store, ...)', { file });
  }
  return value as Record<string, unknown>;
}

function finish(c: ConfigFile, cwd: string, file: string | null): Config {
  const where = file ?? 'environment';
  const bad = (field: string, msg: string): never => {
    throw new FerryError('CONFIG_INVALID', `invalid configuration: ${msg}`, { file: where, field });
  };
  const dataDir = resolve(cwd, c.data_dir ?? './data');
  const listen = parseListen(c.listen ?? '127.0.0.1:8080');
  const store = parseStore(c.store ?? `sqlite:${resolve(dataDir, 'ferry.db')}`, cwd, where);

  const projects = (c.projects ?? []).map((p) => ({ id: p.id, tokens: p.tokens ?? [], credentials: p.credentials ?? [] }));
  unique(projects.map((p) => p.id), 'projects[].id', bad);
  unique(projects.flatMap((p) => p.tokens), 'projects[].tokens', bad);
  unique(projects.flatMap((p) => p.credentials.map((k) => k.ak)), 'projects[].credentials[].ak', bad);

  const instances: InstanceConfig[] = c.instances ?? [];
  unique(instances.map((i) => i.id), 'instances[].id', bad);
  instances.forEach((inst, i) => {
    if (!projects.some((p) => p.id === inst.project)) bad(`instances[${i}].project`, `no project with id ${JSON.stringify(inst.project)}`);
    try {
      parseAddrs(inst.addrs);
    } catch (err) {
      bad(`instances[${i}].addrs`, (err as Error).message);
    }
    inst.tlsOptions = instanceTls(inst, i, cwd, bad);
  });

  const buckets = (c.buckets ?? []).map((raw, i) => {
    let b: BucketConfig;
    try {
      b = parseBucketConfig(raw, `buckets[${i}]`);
    } catch (err) {
      const e = err as FerryError;
      return bad(String(e.context?.field ?? `buckets[${i}]`), e.message.replace(/ \(field [^)]*\)$/, '').replace(/^invalid bucket config: /, ''));
    }
    return isLocalBucket(b) ? { ...b, path: resolve(cwd, b.path) } : b;
  });
  unique(buckets.map((b) => b.name), 'buckets[].name', bad);
  // Backups go to `backup_bucket`; the default one is a local folder created on first use.
  const backupBucket = c.backup_bucket ?? 'backups';
  if (!buckets.some((b) => b.name === backupBucket)) {
    if (c.backup_bucket !== undefined) bad('backup_bucket', `no bucket named ${JSON.stringify(backupBucket)} in buckets`);
    buckets.push({ name: backupBucket, path: resolve(dataDir, 'buckets', backupBucket) });
  }

  const t = c.tasks ?? {};
  return {
    listen,
    dataDir,
    store,
    logLevel: c.log_level ?? 'info',
    projects,
    instances,
    buckets,
    backups: { bucket: backupBucket, allowSingleNode: c.allow_single_node_backup ?? false },
    tasks: {
      concurrency: t.concurrency ?? 2,
      onRestart: t.on_restart ?? 'rerun',
      maxAttempts: t.max_attempts ?? 3,
      leaseMs: (t.lease_seconds ?? 30) * 1000,
      workerMaxInflightBytes: t.worker_max_inflight_bytes ?? null,
      pollMs: t.poll_ms ?? 1000,
    },
    origin: { file, generated: false },
  };
}

/** The instance's TLS files, read and checked now (relative paths from the working directory). */
function instanceTls(inst: InstanceConfig, i: number, cwd: string, bad: (field: string, msg: string) => never): TargetTls | undefined {
  const set = (['tls_ca_file', 'tls_cert_file', 'tls_key_file', 'tls_servername'] as const).filter((k) => inst[k] !== undefined);
  if (!set.length) return undefined;
  if (!inst.tls) return bad(`instances[${i}].${set[0]}`, `${set[0]} needs tls: true`);
  const at = (k: string): string => `instances[${i}].${k}`;
  const path = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(cwd, p));
  try {
    return loadTargetTls(
      { ca: path(inst.tls_ca_file), cert: path(inst.tls_cert_file), key: path(inst.tls_key_file), servername: inst.tls_servername },
      { ca: at('tls_ca_file'), cert: at('tls_cert_file'), key: at('tls_key_file'), servername: at('tls_servername') },
    );
  } catch (err) {
    const e = err as FerryError;
    const field = String(e.context?.field ?? at('tls'));
    return bad(field, e.message.replace(/ \(field [^)]*\)$/, '').replace(`${field} `, ''));
  }
}

function parseListen(s: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(s)!;
  const port = Number(m[2]);
  if (port > 65535) throw new FerryError('CONFIG_INVALID', `listen: port ${port} is above 65535`, { field: 'listen' });
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

function parseStore(s: string, cwd: string, where: string): Config['store'] {
  if (/^postgres(ql)?:\/\//i.test(s)) {
    try {
      parsePgLocation(s);
    } catch (err) {
      throw new FerryError('CONFIG_INVALID', (err as Error).message, { file: where, field: 'store' });
    }
    return { kind: 'postgres', url: s };
  }
  const m = /^sqlite:(.+)$/.exec(s);
  if (!m) throw new FerryError('CONFIG_INVALID', `store must be "sqlite:PATH" or "postgres://...", got ${JSON.stringify(s)}`, { file: where, field: 'store' });
  const path = m[1]!.replace(/^\/\/(?=\/)/, ''); // accept sqlite:///abs/path as well as sqlite:/abs/path
  return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(cwd, path) };
}

function unique(values: string[], field: string, bad: (f: string, m: string) => never): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) bad(field, `${field.endsWith('tokens') || field.endsWith('.ak') ? 'a value' : JSON.stringify(v)} appears twice`);
    seen.add(v);
  }
}
