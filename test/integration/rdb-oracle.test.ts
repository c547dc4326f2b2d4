/**
 * The parser against the real thing: every RDB the machine's redis-server (7.0, RDB <= 10) loads
 * natively is parsed by Ferry, and every decoded key (type, value, expiry, db) must equal what the
 * server holds after loading the same file. RDB 11/12 files are checked against the JSON dumps the
 * corpus ships (the server's own keyspace right after SAVE).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { startRedis, CORPUS } from '../helpers/redis-server.js';
import { makeEveryTypeRdb, makeRdbWith, type RdbFixture } from '../helpers/make-rdb.js';
import { canonFromEntry, canonFromServer, parseServerScore } from '../helpers/server-model.js';
import { ByteSource } from '../../src/io/byte-source.js';
import { parseRdb } from '../../src/rdb/parser.js';
import type { Entry } from '../../src/entry/entry.js';

async function* entries(path: string, inlineLimit?: number): AsyncGenerator<Entry> {
  const src = new ByteSource(createReadStream(path), { name: path });
  for await (const batch of parseRdb(src, { size: statSync(path).size, inlineLimit })) for (const r of batch) if (r.kind === 'entry') yield r.entry;
}

/** Loads `path` into a fresh server and checks every parsed key against it; returns keys checked. */
async function checkAgainstServer(path: string, opts: { inlineLimit?: number } = {}): Promise<number> {
  const server = await startRedis({ rdbFile: path });
  try {
    const c = server.client();
    const now = Date.now();
    const perDb = new Map<number, number>();
    let checked = 0;
    let selected = -1;
    for await (const e of entries(path, opts.inlineLimit)) {
      if (e.db !== selected) {
        await c.select(e.db);
        selected = e.db;
      }
      const mine = await canonFromEntry(e);
      const theirs = await canonFromServer(c, e.key);
      const name = `${path}: db ${e.db} key ${JSON.stringify(e.key.toString('latin1'))}`;
      if (e.expireAt !== null && e.expireAt <= now) {
        assert.equal(theirs, null, `${name}: expired in the file, so the server must not have loaded it`);
        continue;
      }
      assert.ok(theirs, `${name}: parsed but missing on the server`);
      assert.deepEqual(mine, theirs, name);
      perDb.set(e.db, (perDb.get(e.db) ?? 0) + 1);
      checked++;
    }
    for (const [db, n] of perDb) {
      await c.select(db);
      assert.equal(await c.dbsize(), n, `${path}: db ${db} key count`);
    }
    return checked;
  } finally {
    await server.stop();
  }
}

const NATIVE = [
  'generated/redis-7.0.rdb',
  ...[
    'dictionary', 'easily_compressible_string_key', 'empty_database', 'hash_as_ziplist', 'integer_keys', 'intset_16', 'intset_32', 'intset_64',
    'keys_with_expiry', 'linkedlist', 'multiple_databases', 'non_ascii_values', 'parser_filters', 'rdb_version_5_with_checksum',
    'rdb_version_8_with_64b_length_and_scores', 'redis_50_with_streams', 'regular_set', 'regular_sorted_set', 'sorted_set_as_ziplist',
    'uncompressible_string_keys', 'ziplist_that_compresses_easily', 'ziplist_that_doesnt_compress', 'ziplist_with_integers',
    'zipmap_that_compresses_easily', 'zipmap_that_doesnt_compress', 'zipmap_with_big_values',
  ].map((f) => `rdb-tools/${f}.rdb`),
  ...['encodings', 'hash-ziplist', 'hash-zipmap', 'list-quicklist', 'scriptbackup', 'zset-ziplist', 'corrupt_empty_keys'].map((f) => `redis-tests/${f}.rdb`),
];

for (const f of NATIVE) {
  test(`parsed values equal redis-server's own load: ${f}`, async () => {
    await checkAgainstServer(join(CORPUS, f));
  });
}

const fixtures: RdbFixture[] = [];
after(async () => {
  for (const f of fixtures) await f.cleanup();
});

test('every type and encoding written at test time by redis-server: parsed values equal the server', async () => {
  const fx = await makeEveryTypeRdb();
  fixtures.push(fx);
  const n = await checkAgainstServer(fx.path);
  const total = Object.values(fx.expected.keysPerDb).reduce((a, b) => a + b, 0);
  assert.equal(n, total, 'every key the server held was parsed');
  // The same with every collection streamed instead of held inline.
  assert.equal(await checkAgainstServer(fx.path, { inlineLimit: 64 }), total);
});

test('large keys (8 MB string, 300k list, 200k hash/set/zset, 20k stream) stream and equal the server', async () => {
  const fx = await makeEveryTypeRdb({ large: true, dbs: [0] });
  fixtures.push(fx);
  const n = await checkAgainstServer(fx.path);
  assert.equal(n, fx.expected.keysPerDb[0]);
});

