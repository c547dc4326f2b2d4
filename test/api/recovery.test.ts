/**
 * Crash recovery in the runner (real SQLite store, real engine): a task whose runner died is re-run
 * from the start while attempts remain, and marked FAILED with TASK_INTERRUPTED (FERRY.5901) when
 * they are used up or when tasks.on_restart is "fail"; a task left TERMINATING becomes TERMINATED.
 * Never left MIGRATING.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { SqliteTaskStore } from '../../src/store/sqlite/store.js';
import { ImportEngine } from '../../src/task/import-engine.js';
import { InstanceRegistry } from '../../src/task/instances.js';
import { TaskRunner } from '../../src/task/runner.js';

const registry = new InstanceRegistry([{ id: 'gone', project: 'p', name: 'gone', type: 'single', addrs: '127.0.0.1:1' }]);
const buckets = [{ name: 'bk', path: '/nonexistent-bucket-dir' }];

async function setup(onRestart: 'rerun' | 'fail', attempts: number, status: 'MIGRATING' | 'TERMINATING' = 'MIGRATING') {
  const store = new SqliteTaskStore(':memory:');
  await store.createTask(
    { id: 't1', project_id: 'p', name: 't1', description: '', migration_type: 'backupfile_import', migration_method: 'full_amount_migration', spec: { file_source: 'self_build_obs', bucket_name: 'bk', files: [{ file_name: 'a.rdb' }], backup_id: null, target: { id: 'gone', name: 'gone', addrs: '127.0.0.1:1', db: null, proxy_multi_db: null } } },
    0,
  );
  // A runner on another host claimed it `attempts` times and then vanished (its lease is long expired).
  for (let i = 0; i < attempts; i++) assert.ok(await store.claim('t1', 'elsewhere:4242:dead', 1, 2 + i));
  if (status === 'TERMINATING') await store.transition('t1', ['MIGRATING'], 'TERMINATING', {}, 5);
  const runner = new TaskRunner({ store, engine: new ImportEngine({ dataRoot: '/nonexistent' }), registry, buckets, concurrency: 1, leaseMs: 60_000, maxAttempts: 3, onRestart, owner: 'me:1:x', logger: pino({ level: 'silent' }) });
  return { store, runner };
}

async function until(fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

test('rerun: an interrupted task runs again (attempt 2), logged as resumed', async () => {
  const { store, runner } = await setup('rerun', 1);
  runner.start();
  await until(async () => (await store.getTaskById('t1'))!.status !== 'MIGRATING');
  await runner.close();
  const t = (await store.getTaskById('t1'))!;
  assert.equal(t.attempt, 2);
  // It really ran again: the missing bucket directory fails it, with the reason.
  assert.equal(t.status, 'FAILED');
  assert.match(String(t.error_message), /a\.rdb|bucket/);
  const codes = (await store.listLogs('t1', { offset: 0, limit: 10 })).logs.map((l) => l.code);
  assert.deepEqual(codes.slice(0, 2), ['MIGRATION_RESUMED', 'MIGRATION_START']);
});

test('attempts used up: FAILED with FERRY.5901 and the reason', async () => {
  const { store, runner } = await setup('rerun', 3);
  runner.start();
  await runner.close();
  const t = (await store.getTaskById('t1'))!;
  assert.equal(t.status, 'FAILED');
  assert.equal(t.error_code, 'FERRY.5901');
  assert.match(String(t.error_message), /3 runs were started/);
  assert.equal((await store.listLogs('t1', { offset: 0, limit: 10, level: 'ERROR' })).count, 1);
});

test('on_restart "fail": FAILED at once', async () => {
  const { store, runner } = await setup('fail', 1);
  runner.start();
  await runner.close();
  assert.equal((await store.getTaskById('t1'))!.status, 'FAILED');
  assert.match(String((await store.getTaskById('t1'))!.error_message), /on_restart is "fail"/);
});

test('a task left TERMINATING by a dead runner ends TERMINATED', async () => {
  const { store, runner } = await setup('rerun', 1, 'TERMINATING');
  runner.start();
  await runner.close();
  assert.equal((await store.getTaskById('t1'))!.status, 'TERMINATED');
});
