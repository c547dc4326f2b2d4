/**
 * Import policies against real servers: conflicts, error handling, expired keys, database mapping,
 * module values, authentication, refused targets, AOF command records, and probeTarget.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { FAR_FUTURE_MS, makeRdbWith, type RdbFixture } from '../helpers/make-rdb.js';
import { importRecords } from '../../src/pipeline/import.js';
import { probeTarget } from '../../src/writer/probe.js';
import { parseTargetUrl } from '../../src/writer/target-spec.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import type { ImportInput, ImportRecord } from '../../src/pipeline/types.js';
import type { CommandRecord } from '../../src/entry/entry.js';
import { rdbInput } from './import-helpers.js';
import { readFileSync } from 'node:fs';
import { parseRdb } from '../../src/rdb/parser.js';
import { ByteSource } from '../../src/io/byte-source.js';

let target: RedisServer;
let c: Redis;
let small: RdbFixture;
const FAR = 4_102_444_800_000;

before(async () => {
  target = await startRedis();
  c = target.client();
  small = await makeRdbWith([
    ['SET', 'a', 'from-backup'],
    ['RPUSH', 'l', '1', '2', '3'],
    ['HSET', 'h', 'f', 'v'],
    ['SET', 'ttl', 'x', 'PXAT', String(FAR)],
    ['SELECT', '1'],
    ['SET', 'db1key', 'one'],
    ['SELECT', '5'],
    ['SADD', 'db5set', 'm'],
  ]);
});
after(async () => {
  await small.cleanup();
  await target.stop();
});

async function reset(): Promise<void> {
  await c.flushall();
}

async function get(db: number, key: string): Promise<string | null> {
  await c.select(db);
  const t = await c.type(key);
  const v = t === 'none' ? null : t === 'string' ? await c.get(key) : t;
  await c.select(0);
  return v;
}

for (const mode of ['auto', 'rewrite'] as const) {
  test(`conflict replace overwrites (${mode})`, async () => {
    await reset();
    await c.set('a', 'on-target');
    await c.set('l', 'string-on-target');
    const s = await importRecords([rdbInput(small.path)], { target: target.url, mode });
    assert.equal(s.keys, 6);
    assert.equal(await c.get('a'), 'from-backup');
    assert.deepEqual(await c.lrange('l', 0, -1), ['1', '2', '3']);
    assert.equal(await c.pexpiretime('ttl'), FAR);
  });

  test(`conflict skip keeps the target's key and counts it (${mode})`, async () => {
    await reset();
    await c.set('a', 'on-target');
    await c.set('l', 'string-on-target');
    const s = await importRecords([rdbInput(small.path)], { target: target.url, mode, conflict: 'skip' });
    assert.equal(s.skippedExisting, 2);
    assert.equal(s.keys, 4);
    assert.equal(s.errors, 0);
    assert.equal(await c.get('a'), 'on-target');
    assert.equal(await c.get('l'), 'string-on-target');
    assert.equal(await get(1, 'db1key'), 'one');
  });

  test(`conflict fail stops naming the key; with --on-error skip it is counted and listed (${mode})`, async () => {
    await reset();
    await c.set('h', 'on-target');
    await assert.rejects(
      importRecords([rdbInput(small.path)], { target: target.url, mode, conflict: 'fail' }),
      (e: unknown) => isFerryError(e, 'TARGET_REPLY_ERROR') && e.context.key === 'h',
    );
    await reset();
    await c.set('h', 'on-target');
    const s = await importRecords([rdbInput(small.path)], { target: target.url, mode, conflict: 'fail', onError: 'skip' });
    assert.equal(s.errors, 1);
    assert.equal(s.keys, 5);
    assert.equal(s.errorList[0]?.key, 'h');
    assert.equal(await c.get('h'), 'on-target');
  });
}

test('keys already expired are skipped and counted, never written with a tiny TTL', async () => {
  const f = await makeRdbWith([['SET', 'soon', 'x', 'PX', '1200'], ['SET', 'keep', 'y']]);
  try {
    await new Promise((r) => setTimeout(r, 1300));
    await reset();
    const s = await importRecords([rdbInput(f.path)], { target: target.url });
    assert.equal(s.skippedExpired, 1);
    assert.equal(s.keys, 1);
    assert.equal(await c.exists('soon'), 0);
  } finally {
    await f.cleanup();
  }
});

test('--target-db puts every db into one; --db-map moves the listed ones; the URL db is the default', async () => {
  await reset();
  await importRecords([rdbInput(small.path)], { target: target.url, targetDb: 3 });
  assert.equal(await get(3, 'a'), 'from-backup');
  assert.equal(await get(3, 'db1key'), 'one');
  assert.equal(await get(3, 'db5set'), 'set');
  await reset();
  await importRecords([rdbInput(small.path)], { target: target.url, dbMap: new Map([[1, 2]]) });
  assert.equal(await get(2, 'db1key'), 'one');
  assert.equal(await get(1, 'db1key'), null);
  assert.equal(await get(5, 'db5set'), 'set');
  assert.equal(await get(0, 'a'), 'from-backup');
  await reset();
  await importRecords([rdbInput(small.path)], { target: `${target.url}/4` });
  assert.equal(await get(4, 'a'), 'from-backup');
});

test('a module value the target cannot load fails naming key and module; --accept-loss counts it', async () => {
  const file = join(CORPUS, 'rdb-tools/redis_40_with_module.rdb');
  await reset();
  await assert.rejects(importRecords([rdbInput(file)], { target: target.url }), (e: unknown) => isFerryError(e, 'TARGET_REPLY_ERROR') && e.context.key === 'foo' && /ReJSON-RL/.test(e.message));
  await reset();
  const s = await importRecords([rdbInput(file)], { target: target.url, acceptLoss: true });
  assert.equal(s.lost['module:ReJSON-RL'], 1);
  assert.equal(s.errors, 0);
});

test('--mode restore refuses what RESTORE cannot carry (a value too big to hold)', async () => {
  const f = await makeRdbWith([['RPUSH', 'big', ...Array.from({ length: 5000 }, (_, i) => `element-${i}`)]]);
  try {
    await reset();
    await assert.rejects(
      importRecords([rdbInput(f.path, { inlineLimit: 1024 })], { target: target.url, mode: 'restore' }),
      (e: unknown) => isFerryError(e, 'TARGET_TOO_OLD') && e.context.key === 'big',
    );
    await reset();
    const s = await importRecords([rdbInput(f.path, { inlineLimit: 1024 })], { target: target.url });
    assert.equal(s.paths.rewrite, 1);
    assert.equal(await c.llen('big'), 5000);
  } finally {
    await f.cleanup();
  }
});

test('OOM on the target stops the import naming the key (never a silent success)', async () => {
  const t = await startRedis({ args: ['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction'] });
  const f = await makeRdbWith(async (cl) => {
    // Odd keys have a TTL: they come in key runs (RESTOREs encoded a run at a time), even keys as entries.
    for (let i = 0; i < 200; i++) {
      if (i % 2) await cl.set(`k${i}`, 'x'.repeat(20_000), 'PXAT', FAR_FUTURE_MS);
      else await cl.set(`k${i}`, 'x'.repeat(20_000));
    }
  });
  try {
    await assert.rejects(importRecords([rdbInput(f.path)], { target: t.url }), (e: unknown) => isFerryError(e, 'TARGET_REPLY_ERROR') && /OOM/.test(e.message) && typeof e.context.key === 'string');
    await t.client().flushall();
    const s = await importRecords([rdbInput(f.path)], { target: t.url, onError: 'skip' });
    assert.ok(s.errors > 0 && s.errors + s.keys === 200, JSON.stringify({ ...s, errorList: s.errorList.length }));
    // Each refused key is named with its own record's offset, also from inside a batch of RESTOREs
    // (errors are listed up to 100): exactly the keys the target lacks.
    const offsets = new Map<string, number>();
    for await (const batch of parseRdb(new ByteSource(readFileSync(f.path), { name: f.path }))) {
      for (const r of batch) if (r.kind === 'entry') offsets.set(r.entry.key.toString(), r.entry.offset);
    }
    const missing: string[] = [];
    for (let i = 0; i < 200; i++) if (!(await t.client().exists(`k${i}`))) missing.push(`k${i}`);
    assert.equal(missing.length, s.errors);
    for (const e of s.errorList) {
      assert.ok(missing.includes(e.key!), `listed key ${e.key} is on the target`);
      assert.equal(e.offset, offsets.get(e.key!), `offset of ${e.key}`);
    }
  } finally {
    await f.cleanup();
    await t.stop();
  }
});

test('password and ACL users; wrong password, unreachable target and replicas are typed errors', async () => {
  const t = await startRedis({ password: 's3cret' });
  const replica = await startRedis();
  try {
    const tc = t.client();
    await tc.call('ACL', 'SETUSER', 'importer', 'on', '>imp-pass', '~*', '&*', '+@all');
    const s = await importRecords([rdbInput(small.path)], { target: `redis://importer:imp-pass@127.0.0.1:${t.port}` });
    assert.equal(s.keys, 6);
    assert.equal(await tc.get('a'), 'from-backup');
    const s2 = await importRecords([rdbInput(small.path)], { target: t.url });
    assert.equal(s2.keys, 6);
    await assert.rejects(probeTarget(parseTargetUrl(`redis://:wrong@127.0.0.1:${t.port}`)), (e: unknown) => isFerryError(e, 'TARGET_AUTH'));
    await assert.rejects(probeTarget(parseTargetUrl(`redis://127.0.0.1:${t.port}`)), (e: unknown) => isFerryError(e, 'TARGET_AUTH'));
    await replica.client().call('REPLICAOF', '127.0.0.1', String(target.port));
    await assert.rejects(importRecords([rdbInput(small.path)], { target: replica.url }), (e: unknown) => isFerryError(e, 'TARGET_READONLY'));
  } finally {
    await t.stop();
    await replica.stop();
  }
  await assert.rejects(probeTarget({ addrs: [{ host: '127.0.0.1', port: 1 }], connectTimeoutMs: 500 }), (e: unknown) => isFerryError(e, 'TARGET_UNREACHABLE'));
});

test('probeTarget reports version, RDB version, role, topology and limits', async () => {
  const info = await probeTarget(parseTargetUrl(target.url));
  assert.match(info.version, /^7\.0\./);
  assert.equal(info.maxRdb, 10);
  assert.equal(info.flavor, 'redis');
  assert.equal(info.role, 'master');
  assert.equal(info.topology, 'standalone');
  assert.equal(info.protoMaxBulkLen, 512 * 1024 * 1024);
  assert.deepEqual(info.modules, []);
  assert.equal(info.features.hashFieldTtl, false);
});

function commandsInput(records: ImportRecord[]): ImportInput {
  return { name: 'commands', size: null, bytesRead: () => 0, async *records() {
    yield records;
  } };
}
const cmd = (db: number, ...argv: string[]): CommandRecord => ({ kind: 'command', db, argv: argv.map((a) => Buffer.from(a)), offset: 0 });

test('AOF command records replay in order per db; MULTI blocks are atomic; FLUSHALL is refused', async () => {
  await reset();
  const s = await importRecords([commandsInput([
    cmd(0, 'SET', 'counter', '1'),
    cmd(0, 'INCR', 'counter'),
    cmd(2, 'RPUSH', 'q', 'a', 'b'),
    { kind: 'transaction', db: 0, offset: 10, commands: [cmd(0, 'INCRBY', 'counter', '10'), cmd(0, 'SET', 'inside', 'multi')] },
    cmd(0, 'PEXPIREAT', 'counter', String(FAR)),
  ])], { target: target.url });
  assert.equal(s.errors, 0, JSON.stringify(s.errorList));
  assert.equal(s.aofCommands, 6);
  assert.equal(await c.get('counter'), '12');
  assert.equal(await c.pexpiretime('counter'), FAR);
  assert.equal(await c.get('inside'), 'multi');
  await c.select(2);
  assert.deepEqual(await c.lrange('q', 0, -1), ['a', 'b']);
  await c.select(0);
  await assert.rejects(importRecords([commandsInput([cmd(0, 'FLUSHALL')])], { target: target.url }), (e: unknown) => isFerryError(e, 'AOF_COMMAND_REFUSED'));
  assert.equal(await c.get('counter'), '12', 'nothing was flushed');
});
