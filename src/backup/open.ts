/**
 * Builds the backup service from the configuration: its store (the task store's database: the same
 * SQLite file, or the same PostgreSQL database so every API process sees every record; an in-memory
 * SQLite task store keeps backup records in `<data_dir>/backups.db`), the backup bucket, the link
 * key, and start-up recovery.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { FerryError } from '../errors/ferry-error.js';
import type { BackupStore } from '../store/backup-contract.js';
import { PgBackupStore } from '../store/postgres/backup-store.js';
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
  let store: BackupStore;
  let pg: PgBackupStore | null = null;
  if (config.store.kind === 'postgres') store = pg = await PgBackupStore.open(config.store.url);
  else store = new SqliteBackupStore(config.store.path !== ':memory:' ? config.store.path : join(config.dataDir, 'backups.db'));
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
      if (pg) await pg.closed();
      else store.close();
    },
  };
}
