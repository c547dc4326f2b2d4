/**
 * With a PostgreSQL store, backup records live in PostgreSQL (openBackups picks PgBackupStore), so a
 * second API process sees the records the first one made.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openBackups } from '../../src/backup/open.js';
import { PgBackupStore } from '../../src/store/postgres/backup-store.js';
import { InstanceRegistry } from '../../src/task/instances.js';
import { pgSchemas } from '../helpers/pg.js';
import { startRedis } from '../helpers/redis-server.js';

const schemas = pgSchemas('bkpg');
const dir = mkdtempSync(join(tmpdir(), 'ferry-backup-pg-'));
after(async () => {
  await schemas.dropAll();
  rmSync(dir, { recursive: true, force: true });
});

test('backup records made by one process are in PostgreSQL for every other', async () => {
  const src = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
  const url = schemas.url();
  const b = await openBackups(
    { store: { kind: 'postgres', url }, dataDir: dir, buckets: [{ name: 'backups', path: join(dir, 'buckets', 'backups') }], backups: { bucket: 'backups', allowSingleNode: false } },
    new InstanceRegistry([{ id: 'i1', project: 'p', name: 'r', type: 'master_standby', addrs: `127.0.0.1:${src.port}` }]),
    pino({ level: 'silent' }),
  );
  const other = await PgBackupStore.open(url);
  try {
    await src.client().set('k', 'v');
    const rec = await b.service.create('p', 'i1', { remark: 'pg' });
    await b.service.settled(rec.id);
    const seen = await other.getBackup('p', 'i1', rec.id);
    assert.equal(seen?.status, 'succeed');
    assert.equal(seen?.remark, 'pg');
    assert.equal(seen?.files.length, 1);
  } finally {
    await other.closed();
    await b.close();
    await src.stop();
  }
});
