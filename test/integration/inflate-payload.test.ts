/**
 * inflatePayload against the server itself: for every key, the value bytes of a DUMP made with
 * `rdbcompression yes`, inflated, must equal those of a DUMP of the same key made with
 * `rdbcompression no` (what redis-server writes when it does not compress), and the target must
 * RESTORE them to the same value.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { inflatePayload, inflatePieces, encodeRdbLength, lengthHeader, loneLzfLength, loneLzfStart, INFLATE_MAX } from '../../src/writer/inflate-payload.js';
import { encodeRestore, encodeRestoreInflating } from '../../src/writer/restore.js';
import { NATIVE_RESP, NATIVE_RESP_STATUS } from '../../src/resp/native-resp.js';
import { RespEncoder } from '../../src/resp/encoder.js';
import type { Entry } from '../../src/entry/entry.js';
import { Crc64 } from '../../src/rdb/crc64.js';
import { dumpPayload } from '../helpers/make-rdb.js';
import { readRdbStringAt } from '../../src/rdb/blobs/rdb-string.js';

let server: RedisServer;

before(async () => {
  server = await startRedis({ args: ['--enable-debug-command', 'yes'] });
  const c = server.client();
  const text = (n: number, seed: number): string => Array.from({ length: n }, (_, i) => `word${(i * 7 + seed) % 13} `).join('');
  await c.set('s:lzf', text(200, 1));
  await c.set('s:plain', 'short');
  await c.set('s:int', '12345');
  await c.set('s:random', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 2654435761) & 0xff)));
  for (let k = 0; k < 3; k++) await c.rpush(`l:${k}`, ...Array.from({ length: 20 + k * 3000 }, (_, i) => text(3 + (i % 5), i + k)));
  await c.rpush('l:ints', ...Array.from({ length: 500 }, (_, i) => String(i)));
  await c.hset('h:lp', Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`field${i}`, text(2, i)])));
  await c.zadd('z:lp', ...Array.from({ length: 60 }, (_, i) => [String(i / 3), `member-${text(1, i)}-${i}`]).flat());
  await c.sadd('set:lp', ...Array.from({ length: 60 }, (_, i) => `member-${text(1, i)}-${i}`));
  await c.sadd('set:int', ...Array.from({ length: 200 }, (_, i) => String(i * 3)));
  await c.hset('h:big', Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, text(3, i)])));
  // Streams: one node, several nodes (100 entries a node), and one with a group, consumers and a PEL
  // (what follows the nodes must go through untouched).
  const x = c.pipeline();
  for (const [key, n] of [['x:one', 40], ['x:nodes', 450], ['x:groups', 260]] as const) {
    for (let i = 1; i <= n; i++) x.xadd(key, `${1_700_000_000_000 + i}-${i % 3}`, 'field', text(4, i), 'n', String(i));
  }
  await x.exec();
  await c.xgroup('CREATE', 'x:groups', 'g', '0');
  await c.xreadgroup('GROUP', 'g', 'c1', 'COUNT', '30', 'STREAMS', 'x:groups', '>');
  await c.xreadgroup('GROUP', 'g', 'c2', 'COUNT', '5', 'STREAMS', 'x:groups', '>');
});

after(async () => {
  await server?.stop();
});

test('inflated DUMP values equal uncompressed DUMP values, and RESTORE to the same value', async () => {
  const c = server.client();
  const keys = (await c.keys('*')).sort();
  let inflatedCount = 0;
  for (const key of keys) {
    await c.config('SET', 'rdbcompression', 'yes');
    const packed = (await c.dumpBuffer(key))!;
    await c.config('SET', 'rdbcompression', 'no');
    const plain = (await c.dumpBuffer(key))!;
    const type = packed[0]!;
    const raw = packed.subarray(1, packed.length - 10);
    const out = inflatePayload(type, raw, { key });
    if (out !== null) inflatedCount++;
    if (key.startsWith('x:')) assert.ok(out !== null, `stream ${key}: its listpacks were not inflated`);
    const want = plain.subarray(1, plain.length - 10);
    assert.ok((out ?? raw).equals(want), `${key} (type ${type}): inflated value differs from the uncompressed DUMP`);
    // The rebuilt payload restores to the same value.
    const footer = Buffer.alloc(10);
    footer.writeUInt16LE(plain.readUInt16LE(plain.length - 10), 0);
    const crc = new Crc64().update(Buffer.from([type])).update(out ?? raw).update(footer, 0, 2);
    footer.writeUInt32LE(crc.lo >>> 0, 2);
    footer.writeUInt32LE(crc.hi >>> 0, 6);
    await c.call('RESTORE', `copy:${key}`, '0', Buffer.concat([Buffer.from([type]), out ?? raw, footer]), 'REPLACE');
    assert.deepEqual(await c.call('DEBUG', 'DIGEST-VALUE', `copy:${key}`), await c.call('DEBUG', 'DIGEST-VALUE', key), key);
  }
  // The fixture must exercise inflation: strings, listpacks, quicklist and stream nodes were compressible.
  assert.ok(inflatedCount >= 9, `only ${inflatedCount} values had LZF strings to inflate`);
});

test('RDB length encoding at every boundary, and the size cap', () => {
  const cases: [number, string][] = [[0, '00'], [63, '3f'], [64, '4040'], [16383, '7fff'], [16384, '8000004000'], [2 ** 32 - 1, '80ffffffff'], [2 ** 32, '810000000100000000']];
  for (const [n, hex] of cases) assert.equal(encodeRdbLength(n).toString('hex'), hex, String(n));
  // A lone LZF string declaring more than INFLATE_MAX is left compressed (never inflated past the cap).
  const huge = Buffer.concat([Buffer.from([0xc3]), encodeRdbLength(3), encodeRdbLength(INFLATE_MAX + 1), Buffer.from([0x00, 0x61, 0xe0])]);
  assert.equal(inflatePayload(0, huge), null);
});

test('a lone LZF string: every truncation and byte change of a real one inflates, is left as is, or fails with the general path error', async () => {
  const c = server.client();
  await c.config('SET', 'rdbcompression', 'yes');
  const { raw } = await dumpPayload(c, 's:lzf');
  assert.equal(raw[0], 0xc3);
  const ctx = { file: 'f.rdb', offset: 100, key: 's:lzf' };
  const want = inflatePayload(0, raw, ctx)!;
  assert.ok(want !== null && want.length > raw.length, 'inflated');
  let inflated = 0;
  let errors = 0;
  /** What reading the string the general way gives: its error, or its value when it is one lone LZF string. */
  const general = (b: Buffer): { error: string } | { value: Buffer | null } => {
    try {
      const s = readRdbStringAt(b, 0, ctx);
      return { value: s.lzf && s.end === b.length ? s.value : null };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };
  const outcome = (b: Buffer): void => {
    const g = general(b);
    try {
      const r = inflatePayload(0, b, ctx);
      // null: left as the file has it (declared size above the cap, or not one lone string).
      if (r === null) return;
      assert.ok(!('error' in g), `inflated what the general path refuses: ${'error' in g ? g.error : ''}`);
      inflated++;
      assert.ok(g.value !== null && r.equals(Buffer.concat([encodeRdbLength(g.value.length), g.value])), 'inflated differently');
    } catch (err) {
      errors++;
      const e = err as Error & { code?: string };
      if (e.code === 'ERR_ASSERTION') throw err;
      assert.equal(e.code, 'RDB_CORRUPT', e.message);
      assert.deepEqual({ error: e.message }, g, 'not the general path error');
    }
  };
  // Every outcome is one of the three: the fast path (inflateLone) hands whatever it cannot do to the
  // general path (readRdbStringAt), so corrupt data fails with the general path's typed error.
  for (let n = 1; n <= raw.length; n++) outcome(raw.subarray(0, n));
  for (let p = 1; p < raw.length; p++) {
    for (const v of [0x00, 0x3f, 0x40, 0x80, 0xc0, 0xff, raw[p]! ^ 0x20]) {
      const m = Buffer.from(raw);
      m[p] = v;
      outcome(m);
    }
  }
  assert.ok(inflated > 0 && errors > 100, `inflated ${inflated}, errors ${errors}`);
});

