/**
 * Archives holding an RDB or a Redis 7 multi-part AOF import exactly (same DEBUG DIGEST as the
 * server that wrote them / loads them natively); hostile archives fail typed and write nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startRedis, digest, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { openInputs } from '../../src/source/index.js';
import { importRecords } from '../../src/pipeline/import.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import { makeAofFixture, type AofFixture } from './aof-fixture.js';
import { zipBuffer, tarGzBuffer, patchAll, writeTo, type BuildEntry } from '../unit/archive-build.js';

let target: RedisServer;
let fx: AofFixture;
let dir: string;
let aofEntries: BuildEntry[];
let rdb: Buffer;
let rdbDigest: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-arch-it-'));
  target = await startRedis();
  fx = await makeAofFixture(true);
  aofEntries = await Promise.all((await readdir(fx.dir)).map(async (n) => ({ name: `backup/appendonlydir/${n}`, data: await readFile(join(fx.dir, n)) })));
  const rdbFile = join(CORPUS, 'redis-tests', 'encodings.rdb');
  rdb = await readFile(rdbFile);
  const native = await startRedis({ rdbFile });
  rdbDigest = await digest(native.client());
  await native.stop();
});

after(async () => {
  await target?.stop();
  if (fx) await rm(dirname(fx.dir), { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

async function importFile(path: string): Promise<string> {
  const c = target.client();
  await c.flushall();
  const inputs = await openInputs(path);
  const s = await importRecords(inputs, { target: target.url });
  assert.equal(s.errors, 0);
  return digest(c);
}

test('zip and tar.gz holding a multi-part AOF import to the writer\'s digest', async () => {
  const zip = await writeTo(join(dir, 'aof.zip'), await zipBuffer(aofEntries));
  const [zi] = await openInputs(zip);
  assert.equal(zi!.format.kind, 'aof-multipart');
  assert.equal(await importFile(zip), fx.digest);
  const tgz = await writeTo(join(dir, 'aof.tar.gz'), await tarGzBuffer([...aofEntries].reverse()));
  assert.equal(await importFile(tgz), fx.digest);
});

test('zip, tar.gz and .gz holding an RDB import to the natively loaded digest', async () => {
  assert.equal(await importFile(await writeTo(join(dir, 'r.zip'), await zipBuffer([{ name: 'dump.rdb', data: rdb }]))), rdbDigest);
  assert.equal(await importFile(await writeTo(join(dir, 'r.tgz'), await tarGzBuffer([{ name: 'dump.rdb', data: rdb }]))), rdbDigest);
  assert.equal(await importFile(await writeTo(join(dir, 'r.rdb.gz'), gzipSync(rdb))), rdbDigest);
});

test('hostile archives fail typed and write nothing', async () => {
  const c = target.client();
  await c.flushall();
  const hostile = [
    await writeTo(join(dir, 'h1.zip'), patchAll(await zipBuffer([{ name: 'dump.rdb', data: rdb }, { name: 'aa/x.rdb', data: rdb }]), 'aa/x', '../x')),
    await writeTo(join(dir, 'h2.tgz'), await tarGzBuffer([{ name: 'dump.rdb', data: rdb }, { name: 'l', data: Buffer.alloc(0), type: 'symlink', linkname: '/etc/passwd' }])),
    await writeTo(join(dir, 'h3.tgz'), await tarGzBuffer([{ name: 'dump.rdb', data: rdb }, { name: 'z', data: Buffer.alloc(8 << 20) }])),
  ];
  for (const h of hostile) {
    await assert.rejects(
      (async () => importRecords(await openInputs(h, { archiveLimits: { ratioFloorBytes: 1 << 20, maxRatio: 50 } }), { target: target.url }))(),
      (e: unknown) => isFerryError(e, 'ARCHIVE_HOSTILE'),
    );
    assert.equal(await c.dbsize(), 0, h);
  }
  const t = await tarGzBuffer([{ name: 'dump.rdb', data: rdb }, { name: 'more.rdb', data: rdb }]);
  const cut = await writeTo(join(dir, 'cut.tgz'), t.subarray(0, t.length - 200));
  await assert.rejects((async () => importRecords(await openInputs(cut), { target: target.url }))(), (e: unknown) => isFerryError(e, 'ARCHIVE_CORRUPT'));
  assert.equal(await c.dbsize(), 0);
});
