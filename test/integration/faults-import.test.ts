/**
 * Faults: a loopback proxy that cuts the connection mid-import, and a target restarted mid-import.
 * The import either recovers (and then the data is exactly right) or fails with a typed error that
 * names what was lost; it never reports success with keys missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { startRedis, digest, type RedisServer } from '../helpers/redis-server.js';
import { startProxy } from '../helpers/loopback-proxy.js';
import { makeRdbWith, makeEveryTypeRdb, type RdbFixture } from '../helpers/make-rdb.js';
import { importRecords } from '../../src/pipeline/import.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import { rdbInput, diffKeys, paced } from './import-helpers.js';

/** Forwards to `port`; the first `cuts` connections are destroyed once `cutAfter` client bytes went through. */
async function cuttingProxy(port: number, cutAfter: number, cuts: number): Promise<{ port: number; cutsDone: () => number; close: () => Promise<void> }> {
  let done = 0;
  const proxy = await startProxy(port, (c) => {
    const armed = done < cuts;
    let seen = 0;
    return {
      onData(d) {
        seen += d.length;
        if (armed && seen >= cutAfter && !c.client.destroyed) {
          done++;
          // Forward only part of the chunk, then cut: the server may have run some commands whose replies are lost.
          c.upstream.write(d.subarray(0, Math.max(0, d.length - (seen - cutAfter))), () => c.destroy());
          return;
        }
        c.upstream.write(d);
      },
    };
  });
  return { port: proxy.port, cutsDone: () => done, close: () => proxy.close() };
}

let target: RedisServer;
let mixed: RdbFixture;
let bigList: RdbFixture;
before(async () => {
  target = await startRedis();
  mixed = await makeRdbWith(async (c) => {
    const p = c.pipeline();
    for (let i = 0; i < 20000; i++) p.set(`s:${i}`, `value-${i}`);
    for (let i = 0; i < 500; i++) p.rpush(`l:${i}`, ...Array.from({ length: 20 }, (_, j) => `e${j}`));
    for (let i = 0; i < 500; i++) p.hset(`h:${i}`, 'a', '1', 'b', String(i));
    for (let i = 0; i < 2000; i++) p.set(`t:${i}`, 'x', 'PXAT', 4_102_444_800_000 + i);
    await p.exec();
  });
  bigList = await makeRdbWith(async (c) => {
    for (let i = 0; i < 20; i++) await c.rpush('big', ...Array.from({ length: 10000 }, (_, j) => `element-${i}-${j}-padding-padding`));
  });
});
after(async () => {
  await mixed?.cleanup();
  await bigList?.cleanup();
  await target.stop();
});

for (const mode of ['auto', 'rewrite'] as const) {
  for (const cutAfter of [5_000, 300_000, 900_000]) {
    test(`connection cut after ${cutAfter} bytes (${mode}): reconnects, re-sends, data exact`, async () => {
      const tc = target.client();
      await tc.flushall();
      const proxy = await cuttingProxy(target.port, cutAfter, 1);
      try {
        const s = await importRecords([rdbInput(mixed.path)], { target: `redis://127.0.0.1:${proxy.port}`, mode });
        assert.equal(proxy.cutsDone(), 1, 'the proxy did cut');
        assert.ok(s.reconnects >= 1, `reconnects ${s.reconnects}`);
        assert.equal(s.errors, 0);
        assert.equal(s.keys, 23000);
        const native = await startRedis({ rdbFile: mixed.path });
        try {
          const [want, got] = [await digest(native.client()), await digest(tc)];
          if (want !== got) assert.fail((await diffKeys(native.client(), tc)).join('; '));
        } finally {
          await native.stop();
        }
      } finally {
        await proxy.close();
      }
    });
  }
}

