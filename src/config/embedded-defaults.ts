/**
 * The "no configuration at all" start: a project with a token and an AK/SK generated once and kept
 * in <data_dir>/bootstrap.json (mode 0600, so a restart keeps them), local buckets = the folders
 * under <data_dir>/buckets whose names are valid bucket names, and the local Redis at 127.0.0.1:6379 registered when it answers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import type { Config } from './schema.js';
import { pingRedis } from './ping-redis.js';
import { isValidBucketName } from '../source/bucket-config.js';

export interface Bootstrap {
  project_id: string;
  token: string;
  ak: string;
  sk: string;
  local_instance_id: string;
}

export interface EmbeddedResult {
  config: Config;
  /** Set only on the run that generated the credentials, so they are printed exactly once. */
  generated: Bootstrap | null;
  localRedis: boolean;
}

export const LOCAL_REDIS = { host: '127.0.0.1', port: 6379 };

export async function applyEmbeddedDefaults(config: Config): Promise<EmbeddedResult> {
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'bootstrap.json');
  let boot: Bootstrap;
  let generated: Bootstrap | null = null;
  if (existsSync(file)) {
    try {
      boot = JSON.parse(readFileSync(file, 'utf8')) as Bootstrap;
    } catch (err) {
      throw new FerryError('CONFIG_INVALID', `cannot read generated credentials: ${(err as Error).message}`, { file }, { cause: err });
    }
    for (const k of ['project_id', 'token', 'ak', 'sk', 'local_instance_id'] as const) {
      if (typeof boot[k] !== 'string' || !boot[k]) throw new FerryError('CONFIG_INVALID', `generated credentials lack ${k}; delete the file to regenerate`, { file, field: k });
    }
  } else {
    boot = {
      project_id: randomBytes(16).toString('hex'),
      token: randomBytes(24).toString('base64url'),
      ak: randomBytes(10).toString('hex').toUpperCase(),
      sk: randomBytes(30).toString('base64url'),
      local_instance_id: randomUUID(),
    };
    writeFileSync(file, JSON.stringify(boot, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    generated = boot;
  }

  const bucketsDir = join(config.dataDir, 'buckets');
  mkdirSync(join(bucketsDir, 'default'), { recursive: true });
  const buckets = readdirSync(bucketsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && isValidBucketName(d.name))
    .map((d) => ({ name: d.name, path: join(bucketsDir, d.name) }));

  const localRedis = await pingRedis(LOCAL_REDIS.host, LOCAL_REDIS.port, 500);
  const instances = localRedis
    ? [{ id: boot.local_instance_id, project: boot.project_id, name: 'local-redis', type: 'single' as const, addrs: `${LOCAL_REDIS.host}:${LOCAL_REDIS.port}` }]
    : [];

  return {
    config: {
      ...config,
      projects: [{ id: boot.project_id, tokens: [boot.token], credentials: [{ ak: boot.ak, sk: boot.sk }] }],
      instances,
      buckets: [...buckets, ...config.buckets.filter((b) => !buckets.some((x) => x.name === b.name))],
      origin: { file: null, generated: true },
    },
    generated,
    localRedis,
  };
}
