/**
 * Archives holding an RDB or a Redis 7 multi-part AOF import exactly (same DEBUG DIGEST as the
 * server that wrote them / loads them natively); hostile archives fail typed and write nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, readdir, cp, truncate, stat } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startRedis, digest, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { openInputs } from '../../src/source/index.js';
import { importRecords } from '../../src/pipeline/import.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import { makeAofFixture, type AofFixture } from './aof-fixture.js';
import { zipBuffer, tarGzBuffer, patchAll, writeTo, type BuildEntry } from '../unit/archive-build.js';
import { rdb as rdbBytes, str } from '../helpers/rdb-builder.js';
import { loadOrder, parseManifest } from '../../src/aof/manifest.js';

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

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

/** `ferry import` as a user runs it. */
function ferryImport(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, 'import', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

/** Many distinct keys (values that do not compress away), so a cut stream still holds thousands of whole records. */
function manyKeys(n: number): { rdb: Buffer; aof: Buffer } {
  const entries: Buffer[] = [Buffer.from([0xfe, 0x00])];
  const cmds: Buffer[] = [];
  let x = 11;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const k = `k:${i}`;
    const v = x.toString(36).repeat(4);
    entries.push(Buffer.from([0]), str(k), str(v));
    cmds.push(Buffer.from(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`));
  }
  return { rdb: rdbBytes('REDIS0009', entries), aof: Buffer.concat(cmds) };
}

test('ferry import of a truncated .gz RDB or a truncated AOF fails typed and writes nothing', async () => {
  const c = target.client();
  await c.flushall();
  const { rdb: big, aof } = manyKeys(20_000);
  const gz = gzipSync(big);
  const cases: [string, string][] = [
    [await writeTo(join(dir, 'cut.rdb.gz'), gz.subarray(0, Math.floor(gz.length * 0.6))), 'ARCHIVE_CORRUPT'],
    [await writeTo(join(dir, 'cut.aof'), Buffer.concat([aof, Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab')])), 'AOF_TRUNCATED'],
    [await writeTo(join(dir, 'multi.aof.gz'), gzipSync(Buffer.concat([aof, Buffer.from('*1\r\n$5\r\nMULTI\r\n'), aof.subarray(0, 200)]))), 'AOF_TRUNCATED'],
  ];
  for (const [file, code] of cases) {
    const r = await ferryImport(file, '--target', target.url);
    assert.notEqual(r.code, 0, file);
    assert.match(r.stderr, new RegExp(code), file);
    assert.ok(r.stderr.includes(file), `${file}: the error names the file: ${r.stderr}`);
    assert.equal(await c.dbsize(), 0, `${file}: nothing written`);
  }
  // The same files whole import every key (the checks cost a pass, not the data).
  const whole = await writeTo(join(dir, 'whole.rdb.gz'), gz);
  const r = await ferryImport(whole, '--target', target.url);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await c.dbsize(), 20_000);
});

test('a multi-part AOF written by redis-server with its last incr file cut: AOF_TRUNCATED, nothing written (pipeline)', async () => {
  const c = target.client();
  await c.flushall();
  const copy = join(dir, 'cut-appendonlydir');
  await cp(fx.dir, copy, { recursive: true });
  const manifestName = (await readdir(copy)).find((n) => n.endsWith('.manifest'))!;
  const files = loadOrder(parseManifest(await readFile(join(copy, manifestName), 'utf8')));
  const last = join(copy, files[files.length - 1]!.file);
  await truncate(last, (await stat(last)).size - 5);
  await assert.rejects(
    (async () => importRecords(await openInputs(copy), { target: target.url }))(),
    (e: unknown) => isFerryError(e, 'AOF_TRUNCATED') && String(e.context.file).endsWith(files[files.length - 1]!.file) && typeof e.context.offset === 'number',
  );
  assert.equal(await c.dbsize(), 0);
  // With --aof-truncated load the same set imports, less its cut tail.
  await importRecords(await openInputs(copy, { aofTruncated: 'load' }), { target: target.url });
  assert.ok((await c.dbsize()) > 0);
});

test('several inputs: every one is checked before anything is written (CLI sources, archives holding several backups, a .gz bomb second)', async () => {
  const c = target.client();
  await c.flushall();
  const { rdb: goodRdb, aof } = manyKeys(5_000);
  const good = await writeTo(join(dir, 'good.rdb'), goodRdb);
  const cutTail = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab');
  const truncated = await writeTo(join(dir, 'truncated.aof'), Buffer.concat([aof, cutTail]));

  // (a) `ferry import good.rdb truncated.aof`: the AOF after the RDB fails, and the RDB is not written.
  const r = await ferryImport(good, truncated, '--target', target.url);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /AOF_TRUNCATED/);
  assert.ok(r.stderr.includes(truncated), `the error names the AOF: ${r.stderr}`);
  assert.equal(await c.dbsize(), 0, 'nothing of good.rdb written');

  // (b) A zip and a tar.gz holding a good RDB, then an AOF with a dangling MULTI.
  const dangling = Buffer.concat([aof, Buffer.from('*1\r\n$5\r\nMULTI\r\n'), aof.subarray(0, 500)]);
  const entries = [{ name: 'shard-1/dump.rdb', data: goodRdb }, { name: 'shard-2/appendonly.aof', data: dangling }];
  for (const archive of [await writeTo(join(dir, 'two.zip'), await zipBuffer(entries)), await writeTo(join(dir, 'two.tar.gz'), await tarGzBuffer(entries))]) {
    await assert.rejects(
      (async () => importRecords(await openInputs(archive), { target: target.url }))(),
      (e: unknown) => isFerryError(e, 'AOF_TRUNCATED') && e.context.file === `${archive}!shard-2/appendonly.aof` && e.context.offset === aof.length,
    );
    assert.equal(await c.dbsize(), 0, `${archive}: nothing written`);
  }

  // (c) A .gz bomb given second (as a DCS task naming two files): stopped by its guard, the RDB not written.
  const bomb = await writeTo(join(dir, 'second.aof.gz'), gzipSync(Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n'.repeat(200_000))));
  await assert.rejects(
    (async () => importRecords(await openInputs([good, bomb], { archiveLimits: { ratioFloorBytes: 1 << 20, maxRatio: 50 } }), { target: target.url }))(),
    (e: unknown) => isFerryError(e, 'ARCHIVE_HOSTILE') && e.context.file === bomb,
  );
  assert.equal(await c.dbsize(), 0, 'nothing written before the bomb');

  // Whole, the same inputs import every key; progress ends at the total of every pass.
  const whole = await writeTo(join(dir, 'whole.aof'), aof);
  const ok = await ferryImport(good, whole, '--target', target.url);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(await c.dbsize(), 5_000, 'the AOF rewrites the same keys as the RDB');
  const progress = ok.stderr.split('\n').filter((l) => l.startsWith('{"progress"')).map((l) => (JSON.parse(l) as { progress: { bytesRead: number; totalBytes: number } }).progress);
  const last = progress[progress.length - 1]!;
  assert.equal(last.totalBytes, goodRdb.length + 2 * aof.length);
  assert.equal(last.bytesRead, last.totalBytes);
  await c.flushall();
  const inputs = await openInputs(await writeTo(join(dir, 'two-ok.tar.gz'), await tarGzBuffer([entries[0]!, { name: 'shard-2/appendonly.aof', data: aof }])));
  const s = await importRecords(inputs, { target: target.url });
  assert.equal(s.errors, 0);
  assert.equal(await c.dbsize(), 5_000);
});
