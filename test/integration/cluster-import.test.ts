/**
 * Imports into a 3-master Redis Cluster: every key lands on the master owning its slot with the same
 * value and expiry as a native load; functions reach every master; other databases are refused
 * unless mapped; MOVED/ASK during a live slot migration are followed without losing a key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { startCluster, startRedis, type RedisCluster } from '../helpers/redis-server.js';
import { makeEveryTypeRdb, makeRdbWith, type RdbFixture } from '../helpers/make-rdb.js';
import { importRecords } from '../../src/pipeline/import.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import type { ImportInput, ImportRecord } from '../../src/pipeline/types.js';
import type { CommandRecord } from '../../src/entry/entry.js';
import { rdbInput, keyDigests, paced } from './import-helpers.js';

const execFileP = promisify(execFile);

let cluster: RedisCluster;
let clients: Redis[];
let every: RdbFixture;
let multiDb: RdbFixture;

before(async () => {
  cluster = await startCluster(3);
  clients = cluster.nodes.map((n) => new Redis({ host: n.host, port: n.port, lazyConnect: false }));
  every = await makeEveryTypeRdb({ dbs: [0] });
  multiDb = await makeEveryTypeRdb({ dbs: [0, 1] });
});
after(async () => {
  for (const c of clients) c.disconnect();
  await every?.cleanup();
  await multiDb?.cleanup();
  await cluster.stop();
});

async function flushCluster(): Promise<void> {
  for (const c of clients) {
    await c.flushall();
    await c.call('FUNCTION', 'FLUSH');
  }
}

/** Union of every master's keys (db 0) with their value digests and expiries. */
async function clusterDigests(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of clients) for (const [k, v] of await keyDigests(c)) out.set(k, v);
  return out;
}

async function compareWithNative(file: string): Promise<void> {
  const native = await startRedis({ rdbFile: file });
  try {
    const want = await keyDigests(native.client());
    const got = await clusterDigests();
    const diff: string[] = [];
    for (const [k, v] of want) if (got.get(k) !== v) diff.push(`${Buffer.from(k.split(':')[1]!, 'base64').toString()}: ${v} vs ${got.get(k) ?? 'missing'}`);
    for (const k of got.keys()) if (!want.has(k)) diff.push(`unexpected ${k}`);
    assert.deepEqual(diff.slice(0, 10), [], 'keys differ between the cluster and a native load');
    assert.ok(want.size > 0);
  } finally {
    await native.stop();
  }
}

for (const mode of ['auto', 'rewrite'] as const) {
  test(`every type into a 3-master cluster (${mode}): same keys as a native load, functions on every master`, async () => {
    await flushCluster();
    const s = await importRecords([rdbInput(every.path)], { target: cluster.url, mode });
    assert.equal(s.errors, 0, JSON.stringify(s.errorList));
    assert.equal(s.paths.mset, 0, 'no MSET on a cluster (keys of one batch span slots)');
    await compareWithNative(every.path);
    for (const c of clients) {
      const libs = (await c.call('FUNCTION', 'LIST')) as unknown[][];
      assert.equal(libs.length, 1, 'the function library is on every master');
    }
    // Each key is on the master that owns its slot (routing, not luck).
    for (const c of clients) {
      for (const k of await c.keys('*')) assert.equal(Number(await c.call('CLUSTER', 'KEYSLOT', k)), calculateSlot(k));
    }
  });
}

test('a backup with keys in db 1 is refused on a cluster unless mapped', async () => {
  await flushCluster();
  await assert.rejects(importRecords([rdbInput(multiDb.path)], { target: cluster.url }), (e: unknown) => isFerryError(e, 'TARGET_DB_UNSUPPORTED') && /--db-map 1:0/.test(e.message));
  await flushCluster();
  const s = await importRecords([rdbInput(multiDb.path)], { target: cluster.url, dbMap: new Map([[1, 0]]) });
  assert.equal(s.errors, 0);
  assert.equal(s.keys + s.skippedExpired, multiDb.expected.keys.length, 'every key of both dbs was written');
  // The fixture uses the same key names in every db, so db 1's keys replaced db 0's.
  const names = new Set(multiDb.expected.keys.map((k) => k.key.toString('base64')));
  let n = 0;
  for (const c of clients) n += await c.dbsize();
  assert.equal(n, names.size);
});

