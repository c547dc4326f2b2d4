/**
 * One suite for every BackupStore adapter (SQLite file, PostgreSQL on the machine's server in a fresh
 * schema dropped after the run): backup and restore records, one running per instance, conditional
 * transitions, progress only while running, listing newest first with time bounds and paging,
 * deleted records hidden, restore logs in order, running records for recovery.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupStore, NewBackup, NewRestore } from '../../src/store/backup-contract.js';
import { SqliteBackupStore } from '../../src/store/sqlite/backup-store.js';
import { PgBackupStore } from '../../src/store/postgres/backup-store.js';
import { FerryError } from '../../src/errors/ferry-error.js';
import { pgSchemas } from '../helpers/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-backup-store-'));
const schemas = pgSchemas('bconf');
const opened: PgBackupStore[] = [];
after(async () => {
  await Promise.all(opened.map((s) => s.closed()));
  rmSync(dir, { recursive: true, force: true });
  await schemas.dropAll();
});

const adapters: { name: string; open: () => Promise<BackupStore> }[] = [
  { name: 'sqlite (file)', open: async () => new SqliteBackupStore(join(dir, `b-${Math.random().toString(36).slice(2)}.db`)) },
  {
    name: 'postgres',
    open: async () => {
      const s = await PgBackupStore.open(schemas.url());
      opened.push(s);
      return s;
    },
  },
];

let n = 0;
function backup(over: Partial<NewBackup> = {}): NewBackup {
  n++;
  return { id: over.id ?? `b-${n}`, project_id: over.project_id ?? 'p1', instance_id: over.instance_id ?? 'i1', name: `backup_${n}`, format: 'rdb', remark: '', bucket: 'bk', prefix: `p/${n}/`, owner: 'me', ...over };
}
function restore(over: Partial<NewRestore> = {}): NewRestore {
  n++;
  return { id: over.id ?? `r-${n}`, project_id: 'p1', instance_id: over.instance_id ?? 'i1', backup_id: 'b-x', remark: '', owner: 'me', ...over };
}
const is = (code: string) => (e: unknown) => e instanceof FerryError && e.code === code;

for (const a of adapters) {
  describe(`BackupStore conformance: ${a.name}`, () => {
    test('one waiting or running backup per instance; a final one frees it', async () => {
      const s = await a.open();
      const b = await s.createBackup(backup({ id: 'b1' }), 100);
      assert.deepEqual([b.status, b.files, b.size, b.progress, b.created_at], ['waiting', [], 0, 0, 100]);
      await assert.rejects(s.createBackup(backup({ id: 'b2' }), 101), is('INSTANCE_BACKUPING'));
      assert.equal((await s.createBackup(backup({ id: 'other', instance_id: 'i2' }), 101)).status, 'waiting');
      const running = await s.transitionBackup('b1', ['waiting'], 'backuping', { execution_at: 102 }, 102);
      assert.equal(running?.execution_at, 102);
      assert.equal(await s.transitionBackup('b1', ['waiting'], 'failed', {}, 103), null); // no longer waiting
      const files = [{ file_name: 'p/1/node-0.rdb', size: 10, node: '127.0.0.1:7000', slots: '0-8191' }];
      const done = await s.transitionBackup('b1', ['backuping'], 'succeed', { files, size: 10, progress: 100, finished_at: 104 }, 104);
      assert.deepEqual([done?.status, done?.files, done?.size, done?.progress], ['succeed', files, 10, 100]);
      assert.equal((await s.createBackup(backup({ id: 'b3' }), 105)).status, 'waiting');
      s.close();
    });

    test('progress only while running; running records listed for recovery', async () => {
      const s = await a.open();
      await s.createBackup(backup({ id: 'pr' }), 1);
      assert.equal(await s.backupProgress('pr', 10, 2), false);
      await s.transitionBackup('pr', ['waiting'], 'backuping', {}, 3);
      assert.equal(await s.backupProgress('pr', 42.5, 4), true);
      assert.equal((await s.getBackup('p1', 'i1', 'pr'))?.progress, 42.5);
      assert.deepEqual((await s.runningBackups()).map((b) => b.id), ['pr']);
      await s.transitionBackup('pr', ['backuping'], 'failed', { error_code: 'dcs.08.0001', error_message: 'X: y' }, 5);
      assert.deepEqual(await s.runningBackups(), []);
      assert.equal((await s.findBackup('p1', 'pr'))?.error_message, 'X: y');
      assert.equal(await s.findBackup('p2', 'pr'), null);
      s.close();
    });

    test('list: newest first, time bounds, paging; deleted records hidden everywhere', async () => {
      const s = await a.open();
      for (let i = 0; i < 5; i++) {
        await s.createBackup(backup({ id: `L${i}`, instance_id: 'li' }), 1000 + i * 10);
        await s.transitionBackup(`L${i}`, ['waiting'], 'succeed', { finished_at: 1001 + i * 10 }, 1001 + i * 10);
      }
      const all = await s.listBackups('p1', 'li', { offset: 0, limit: 10 });
      assert.deepEqual([all.count, all.records.map((r) => r.id)], [5, ['L4', 'L3', 'L2', 'L1', 'L0']]);
      const page = await s.listBackups('p1', 'li', { offset: 1, limit: 2, begin: 1010, end: 1040 });
      assert.deepEqual([page.count, page.records.map((r) => r.id)], [4, ['L3', 'L2']]);
      await s.transitionBackup('L4', ['succeed'], 'deleted', {}, 2000);
      assert.equal((await s.listBackups('p1', 'li', { offset: 0, limit: 10 })).count, 4);
      assert.equal(await s.getBackup('p1', 'li', 'L4'), null);
      assert.equal(await s.findBackup('p1', 'L4'), null);
      assert.equal((await s.listBackups('p9', 'li', { offset: 0, limit: 10 })).count, 0);
      s.close();
    });

    test('restores: one per instance, progress, log lines in order, listing', async () => {
      const s = await a.open();
      const r = await s.createRestore(restore({ id: 'r1' }), 10);
      assert.deepEqual([r.status, r.log, r.progress], ['waiting', [], 0]);
      await assert.rejects(s.createRestore(restore({ id: 'r2' }), 11), is('INSTANCE_RESTORING'));
      assert.equal(await s.restoreProgress('r1', 5, 12), false);
      await s.transitionRestore('r1', ['waiting'], 'restoring', {}, 13);
      assert.equal(await s.restoreProgress('r1', 50, 14), true);
      await Promise.all(['FLUSHALL on 127.0.0.1:7000', 'imported node-0.rdb', 'imported node-1.rdb'].map((l, i) => s.appendRestoreLog('r1', l, 15 + i)));
      const mid = await s.getRestore('r1');
      assert.equal(mid?.log.length, 3);
      await s.appendRestoreLog('r1', 'done "quoted" \\ line', 20);
      assert.equal((await s.getRestore('r1'))?.log.at(-1), 'done "quoted" \\ line');
      assert.deepEqual((await s.runningRestores()).map((x) => x.id), ['r1']);
      const fin = await s.transitionRestore('r1', ['restoring'], 'succeed', { progress: 100, finished_at: 30 }, 30);
      assert.deepEqual([fin?.status, fin?.progress, fin?.finished_at], ['succeed', 100, 30]);
      assert.deepEqual(await s.runningRestores(), []);
      await s.createRestore(restore({ id: 'r3' }), 40);
      const list = await s.listRestores('p1', 'i1', { offset: 0, limit: 10, begin: 5 });
      assert.deepEqual([list.count, list.records.map((x) => x.id)], [2, ['r3', 'r1']]);
      assert.equal(await s.getRestore('nope'), null);
      s.close();
    });
  });
}
