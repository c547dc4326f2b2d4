/**
 * The contract-test harness (harness.ts) plus the backup service, wired as src/main.ts wires it:
 * one SQLite file for tasks and backup records, the backup bucket a local folder in the temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { Authenticator } from '../../src/api/auth/authenticate.js';
import { createMetrics } from '../../src/api/metrics.js';
import { LinkSigner } from '../../src/backup/links.js';
import { BackupService } from '../../src/backup/service.js';
import { BackupBucket } from '../../src/backup/sink.js';
import type { Config, InstanceConfig, BucketConfig, LocalBucketConfig } from '../../src/config/schema.js';
import { SqliteBackupStore } from '../../src/store/sqlite/backup-store.js';
import { SqliteTaskStore } from '../../src/store/sqlite/store.js';
import { ImportEngine } from '../../src/task/import-engine.js';
import { InstanceRegistry } from '../../src/task/instances.js';
import { TaskRunner } from '../../src/task/runner.js';
import { TaskService } from '../../src/task/service.js';

export interface BackupHarness {
  app: FastifyInstance;
  dir: string;
  bucket: LocalBucketConfig;
  backups: BackupService;
  backupStore: SqliteBackupStore;
  signer: LinkSigner;
  /** Opens a second service on the same store (a restart). */
  reopen(): BackupService;
  close(): Promise<void>;
}

export async function startBackupHarness(o: { projects: Config['projects']; instances: InstanceConfig[]; buckets?: BucketConfig[]; allowSingleNode?: boolean }): Promise<BackupHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-backup-api-'));
  const logger = pino({ level: 'silent' });
  const dbPath = join(dir, 'ferry.db');
  const store = new SqliteTaskStore(dbPath);
  const bucket: LocalBucketConfig = { name: 'backups', path: join(dir, 'buckets', 'backups') };
  const buckets = [...(o.buckets ?? []), bucket];
  const registry = new InstanceRegistry(o.instances);
  const engine = new ImportEngine({ dataRoot: dir });
  const metrics = createMetrics(store);
  const runner = new TaskRunner({ store, engine, registry, buckets, concurrency: 2, leaseMs: 30_000, maxAttempts: 3, onRestart: 'rerun', owner: 'test-runner', logger, metrics });
  const service = new TaskService({ store, registry, buckets, engine, runner, metrics });
  const backupStore = new SqliteBackupStore(dbPath);
  const signer = LinkSigner.forDataDir(dir);
  const make = () => new BackupService({ store: backupStore, registry, bucket: new BackupBucket(bucket), signer, dataRoot: dir, allowSingleNode: o.allowSingleNode ?? false });
  const backups = make();
  await backups.recover();
  const app = await buildApp({ service, registry, engine, auth: new Authenticator(o.projects), metrics, logger, backups });
  runner.start();
  return {
    app,
    dir,
    bucket,
    backups,
    backupStore,
    signer,
    reopen: make,
    async close() {
      await app.close();
      await backups.close();
      await runner.close();
      backupStore.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