const cmd = (...argv: string[]): CommandRecord => ({ kind: 'command', db: 0, argv: argv.map((a) => Buffer.from(a)), offset: 0 });
function commandsInput(records: ImportRecord[]): ImportInput {
  return { name: 'aof', size: null, bytesRead: () => 0, async *records() {
    yield records;
  } };
}

test('AOF commands on a cluster: MSET/DEL split per slot exactly, cross-slot others refused', async () => {
  await flushCluster();
  const keys = Array.from({ length: 20 }, (_, i) => `m${i}`);
  const s = await importRecords([commandsInput([
    cmd('MSET', ...keys.flatMap((k) => [k, `v-${k}`])),
    cmd('DEL', 'm0', 'm1', 'm2'),
    cmd('SADD', '{t}a', 'x'),
    cmd('SUNIONSTORE', '{t}b', '{t}a'),
  ])], { target: cluster.url });
  assert.equal(s.errors, 0, JSON.stringify(s.errorList));
  const probe = new Redis.Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]!.port }]);
  try {
    for (const k of keys.slice(3)) assert.equal(await probe.get(k), `v-${k}`);
    for (const k of keys.slice(0, 3)) assert.equal(await probe.exists(k), 0);
    assert.deepEqual(await probe.smembers('{t}b'), ['x']);
  } finally {
    probe.disconnect();
  }
  await assert.rejects(
    importRecords([commandsInput([cmd('SUNIONSTORE', 'dest', 'a', 'b', 'c', 'd')])], { target: cluster.url }),
    (e: unknown) => isFerryError(e, 'AOF_COMMAND_REFUSED'),
  );
});

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await execFileP('redis-cli', ['-p', String(port), ...args]);
  return stdout.trim();
}

test('MOVED and ASK during a live slot migration: every key arrives', async () => {
  const N = 6000;
  const f = await makeRdbWith(async (c) => {
    const p = c.pipeline();
    for (let i = 0; i < N; i++) p.set(`{hot}:${i}`, `value-${i}`);
    for (let i = 0; i < 300; i++) p.rpush(`{hot}:list:${i}`, 'a', 'b', String(i));
    for (let i = 0; i < 2000; i++) p.set(`cold:${i}`, `c-${i}`);
    await p.exec();
  });
  try {
    await flushCluster();
    const slot = calculateSlot('{hot}');
    const ids = await Promise.all(cluster.nodes.map((n) => cli(n.port, 'CLUSTER', 'MYID')));
    // Find the source (owner of the slot) and pick another master as destination.
    const slotsOut = (await clients[0]!.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const srcPort = slotsOut.find(([a, b]) => slot >= a && slot <= b)![2][1];
    const src = cluster.nodes.findIndex((n) => n.port === srcPort);
    const dst = (src + 1) % 3;

    const importing = importRecords([paced(rdbInput(f.path), 100, 3)], { target: cluster.url });
    // Wait until part of the hot slot is written, then move the slot while the import goes on.
    for (let i = 0; i < 400 && Number(await cli(srcPort, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot))) < 1500; i++) await new Promise((r) => setTimeout(r, 10));
    const dstNode = cluster.nodes[dst]!;
    await cli(dstNode.port, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', ids[src]!);
    await cli(srcPort, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', ids[dst]!);
    // Move keys in small steps (the import keeps writing: new keys get ASK to the destination).
    for (let round = 0; round < 2000; round++) {
      const keys = (await clients[src]!.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '50')) as string[];
      if (!keys.length && round > 20) break;
      if (keys.length) await clients[src]!.call('MIGRATE', '127.0.0.1', String(dstNode.port), '', '0', '5000', 'REPLACE', 'KEYS', ...keys);
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const n of cluster.nodes) await cli(n.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', ids[dst]!);
    const s = await importing;
    assert.equal(s.errors, 0, JSON.stringify(s.errorList));
    assert.ok(s.redirects > 0, 'the import met redirections');
    assert.equal(s.keys, N + 2300);
    await compareWithNative(f.path);
    assert.equal(Number(await cli(dstNode.port, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot))), N + 300);
  } finally {
    await f.cleanup();
  }
});