test('every type, cut twice, still exact', async () => {
  const f = await makeEveryTypeRdb({ seed: 3 });
  const tc = target.client();
  await tc.flushall();
  await tc.call('FUNCTION', 'FLUSH');
  const proxy = await cuttingProxy(target.port, 20_000, 2);
  try {
    const s = await importRecords([rdbInput(f.path)], { target: `redis://127.0.0.1:${proxy.port}`, mode: 'rewrite' });
    assert.ok(s.reconnects >= 1);
    const native = await startRedis({ rdbFile: f.path });
    try {
      assert.equal(await digest(tc), await digest(native.client()));
    } finally {
      await native.stop();
    }
  } finally {
    await proxy.close();
    await f.cleanup();
  }
});

test('a big streamed key cut halfway fails naming the key (it cannot be re-sent safely)', async () => {
  await target.client().flushall();
  const proxy = await cuttingProxy(target.port, 2_000_000, 1);
  try {
    await assert.rejects(
      importRecords([rdbInput(bigList.path, { inlineLimit: 64 * 1024 })], { target: `redis://127.0.0.1:${proxy.port}` }),
      (e: unknown) => isFerryError(e, 'TARGET_CONNECTION_LOST') && e.context.key === 'big',
    );
  } finally {
    await proxy.close();
  }
});

test('the same big key held inline (DEL + rebuild batch in memory) is re-sent whole and arrives exact', async () => {
  const tc = target.client();
  await tc.flushall();
  const proxy = await cuttingProxy(target.port, 2_000_000, 1);
  try {
    const s = await importRecords([rdbInput(bigList.path)], { target: `redis://127.0.0.1:${proxy.port}`, mode: 'rewrite' });
    assert.ok(s.reconnects >= 1);
    assert.equal(await tc.llen('big'), 200_000);
    assert.equal(await tc.lindex('big', -1), 'element-19-9999-padding-padding');
  } finally {
    await proxy.close();
  }
});

test('target restarted mid-import (data gone): fails clearly, never claims success', async () => {
  const t = await startRedis();
  let restarted: ReturnType<typeof spawn> | null = null;
  try {
    const importing = importRecords([paced(rdbInput(mixed.path), 200, 2)], { target: t.url });
    const c = t.client();
    for (let i = 0; i < 500 && (await c.dbsize()) < 2000; i++) await new Promise((r) => setTimeout(r, 5));
    c.disconnect();
    const exited = new Promise((r) => t.proc.once('exit', r));
    t.proc.kill('SIGKILL');
    await exited;
    restarted = spawn('redis-server', ['--port', String(t.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', t.dir, '--dbfilename', 'none.rdb'], { stdio: 'ignore' });
    await assert.rejects(importing, (e: unknown) => isFerryError(e, 'TARGET_CONNECTION_LOST') && /restarted/.test(e.message));
  } finally {
    if (restarted && restarted.exitCode === null) {
      const ex = new Promise((r) => restarted!.once('exit', r));
      restarted.kill('SIGKILL');
      await ex;
    }
    await killAndClean(t);
  }
});

test('target gone for good: bounded retries, then TARGET_CONNECTION_LOST', async () => {
  const t = await startRedis();
  try {
    const importing = importRecords([paced(rdbInput(mixed.path), 200, 2)], { target: t.url });
    const c = t.client();
    for (let i = 0; i < 500 && (await c.dbsize()) < 1000; i++) await new Promise((r) => setTimeout(r, 5));
    c.disconnect();
    t.proc.kill('SIGKILL');
    const started = Date.now();
    await assert.rejects(importing, (e: unknown) => isFerryError(e, 'TARGET_CONNECTION_LOST') && /could not be re-established/.test(e.message));
    assert.ok(Date.now() - started < 30_000);
  } finally {
    await killAndClean(t);
  }
});
/** RedisServer.stop() waits for an 'exit' event, which already fired for a server these tests killed. */
async function killAndClean(t: RedisServer): Promise<void> {
  if (t.proc.exitCode === null && t.proc.signalCode === null) await t.stop();
  else await rm(t.dir, { recursive: true, force: true });
}
