/**
 * Backups read from a real S3-protocol server (s3rver behind a fault-injecting, signature-checking
 * proxy): exact imports through 503s and connections cut mid-body (resumed by ranged GETs), zips
 * read by ranged reads, manifests with sibling objects, and typed errors for a missing bucket or
 * object, a wrong secret key, a size mismatch and retries running out. Local buckets too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, readdir, mkdir, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { startRedis, digest, type RedisServer } from '../helpers/redis-server.js';
import { startS3, type S3TestServer } from '../helpers/s3-server.js';
import { openInputs, totalProgress, type OpenInputsOptions } from '../../src/source/index.js';
import { importRecords } from '../../src/pipeline/import.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import type { ErrorCode } from '../../src/errors/catalogue.js';
import { makeAofFixture, type AofFixture } from './aof-fixture.js';
import { zipBuffer } from '../unit/archive-build.js';

let s3: S3TestServer;
let target: RedisServer;
let fx: AofFixture;
let single: Buffer;
let opts: OpenInputsOptions;

before(async () => {
  s3 = await startS3();
  target = await startRedis();
  fx = await makeAofFixture(true);
  single = await readFile(fx.single);
  await s3.createBucket('s3-backups');
  await s3.put('s3-backups', 'single/appendonly.aof', single);
  for (const n of await readdir(fx.dir)) await s3.put('s3-backups', `multi/appendonlydir/${n}`, await readFile(join(fx.dir, n)));
  await s3.put('s3-backups', 'zipped/backup.zip', await zipBuffer([{ name: 'appendonly.aof', data: single }, { name: 'notes.txt', data: Buffer.from('hi') }]));
  opts = { buckets: [s3.bucket('s3-backups')], s3: { backoffMs: 5 } };
});

after(async () => {
  await target?.stop();
  await s3?.stop();
  if (fx) await rm(dirname(fx.dir), { recursive: true, force: true });
});

async function importSpec(spec: Parameters<typeof openInputs>[0], o: OpenInputsOptions = opts): Promise<string> {
  const c = target.client();
  await c.flushall();
  const inputs = await openInputs(spec, o);
  const s = await importRecords(inputs, { target: target.url });
  assert.equal(s.errors, 0);
  const p = totalProgress(inputs);
  assert.equal(p.bytesRead, p.size);
  return digest(c);
}

test('an AOF object imports exactly through injected 503s and mid-body connection cuts', async () => {
  s3.faults.gets = 0;
  s3.faults.ranges = [];
  s3.faults.status503 = 2;
  s3.faults.cuts = 3;
  s3.faults.cutAfter = Math.floor(single.length / 5);
  assert.equal(await importSpec('s3://s3-backups/single/appendonly.aof'), fx.digest);
  assert.equal(s3.faults.cuts, 0);
  const resumed = s3.faults.ranges.filter((r) => !r.startsWith('bytes=0-'));
  assert.ok(resumed.length >= 3, `ranged resumes: ${s3.faults.ranges.join(' ')}`);
});

test('a body that stalls mid-way is abandoned after the idle timeout and resumed by range', async () => {
  s3.faults.ranges = [];
  s3.faults.stalls = 1;
  s3.faults.cutAfter = Math.floor(single.length / 3);
  const t0 = performance.now();
  assert.equal(await importSpec('s3://s3-backups/single/appendonly.aof', { ...opts, s3: { backoffMs: 5, socketTimeoutMs: 500 } }), fx.digest);
  assert.equal(s3.faults.stalls, 0);
  assert.ok(s3.faults.ranges.some((r) => r.startsWith(`bytes=${s3.faults.cutAfter}-`)), s3.faults.ranges.join(' '));
  assert.ok(performance.now() - t0 < 20_000);
});

test('a multi-part AOF in a bucket (manifest + siblings) and a zip read by ranges', async () => {
  const manifest = (await readdir(fx.dir)).find((n) => n.endsWith('.manifest'))!;
  assert.equal(await importSpec({ bucket: 's3-backups', key: `multi/appendonlydir/${manifest}` }), fx.digest);
  s3.faults.ranges = [];
  assert.equal(await importSpec('s3://s3-backups/zipped/backup.zip'), fx.digest);
  assert.ok(s3.faults.ranges.every((r) => r.startsWith('bytes=')), 'every zip read is a ranged GET');
});

async function rejectsCode(p: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isFerryError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('missing object or bucket, wrong secret, size mismatch, retries exhausted: typed errors naming bucket and key', async () => {
  await rejectsCode(openInputs('s3://s3-backups/nope.rdb', opts), 'SOURCE_NOT_FOUND', /nope\.rdb.*s3-backups/);
  await rejectsCode(openInputs('s3://missing-bucket/x.rdb', { buckets: [s3.bucket('missing-bucket')] }), 'SOURCE_NOT_FOUND', /bucket missing-bucket/);
  await rejectsCode(openInputs('s3://s3-backups/single/appendonly.aof', { buckets: [s3.bucket('s3-backups', { secret_key: 'wrong' })] }), 'SOURCE_ACCESS_DENIED', /backups\/single\/appendonly\.aof/);
  await rejectsCode(openInputs({ bucket: 's3-backups', key: 'single/appendonly.aof', size: single.length + 1 }, opts), 'SOURCE_SIZE_MISMATCH', /backups\/single\/appendonly\.aof/);
  const inputs = await openInputs('s3://s3-backups/single/appendonly.aof', { ...opts, s3: { retries: 2, backoffMs: 1 } });
  s3.faults.cuts = 100;
  s3.faults.cutAfter = 0;
  try {
    await rejectsCode(
      (async () => {
        for await (const _ of inputs[0]!.records()) {
          /* read until retries run out */
        }
      })(),
      'SOURCE_IO',
      /gave up after 2 retries/,
    );
  } finally {
    s3.faults.cuts = 0;
  }
});