test('a lone LZF value inflated by the native encoder into the RESTORE: the general path\'s bytes, or null where the general path fails', { skip: NATIVE_RESP === null && /not built/.test(NATIVE_RESP_STATUS) ? NATIVE_RESP_STATUS : false }, async () => {
  const c = server.client();
  await c.config('SET', 'rdbcompression', 'yes');
  const f = { replace: true, absTtl: true, now: 0 };
  const native = new RespEncoder();
  const js = new RespEncoder();
  const entry = (typeByte: number, raw: Buffer, expireAt: number | null): Entry => ({
    db: 0, key: Buffer.from('some:key'), typeByte, type: 'string', encoding: 'lzf', expireAt, idle: null, freq: null, keyMeta: null,
    module: null, rawSize: raw.length, raw, offset: 0, source: { magic: 'REDIS', rdbVersion: 10 }, chunks: () => ({ async *[Symbol.asyncIterator]() {} }),
  });
  /** 'native' when the native path wrote the general path's bytes; 'general' when it declined and the general path throws. */
  const compare = (typeByte: number, raw: Buffer, expireAt: number | null): 'native' | 'general' | 'not lone' => {
    const len = loneLzfLength(raw);
    if (raw[0] !== 0xc3 || len < 0) return 'not lone';
    const e = entry(typeByte, raw, expireAt);
    const got = encodeRestoreInflating(native, e, 10, f, lengthHeader(len), loneLzfStart, len);
    if (got === null) {
      assert.throws(() => inflatePieces(typeByte, raw), (err: Error & { code?: string }) => err.code === 'RDB_CORRUPT');
      return 'general';
    }
    const pieces = inflatePieces(typeByte, raw)!;
    assert.ok(Buffer.concat(got).equals(Buffer.concat(encodeRestore(js, e, 10, f, pieces, false))), `type ${typeByte}: native inflating RESTORE differs`);
    return 'native';
  };
  let lone = 0;
  for (const key of await c.keys('*')) {
    const { typeByte, raw } = await dumpPayload(c, key);
    if (compare(typeByte, raw, null) === 'native') lone++;
    compare(typeByte, raw, 4102444800000);
  }
  assert.ok(lone >= 3, `lone LZF values among the keys: ${lone}`);
  const { raw } = await dumpPayload(c, 's:lzf');
  const seen = { native: 0, general: 0, 'not lone': 0 };
  for (let n = 1; n <= raw.length; n++) seen[compare(0, raw.subarray(0, n), null)]++;
  for (let p = 1; p < raw.length; p++) {
    for (const v of [0x00, 0x3f, 0x40, 0x80, 0xc0, 0xff, raw[p]! ^ 0x20]) {
      const m = Buffer.from(raw);
      m[p] = v;
      seen[compare(0, m, null)]++;
    }
  }
  assert.ok(seen.native > 0 && seen.general > 100, JSON.stringify(seen));
});
