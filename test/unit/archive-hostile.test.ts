/** Archives are chosen by content; hostile and broken ones are refused with typed errors before any input is returned. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openInputs } from '../../src/source/index.js';
import type { SourceInput } from '../../src/source/inputs.js';
import type { ReadOptions } from '../../src/source/inputs.js';
import type { AofNotice } from '../../src/aof/aof-reader.js';
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
  // A plain .gz is expanded whole before its first record: the guard stops that pass at the limit.
  const bombPath = await writeTo(join(dir, 'bomb.gz'), gzipSync(Buffer.concat(Array.from({ length: 200_000 }, () => aof))));
  const gz = await openInputs(bombPath, { archiveLimits: limits });
  const r = await pull(gz[0]!);
  assert.ok(isFerryError(r.error, 'ARCHIVE_HOSTILE') && /zip bomb/.test(r.error.message) && r.error.context.file === bombPath, String(r.error));
  assert.equal(r.records, 0, 'no record before the bomb is found');
});

/** Pulls an input's records until the end or an error: how many came out first, and the error. */
async function pull(input: SourceInput): Promise<{ records: number; error: unknown }> {
  let records = 0;
  try {
    for await (const b of input.records()) records += b.length;
    return { records, error: null };
  } catch (error) {
    return { records, error };
  }
}

