/**
 * Bad and unusual input, byte by byte: each failure is a typed FerryError naming the offset (and the
 * key where there is one); formats no local server writes (Valkey 9 HASH_2, RDB 12/13 opcodes) parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteSource } from '../../src/io/byte-source.js';
import { parseRdb, type RdbParseOptions } from '../../src/rdb/parser.js';
import { FerryError } from '../../src/errors/ferry-error.js';
import type { RdbRecord, ValueChunk } from '../../src/entry/entry.js';
import { rdb, str, len, i64le, listpack } from '../helpers/rdb-builder.js';
import { chunked } from '../helpers/rdb-canon.js';

async function parse(buf: Buffer | AsyncIterable<Buffer>, opts: RdbParseOptions = {}): Promise<{ records: RdbRecord[]; values: Map<string, ValueChunk[]> }> {
  const records: RdbRecord[] = [];
  const values = new Map<string, ValueChunk[]>();
  for await (const batch of parseRdb(new ByteSource(buf, { name: 'bad.rdb' }), opts)) {
    for (const r of batch) {
      records.push(r);
      if (r.kind === 'entry') {
        const cs: ValueChunk[] = [];
        for await (const c of r.entry.chunks()) cs.push(c);
        values.set(r.entry.key.toString(), cs);
      }
    }
  }
  return { records, values };
}

async function rejects(buf: Buffer | AsyncIterable<Buffer>, code: string, check: (e: FerryError) => void = () => {}, opts: RdbParseOptions = {}): Promise<void> {
  await assert.rejects(parse(buf, opts), (e: unknown) => {
    assert.ok(e instanceof FerryError, `typed error, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.context.file, 'bad.rdb');
    assert.equal(typeof e.context.offset, 'number', e.message);
    check(e);
    return true;
  });
}

const SEL0 = Buffer.from([0xfe, 0x00]);

test('wrong magic, unknown versions and magic/version mismatches are refused', async () => {
  await rejects(Buffer.from('HELLO WORLD, NOT AN RDB'), 'RDB_BAD_MAGIC', (e) => assert.equal(e.context.offset, 0));
  await rejects(Buffer.from('*1\r\n$4\r\nPING\r\n'), 'RDB_BAD_MAGIC');
  await rejects(rdb('REDIS0099', []), 'RDB_UNSUPPORTED_VERSION', (e) => assert.match(e.message, /99/));
  await rejects(rdb('REDIS0080', []), 'RDB_UNSUPPORTED_VERSION');
  await rejects(rdb('VALKEY011', []), 'RDB_UNSUPPORTED_VERSION');
  await rejects(Buffer.from('REDIS00'), 'RDB_TRUNCATED');
});

test('an unknown type byte is refused with its offset', async () => {
  const buf = rdb('REDIS0010', [SEL0, Buffer.from([8]), str('k'), str('v')]);
  await rejects(buf, 'RDB_UNKNOWN_TYPE', (e) => {
    assert.equal(e.context.offset, 11);
    assert.match(e.message, /type byte 8/);
  });
  // 22 is Valkey's HASH_2 only under a VALKEY header; 27+ is unknown everywhere.
  await rejects(rdb('REDIS0012', [SEL0, Buffer.from([27]), str('k')]), 'RDB_UNKNOWN_TYPE');
  await rejects(rdb('VALKEY080', [SEL0, Buffer.from([24]), str('k')]), 'RDB_UNKNOWN_TYPE');
});

test('a truncated value names the key and the offset, at every cut and chunking', async () => {
  const full = rdb('REDIS0010', [SEL0, Buffer.from([0]), str('the-key'), str('x'.repeat(300))]);
  for (let cut = 12; cut < full.length - 9; cut += 7) {
    await rejects(full.subarray(0, cut), 'RDB_TRUNCATED', (e) => {
      if (cut > 19) assert.equal(e.context.key, 'the-key');
    });
    await rejects(chunked(full.subarray(0, cut), [1, 5]), 'RDB_TRUNCATED');
  }
  await rejects(full.subarray(0, full.length - 3), 'RDB_TRUNCATED', (e) => assert.match(e.message, /CRC/));
});

test('a length prefix larger than the input fails at once when the size is known, and in bounded memory when not', async () => {
  const body = [SEL0, Buffer.from([0]), str('k'), Buffer.from([0x80, 0x00, 0x10, 0x00, 0x00]), Buffer.from('short')];
  const buf = rdb('REDIS0010', body);
  await rejects(buf, 'RDB_TRUNCATED', (e) => assert.match(e.message, /past the end|ended/), { size: buf.length });
  await rejects(buf, 'RDB_TRUNCATED');
  // 64-bit lengths beyond any input are refused outright.
  await rejects(rdb('REDIS0010', [SEL0, Buffer.from([1]), str('k'), Buffer.from([0x81, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]), 'RDB_CORRUPT');
  // A string above the configured limit.
  await rejects(rdb('REDIS0010', [SEL0, Buffer.from([0]), str('k'), str('y'.repeat(2000))]), 'RDB_LIMIT_EXCEEDED', () => {}, { maxString: 1000, inlineLimit: 100 });
});

test('LZF data that does not inflate to its declared size is corrupt', async () => {
  const lzf = Buffer.from([0x02, 0x61, 0x62, 0x63]); // literal "abc"
  const ok = rdb('REDIS0010', [SEL0, Buffer.from([0]), str('k'), Buffer.from([0xc3]), len(lzf.length), len(3), lzf]);
  assert.equal((await parse(ok)).values.get('k')!.map((c) => (c.t === 'string' ? c.data.toString() : '')).join(''), 'abc');
  const bad = rdb('REDIS0010', [SEL0, Buffer.from([0]), str('k'), Buffer.from([0xc3]), len(lzf.length), len(40), lzf]);
  await rejects(bad, 'RDB_CORRUPT', (e) => assert.equal(e.context.key, 'k'));
});

test('listpacks whose internal lengths disagree are corrupt', async () => {
  const good = listpack(['f', 'v']);
  assert.equal((await parse(rdb('REDIS0010', [SEL0, Buffer.from([16]), str('h'), str(good)]))).values.get('h')!.length, 1);
  await rejects(rdb('REDIS0010', [SEL0, Buffer.from([16]), str('h'), str(listpack(['f', 'v'], { countOverride: 3 }))]), 'RDB_CORRUPT', (e) => assert.equal(e.context.key, 'h'));
  await rejects(rdb('REDIS0010', [SEL0, Buffer.from([16]), str('h'), str(listpack(['f', 'v'], { badBacklen: true }))]), 'RDB_CORRUPT');
  const wrongTotal = Buffer.from(good);
  wrongTotal.writeUInt32LE(good.length + 5, 0);
  await rejects(rdb('REDIS0010', [SEL0, Buffer.from([16]), str('h'), str(wrongTotal)]), 'RDB_CORRUPT');
});

test('CRC-64: a mismatch fails by default, is reported when ignored, and 0 means not computed', async () => {
  const body = [SEL0, Buffer.from([0]), str('k'), str('v')];
  await rejects(rdb('REDIS0010', body, { crc: 'bad' }), 'RDB_CHECKSUM_MISMATCH');
  const ignored = await parse(rdb('REDIS0010', body, { crc: 'bad' }), { checksum: 'ignore' });
  const end = ignored.records.at(-1);
  assert.ok(end?.kind === 'end' && end.checksumOk === false && end.checksum !== null && end.checksum !== 0n);
  const zero = await parse(rdb('REDIS0010', body, { crc: 'zero' }));
  assert.equal((zero.records.at(-1) as { checksumOk: boolean | null }).checksumOk, null);
  const good = await parse(rdb('REDIS0010', body));
  assert.equal((good.records.at(-1) as { checksumOk: boolean | null }).checksumOk, true);
});

test('Valkey 9 HASH_2 (type 22 under VALKEY080): field TTLs, -1 for none', async () => {
  const buf = rdb('VALKEY080', [SEL0, Buffer.from([22]), str('h'), len(2), str('a'), str('1'), i64le(-1), str('b'), str('2'), i64le(4102444800000)]);
  for (const input of [buf, chunked(buf, [1])]) {
    const { values, records } = await parse(input);
    assert.deepEqual(records[0], { kind: 'header', magic: 'VALKEY', version: 80 });
    const c = values.get('h')![0]!;
    assert.equal(c.t, 'hash');
    if (c.t === 'hash') {
      assert.deepEqual(c.fields.map(String), ['a', 'b']);
      assert.deepEqual(c.values.map(String), ['1', '2']);
      assert.deepEqual(c.expireAts, [null, 4102444800000]);
    }
  }
});

test('Redis 7.4 type 24 stores field TTLs relative to the minimum: expireAt = ttl + min - 1', async () => {
  const min = 4102444800000;
  const buf = rdb('REDIS0012', [SEL0, Buffer.from([24]), str('h'), i64le(min), len(2), len(0), str('a'), str('1'), len(5001), str('b'), str('2')]);
  const c = (await parse(buf)).values.get('h')![0]!;
  assert.ok(c.t === 'hash');
  if (c.t === 'hash') assert.deepEqual(c.expireAts, [null, min + 5000]);
});

test('RDB 12/13 opcodes: SLOT_INFO is skipped, KEY_META is kept for the DUMP payload, FUNCTION pre-GA is refused', async () => {
  const withSlot = rdb('REDIS0012', [SEL0, Buffer.from([0xf4]), len(866), len(1), len(0), Buffer.from([0]), str('k'), str('v')]);
  assert.equal((await parse(withSlot)).values.get('k')![0]!.t, 'string');
  const meta = Buffer.concat([len(1), Buffer.from([1, 2, 3, 4]), len(2), len(7), len(0)]);
  const withMeta = rdb('REDIS0013', [SEL0, Buffer.from([0xf3]), meta, Buffer.from([0]), str('k'), str('v')]);
  const e = (await parse(withMeta)).records.find((r) => r.kind === 'entry');
  assert.ok(e && e.kind === 'entry');
  if (e?.kind === 'entry') {
    assert.deepEqual(e.entry.keyMeta, meta);
    assert.equal(e.entry.offset, 11, 'the entry starts at its KEY_META opcode');
  }
  await rejects(rdb('REDIS0010', [Buffer.from([0xf6]), str('x')]), 'RDB_UNKNOWN_TYPE', (err) => assert.match(err.message, /release-candidate/));
});

test('empty collections are skipped and counted, as Redis does', async () => {
  const buf = rdb('REDIS0010', [SEL0, Buffer.from([2]), str('emptyset'), len(0), Buffer.from([0]), str('k'), str('v')]);
  const { records } = await parse(buf);
  assert.deepEqual(records.filter((r) => r.kind === 'entry').map((r) => (r.kind === 'entry' ? r.entry.key.toString() : '')), ['k']);
  assert.equal((records.at(-1) as { emptyKeysSkipped: number }).emptyKeysSkipped, 1);
});

test('errors inside a blob point into the blob itself, past its length prefix', async () => {
  // header(9) + SELECTDB(2) + type(1) + key "h"(2) + length prefix(1): the listpack starts at 15.
  const lp = listpack(['f', 'v']);
  lp.writeUInt32LE(lp.length + 5, 0);
  await rejects(rdb('REDIS0010', [SEL0, Buffer.from([16]), str('h'), str(lp)]), 'RDB_CORRUPT', (e) => assert.equal(e.context.offset, 15));
});
