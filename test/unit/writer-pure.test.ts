/** Pure parts of the writer: target specs, version tables, RESTORE payloads, rewrite commands, key positions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTargetUrl, targetFromInstance, parseAddrs, describeTarget } from '../../src/writer/target-spec.js';
import { redisMaxRdb, valkeyMaxRdb, acceptsFooter } from '../../src/writer/probe.js';
import { minRdbForType, restorePayload, restoreArgs, footerVersion, encodeRestore } from '../../src/writer/restore.js';
import { RespEncoder, encodeCommand } from '../../src/resp/encoder.js';
import { rewriteEntry, scoreText, BATCH_ITEMS, type RewriteEnv } from '../../src/writer/rewrite.js';
import { parseCommandTable, keyIndexes } from '../../src/writer/command-keys.js';
import { crc64 } from '../../src/rdb/crc64.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import type { Entry, ValueChunk } from '../../src/entry/entry.js';
import type { Arg } from '../../src/resp/encoder.js';

test('target URLs: user, password, db, TLS, IPv6, defaults; bad ones name the field', () => {
  assert.deepEqual(parseTargetUrl('redis://127.0.0.1:6380'), { addrs: [{ host: '127.0.0.1', port: 6380 }], tls: false });
  assert.deepEqual(parseTargetUrl('rediss://u%40x:p%3Aw@h.example:7000/3'), { addrs: [{ host: 'h.example', port: 7000 }], tls: true, username: 'u@x', password: 'p:w', db: 3 });
  assert.deepEqual(parseTargetUrl('redis://:only-pass@[::1]:6379').addrs, [{ host: '::1', port: 6379 }]);
  assert.equal(parseTargetUrl('redis://h').addrs[0]!.port, 6379);
  for (const bad of ['http://h:1', 'not a url', 'redis://h:1/x']) {
    assert.throws(() => parseTargetUrl(bad), (e: unknown) => isFerryError(e, 'BAD_ARGUMENT') && e.context.field === 'target', bad);
  }
  assert.equal(describeTarget(parseTargetUrl('redis://u:secret@h:1')), 'redis://u@h:1');
});

test('instance registry form: "h:p,h:p", password, db', () => {
  assert.deepEqual(targetFromInstance({ addrs: '10.0.0.1:6379, 10.0.0.2:6380', password: 'pw', db: '2' }), {
    addrs: [{ host: '10.0.0.1', port: 6379 }, { host: '10.0.0.2', port: 6380 }], tls: false, password: 'pw', db: 2,
  });
  for (const bad of ['', 'host', 'h:0', 'h:70000', 'h:1,,x']) {
    assert.throws(() => parseAddrs(bad), (e: unknown) => isFerryError(e, 'BAD_ARGUMENT') && e.context.field === 'addrs', bad);
  }
});

test('server version -> highest RDB version; Valkey refuses the foreign 12..79 footers', () => {
  assert.deepEqual(['2.8.24', '3.2.12', '4.0.14', '6.2.14', '7.0.15', '7.2.4', '7.4.0', '8.0.2', '8.6.0'].map(redisMaxRdb), [6, 7, 8, 9, 10, 11, 12, 12, 13]);
  assert.deepEqual(['7.2.5', '8.1.1', '9.0.0', '9.2.0'].map(valkeyMaxRdb), [11, 11, 80, 81]);
  assert.equal(acceptsFooter({ flavor: 'redis', maxRdb: 10 }, 10), true);
  assert.equal(acceptsFooter({ flavor: 'redis', maxRdb: 10 }, 11), false);
  assert.equal(acceptsFooter({ flavor: 'valkey', maxRdb: 80 }, 12), false);
  assert.equal(acceptsFooter({ flavor: 'valkey', maxRdb: 80 }, 80), true);
});

test('minimum RDB version per type byte (formats reference 2.4)', () => {
  const table: [number, number | null][] = [[0, 1], [4, 1], [5, 8], [6, null], [7, 8], [9, 2], [12, 2], [13, 4], [14, 7], [15, 9], [16, 10], [19, 10], [20, 11], [21, 11], [24, 12], [25, 12], [26, 13], [27, null]];
  for (const [t, v] of table) assert.equal(minRdbForType(t, 'REDIS'), v, `type ${t}`);
  assert.equal(minRdbForType(22, 'VALKEY'), 80);
  assert.equal(minRdbForType(22, 'REDIS'), 12);
});

function entry(over: Partial<Omit<Entry, 'chunks'>> & { chunks?: ValueChunk[] }): Entry {
  const { chunks: given, ...rest } = over;
  const chunks = given ?? [];
  return {
    db: 0, key: Buffer.from('k'), typeByte: 0, type: 'string', encoding: 'raw', expireAt: null, idle: null, freq: null, keyMeta: null,
    module: null, rawSize: 0, raw: null, offset: 0, source: { magic: 'REDIS', rdbVersion: 10 },
    ...rest,
    chunks: async function* () {
      yield* chunks;
    },
  };
}

test('RESTORE payload: type byte + raw bytes + version + CRC-64 of all before it (a DUMP of SET foo bar)', () => {
  const e = entry({ typeByte: 0, raw: Buffer.from('\x03bar', 'latin1') });
  const p = Buffer.concat(restorePayload(e, 10));
  assert.deepEqual(p.subarray(0, 7), Buffer.from([0x00, 0x03, 0x62, 0x61, 0x72, 0x0a, 0x00]));
  assert.equal(p.readBigUInt64LE(7), crc64(p.subarray(0, 7)));
  // Redis 7.0: DUMP of "bar" is 00 03 62 61 72 0a 00 + 8-byte CRC 0x... (checked live by the fidelity tests).
  const km = entry({ typeByte: 0, raw: Buffer.from('\x01x'), keyMeta: Buffer.from([1, 2]) });
  assert.equal(footerVersion(km), 13);
  assert.deepEqual(Buffer.concat(restorePayload(km, 13)).subarray(0, 4), Buffer.from([0xf3, 1, 2, 0]));
});

test('RESTORE arguments: ABSTTL with the absolute expiry, REPLACE by policy, IDLETIME or FREQ', () => {
  const e = entry({ typeByte: 0, raw: Buffer.from('\x01x'), expireAt: 4102444800000, idle: 42 });
  const args = restoreArgs(e, 1, { replace: true, absTtl: true, now: 0 });
  assert.deepEqual(args.filter((a) => !Array.isArray(a)).map(String), ['RESTORE', 'k', '4102444800000', 'REPLACE', 'ABSTTL', 'IDLETIME', '42']);
  const old = restoreArgs({ ...e, idle: null, freq: 5 } as Entry, 1, { replace: false, absTtl: false, now: 4102444700000 });
  assert.deepEqual(old.filter((a) => !Array.isArray(a)).map(String), ['RESTORE', 'k', '100000']);
});

test('encodeRestore gives the same bytes as encoding restoreArgs, for every argument shape', () => {
  const enc = new RespEncoder();
  const big = Buffer.alloc(40_000, 7);
  const cases: Entry[] = [
    entry({ raw: Buffer.from('\x03bar', 'latin1') }),
    entry({ raw: Buffer.from('\x01x'), expireAt: 4102444800000, idle: 42 }),
    entry({ raw: Buffer.from('\x01x'), expireAt: 4102444800000, freq: 5 }),
    entry({ raw: Buffer.from('\x01x'), expireAt: 4102444800000 }),
    entry({ raw: Buffer.from('\x01x'), keyMeta: Buffer.from([1, 2]), key: Buffer.from('k\u00e9y') }),
    entry({ typeByte: 16, raw: big, key: Buffer.alloc(300, 0x61), expireAt: 9 }),
    entry({ typeByte: 0, raw: Buffer.from('\x01x'), expireAt: 1.5 }),
  ];
  const flags = [
    { replace: true, absTtl: true, now: 0 },
    { replace: false, absTtl: true, now: 0 },
    { replace: true, absTtl: false, now: 4102444700000 },
    { replace: false, absTtl: false, now: 10 },
  ];
  for (const e of cases) {
    for (const f of flags) {
      const v = footerVersion(e)!;
      const want = encodeCommand(restoreArgs(e, v, f));
      const got = Buffer.concat(encodeRestore(enc, e, v, f));
      assert.ok(got.equals(want), `${e.key.toString()} ${JSON.stringify(f)}: ${got.toString('latin1').slice(0, 80)} vs ${want.toString('latin1').slice(0, 80)}`);
      encodeRestore(enc, e, v, f);
      assert.equal(enc.lastBytes, want.length);
    }
  }
});

const env = (over: Partial<RewriteEnv> = {}): RewriteEnv => ({ now: 1_000_000, del: true, hashFieldTtl: true, streamMeta7: true, acceptLoss: false, lose: () => {}, ...over });

async function cmds(e: Entry, en: RewriteEnv = env()): Promise<string[][]> {
  const out: string[][] = [];
  for await (const c of rewriteEntry(e, en)) out.push(c.map((a: Arg) => (Array.isArray(a) ? Buffer.concat(a).toString() : String(a))));
  return out;
}

test('rewrite: DEL first, batches of at most BATCH_ITEMS elements, PEXPIREAT last', async () => {
  const items = Array.from({ length: BATCH_ITEMS * 2 + 7 }, (_, i) => Buffer.from(`e${i}`));
  const out = await cmds(entry({ type: 'list', typeByte: 18, expireAt: 2_000_000, chunks: [{ t: 'list', items: items.slice(0, 3) }, { t: 'list', items: items.slice(3) }] }));
  assert.deepEqual(out[0], ['DEL', 'k']);
  assert.deepEqual(out.slice(1, -1).map((c) => c.length - 2), [BATCH_ITEMS, BATCH_ITEMS, 7]);
  assert.deepEqual(out.slice(1, -1).flatMap((c) => c.slice(2)), items.map(String));
  assert.deepEqual(out.at(-1), ['PEXPIREAT', 'k', '2000000']);
});

test('rewrite: big strings as SET + APPEND when the length is not known up front (no DEL needed: SET replaces any type)', async () => {
  const out = await cmds(entry({ chunks: [{ t: 'string', data: Buffer.from('ab') }, { t: 'string', data: Buffer.from('cd') }] }));
  assert.deepEqual(out, [['SET', 'k', 'ab'], ['APPEND', 'k', 'cd']]);
});

test('rewrite: a big string of known length is sized once (SETRANGE at its last byte), then written piece by piece at its offsets', async () => {
  const out = await cmds(entry({ chunks: [{ t: 'string', data: Buffer.from('ab'), total: 5 }, { t: 'string', data: Buffer.from('cd'), total: 5 }, { t: 'string', data: Buffer.from('e'), total: 5 }] }));
  assert.deepEqual(out, [['SET', 'k', 'ab'], ['SETRANGE', 'k', '4', '\0'], ['SETRANGE', 'k', '2', 'cd'], ['SETRANGE', 'k', '4', 'e']]);
  // One piece: nothing to size.
  assert.deepEqual(await cmds(entry({ chunks: [{ t: 'string', data: Buffer.from('ab'), total: 2 }] })), [['SET', 'k', 'ab']]);
});

test('rewrite: zset scores round-trip (inf, -inf, -0, 1e300, shortest repr)', async () => {
  assert.deepEqual([Infinity, -Infinity, -0, 0, 1e300, 0.1, 2.5].map(scoreText), ['+inf', '-inf', '-0', '0', '1e+300', '0.1', '2.5']);
  const out = await cmds(entry({ type: 'zset', typeByte: 17, chunks: [{ t: 'zset', members: [Buffer.from('a'), Buffer.from('b')], scores: [1.5, -Infinity] }] }));
  assert.deepEqual(out[1], ['ZADD', 'k', '1.5', 'a', '-inf', 'b']);
});

test('rewrite: hash field TTLs grouped per time, expired fields dropped; refused without HPEXPIREAT unless loss accepted', async () => {
  const h: ValueChunk = { t: 'hash', fields: ['a', 'b', 'c', 'd'].map((x) => Buffer.from(x)), values: ['1', '2', '3', '4'].map((x) => Buffer.from(x)), expireAts: [5_000_000, null, 5_000_000, 10] };
  const out = await cmds(entry({ type: 'hash', typeByte: 25, chunks: [h] }));
  assert.deepEqual(out, [['DEL', 'k'], ['HSET', 'k', 'a', '1', 'b', '2', 'c', '3'], ['HPEXPIREAT', 'k', '5000000', 'FIELDS', '2', 'a', 'c']]);
  await assert.rejects(cmds(entry({ type: 'hash', typeByte: 25, chunks: [h] }), env({ hashFieldTtl: false })), (e: unknown) => isFerryError(e, 'TARGET_TOO_OLD') && e.context.key === 'k');
  const lost: string[] = [];
  const out2 = await cmds(entry({ type: 'hash', typeByte: 25, chunks: [h] }), env({ hashFieldTtl: false, acceptLoss: true, lose: (f) => lost.push(f) }));
  assert.deepEqual(out2, [['DEL', 'k'], ['HSET', 'k', 'a', '1', 'b', '2', 'c', '3']]);
  assert.deepEqual(lost, ['hash-field-ttl', 'hash-field-ttl']);
});

test('rewrite: streams with ids, XSETID, groups with ENTRIESREAD, PEL via XCLAIM FORCE JUSTID; an emptied stream still exists', async () => {
  const id = (ms: number, seq: number) => ({ ms: BigInt(ms), seq: BigInt(seq) });
  const out = await cmds(entry({ type: 'stream', typeByte: 19, chunks: [
    { t: 'stream-entries', ids: [id(1, 0), id(1, 1)], fields: [[Buffer.from('f'), Buffer.from('v')], [Buffer.from('g'), Buffer.from('w')]] },
    { t: 'stream-meta', meta: { length: 2, lastId: id(1, 5), firstId: id(1, 0), maxDeletedId: id(1, 3), entriesAdded: 6, groups: [
      { name: Buffer.from('g1'), lastId: id(1, 1), entriesRead: 2, pending: [{ id: id(1, 1), deliveryTime: 777, deliveryCount: 3 }],
        consumers: [{ name: Buffer.from('c1'), seenTime: 1, activeTime: null, pending: [id(1, 1)] }, { name: Buffer.from('idle'), seenTime: 1, activeTime: null, pending: [] }] },
    ] } },
  ] }));
  assert.deepEqual(out, [
    ['DEL', 'k'],
    ['XADD', 'k', '1-0', 'f', 'v'],
    ['XADD', 'k', '1-1', 'g', 'w'],
    ['XSETID', 'k', '1-5', 'ENTRIESADDED', '6', 'MAXDELETEDID', '1-3'],
    ['XGROUP', 'CREATE', 'k', 'g1', '1-1', 'ENTRIESREAD', '2'],
    ['XCLAIM', 'k', 'g1', 'c1', '0', '1-1', 'TIME', '777', 'RETRYCOUNT', '3', 'FORCE', 'JUSTID'],
    ['XGROUP', 'CREATECONSUMER', 'k', 'g1', 'idle'],
  ]);
  const empty = await cmds(entry({ type: 'stream', typeByte: 19, chunks: [{ t: 'stream-meta', meta: { length: 0, lastId: id(9, 0), firstId: null, maxDeletedId: id(9, 0), entriesAdded: 1, groups: [] } }] }));
  assert.deepEqual(empty.slice(1, 3).map((c) => c.slice(0, 2)), [['XGROUP', 'CREATE'], ['XGROUP', 'DESTROY']]);
  assert.deepEqual(empty[3], ['XSETID', 'k', '9-0', 'ENTRIESADDED', '1', 'MAXDELETEDID', '9-0']);
});

test('key positions from a COMMAND reply', () => {
  const table = parseCommandTable([
    [Buffer.from('set'), -3, ['write'], 1, 1, 1],
    [Buffer.from('mset'), -3, ['write'], 1, -1, 2],
    [Buffer.from('zunionstore'), -4, ['write', 'movablekeys'], 1, 1, 1],
    [Buffer.from('ping'), -1, ['fast'], 0, 0, 0],
  ]);
  const argv = (...a: string[]) => a.map((x) => Buffer.from(x));
  assert.deepEqual(keyIndexes(argv('SET', 'a', 'v'), table.get('set')!), [1]);
  assert.deepEqual(keyIndexes(argv('MSET', 'a', '1', 'b', '2'), table.get('mset')!), [1, 3]);
  assert.equal(keyIndexes(argv('ZUNIONSTORE', 'd', '2', 'a', 'b'), table.get('zunionstore')!), null);
  assert.deepEqual(keyIndexes(argv('PING'), table.get('ping')!), []);
});
