/**
 * A target still loading its dataset (a redis-server just started on a big RDB answers writes, PING
 * and FUNCTION LOAD with -LOADING): the import waits for it, says so, then writes everything exactly;
 * past its loading timeout it fails with TARGET_LOADING naming the target and how far it got.
 * `key-load-delay` (a redis-server test setting, microseconds per key) makes the load last seconds.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { startRedis, digest, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { importRecords } from '../../src/pipeline/import.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import { parseLoading } from '../../src/writer/loading.js';
import { rdbInput } from './import-helpers.js';

const execFileP = promisify(execFile);
const FILE = join(CORPUS, 'generated/redis-7.0.rdb');
const PRELOADED = 100_000;

/** A server whose dir holds a dump.rdb of PRELOADED keys; stopped, to be started again loading. */
let seed: RedisServer;
before(async () => {
  seed = await startRedis({ keepDir: true });
  const c = seed.client();
  await c.call('DEBUG', 'POPULATE', String(PRELOADED), 'pre');
  await c.call('SAVE');
  await seed.stop();
});
after(async () => {
  await rm(seed.dir, { recursive: true, force: true });
});

/** Starts redis-server on the seed's dump.rdb, slowed to `usPerKey` per key; resolves once it is loading. */
async function startLoading(usPerKey: number): Promise<{ proc: ChildProcess; url: string; port: number; stop: () => Promise<void> }> {
  const port = seed.port;
  const proc = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', seed.dir, '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no',
    '--enable-debug-command', 'yes', '--key-load-delay', String(usPerKey), '--loading-process-events-interval-bytes', '1024',
  ], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
  };
  for (let i = 0; i < 200; i++) {
    try {
      const { stdout } = await execFileP('redis-cli', ['-p', String(port), 'INFO', 'persistence'], { timeout: 2000 });
      if (parseLoading(stdout).loading) return { proc, url: `redis://127.0.0.1:${port}`, port, stop };
      if (/loading:0/.test(stdout)) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await stop();
  throw new Error('redis-server was never seen loading: make key-load-delay larger');
}

test('parseLoading reads INFO persistence', () => {
  assert.deepEqual(parseLoading('# Persistence\r\nloading:1\r\nasync_loading:0\r\nloading_loaded_perc:42.50\r\nloading_eta_seconds:12\r\n'), { loading: true, percent: 42.5, etaSeconds: 12 });
  assert.deepEqual(parseLoading('# Persistence\r\nloading:0\r\n'), { loading: false, percent: null, etaSeconds: null });
});

test('target loading its dataset: the import waits for it (TARGET_LOADING notice), then everything arrives', async () => {
  const t = await startLoading(20); // 100,000 keys x 20 us: about 2 s of loading
  try {
    const notices: string[] = [];
    const started = Date.now();
    const s = await importRecords([rdbInput(FILE)], { target: t.url, log: (level, code, msg) => { if (code === 'TARGET_LOADING') notices.push(msg); } });
    assert.equal(s.errors, 0);
    assert.ok(s.functions >= 1, 'the file\'s functions were loaded (FUNCTION LOAD is refused while loading)');
    assert.match(notices[0] ?? '', new RegExp(`target 127\\.0\\.0\\.1:${t.port} is loading its dataset .*waits`));
    assert.match(notices.at(-1) ?? '', /finished loading its dataset after/);
    assert.ok(Date.now() - started >= 300, 'it did wait');
    // The target holds the preloaded keys and the file's, exactly: same digest as a server that loaded
    // the file natively and got the same DEBUG POPULATE.
    const expected = await startRedis({ rdbFile: FILE });
    try {
      await expected.client().call('DEBUG', 'POPULATE', String(PRELOADED), 'pre');
      const { Redis } = await import('ioredis');
      const c = new Redis({ host: '127.0.0.1', port: t.port, maxRetriesPerRequest: 1 });
      try {
        assert.equal(await digest(c), await digest(expected.client()));
      } finally {
        c.disconnect();
      }
    } finally {
      await expected.stop();
    }
  } finally {
    await t.stop();
  }
});

test('target still loading past the loading timeout: TARGET_LOADING naming the target and how far it got', async () => {
  const t = await startLoading(100); // about 10 s of loading
  try {
    const started = Date.now();
    await assert.rejects(
      importRecords([rdbInput(FILE)], { target: { addrs: [{ host: '127.0.0.1', port: t.port }], loadingTimeoutMs: 600 } }),
      (e: unknown) => isFerryError(e, 'TARGET_LOADING') && new RegExp(`127\\.0\\.0\\.1:${t.port} was still loading its dataset after \\d+ s \\(\\d+\\.\\d% loaded`).test(e.message),
    );
    assert.ok(Date.now() - started < 5000, 'gave up at the timeout, not at the end of the load');
  } finally {
    await t.stop();
  }
});
