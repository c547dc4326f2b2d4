/**
 * `ferry inspect` as a user runs it (./bin/ferry, the compiled CLI): its JSON facts equal what the
 * corpus README/JSON and a real redis-server say about the same file; bad input exits non-zero with
 * a typed error naming the offset.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { CORPUS } from '../helpers/redis-server.js';
import { makeEveryTypeRdb, type RdbFixture } from '../helpers/make-rdb.js';

const run = promisify(execFile);
const FERRY = new URL('../../bin/ferry', import.meta.url).pathname;

async function inspect(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(FERRY, ['inspect', '--no-progress', ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function inspectJson(file: string, extra: string[] = []): Promise<Record<string, any>> {
  const r = await inspect(['--json', ...extra, file]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

test('--json facts of generated/redis-7.0.rdb equal the server JSON dump', async () => {
  const file = join(CORPUS, 'generated/redis-7.0.rdb');
  const dump = JSON.parse(readFileSync(join(CORPUS, 'generated/redis-7.0.json'), 'utf8'));
  const now = 1_900_000_000_000;
  const r = await inspectJson(file, ['--now', String(now)]);
  assert.equal(r.format, 'rdb');
  assert.equal(r.rdbVersion, 10);
  assert.equal(r.bytes, statSync(file).size);
  const types: Record<string, number> = { string: 0, list: 0, set: 0, zset: 0, hash: 0, stream: 0, module: 0 };
  let keys = 0;
  let expired = 0;
  for (const db of ['0', '1', '7']) {
    const entries = Object.values(dump[db]) as { type: string; expireAt: number | null }[];
    assert.equal(r.databases[db].keys, entries.length, `db ${db} keys`);
    assert.equal(r.databases[db].expires, entries.filter((e) => e.expireAt !== null).length, `db ${db} expires`);
    for (const e of entries) {
      types[e.type]!++;
      keys++;
      if (e.expireAt !== null && e.expireAt <= now) expired++;
    }
  }
  assert.equal(r.keys, keys);
  assert.deepEqual(r.types, types);
  assert.equal(r.expiredKeys, expired);
  assert.ok(expired > 0, 'the corpus has a key already expired by then');
  assert.deepEqual(r.functions, dump.functions);
  assert.equal(r.biggestKeys.length, 20);
  assert.ok(r.biggestKeys.every((k: { bytes: number }, i: number, a: { bytes: number }[]) => i === 0 || a[i - 1]!.bytes >= k.bytes), 'sorted by size');
  assert.equal((await inspectJson(file, ['--now', '0'])).expiredKeys, 0);
});

test('rdb-tools facts: module names, multiple databases, expiry precision', async () => {
  const mod = await inspectJson(join(CORPUS, 'rdb-tools/redis_40_with_module.rdb'));
  assert.deepEqual(mod.modules, { 'ReJSON-RL': 1 });
  assert.match(mod.notices.join(), /40 bytes after the end of the RDB were ignored/, 'the file carries 40 bytes after its CRC');
  assert.equal(mod.types.module, 1);
  const multi = await inspectJson(join(CORPUS, 'rdb-tools/multiple_databases.rdb'));
  assert.deepEqual(Object.keys(multi.databases).sort(), ['0', '2']);
  const exp = await inspectJson(join(CORPUS, 'rdb-tools/keys_with_expiry.rdb'), ['--now', '2022-12-25T10:11:12.572Z']);
  assert.equal(exp.expiredKeys, 0);
  const exp2 = await inspectJson(join(CORPUS, 'rdb-tools/keys_with_expiry.rdb'), ['--now', '2022-12-25T10:11:12.573Z']);
  assert.equal(exp2.expiredKeys, 1, 'expires at exactly 10:11:12.573');
});

const fixtures: RdbFixture[] = [];
after(async () => {
  for (const f of fixtures) await f.cleanup();
});

test('per-database keys and TTL counts equal the server that wrote the file', async () => {
  const fx = await makeEveryTypeRdb();
  fixtures.push(fx);
  const r = await inspectJson(fx.path, ['--now', '0']);
  for (const [db, n] of Object.entries(fx.expected.keysPerDb)) {
    assert.equal(r.databases[db].keys, n, `db ${db}`);
    assert.equal(r.databases[db].expires, fx.expected.expiresPerDb[Number(db)], `db ${db} expires`);
  }
  const human = await inspect([fx.path]);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /REDIS RDB version 10/);
  assert.match(human.stdout, /biggest keys/);
  assert.match(human.stdout, /functions\s+ferrylib/);
});

test('corrupt, truncated and missing files exit non-zero with a typed error naming the offset', async () => {
  const corrupt = await inspect(['--deep', join(CORPUS, 'redis-tests/corrupt_ziplist.rdb')]);
  assert.notEqual(corrupt.code, 0);
  assert.match(corrupt.stderr, /RDB_CORRUPT: .*offset \d+/);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-inspect-'));
  const cut = join(dir, 'cut.rdb');
  const whole = readFileSync(join(CORPUS, 'generated/redis-7.0.rdb'));
  writeFileSync(cut, whole.subarray(0, 100_000));
  const t = await inspect([cut]);
  assert.notEqual(t.code, 0);
  assert.match(t.stderr, /RDB_TRUNCATED: .*offset \d+/);
  const missing = await inspect([join(dir, 'nope.rdb')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /SOURCE_NOT_FOUND/);
});
