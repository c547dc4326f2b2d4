/** Archives are chosen by content; hostile and broken ones are refused with typed errors before any input is returned. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openInputs } from '../../src/source/index.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import type { ErrorCode } from '../../src/errors/catalogue.js';
import { CORPUS } from '../helpers/redis-server.js';
import { zipBuffer, tarGzBuffer, tarBuffer, patchAll, markEncrypted, writeTo } from './archive-build.js';

let dir: string;
let rdb: Buffer;
const aof = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-arch-'));
  rdb = await readFile(join(CORPUS, 'rdb-tools', 'multiple_databases.rdb'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Opens and reads every input: tar archives are listed (and refused) when records are first pulled. */
async function openAndRead(path: string, limits = {}): Promise<void> {
  for (const input of await openInputs(path, { archiveLimits: limits })) {
    for await (const _ of input.records()) {
      /* read everything */
    }
  }
}

async function rejectsWith(path: string, code: ErrorCode, pattern: RegExp, limits = {}): Promise<void> {
  await assert.rejects(openAndRead(path, limits), (e: unknown) => {
    assert.ok(isFerryError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.match(e.message, /file /);
    return true;
  });
}

test('entries are chosen by content, whatever their names', async () => {
  const zip = await writeTo(join(dir, 'backup.zip'), await zipBuffer([
    { name: 'README.txt', data: Buffer.from('notes') },
    { name: 'shard-1.bak', data: rdb },
    { name: 'x/cmds.log', data: aof },
  ]));
  const inputs = await openInputs(zip);
  assert.deepEqual(inputs.map((i) => [i.name.split('!')[1], i.format.kind, i.format.container]), [['shard-1.bak', 'rdb', 'zip'], ['x/cmds.log', 'aof', 'zip']]);
  const recs = [];
  for await (const b of inputs[1]!.records()) recs.push(...b);
  assert.equal(recs.length, 1);
  assert.ok(inputs[1]!.bytesRead() > 0);

  const tgz = await writeTo(join(dir, 'anything.data'), await tarGzBuffer([{ name: 'README', data: Buffer.from('hi') }, { name: 'a/dump', data: rdb }, { name: 'a/b.aof', data: aof }]));
  const t = await openInputs(tgz);
  assert.deepEqual(t.map((i) => [i.format.kind, i.format.container, i.format.rdb?.version]), [['rdb', 'tar.gz', 3]]);
  let keys = 0;
  let commands = 0;
  for await (const b of t[0]!.records()) {
    keys += b.filter((r) => r.kind === 'entry').length;
    commands += b.filter((r) => r.kind === 'command').length;
  }
  assert.deepEqual([keys, commands], [2, 1]);
  assert.ok(t[0]!.bytesRead() >= 2 * (await readFile(tgz)).length, 'listing pass plus entry passes');

  const gz = await writeTo(join(dir, 'plain.gz'), gzipSync(rdb));
  const g = await openInputs(gz);
  assert.deepEqual([g.length, g[0]!.format.kind, g[0]!.format.container, g[0]!.format.rdb?.version], [1, 'rdb', 'gz', 3]);
});

test('path traversal and absolute paths are ARCHIVE_HOSTILE', async () => {
  const z = patchAll(await zipBuffer([{ name: 'aa/evil.rdb', data: rdb }]), 'aa/evil', '../evil');
  await rejectsWith(await writeTo(join(dir, 'trav.zip'), z), 'ARCHIVE_HOSTILE', /leaves the archive/);
  await rejectsWith(await writeTo(join(dir, 'trav.tgz'), await tarGzBuffer([{ name: '../evil.rdb', data: rdb }])), 'ARCHIVE_HOSTILE', /leaves the archive/);
  await rejectsWith(await writeTo(join(dir, 'abs.tar'), await tarBuffer([{ name: '/etc/evil.rdb', data: rdb }])), 'ARCHIVE_HOSTILE', /absolute/);
});

test('symlinks and hard links are ARCHIVE_HOSTILE', async () => {
  await rejectsWith(await writeTo(join(dir, 'link.zip'), await zipBuffer([{ name: 'dump.rdb', data: Buffer.from('/etc/passwd'), mode: 0o120777 }])), 'ARCHIVE_HOSTILE', /symbolic link/);
  await rejectsWith(await writeTo(join(dir, 'link.tgz'), await tarGzBuffer([{ name: 'dump.rdb', data: Buffer.alloc(0), type: 'symlink', linkname: '/etc/passwd' }])), 'ARCHIVE_HOSTILE', /symbolic link/);
  await rejectsWith(await writeTo(join(dir, 'hard.tgz'), await tarGzBuffer([{ name: 'a.rdb', data: rdb }, { name: 'b.rdb', data: Buffer.alloc(0), type: 'link', linkname: 'a.rdb' }])), 'ARCHIVE_HOSTILE', /hard link/);
});

test('nested archives and encrypted entries are ARCHIVE_HOSTILE', async () => {
  const inner = await zipBuffer([{ name: 'dump.rdb', data: rdb }]);
  await rejectsWith(await writeTo(join(dir, 'nested.zip'), await zipBuffer([{ name: 'inner.bin', data: inner }])), 'ARCHIVE_HOSTILE', /nested/);
  await rejectsWith(await writeTo(join(dir, 'nested.tgz'), await tarGzBuffer([{ name: 'x', data: gzipSync(rdb) }])), 'ARCHIVE_HOSTILE', /nested/);
  await rejectsWith(await writeTo(join(dir, 'nested.gz'), gzipSync(inner)), 'ARCHIVE_HOSTILE', /nested/);
  await rejectsWith(await writeTo(join(dir, 'enc.zip'), markEncrypted(await zipBuffer([{ name: 'dump.rdb', data: rdb }]))), 'ARCHIVE_HOSTILE', /encrypted/);
});

test('bombs: expansion ratio and total size limits, declared (zip) and counted as bytes flow (gzip)', async () => {
  const zeros = Buffer.alloc(8 * 1024 * 1024);
  const limits = { ratioFloorBytes: 1024 * 1024, maxRatio: 50 };
  await rejectsWith(await writeTo(join(dir, 'bomb.zip'), await zipBuffer([{ name: 'dump.rdb', data: rdb }, { name: 'z', data: zeros }])), 'ARCHIVE_HOSTILE', /zip bomb/, limits);
  await rejectsWith(await writeTo(join(dir, 'bomb.tgz'), await tarGzBuffer([{ name: 'dump.rdb', data: rdb }, { name: 'z', data: zeros }])), 'ARCHIVE_HOSTILE', /zip bomb/, limits);
  await rejectsWith(await writeTo(join(dir, 'big.tgz'), await tarGzBuffer([{ name: 'z', data: zeros }])), 'ARCHIVE_HOSTILE', /limit of 1000000 bytes/, { maxTotalBytes: 1_000_000 });
  // A plain .gz is refused while its records are read: the guard stops the stream at the limit.
  const gz = await openInputs(await writeTo(join(dir, 'bomb.gz'), gzipSync(Buffer.concat(Array.from({ length: 200_000 }, () => aof)))), { archiveLimits: limits });
  await assert.rejects(async () => {
    for await (const _ of gz[0]!.records()) {
      /* read until the guard stops it */
    }
  }, (e: unknown) => isFerryError(e, 'ARCHIVE_HOSTILE'));
});

test('entries past the ratio floor that compress normally are read whole (zip, tar.gz, gz)', async () => {
  const limits = { ratioFloorBytes: 1024 * 1024, maxRatio: 50 };
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  const cmd = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${big.length}\r\n`), big, Buffer.from('\r\n')]);
  const files = [
    await writeTo(join(dir, 'okbig.zip'), await zipBuffer([{ name: 'a.aof', data: cmd }])),
    await writeTo(join(dir, 'okbig.tgz'), await tarGzBuffer([{ name: 'a.aof', data: cmd }])),
    await writeTo(join(dir, 'okbig.gz'), gzipSync(cmd)),
  ];
  for (const f of files) {
    const [input] = await openInputs(f, { archiveLimits: limits });
    const got = [];
    for await (const b of input!.records()) got.push(...b);
    assert.equal(got.length, 1, f);
    const r = got[0]!;
    assert.ok(r.kind === 'command' && r.argv[2]!.equals(big), f);
    if (input!.size !== null) assert.equal(input!.bytesRead(), input!.size, f);
  }
});

test('truncated archives are ARCHIVE_CORRUPT', async () => {
  const z = await zipBuffer([{ name: 'dump.rdb', data: rdb }]);
  await rejectsWith(await writeTo(join(dir, 'cut.zip'), z.subarray(0, z.length - 30)), 'ARCHIVE_CORRUPT', /zip/);
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  const t = await tarGzBuffer([{ name: 'dump.rdb', data: rdb }, { name: 'noise.rdb', data: Buffer.concat([Buffer.from('REDIS0009'), big]) }]);
  await rejectsWith(await writeTo(join(dir, 'cut.tgz'), t.subarray(0, Math.floor(t.length / 2))), 'ARCHIVE_CORRUPT', /tar/);
});

test('unknown content is FORMAT_UNKNOWN; an archive with no backup in it too', async () => {
  await rejectsWith(await writeTo(join(dir, 'x.rdb'), Buffer.from('hello world')), 'FORMAT_UNKNOWN', /neither/);
  await rejectsWith(await writeTo(join(dir, 'docs.zip'), await zipBuffer([{ name: 'a.txt', data: Buffer.from('hi') }])), 'FORMAT_UNKNOWN', /holds no RDB/);
});
