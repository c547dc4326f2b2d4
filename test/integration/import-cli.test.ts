/** `ferry import` end to end as a user runs it: exit codes, --json summary on stdout, progress lines on stderr. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startRedis, digest, CORPUS, type RedisServer } from '../helpers/redis-server.js';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const FILE = join(CORPUS, 'generated/redis-7.0.rdb');

function ferry(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let target: RedisServer;
before(async () => {
  target = await startRedis();
});
after(async () => {
  await target.stop();
});

test('ferry import --json: exit 0, summary as the last stdout line, JSON progress on stderr, data exact', async () => {
  const r = await ferry('import', FILE, '--target', target.url, '--json');
  assert.equal(r.code, 0, r.stderr);
  const last = r.stdout.trim().split('\n').at(-1)!;
  const s = JSON.parse(last) as Record<string, number>;
  for (const k of ['keys', 'skippedExpired', 'skippedExisting', 'errors', 'bytes', 'seconds']) assert.equal(typeof s[k], 'number', k);
  assert.equal(s.errors, 0);
  assert.ok(s.keys > 0 && s.skippedExpired >= 1);
  const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.some((l) => 'progress' in l), 'progress lines');
  // The target is on this host: Ferry said it lowered its priority (test/unit/cpu-yield.test.ts checks the threads).
  assert.ok(lines.some((l) => l.code === 'CPU_YIELD'), 'CPU_YIELD notice for a loopback target');
  const native = await startRedis({ rdbFile: FILE });
  try {
    assert.equal(await digest(target.client()), await digest(native.client()));
  } finally {
    await native.stop();
  }
});

test('ferry import --no-yield-cpu: no priority change for a local target, same data', async () => {
  await target.client().flushall();
  const r = await ferry('import', FILE, '--target', target.url, '--json', '--no-yield-cpu');
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /CPU_YIELD/);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1)!).errors, 0);
});

test('ferry import: keys not written -> exit 1 with the key listed; a bad target -> exit 2 with the error code', async () => {
  const c = target.client();
  await c.flushall();
  await c.set('s1:db0:small', 'already-here');
  const r = await ferry('import', FILE, '--target', target.url, '--conflict', 'fail', '--on-error', 'skip', '--json');
  assert.equal(r.code, 1);
  const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { errors: number; errorList: { key: string }[] };
  assert.equal(s.errors, 1);
  assert.equal(s.errorList[0]!.key, 's1:db0:small');
  const bad = await ferry('import', FILE, '--target', 'redis://127.0.0.1:1');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /TARGET_UNREACHABLE/);
  const badArg = await ferry('import', FILE, '--target', target.url, '--db-map', 'x');
  assert.equal(badArg.code, 2);
  assert.match(badArg.stderr, /BAD_ARGUMENT/);
  const badWait = await ferry('import', FILE, '--target', target.url, '--loading-timeout', '0');
  assert.equal(badWait.code, 2);
  assert.match(badWait.stderr, /BAD_ARGUMENT: --loading-timeout/);
});
