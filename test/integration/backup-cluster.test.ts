/**
 * Backups of a real 3-master Redis Cluster (one file per master, all in one record, named with the
 * master's slot ranges) imported into a fresh cluster give every node's DEBUG DIGEST back; a backup
 * to an S3 bucket (multipart upload on a real S3-protocol server) imports exactly, and a failed one
 * leaves no object.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { LinkSigner } from '../../src/backup/links.js';
import { BackupService } from '../../src/backup/service.js';
import { BackupBucket } from '../../src/backup/sink.js';
import { backupNode } from '../../src/backup/snapshot.js';
import { FerryError } from '../../src/errors/ferry-error.js';
import { importRecords } from '../../src/pipeline/import.js';
import { openInputs } from '../../src/source/index.js';
import { SqliteBackupStore } from '../../src/store/sqlite/backup-store.js';
import { InstanceRegistry } from '../../src/task/instances.js';
import { makeEveryTypeRdb, type RdbFixture } from '../helpers/make-rdb.js';
import { digest, startCluster, startRedis, type RedisCluster } from '../helpers/redis-server.js';
import { ACCESS_KEY, SECRET_KEY, startS3, type S3TestServer } from '../helpers/s3-server.js';

let fx: RdbFixture;
let dir: string;
before(async () => {
  fx = await makeEveryTypeRdb({ dbs: [0] });
  dir = mkdtempSync(join(tmpdir(), 'ferry-backup-cluster-'));
});
after(async () => {
  await fx.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Per-node digests, sorted: each node's digest covers exactly its slots, so equal lists mean every node holds the same keys. */
async function nodeDigests(c: RedisCluster): Promise<string[]> {
  const out: string[] = [];
  for (const n of c.nodes) out.push(await digest(n.client()));
  return out.sort();
}

test('a 3-master cluster is backed up into one record of 3 files; imported into a fresh cluster, and restored into itself, every node digest matches', async () => {
  const src = await startCluster(3);
  const dst = await startCluster(3);
  const store = new SqliteBackupStore(join(dir, 'ferry.db'));
  try {
    await importRecords(await openInputs(fx.path), { target: src.url });
    const want = await nodeDigests(src);
    const registry = new InstanceRegistry([{ id: 'c1', project: 'p', name: 'cluster', type: 'cluster', addrs: `127.0.0.1:${src.nodes[0]!.port}` }]);
    const bucket = { name: 'backups', path: join(dir, 'bucket') };
    const svc = new BackupService({ store, registry, bucket: new BackupBucket(bucket), signer: LinkSigner.forDataDir(dir), dataRoot: dir, allowSingleNode: false, log: () => undefined });
    const rec = await svc.create('p', 'c1', { backup_format: 'rdb' });
    await svc.settled(rec.id);
    const done = await svc.get('p', 'c1', rec.id);
    assert.equal(done.status, 'succeed', String(done.error_message));
    assert.equal(done.files.length, 3);
    assert.deepEqual(done.files.map((f) => f.slots).sort(), ['0-5460', '10923-16383', '5461-10922']);
    for (const f of done.files) assert.match(f.file_name, /^c1\/[0-9a-f-]+\/redis_127\.0\.0\.1_\d+_\d+-\d+_\d{14}\.rdb$/);
    const src2 = await svc.importSource('p', rec.id);
    const inputs = await openInputs(src2.files.map((f) => ({ bucket: 'backups', key: f.file_name })), { buckets: [bucket], dataRoot: dir });
    const s = await importRecords(inputs, { target: dst.url });
    assert.equal(s.errors, 0);
    assert.deepEqual(await nodeDigests(dst), want);

    // Restore into the source cluster itself: every master is emptied (keys written since are gone), then the backup comes back.
    for (const n of src.nodes) await n.client().call('SET', `after-backup-{${n.port}}`, 'x').catch(() => undefined);
    const c0 = src.nodes[0]!.client();
    await c0.call('FLUSHDB');
    assert.notDeepEqual(await nodeDigests(src), want);
    const restore = await svc.restore('p', 'c1', { backup_id: rec.id });
    await svc.settled(restore.id);
    const rr = (await store.listRestores('p', 'c1', { offset: 0, limit: 10 })).records[0]!;
    assert.equal(rr.status, 'succeed', rr.error_message ?? '');
    assert.match(rr.log[0]!, /FLUSHALL on every master \(127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+\)/);
    assert.deepEqual(await nodeDigests(src), want);
    await svc.close();
  } finally {
    store.close();
    await src.stop();
    await dst.stop();
  }
});

