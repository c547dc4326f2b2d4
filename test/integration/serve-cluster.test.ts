/**
 * Backup import into a real 3-master Redis Cluster through the API: the corpus RDB holds dbs 0, 1
 * and 7, which a cluster cannot take (the task ends FAILED naming the db, as DCS documents: cluster
 * targets have db 0 only), and with target_instance.db "0" every key lands in db 0 and the import
 * succeeds with every key readable through the cluster.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import { startHarness, waitStatus, type Harness } from '../api/harness.js';
import { startCluster, CORPUS, type RedisCluster } from '../helpers/redis-server.js';

const P = 'c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1';
const T = 'cluster-token-000001';
let cluster: RedisCluster;
let h: Harness;

before(async () => {
  cluster = await startCluster(3);
  h = await startHarness({
    projects: [{ id: P, tokens: [T], credentials: [] }],
    instances: [{ id: 'cl', project: P, name: 'cluster', type: 'cluster', addrs: cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(',') }],
    buckets: [{ name: 'corpus', path: `${CORPUS}/generated` }],
  });
});

after(async () => {
  await h?.close();
  await cluster?.stop();
});

async function create(name: string, db?: string) {
  const r = await h.app.inject({
    method: 'POST',
    url: `/v2/${P}/migration-task`,
    headers: { 'x-auth-token': T, 'content-type': 'application/json' },
    payload: {
      task_name: name,
      migration_type: 'backupfile_import',
      migration_method: 'full_amount_migration',
      backup_files: { bucket_name: 'corpus', files: [{ file_name: 'redis-7.0.rdb' }] },
      target_instance: { id: 'cl', ...(db !== undefined ? { db } : {}) },
    },
  });
  assert.equal(r.statusCode, 200, r.body);
  return waitStatus(h.app, P, T, r.json().id, (s) => s !== 'MIGRATING', 60_000);
}

test('a multi-db backup into a cluster fails naming the db', async () => {
  const t = await create('cluster-multidb');
  assert.equal(t.status, 'FAILED', JSON.stringify(t));
  assert.equal(t.error_code, 'FERRY.4302');
  assert.match(String(t.error_message), /db 1|db 7/);
});

test('with db "0" every key of every db lands in the cluster', async () => {
  const t = await create('cluster-db0', '0');
  assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
  const expected = JSON.parse(readFileSync(`${CORPUS}/generated/redis-7.0.json`, 'utf8')) as Record<string, Record<string, { expireAt: number | null }>>;
  const keys = new Set<string>();
  for (const [db, ks] of Object.entries(expected)) {
    if (!/^\d+$/.test(db)) continue;
    for (const [k, v] of Object.entries(ks)) if (v.expireAt === null || v.expireAt > Date.now() + 60_000) keys.add(k);
  }
  const c = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]!.port }], { lazyConnect: false });
  try {
    let present = 0;
    for (const k of keys) {
      const key = k.startsWith('b64:') ? Buffer.from(k.slice(4), 'base64') : k;
      if ((await c.exists(key)) === 1) present++;
    }
    assert.equal(present, keys.size);
  } finally {
    c.disconnect();
  }
});
