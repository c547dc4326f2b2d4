/**
 * The fixture helpers themselves: the every-type RDB really holds each encoding Redis 7.0 writes, is
 * deterministic, and loads natively into a fresh server with the digest recorded at SAVE time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { makeEveryTypeRdb, makeRdbWith, dumpPayload, pipeInto, FIXTURE_FUNCTION, type Command } from '../helpers/make-rdb.js';
import { startRedis, digest } from '../helpers/redis-server.js';

test('every-type RDB holds each Redis 7.0 encoding, in dbs 0, 1 and 7, and reloads to the same digest', async () => {
  const fx = await makeEveryTypeRdb();
  try {
    const fh = await open(fx.path);
    const head = Buffer.alloc(9);
    await fh.read(head, 0, 9, 0);
    await fh.close();
    assert.equal(head.toString('latin1'), 'REDIS0010');

    assert.deepEqual(Object.keys(fx.expected.keysPerDb).map(Number).sort((a, b) => a - b), [0, 1, 7]);
    const perDb = fx.expected.keysPerDb[0]!;
    assert.equal(perDb, 40); // 15 strings, 5 lists, 6 sets, 4 zsets, 3 hashes, 4 streams, 3 TTL keys
    assert.equal(fx.expected.keysPerDb[1], perDb);
    assert.equal(fx.expected.expiresPerDb[7], fx.expected.expiresPerDb[0]);
    assert.deepEqual(fx.expected.functions, ['ferrylib']);

    const seen = new Set(fx.expected.keys.map((k) => `${k.type}:${k.encoding}`));
    // Redis 7.0 reports every list as `quicklist` (type 18 in the RDB, listpack or PLAIN nodes inside).
    for (const want of ['string:int', 'string:embstr', 'string:raw', 'list:quicklist', 'set:intset',
      'set:hashtable', 'zset:listpack', 'zset:skiplist', 'hash:listpack', 'hash:hashtable', 'stream:stream']) {
      assert.ok(seen.has(want), `missing ${want}; have ${[...seen].join(', ')}`);
    }
    const db0 = new Map(fx.expected.keys.filter((k) => k.db === 0).map((k) => [k.key.toString('latin1'), k]));
    assert.equal(db0.get('t:list:plain')?.encoding, 'quicklist');
    assert.equal(db0.get('t:set:ints-big')?.encoding, 'hashtable');
    assert.ok(db0.has('\xff\x00\xfe\x00\n\r'), 'binary key present');

    const srv = await startRedis({ rdbFile: fx.path });
    try {
      const c = srv.client();
      assert.equal(await digest(c), fx.expected.digest);
      assert.equal(await c.call('XLEN', 't:stream:emptied'), 0);
      assert.equal(await c.exists('t:stream:emptied'), 1);
      const pending = (await c.call('XPENDING', 't:stream', 'g1')) as unknown[];
      assert.equal(pending[0], 13);
      assert.equal(await c.pexpiretime('t:ttl:list'), 4_102_444_800_007);
      assert.equal(await c.zscore('t:zset:lp', 'ninf'), '-inf');
      // 5 elements in 5 quicklist nodes: the two big ones are PLAIN nodes, which split the packed ones.
      assert.equal((await dumpPayload(c, 't:list:plain')).raw[0], 5);
      assert.equal((await dumpPayload(c, 't:list:plain')).typeByte, 18);
      await c.select(7);
      assert.equal(await c.get('t:str:int32'), '2000000007');
    } finally {
      await srv.stop();
    }
  } finally {
    await fx.cleanup();
  }
});

test('the same seed gives the same digest; another seed a different one', async () => {
  const a = await makeEveryTypeRdb({ dbs: [0], seed: 5 });
  const b = await makeEveryTypeRdb({ dbs: [0], seed: 5 });
  const c = await makeEveryTypeRdb({ dbs: [0], seed: 6 });
  try {
    assert.equal(a.expected.digest, b.expected.digest);
    assert.notEqual(a.expected.digest, c.expected.digest);
  } finally {
    await Promise.all([a.cleanup(), b.cleanup(), c.cleanup()]);
  }
});

test('makeRdbWith builds a chosen shape; dumpPayload splits a DUMP into type byte and raw value', async () => {
  const fx = await makeRdbWith([['SET', 'a', '1'], ['SELECT', '3'], ['RPUSH', 'l', 'x', 'y'], ['FUNCTION', 'LOAD', FIXTURE_FUNCTION]]);
  try {
    assert.deepEqual(fx.expected.keysPerDb, { 0: 1, 3: 1 });
    const srv = await startRedis({ rdbFile: fx.path });
    try {
      const c = srv.client();
      await c.select(3);
      const d = await dumpPayload(c, 'l');
      assert.equal(d.typeByte, 18); // LIST_QUICKLIST_2
      assert.equal(d.rdbVersion, 10);
      assert.equal(d.raw.length, d.payload.length - 11);
      await assert.rejects(dumpPayload(c, 'missing'), /no such key/);
    } finally {
      await srv.stop();
    }
  } finally {
    await fx.cleanup();
  }
});

test('pipeInto fails on an error reply and on a server that is gone, instead of hanging', async () => {
  const srv = await startRedis();
  try {
    await assert.rejects(pipeInto(srv, [['SET', 'a', '1'], ['NOSUCHCOMMAND', 'x']]), /redis-cli --pipe failed.*errors: 1/s);
    assert.equal(await srv.client().get('a'), '1');
  } finally {
    await srv.stop();
  }
  // The server is gone: redis-cli cannot connect; 50 MB of commands must not wait for a drain forever.
  function* many(): Generator<Command> {
    for (let i = 0; i < 50_000; i++) yield ['SET', `k${i}`, 'x'.repeat(1000)];
  }
  await assert.rejects(pipeInto(srv, many()), /redis-cli --pipe/);
});