/** Many distinct SETs that compress like real data (so a cut .gz still expands to thousands of them). */
function manySets(n: number): Buffer {
  const parts: Buffer[] = [];
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const k = `key:${i}`;
    const v = x.toString(36).repeat(3);
    parts.push(Buffer.from(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`));
  }
  return Buffer.concat(parts);
}

test('a plain .gz that is truncated, has a bad CRC or length trailer, or garbage after it fails typed before any record', async () => {
  const body = manySets(20_000);
  const gz = gzipSync(body);
  const crc = Buffer.from(gz);
  crc[crc.length - 6]! ^= 0xff;
  const isize = Buffer.from(gz);
  isize[isize.length - 2]! ^= 0xff;
  const cases: [string, Buffer, RegExp][] = [
    ['cut.aof.gz', gz.subarray(0, Math.floor(gz.length * 0.6)), /unexpected end of file.*truncated/],
    ['cut-trailer.aof.gz', gz.subarray(0, gz.length - 3), /truncated/],
    ['crc.aof.gz', crc, /incorrect data check/],
    ['isize.aof.gz', isize, /incorrect length check/],
    ['garbage.aof.gz', Buffer.concat([gz, Buffer.from('not gzip at all')]), /damaged/],
  ];
  for (const [name, data, pattern] of cases) {
    const path = await writeTo(join(dir, name), data);
    const [input] = await openInputs(path);
    assert.equal(input!.format.container, 'gz');
    const r = await pull(input!);
    assert.ok(isFerryError(r.error, 'ARCHIVE_CORRUPT'), `${name}: ${String(r.error)}`);
    assert.match(r.error.message, pattern, name);
    assert.equal(r.error.context.file, path, name);
    assert.equal(r.records, 0, `${name}: no record before the damage is found`);
  }
  // The same for an RDB in a .gz (the expanding pass does not depend on what the .gz holds).
  const rdbGz = gzipSync(await readFile(join(CORPUS, 'rdb-tools', 'dictionary.rdb')));
  const cutRdb = await writeTo(join(dir, 'cut.rdb.gz'), rdbGz.subarray(0, Math.floor(rdbGz.length * 0.6)));
  const r = await pull((await openInputs(cutRdb))[0]!);
  assert.ok(isFerryError(r.error, 'ARCHIVE_CORRUPT') && r.error.context.file === cutRdb, String(r.error));
  assert.equal(r.records, 0);
  // A whole .gz reads both passes: size and bytesRead are twice the file.
  const ok = await writeTo(join(dir, 'ok.aof.gz'), gz);
  const [input] = await openInputs(ok);
  const whole = await pull(input!);
  assert.deepEqual([whole.error, whole.records], [null, 20_000]);
  assert.equal(input!.size, 2 * gz.length);
  assert.equal(input!.bytesRead(), 2 * gz.length);
});

test('an AOF with a truncated tail, a dangling MULTI or a refused command writes nothing: bare, .gz, .zip, .tar.gz', async () => {
  const body = manySets(5_000);
  const bad: [string, Buffer, 'AOF_TRUNCATED' | 'AOF_COMMAND_REFUSED', RegExp][] = [
    ['cut', Buffer.concat([body, Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk')]), 'AOF_TRUNCATED', /ends inside a command/],
    ['multi', Buffer.concat([body, Buffer.from('*1\r\n$5\r\nMULTI\r\n'), manySets(2)]), 'AOF_TRUNCATED', /inside the MULTI block/],
    ['flush', Buffer.concat([body, Buffer.from('*1\r\n$8\r\nFLUSHALL\r\n'), manySets(2)]), 'AOF_COMMAND_REFUSED', /FLUSHALL/],
  ];
  for (const [tag, data, code, pattern] of bad) {
    const forms: [string, string][] = [
      [await writeTo(join(dir, `${tag}.aof`), data), ''],
      [await writeTo(join(dir, `${tag}.aof.gz`), gzipSync(data)), ''],
      [await writeTo(join(dir, `${tag}.zip`), await zipBuffer([{ name: 'x/a.aof', data }])), '!x/a.aof'],
      [await writeTo(join(dir, `${tag}.tgz`), await tarGzBuffer([{ name: 'x/a.aof', data }])), '!x/a.aof'],
    ];
    for (const [path, inner] of forms) {
      const [input] = await openInputs(path);
      const r = await pull(input!);
      assert.ok(isFerryError(r.error, code), `${path}: ${String(r.error)}`);
      assert.match(r.error.message, pattern);
      assert.equal(r.error.context.file, path + inner);
      assert.equal(r.error.context.offset, body.length, path);
      assert.equal(r.records, 0, `${path}: no record before the error`);
    }
    // Tolerated, the same AOF is read as before: everything up to the tail or refused command, and a notice.
    const notices: AofNotice[] = [];
    const lenient: ReadOptions = { aofTruncated: 'load', aofRefused: 'skip', onNotice: (n) => notices.push(n) };
    const [input] = await openInputs(join(dir, `${tag}.aof`), lenient);
    const r = await pull(input!);
    assert.equal(r.error, null, String(r.error));
    assert.equal(r.records, tag === 'flush' ? 5_002 : 5_000);
    assert.equal(notices.length, 1);
    assert.equal(input!.size, data.length, 'no checking pass when both are tolerated');
    assert.equal(input!.bytesRead(), data.length);
  }
  // Truncation tolerated but refusals not: the check still runs (and accepts the tail).
  const [loadOnly] = await openInputs(join(dir, 'flush.aof'), { aofTruncated: 'load' });
  assert.equal((await pull(loadOnly!)).records, 0);
  const [cutLoad] = await openInputs(join(dir, 'cut.aof'), { aofTruncated: 'load' });
  assert.deepEqual(await pull(cutLoad!), { records: 5_000, error: null });
});

test('the checking pass is counted: a whole AOF reads twice (size and bytesRead), a plain RDB once', async () => {
  const data = manySets(1_000);
  const [a] = await openInputs(await writeTo(join(dir, 'whole.aof'), data));
  assert.deepEqual(await pull(a!), { records: 1_000, error: null });
  assert.equal(a!.size, 2 * data.length);
  assert.equal(a!.bytesRead(), 2 * data.length);
  const [z] = await openInputs(await writeTo(join(dir, 'whole.zip'), await zipBuffer([{ name: 'a.aof', data }])));
  assert.equal((await pull(z!)).records, 1_000);
  assert.equal(z!.bytesRead(), z!.size);
  const [r] = await openInputs(await writeTo(join(dir, 'plain.rdb'), rdb));
  assert.equal((await pull(r!)).error, null);
  assert.equal(r!.size, rdb.length);
  assert.equal(r!.bytesRead(), rdb.length);
  const preamble = await readFile(join(CORPUS, 'redis-tests', 'rdb-preamble.aof'));
  const [p] = await openInputs(await writeTo(join(dir, 'preamble.aof'), preamble));
  assert.equal((await pull(p!)).error, null);
  assert.equal(p!.size, 2 * preamble.length);
  assert.equal(p!.bytesRead(), 2 * preamble.length);
  // A preamble AOF whose RESP tail is cut writes none of its RDB part either.
  const [pc] = await openInputs(await writeTo(join(dir, 'preamble-cut.aof'), preamble.subarray(0, preamble.length - 3)));
  const cut = await pull(pc!);
  assert.ok(isFerryError(cut.error, 'AOF_TRUNCATED'), String(cut.error));
  assert.equal(cut.records, 0);
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

test('the backups of one archive are checked together: a bad AOF after a good RDB fails before any record (zip, tar.gz)', async () => {
  const body = manySets(2_000);
  const dangling = Buffer.concat([body, Buffer.from('*1\r\n$5\r\nMULTI\r\n'), manySets(3)]);
  const entries = [{ name: 'a/dump.rdb', data: rdb }, { name: 'b/cmds.aof', data: dangling }];
  const zip = await writeTo(join(dir, 'rdb-then-multi.zip'), await zipBuffer(entries));
  const tgz = await writeTo(join(dir, 'rdb-then-multi.tgz'), await tarGzBuffer(entries));
  const zi = await openInputs(zip);
  assert.deepEqual(zi.map((i) => i.format.kind), ['rdb', 'aof']);
  const [ti] = await openInputs(tgz);
  // Reading the first backup (no check() called first) checks the second one before any record.
  for (const [path, input] of [[zip, zi[0]!], [tgz, ti!]] as const) {
    const r = await pull(input);
    assert.ok(isFerryError(r.error, 'AOF_TRUNCATED'), `${path}: ${String(r.error)}`);
    assert.match(r.error.message, /inside the MULTI block/);
    assert.equal(r.error.context.file, `${path}!b/cmds.aof`);
    assert.equal(r.error.context.offset, body.length);
    assert.equal(r.records, 0, `${path}: no record of the good RDB before the error`);
  }
  // check() on any input of the zip checks them all, once.
  const again = await openInputs(zip);
  await assert.rejects(again[0]!.check!(), (e: unknown) => isFerryError(e, 'AOF_TRUNCATED') && e.context.file === `${zip}!b/cmds.aof`);
  await assert.rejects(again[1]!.check!(), (e: unknown) => isFerryError(e, 'AOF_TRUNCATED'));

  // Whole, the same archives read every record; check() then records() reads each pass once (zip: size is honest).
  const good = [{ name: 'a/dump.rdb', data: rdb }, { name: 'b/cmds.aof', data: body }];
  const okZip = await openInputs(await writeTo(join(dir, 'rdb-then-aof.zip'), await zipBuffer(good)));
  for (const i of okZip) await i.check?.();
  let records = 0;
  for (const i of okZip) records += (await pull(i)).records;
  assert.ok(records > 2_000);
  assert.equal(okZip.reduce((a, i) => a + i.bytesRead(), 0), okZip.reduce((a, i) => a + i.size!, 0));
});

test('a tar runs the AOF check during its listing pass: no pass of its own per entry; a part before the last still judged as such', async () => {
  const body = manySets(1_000);
  const tgz = await writeTo(join(dir, 'one-aof.tgz'), await tarGzBuffer([{ name: 'x/a.aof', data: body }]));
  const [t] = await openInputs(tgz);
  await t!.check!();
  const size = (await readFile(tgz)).length;
  assert.equal(t!.bytesRead(), size, 'check(): the listing pass alone');
  assert.deepEqual(await pull(t!), { records: 1_000, error: null });
  assert.equal(t!.bytesRead(), 2 * size, 'the listing pass, then one reading pass');

  // A multi-part set whose middle file is cut: the listing checks it as a whole file (where a cut
  // tail may be dropped under load), so its own pass judges it as a file before the last.
  const set = (k: string): string => `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$1\r\nv\r\n`;
  const mp = await writeTo(join(dir, 'mp-cut.tgz'), await tarGzBuffer([
    { name: 'x/a.aof.manifest', data: Buffer.from('file a.base.aof seq 1 type b\nfile a.1.incr.aof seq 1 type i\nfile a.2.incr.aof seq 2 type i\n') },
    { name: 'x/a.base.aof', data: Buffer.from(set('a').repeat(20)) },
    { name: 'x/a.1.incr.aof', data: Buffer.from(set('b') + '*2\r\n$3\r\nDEL') },
    { name: 'x/a.2.incr.aof', data: Buffer.from(set('c')) },
  ]));
  for (const aofTruncated of ['error', 'load'] as const) {
    const [m] = await openInputs(mp, { aofTruncated });
    const r = await pull(m!);
    assert.ok(isFerryError(r.error, 'AOF_TRUNCATED'), `${aofTruncated}: ${String(r.error)}`);
    assert.match(r.error.message, /only the last file/);
    assert.equal(r.error.context.file, `${mp}!x/a.1.incr.aof`);
    assert.equal(r.error.context.offset, set('b').length);
    assert.equal(r.records, 0);
  }
});
