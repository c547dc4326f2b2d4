/**
 * AOF fidelity: files written by redis-server (every form) imported into a fresh server give the
 * DEBUG DIGEST of the server that wrote them, and of a server loading them natively.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { startRedis, digest, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { openInputs } from '../../src/source/index.js';
import { importRecords } from '../../src/pipeline/import.js';
import { makeAofFixture, type AofFixture } from './aof-fixture.js';

let target: RedisServer;
let withPreamble: AofFixture;
let plain: AofFixture;

before(async () => {
  target = await startRedis();
  withPreamble = await makeAofFixture(true);
  plain = await makeAofFixture(false);
});

after(async () => {
  await target?.stop();
  for (const f of [withPreamble, plain]) if (f) await rm(dirname(f.dir), { recursive: true, force: true });
});

async function importInto(path: string): Promise<string> {
  const c = target.client();
  await c.flushall();
  const inputs = await openInputs(path);
  const summary = await importRecords(inputs, { target: target.url });
  assert.equal(summary.errors, 0);
  return digest(c);
}

test('Redis 7 multi-part dir (RDB base + incr) imports to the same digest', async () => {
  const inputs = await openInputs(withPreamble.dir);
  assert.equal(inputs.length, 1);
  assert.deepEqual(inputs[0]!.format, { kind: 'aof-multipart', container: 'dir', rdb: { magic: 'REDIS', version: 10 } });
  assert.equal(await importInto(withPreamble.dir), withPreamble.digest);
});

test('Redis 7 multi-part dir (AOF base, preamble off) imports to the same digest', async () => {
  assert.equal(await importInto(plain.dir), plain.digest);
});

test('single old-style AOF with RDB preamble imports to the same digest', async () => {
  const inputs = await openInputs(withPreamble.single);
  assert.deepEqual(inputs[0]!.format.kind, 'rdb');
  assert.equal(inputs[0]!.format.rdb?.version, 10);
  assert.equal(await importInto(withPreamble.single), withPreamble.digest);
});

test('single plain AOF (no preamble, #TS annotations) imports to the same digest; the manifest alone also works', async () => {
  const { readFile } = await import('node:fs/promises');
  assert.match((await readFile(plain.single)).toString('latin1'), /#TS:\d+\r\n/);
  assert.equal(await importInto(plain.single), plain.digest);
  const manifest = (await readdir(plain.dir)).find((n) => n.endsWith('.manifest'))!;
  assert.equal(await importInto(join(plain.dir, manifest)), plain.digest);
});

test('corpus rdb-preamble.aof: same digest as redis-server loading it natively', async () => {
  const file = join(CORPUS, 'redis-tests', 'rdb-preamble.aof');
  const dir = await mkdtemp(join(tmpdir(), 'ferry-native-'));
  await copyFile(file, join(dir, 'appendonly.aof'));
  const native = await startRedis({ args: ['--appendonly', 'yes', '--dir', dir] });
  try {
    const expected = await digest(native.client());
    assert.notEqual(expected, '0'.repeat(40));
    assert.equal(await importInto(file), expected);
  } finally {
    await native.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a server loading the multi-part dir natively agrees with the writer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-native-'));
  try {
    const { cp } = await import('node:fs/promises');
    await cp(withPreamble.dir, join(dir, 'appendonlydir'), { recursive: true });
    const native = await startRedis({ args: ['--appendonly', 'yes', '--dir', dir] });
    try {
      assert.equal(await digest(native.client()), withPreamble.digest);
    } finally {
      await native.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