test('LFU and LRU hints are read (FREQ / IDLE opcodes)', async () => {
  for (const policy of ['lfu', 'lru'] as const) {
    const fx = await makeEveryTypeRdb({ policy, dbs: [0] });
    fixtures.push(fx);
    let withHint = 0;
    for await (const e of entries(fx.path)) if ((policy === 'lfu' ? e.freq : e.idle) !== null) withHint++;
    assert.equal(withHint, fx.expected.keysPerDb[0], `${policy}: every key carries its hint`);
  }
});

// ---- RDB 11 and 12 (no local server writes them): the corpus JSON is the oracle.
function jsonStr(b: Buffer): string {
  const s = b.toString('latin1');
  return /^[\x20-\x7e]*$/.test(s) ? s : `b64:${b.toString('base64')}`;
}

for (const f of ['valkey-8', 'redis-7.4plus', 'redis-7.0']) {
  test(`parsed keyspace equals the server's JSON dump: generated/${f}.rdb`, async () => {
    const want = JSON.parse(readFileSync(join(CORPUS, 'generated', `${f}.json`), 'utf8')) as Record<string, Record<string, { type: string; expireAt: number | null; value: unknown }>> & { functions: string[] };
    const got: Record<string, Record<string, unknown>> = {};
    for await (const e of entries(join(CORPUS, 'generated', `${f}.rdb`))) {
      const chunks = [];
      for await (const c of e.chunks()) chunks.push(c);
      let value: unknown;
      const w = want[String(e.db)]?.[jsonStr(e.key)];
      switch (e.type) {
        case 'string':
          value = jsonStr(Buffer.concat(chunks.map((c) => (c.t === 'string' ? c.data : Buffer.alloc(0)))));
          break;
        case 'list':
          value = chunks.flatMap((c) => (c.t === 'list' ? c.items.map(jsonStr) : []));
          break;
        case 'set':
          value = chunks.flatMap((c) => (c.t === 'set' ? c.members.map(jsonStr) : [])).sort();
          if (Array.isArray(w?.value)) w.value = [...(w.value as string[])].sort();
          break;
        case 'zset': {
          value = chunks.flatMap((c) => (c.t === 'zset' ? c.members.map((m, i) => [jsonStr(m), c.scores[i]]) : [])).sort((a, b) => ((a[1] as number) - (b[1] as number)) || (a[0]! < b[0]! ? -1 : 1));
          if (Array.isArray(w?.value)) w.value = (w.value as [string, string][]).map(([m, s]) => [m, parseServerScore(s)]);
          break;
        }
        case 'hash': {
          const fields: Record<string, string> = {};
          const expires: Record<string, number> = {};
          for (const c of chunks) if (c.t === 'hash') c.fields.forEach((fl, i) => {
            fields[jsonStr(fl)] = jsonStr(c.values[i]!);
            const x = c.expireAts?.[i];
            if (x !== undefined && x !== null) expires[jsonStr(fl)] = x;
          });
          value = Object.keys(expires).length ? { fields, fieldExpires: expires } : fields;
          break;
        }
        case 'stream': {
          const entriesOut: unknown[] = [];
          let meta = null;
          for (const c of chunks) {
            if (c.t === 'stream-entries') c.ids.forEach((id, i) => entriesOut.push([`${id.ms}-${id.seq}`, c.fields[i]!.map(jsonStr)]));
            if (c.t === 'stream-meta') meta = c.meta;
          }
          value = {
            entries: entriesOut,
            lastId: `${meta!.lastId.ms}-${meta!.lastId.seq}`,
            groups: meta!.groups.map((g) => ({ name: jsonStr(g.name), lastDeliveredId: `${g.lastId.ms}-${g.lastId.seq}`, pending: g.pending.length })),
          };
          break;
        }
        default:
          value = null;
      }
      (got[String(e.db)] ??= {})[jsonStr(e.key)] = { type: e.type, expireAt: e.expireAt, value };
    }
    for (const db of Object.keys(want).filter((k) => k !== 'functions')) {
      assert.deepEqual(Object.keys(got[db] ?? {}).sort(), Object.keys(want[db]!).sort(), `${f}: keys of db ${db}`);
      for (const [k, v] of Object.entries(want[db]!)) assert.deepEqual(got[db]![k], v, `${f}: db ${db} key ${k}`);
    }
  });
}

test('big LZF-compressed strings inflate in pieces and equal the server (inline and streamed)', async () => {
  // Compressible but varied, so LZF uses literals, short and long back-references.
  const parts: string[] = [];
  for (let i = 0, size = 0; size < 6 * 1024 * 1024; i++) {
    const line = `line ${i % 977} of ${'abcdefghij'.repeat(1 + (i % 7))} / ${i * 7919}\n`;
    parts.push(line);
    size += line.length;
  }
  const big = parts.join('');
  const fx = await makeRdbWith([['SET', 'lzf:big', big], ['SET', 'lzf:medium', big.slice(0, 300_000)]]);
  fixtures.push(fx);
  assert.equal(await checkAgainstServer(fx.path), 2);
  assert.equal(await checkAgainstServer(fx.path, { inlineLimit: 1024 }), 2);
  let encodings = '';
  for await (const e of entries(fx.path)) encodings += `${e.key}:${e.encoding} `;
  assert.match(encodings, /lzf:big:lzf/, 'the server did compress it');
});
