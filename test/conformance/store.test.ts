/**
 * One suite for every TaskStore adapter (SQLite on disk and in memory, PostgreSQL on the machine's
 * server at 127.0.0.1:5432): creation, the one-active-task-per-target rule, conditional transitions,
 * leases and orphans, claims (one winner among racing claimers, history), listing and pagination,
 * deletion, logs, migrations surviving a reopen. Every PostgreSQL store lives in a fresh schema of
 * its own, dropped after the run, so runs never collide.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewTask, TaskStore } from '../../src/store/contract.js';
import { SqliteTaskStore } from '../../src/store/sqlite/store.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { PgTaskStore } from '../../src/store/postgres/store.js';
import { PG_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { FerryError } from '../../src/errors/ferry-error.js';
import { pgSchemas } from '../helpers/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-store-'));
const schemas = pgSchemas('conf');
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await schemas.dropAll();
});

const adapters: { name: string; open: () => Promise<TaskStore> }[] = [
  { name: 'sqlite (file)', open: async () => new SqliteTaskStore(join(dir, `s-${Math.random().toString(36).slice(2)}.db`)) },
  { name: 'sqlite (memory)', open: async () => new SqliteTaskStore(':memory:') },
  { name: 'postgres', open: () => PgTaskStore.open(schemas.url()) },
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

const busy = (e: unknown) => e instanceof FerryError && e.code === 'TARGET_BUSY';

for (const a of adapters) {
  describe(`TaskStore conformance: ${a.name}`, () => {
    test('create returns a MIGRATING task with attempt 0; get is scoped to the project', async () => {
      const s = await a.open();
      const t = await s.createTask(task({ id: 'x1' }), 1000);
      assert.equal(t.status, 'MIGRATING');
      assert.equal(t.attempt, 0);
      assert.equal(t.created_at, 1000);
      assert.deepEqual((await s.getTask('p1', 'x1'))?.spec.files, [{ file_name: 'dump.rdb' }]);
      assert.equal(await s.getTask('p2', 'x1'), null);
      assert.equal((await s.getTaskById('x1'))?.project_id, 'p1');
      await s.close();
    });

    test('one active task per target: TARGET_BUSY until the first one is final', async () => {
      const s = await a.open();
      await s.createTask(task({ id: 'a', target: 'T' }), 1);
      assert.equal((await s.activeTaskFor('T'))?.id, 'a');
      assert.equal(await s.activeTaskFor('U'), null);
      await assert.rejects(s.createTask(task({ id: 'b', target: 'T' }), 2), busy);
      assert.ok(await s.transition('a', ['MIGRATING'], 'TERMINATING', {}, 3));
      await assert.rejects(s.createTask(task({ id: 'b', target: 'T' }), 4), busy);
      assert.ok(await s.transition('a', ['TERMINATING'], 'TERMINATED', { finished_at: 5 }, 5));
      assert.equal(await s.activeTaskFor('T'), null);
      assert.equal((await s.createTask(task({ id: 'b', target: 'T' }), 6)).status, 'MIGRATING');
      await s.close();
    });

    test('racing creates for one target: exactly one wins', async () => {
      const s = await a.open();
      const r = await Promise.allSettled([0, 1, 2, 3].map((i) => s.createTask(task({ id: `race-${i}`, target: 'RT' }), 10 + i)));
      assert.equal(r.filter((x) => x.status === 'fulfilled').length, 1);
      for (const x of r) if (x.status === 'rejected') assert.ok(busy(x.reason), String(x.reason));
      await s.close();
    });

    test('transitions are conditional: only one of two racing changes wins', async () => {
      const s = await a.open();
      await s.createTask(task({ id: 'r' }), 1);
      const [win, lose] = await Promise.all([
        s.transition('r', ['MIGRATING'], 'SUCCESS', { error_code: null, finished_at: 2, progress: { bytes_read: 10, total_bytes: 10, keys: 3, commands: 3, keys_per_second: 1, bytes_per_second: 1, seconds: 1, errors: 0 } }, 2),
        s.transition('r', ['MIGRATING'], 'TERMINATING', {}, 2),
      ]);
      assert.equal([win, lose].filter((x) => x !== null).length, 1);
      assert.equal(win?.status, 'SUCCESS');
      assert.equal(win?.progress?.keys, 3);
      assert.equal((await s.getTaskById('r'))?.status, 'SUCCESS');
      await s.close();
    });

    test('claim, heartbeat and orphans follow the lease', async () => {
      const s = await a.open();
      await s.createTask(task({ id: 'l' }), 0);
      assert.deepEqual((await s.orphans(1)).map((t) => t.id), ['l']); // never claimed
      const c = await s.claim('l', 'runner-1', 100, 10);
      assert.equal(c?.attempt, 1);
      assert.equal(await s.claim('l', 'runner-2', 200, 20), null); // lease still live
      assert.deepEqual(await s.orphans(50), []);
      assert.equal(await s.heartbeat('l', 'runner-1', 300, null, 60), true);
      assert.equal(await s.heartbeat('l', 'runner-2', 300, null, 60), false);
      assert.deepEqual((await s.orphans(301)).map((t) => t.id), ['l']); // runner died
      const again = await s.claim('l', 'runner-2', 500, 302);
      assert.equal(again?.attempt, 2);
      assert.equal(again?.owner, 'runner-2');
      // The history shows who held it before each claim, and until when.
      assert.deepEqual(
        (await s.claims('l')).map((x) => [x.attempt, x.owner, x.claimed_at, x.lease_until, x.prev_owner, x.prev_lease_until]),
        [
          [1, 'runner-1', 10, 100, null, null],
          [2, 'runner-2', 302, 500, 'runner-1', 300],
        ],
      );
      await s.close();
    });

    test('claimNext: oldest free task first; racing claimers never take the same task', async () => {
      const s = await a.open();
      for (let i = 0; i < 6; i++) await s.createTask(task({ id: `q${i}` }), 100 + i);
      await s.claim('q0', 'busy', 10_000, 1); // live lease: skipped
      await s.transition('q1', ['MIGRATING'], 'FAILED', {}, 1); // final: skipped
      const got = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => s.claimNext(`w${i}`, 5000, 200)));
      const ids = got.filter((t) => t !== null).map((t) => t.id);
      assert.deepEqual([...ids].sort(), ['q2', 'q3', 'q4', 'q5']);
      assert.equal(got.filter((t) => t === null).length, 2);
      assert.equal(await s.claimNext('late', 6000, 300), null);
      // The first lease lapses: the task is free again, and the claim records whom it replaced.
      const taken = await s.claimNext('late', 20_000, 10_001);
      assert.equal(taken?.id, 'q0');
      assert.equal(taken?.attempt, 2);
      assert.equal((await s.claims('q0')).at(-1)?.prev_owner, 'busy');
      await s.close();
    });

    test('a released task (owner cleared, still MIGRATING) is claimable at once', async () => {
      const s = await a.open();
      await s.createTask(task({ id: 'rel' }), 0);
      await s.claim('rel', 'w1', 10_000, 1);
      await s.transition('rel', ['MIGRATING'], 'MIGRATING', { owner: null, lease_until: null }, 2);
      const t = await s.claimNext('w2', 10_000, 3);
      assert.equal(t?.owner, 'w2');
      assert.equal((await s.claims('rel')).at(-1)?.prev_owner, null);
      await s.close();
    });

    test('file items: added once, claimed oldest task first, at most maxParallel at once even when claimers race', async () => {
      const s = await a.open();
      await s.createTask(task({ id: 'f1', target: 'C1' }), 1);
      await s.createTask(task({ id: 'f2', target: 'C2' }), 2);
      await s.addFiles('f1', ['a.rdb', 'b.rdb', 'c.rdb']);
      await s.addFiles('f1', ['ignored.rdb']); // existing items are kept
      await s.addFiles('f2', ['x.rdb', 'y.rdb']);
      assert.deepEqual((await s.listFiles('f1')).map((f) => [f.idx, f.file_name, f.status]), [[0, 'a.rdb', 'PENDING'], [1, 'b.rdb', 'PENDING'], [2, 'c.rdb', 'PENDING']]);
      const limit = (t: string) => (t === 'C1' ? 2 : 1);
      const got = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => s.claimFile(`w${i}`, 1000, 10, limit)));
      const taken = got.filter((f) => f !== null).map((f) => `${f.task_id}/${f.idx}`);
      // Racing claimers of one task are serialised or pass it over: never more than its limit.
      assert.ok(taken.filter((x) => x.startsWith('f1/')).length <= 2, taken.join(' '));
      assert.ok(taken.filter((x) => x.startsWith('f2/')).length <= 1, taken.join(' '));
      assert.equal(new Set(taken).size, taken.length);
      // Claimed one at a time, the limits are reached exactly.
      while (await s.claimFile('later', 1000, 11, limit));
      const running = (await Promise.all(['f1', 'f2'].map((t) => s.listFiles(t)))).map((fs) => fs.filter((f) => f.status === 'RUNNING').map((f) => f.idx));
      assert.deepEqual(running, [[0, 1], [0]]);
      await s.close();
    });

    test('file items: only the holder renews or finishes; a lapsed lease is re-claimed with history; final tasks are passed over', async () => {
      const s = await a.open();
      await s.createTask(task({ id: 'h' }), 1);
      await s.addFiles('h', ['a.rdb', 'b.rdb']);
      const f0 = await s.claimFile('w1', 100, 10, () => 8, 'h');
      assert.deepEqual([f0?.idx, f0?.attempt, f0?.owner], [0, 1, 'w1']);
      const prog = { bytes_read: 5, total_bytes: 9, keys: 2, commands: 2, keys_per_second: 1, bytes_per_second: 1, seconds: 1, errors: 0 };
      assert.equal(await s.heartbeatFile('h', 0, 'w2', 300, prog, 50), false);
      assert.equal(await s.heartbeatFile('h', 0, 'w1', 300, prog, 50), true);
      const f1 = await s.claimFile('w2', 400, 60, () => 8);
      assert.equal(f1?.idx, 1);
      assert.equal(await s.finishFile('h', 1, 'w1', 'DONE', {}, 70), false);
      assert.equal(await s.finishFile('h', 1, 'w2', 'DONE', { progress: prog }, 70), true);
      // w1 died: once its lease lapses, file 0 is claimed again and the claim names it.
      assert.equal(await s.claimFile('w3', 900, 200, () => 8), null);
      const again = await s.claimFile('w3', 900, 301, () => 8);
      assert.deepEqual([again?.idx, again?.attempt, again?.progress?.keys], [0, 2, 2]);
      assert.equal(await s.heartbeatFile('h', 0, 'w1', 999, null, 302), false);
      const fileClaims = (await s.claims('h')).filter((c) => c.file_idx === 0);
      assert.deepEqual(fileClaims.map((c) => [c.owner, c.prev_owner, c.prev_lease_until]), [['w1', null, null], ['w3', 'w1', 300]]);
      assert.equal(await s.finishFile('h', 0, 'w3', 'FAILED', { error_code: 'FERRY.4201', error_message: 'bad' }, 310), true);
      assert.deepEqual((await s.listFiles('h')).map((f) => [f.status, f.error_code]), [['FAILED', 'FERRY.4201'], ['DONE', null]]);
      // A released item is claimable again; items of a task that is no longer MIGRATING are not.
      await s.createTask(task({ id: 'h2' }), 2);
      await s.addFiles('h2', ['z.rdb']);
      await s.claimFile('w4', 5000, 400, () => 8, 'h2');
      assert.equal(await s.finishFile('h2', 0, 'w4', 'PENDING', {}, 401), true);
      assert.equal((await s.listFiles('h2'))[0]?.owner, null);
      await s.transition('h2', ['MIGRATING'], 'TERMINATING', {}, 402);
      assert.equal(await s.claimFile('w5', 5000, 403, () => 8), null);
      await s.close();
    });

    test('list: newest first, total count, offset/limit, name filter; deleted tasks vanish', async () => {
      const s = await a.open();
      for (let i = 0; i < 7; i++) await s.createTask(task({ id: `L${i}`, name: i % 2 ? `odd-${i}` : `even-${i}`, project_id: 'pl' }), 100 + i);
      await s.createTask(task({ id: 'other', project_id: 'pz' }), 1);
      const page = await s.listTasks('pl', { offset: 2, limit: 3 });
      assert.equal(page.count, 7);
      assert.deepEqual(page.tasks.map((t) => t.id), ['L4', 'L3', 'L2']);
      assert.deepEqual((await s.listTasks('pl', { offset: 0, limit: 10, name: 'odd' })).tasks.map((t) => t.id), ['L5', 'L3', 'L1']);
      // Deleting needs a final status; running ones are left alone.
      await s.transition('L0', ['MIGRATING'], 'FAILED', {}, 200);
      assert.deepEqual(await s.markDeleted('pl', ['L0', 'L1', 'nope'], 300), ['L0']);
      assert.deepEqual(await s.markDeleted('pz', ['L0'], 300), []);
      assert.equal((await s.listTasks('pl', { offset: 0, limit: 100 })).count, 6);
      assert.equal(await s.getTask('pl', 'L0'), null);
      assert.equal((await s.getTask('pl', 'L0', true))?.deleted_at, 300);
      assert.deepEqual(await s.countByStatus(), { MIGRATING: 7 });
      await s.close();
    });

    test('logs: append, filter by level, paginate oldest first', async () => {
      const s = await a.open();
      await s.createTask(task({ id: 'g' }), 0);
      for (let i = 0; i < 5; i++) await s.appendLog({ task_id: 'g', created_at: i, level: i === 3 ? 'ERROR' : 'INFO', code: `C${i}`, message: `m${i}`, keyword: i === 0 ? ['dump.rdb'] : [] });
      const all = await s.listLogs('g', { offset: 1, limit: 2 });
      assert.equal(all.count, 5);
      assert.deepEqual(all.logs.map((l) => l.code), ['C1', 'C2']);
      assert.deepEqual((await s.listLogs('g', { offset: 0, limit: 1 })).logs[0]?.keyword, ['dump.rdb']);
      const err = await s.listLogs('g', { offset: 0, limit: 10, level: 'ERROR' });
      assert.deepEqual([err.count, err.logs[0]?.message], [1, 'm3']);
      await s.close();
    });
  });
}

test('sqlite: migrations are recorded once and data survives a reopen', async () => {
  const path = join(dir, 'reopen.db');
  const s1 = new SqliteTaskStore(path);
  assert.deepEqual(s1.appliedMigrations(), MIGRATIONS.map((m) => m.version));
  await s1.createTask(task({ id: 'keep' }), 1);
  await s1.close();
  const s2 = new SqliteTaskStore(path);
  assert.deepEqual(s2.appliedMigrations(), MIGRATIONS.map((m) => m.version));
  assert.equal((await s2.getTaskById('keep'))?.status, 'MIGRATING');
  await s2.close();
});

test('postgres: the numbered migrations match the SQLite ones step for step', () => {
  assert.deepEqual(
    PG_MIGRATIONS.map((m) => [m.version, m.name]),
    MIGRATIONS.map((m) => [m.version, m.name]),
  );
});

test('postgres: four processes starting at once apply each migration once (advisory lock); data survives a reopen', async () => {
  const url = schemas.url();
  const stores = await Promise.all([0, 1, 2, 3].map(() => PgTaskStore.open(url)));
  assert.deepEqual(await stores[0]!.appliedMigrations(), PG_MIGRATIONS.map((m) => m.version));
  await stores[1]!.createTask(task({ id: 'keep' }), 1);
  await Promise.all(stores.map((s) => s.close()));
  const again = await PgTaskStore.open(url);
  assert.deepEqual(await again.appliedMigrations(), PG_MIGRATIONS.map((m) => m.version));
  assert.equal((await again.getTaskById('keep'))?.status, 'MIGRATING');
  await again.close();
});

test('postgres: an unreachable server is STORE_FAILED naming the cause', async () => {
  await assert.rejects(PgTaskStore.open('postgres://postgres@127.0.0.1:1/postgres'), (e: unknown) => e instanceof FerryError && e.code === 'STORE_FAILED' && /ECONNREFUSED|connect/.test(e.message));
});
