/**
 * NodeWriter flow control against a real server: the caps hold, one big command (half the bytes cap
 * or more) is let past the bytes cap so small ones keep the target fed, a second big one waits, and
 * every command is answered in order.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { NodeWriter, type Item } from '../../src/writer/node-writer.js';
import { parseTargetUrl } from '../../src/writer/target-spec.js';
import type { Reply } from '../../src/resp/decoder.js';

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

const LIMITS = { maxInflightCommands: 1000, maxInflightBytes: 64 * 1024 };

async function writer(replies: string[]): Promise<NodeWriter> {
  const spec = parseTargetUrl(server.url);
  const w = new NodeWriter(spec.addrs[0]!, spec, (_it: Item, r: Reply) => replies.push(String(r)), LIMITS);
  await w.connect();
  return w;
}

test('one big command is outside the bytes cap; small ones still go; a second big one waits', async () => {
  const replies: string[] = [];
  const w = await writer(replies);
  try {
    // Written synchronously: no reply can have arrived in between, so each result is the cap's verdict.
    assert.equal(w.write(w.item(['SET', 'big1', Buffer.alloc(40_000, 1)], 0, null)), undefined, 'first big: goes');
    for (let i = 0; i < 6; i++) {
      assert.equal(w.write(w.item(['SET', `s${i}`, Buffer.alloc(5_000, 2)], 0, null)), undefined, `small ${i} beside the big one`);
    }
    const wait = w.write(w.item(['SET', 'big2', Buffer.alloc(40_000, 3)], 0, null));
    assert.ok(wait instanceof Promise, 'a second big command waits for the first');
    await wait;
    // Small ones alone still meet the cap: 64 KiB of them is pressure.
    let p: Promise<void> | undefined;
    for (let i = 0; i < 20 && !p; i++) p = w.write(w.item(['SET', `t${i}`, Buffer.alloc(5_000, 4)], 0, null));
    assert.ok(p instanceof Promise, 'the bytes cap holds for small commands');
    await p;
    await w.idle();
    assert.ok(replies.every((r) => r === 'OK'), replies.join(','));
    const c = server.client();
    assert.equal((await c.strlen('big1')) + (await c.strlen('big2')), 80_000);
    c.disconnect();
  } finally {
    await w.close();
  }
});