test('local buckets: a directory per bucket under the data root, keys kept inside it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ferry-root-'));
  try {
    await mkdir(join(root, 'buckets', 'local1', 'sub'), { recursive: true });
    await copyFile(fx.single, join(root, 'buckets', 'local1', 'sub', 'appendonly.aof'));
    assert.equal(await importSpec({ bucket: 'local1', key: 'sub/appendonly.aof' }, { dataRoot: root, env: {} }), fx.digest);
    await rejectsCode(openInputs({ bucket: 'local1', key: '../../etc/passwd' }, { dataRoot: root, env: {} }), 'BAD_ARGUMENT', /plain relative key/);
    await rejectsCode(openInputs({ bucket: 'local1', key: 'none.rdb' }, { dataRoot: root, env: {} }), 'SOURCE_NOT_FOUND', /none\.rdb.*local1/);
    await rejectsCode(openInputs({ bucket: 'nobucket', key: 'x' }, { dataRoot: root, env: {} }), 'SOURCE_NOT_FOUND', /bucket nobucket/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('ferry import and ferry inspect take s3://bucket/key with the bucket from the AWS_* environment', async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const run = promisify(execFile);
  const cwd = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: s3.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1',
    FERRY_DATA_DIR: join(cwd, 'data'),
  };
  const main = join(process.cwd(), 'src/cli/main.ts');
  // The CLI runs from an empty directory (no ferry.yaml): tsx is loaded by URL from the project.
  const tsx = import.meta.resolve('tsx');
  try {
    const c = target.client();
    await c.flushall();
    const imp = await run(process.execPath, ['--import', tsx, main, 'import', 's3://s3-backups/single/appendonly.aof', '-t', target.url, '--json'], { cwd, env, timeout: 60_000 });
    const summary = JSON.parse(imp.stdout.trim().split('\n').pop()!) as { errors: number; aofCommands: number };
    assert.equal(summary.errors, 0);
    assert.ok(summary.aofCommands > 0);
    assert.equal(await digest(c), fx.digest);
    const ins = await run(process.execPath, ['--import', tsx, main, 'inspect', 's3://s3-backups/zipped/backup.zip', '--json', '--no-progress'], { cwd, env, timeout: 60_000 });
    const report = JSON.parse(ins.stdout.trim()) as { input: { kind: string; container: string }; rdbVersion: number; aof: { commands: number } };
    assert.deepEqual(report.input, { kind: 'rdb', container: 'zip' });
    assert.equal(report.rdbVersion, 10);
    assert.ok(report.aof.commands > 0);
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
});
