/**
 * Builds the backup service from the configuration: its store (the SQLite file the task store uses;
 * with a PostgreSQL task store, or an in-memory one, `<data_dir>/backups.db`, since no PostgreSQL
 * BackupStore adapter exists yet), the backup bucket, the link key, and start-up recovery.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { FerryError } from '../errors/ferry-error.js';
import { SqliteBackupStore } from '../store/sqlite/backup-store.js';
import type { InstanceRegistry } from '../task/instances.js';
import { LinkSigner } from './links.js';
import { BackupService } from './service.js';
import { BackupBucket } from './sink.js';

export interface Backups {
  service: BackupService;
  close(): Promise<void>;
}

export async function openBackups(config: Pick<Config, 'store' | 'dataDir' | 'buckets' | 'backups'>, registry: InstanceRegistry, logger: Logger, env?: NodeJS.ProcessEnv): Promise<Backups> {
  const bucketCfg = config.buckets.find((b) => b.name === config.backups.bucket);
  if (!bucketCfg) throw new FerryError('CONFIG_INVALID', `backup_bucket ${JSON.stringify(config.backups.bucket)} is not a configured bucket`, { field: 'backup_bucket' });
  const path = config.store.kind === 'sqlite' && config.store.path !== ':memory:' ? config.store.path : join(config.dataDir, 'backups.db');
  const store = new SqliteBackupStore(path);
  const bucket = new BackupBucket(bucketCfg, env);
  const log = logger.child({ component: 'backups' });
  const service = new BackupService({
    store,
    registry,
    bucket,
    signer: LinkSigner.forDataDir(config.dataDir),
    dataRoot: config.dataDir,
    allowSingleNode: config.backups.allowSingleNode,
    log: (level, msg, extra) => log[level](extra ?? {}, msg),
  });
  const failed = await service.recover();
  if (failed) log.warn({ records: failed }, 'backup/restore records left running by a stopped process were marked failed');
  return {
    service,
    async close() {
      await service.close();
      bucket.close();
      store.close();
    },
  };
}