let s3: S3TestServer;
test('a backup streamed to S3 (multipart upload) imports exactly; a failed one leaves no object', async () => {
  s3 = await startS3();
  const src = await startRedis({ rdbFile: fx.path, args: ['--repl-diskless-sync-delay', '0'] });
  const tgt = await startRedis();
  try {
    await s3.createBucket('bkp');
    const cfg = s3.bucket('bkp');
    const bucket = new BackupBucket(cfg);
    const r = await backupNode({ addr: { host: src.host, port: src.port }, auth: {}, sink: bucket.sink('inst/one.rdb'), format: 'rdb' });
    assert.ok(r.size > 0);
    assert.equal(await bucket.size('inst/one.rdb'), r.size);
    await importRecords(await openInputs('s3://bkp/inst/one.rdb', { buckets: [cfg] }), { target: tgt.url });
    assert.equal(await digest(tgt.client()), await digest(src.client()));

    // A source that is not a Redis master (nothing listens) fails before any byte; a source that
    // sends a broken snapshot fails in the parser: neither leaves an object behind.
    await assert.rejects(backupNode({ addr: { host: '127.0.0.1', port: 1 }, auth: {}, sink: bucket.sink('inst/none.rdb'), format: 'rdb' }), (e: unknown) => e instanceof FerryError && e.code === 'TARGET_UNREACHABLE');
    const ac = new AbortController();
    const p = backupNode({ addr: { host: src.host, port: src.port }, auth: {}, sink: bucket.sink('inst/aborted.rdb'), format: 'rdb', signal: ac.signal, onProgress: () => ac.abort() });
    ac.abort();
    await assert.rejects(p, (e: unknown) => e instanceof FerryError && e.code === 'ABORTED');
    const list = await new S3Client({ endpoint: s3.directEndpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY } }).send(new ListObjectsV2Command({ Bucket: 'bkp' }));
    assert.deepEqual((list.Contents ?? []).map((o) => o.Key), ['inst/one.rdb']);
    // Download links on an S3 bucket are the store's pre-signed GETs (s3rver itself checks query auth;
    // the fault proxy in front of it only knows header auth, so the link goes to s3rver directly).
    const direct = new BackupBucket({ ...cfg, endpoint: s3.directEndpoint });
    const link = await direct.presign('inst/one.rdb', 300);
    assert.match(link, /X-Amz-Signature=/);
    const res = await fetch(link);
    assert.equal(res.status, 200);
    assert.equal(Buffer.from(await res.arrayBuffer()).subarray(0, 5).toString(), 'REDIS');
    assert.equal(Number(res.headers.get('content-length')), r.size);
    direct.close();
    bucket.close();
  } finally {
    await src.stop();
    await tgt.stop();
    await s3.stop();
  }
});

test('a backup bigger than one part goes up as a real multipart upload and imports exactly', async () => {
  const s3b = await startS3();
  const src = await startRedis({ args: ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--rdbcompression', 'no'] });
  const tgt = await startRedis();
  try {
    await src.client().call('DEBUG', 'POPULATE', '24000', 'big', '1000');
    await s3b.createBucket('multi');
    const cfg = s3b.bucket('multi');
    const bucket = new BackupBucket(cfg);
    const r = await backupNode({ addr: { host: src.host, port: src.port }, auth: {}, sink: bucket.sink('x/big.rdb'), format: 'rdb' });
    assert.ok(r.size > 2 * 8 * 1024 * 1024, `size ${r.size} spans 3+ parts of 8 MiB`);
    assert.equal(await bucket.size('x/big.rdb'), r.size);
    await importRecords(await openInputs('s3://multi/x/big.rdb', { buckets: [cfg] }), { target: tgt.url });
    assert.equal(await digest(tgt.client()), await digest(src.client()));
    bucket.close();
  } finally {
    await src.stop();
    await tgt.stop();
    await s3b.stop();
  }
});
