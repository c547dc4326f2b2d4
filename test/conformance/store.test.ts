/**
 * One suite for every TaskStore adapter (SQLite today, on disk and in memory; PostgreSQL joins this
 * list when it exists): creation, the one-active-task-per-target rule, conditional transitions,
 * leases and orphans, listing and pagination, deletion, logs, migrations surviving a reopen.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewTask, TaskStore } from '../../src/store/contract.js';
import { SqliteTaskStore } from '../../src/store/sqlite/store.js';
import { FerryError } from '../../src/errors/ferry-error.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const adapters: { name: string; open: () => TaskStore }[] = [
  { name: 'sqlite (file)', open: () => new SqliteTaskStore(join(dir, `s-${Math.random().toString(36).slice(2)}.db`)) },
  { name: 'sqlite (memory)', open: () => new SqliteTaskStore(':memory:') },
];

let n = 0;
function task(over: Partial<NewTask> & { target?: string } = {}): NewTask {
  n++;
  return {
    id: over.id ?? `task-${n}`,
    project_id: over.project_id ?? 'p1',
    name: over.name ?? `import-${n}`,
    description: '',
    migration_type: 'backupfile_import',
    migration_method: 'full_amount_migration',
    spec: {
      file_source: 'self_build_obs',
      bucket_name: 'b',
      files: [{ file_name: 'dump.rdb' }],
      backup_id: null,
      target: { id: over.target ?? `inst-${n}`, name: 'r', addrs: '127.0.0.1:6379', db: null, proxy_multi_db: null },
    },
  };
}

for (const a of adapters) {
  describe(`TaskStore conformance: ${a.name}`, () => {
    test('create returns a MIGRATING task with attempt 0; get is scoped to the project', () => {
      const s = a.open();
      const t = s.createTask(task({ id: 'x1' }), 1000);
      assert.equal(t.status, 'MIGRATING');
      assert.equal(t.attempt, 0);
      assert.equal(t.created_at, 1000);
      assert.deepEqual(s.getTask('p1', 'x1')?.spec.files, [{ file_name: 'dump.rdb' }]);
      assert.equal(s.getTask('p2', 'x1'), null);
      assert.equal(s.getTaskById('x1')?.project_id, 'p1');
      s.close();
    });

    test('one active task per target: TARGET_BUSY until the first one is final', () => {
      const s = a.open();
      s.createTask(task({ id: 'a', target: 'T' }), 1);
      assert.equal(s.activeTaskFor('T')?.id, 'a');
      assert.equal(s.activeTaskFor('U'), null);
      assert.throws(() => s.createTask(task({ id: 'b', target: 'T' }), 2), (e: unknown) => e instanceof FerryError && e.code === 'TARGET_BUSY');
      assert.ok(s.transition('a', ['MIGRATING'], 'TERMINATING', {}, 3));
      assert.throws(() => s.createTask(task({ id: 'b', target: 'T' }), 4), (e: unknown) => e instanceof FerryError && e.code === 'TARGET_BUSY');
      assert.ok(s.transition('a', ['TERMINATING'], 'TERMINATED', { finished_at: 5 }, 5));
      assert.equal(s.activeTaskFor('T'), null);
      assert.equal(s.createTask(task({ id: 'b', target: 'T' }), 6).status, 'MIGRATING');
      s.close();
    });

    test('transitions are conditional: only one of two racing changes wins', () => {
      const s = a.open();
      s.createTask(task({ id: 'r' }), 1);
      const win = s.transition('r', ['MIGRATING'], 'SUCCESS', { error_code: null, finished_at: 2, progress: { bytes_read: 10, total_bytes: 10, keys: 3, commands: 3, keys_per_second: 1, bytes_per_second: 1, seconds: 1, errors: 0 } }, 2);
      const lose = s.transition('r', ['MIGRATING'], 'TERMINATING', {}, 2);
      assert.equal(win?.status, 'SUCCESS');
      assert.equal(win?.progress?.keys, 3);
      assert.equal(lose, null);
      assert.equal(s.getTaskById('r')?.status, 'SUCCESS');
      s.close();
    });

    test('claim, heartbeat and orphans follow the lease', () => {
      const s = a.open();
      s.createTask(task({ id: 'l' }), 0);
      assert.deepEqual(s.orphans(1).map((t) => t.id), ['l']); // never claimed
      const c = s.claim('l', 'runner-1', 100, 10);
      assert.equal(c?.attempt, 1);
      assert.equal(s.claim('l', 'runner-2', 200, 20), null); // lease still live
      assert.deepEqual(s.orphans(50), []);
      assert.equal(s.heartbeat('l', 'runner-1', 300, null, 60), true);
      assert.equal(s.heartbeat('l', 'runner-2', 300, null, 60), false);
      assert.deepEqual(s.orphans(301).map((t) => t.id), ['l']); // runner died
      const again = s.claim('l', 'runner-2', 500, 302);
      assert.equal(again?.attempt, 2);
      assert.equal(again?.owner, 'runner-2');
      s.close();
    });

    test('list: newest first, total count, offset/limit, name filter; deleted tasks vanish', () => {
      const s = a.open();
      for (let i = 0; i < 7; i++) s.createTask(task({ id: `L${i}`, name: i % 2 ? `odd-${i}` : `even-${i}`, project_id: 'pl' }), 100 + i);
      s.createTask(task({ id: 'other', project_id: 'pz' }), 1);
      const page = s.listTasks('pl', { offset: 2, limit: 3 });
      assert.equal(page.count, 7);
      assert.deepEqual(page.tasks.map((t) => t.id), ['L4', 'L3', 'L2']);
      assert.deepEqual(s.listTasks('pl', { offset: 0, limit: 10, name: 'odd' }).tasks.map((t) => t.id), ['L5', 'L3', 'L1']);
      // Deleting needs a final status; running ones are left alone.
      s.transition('L0', ['MIGRATING'], 'FAILED', {}, 200);
      assert.deepEqual(s.markDeleted('pl', ['L0', 'L1', 'nope'], 300), ['L0']);
      assert.deepEqual(s.markDeleted('pz', ['L0'], 300), []);
      assert.equal(s.listTasks('pl', { offset: 0, limit: 100 }).count, 6);
      assert.equal(s.getTask('pl', 'L0'), null);
      assert.equal(s.getTask('pl', 'L0', true)?.deleted_at, 300);
      assert.deepEqual(s.countByStatus(), { MIGRATING: 7 });
      s.close();
    });

    test('logs: append, filter by level, paginate oldest first', () => {
      const s = a.open();
      s.createTask(task({ id: 'g' }), 0);
      for (let i = 0; i < 5; i++) s.appendLog({ task_id: 'g', created_at: i, level: i === 3 ? 'ERROR' : 'INFO', code: `C${i}`, message: `m${i}`, keyword: i === 0 ? ['dump.rdb'] : [] });
      const all = s.listLogs('g', { offset: 1, limit: 2 });
      assert.equal(all.count, 5);
      assert.deepEqual(all.logs.map((l) => l.code), ['C1', 'C2']);
      assert.deepEqual(s.listLogs('g', { offset: 0, limit: 1 }).logs[0]?.keyword, ['dump.rdb']);
      const err = s.listLogs('g', { offset: 0, limit: 10, level: 'ERROR' });
      assert.deepEqual([err.count, err.logs[0]?.message], [1, 'm3']);
      s.close();
    });
  });
}

test('sqlite: migrations are recorded once and data survives a reopen', () => {
  const path = join(dir, 'reopen.db');
  const s1 = new SqliteTaskStore(path);
  assert.deepEqual(s1.appliedMigrations(), [1]);
  s1.createTask(task({ id: 'keep' }), 1);
  s1.close();
  const s2 = new SqliteTaskStore(path);
  assert.deepEqual(s2.appliedMigrations(), [1]);
  assert.equal(s2.getTaskById('keep')?.status, 'MIGRATING');
  s2.close();
});
