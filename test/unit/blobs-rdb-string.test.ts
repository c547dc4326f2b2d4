/**
 * readRdbLengthAt / readRdbStringAt: the in-memory RDB length and string readers the blob tests and
 * the writer use, on the corpus's int-encoded keys and on every length form, with typed errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CORPUS } from '../helpers/redis-server.js';
import { readRdbLengthAt, readRdbStringAt } from '../../src/rdb/blobs/index.js';
import { assertCorrupt, oldRdbValues } from './blobs-support.js';

test('integer_keys.rdb: 8/16/32-bit int-encoded keys read as their decimal text', async () => {
  const keys = (await oldRdbValues(join(CORPUS, 'rdb-tools/integer_keys.rdb'))).map((v) => v.key.toString()).sort();
  assert.deepEqual(keys, ['-123', '-183358245', '-29477', '125', '183358245', '43947'].sort());
});

test('every length form, and strings of each', () => {
  const cases: [number[], number, number][] = [
    [[0x05], 5, 1],
    [[0x7f, 0xff], 0x3fff, 2],
    [[0x80, 0x00, 0x01, 0x00, 0x00], 65536, 5],
    [[0x81, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 2 ** 53 - 1, 9],
  ];
  for (const [bytes, value, end] of cases) assert.deepEqual(readRdbLengthAt(Buffer.from(bytes), 0), { value, end });
  const s = readRdbStringAt(Buffer.from([0x00, 0x03, 0x61, 0x62, 0x63, 0x09]), 1);
  assert.equal(s.value.toString(), 'abc');
  assert.equal(s.end, 5);
  assert.equal(readRdbStringAt(Buffer.from([0xc0, 0x80]), 0).value.toString(), '-128');
  assert.equal(readRdbStringAt(Buffer.from([0xc1, 0x00, 0x80]), 0).value.toString(), '-32768');
  assert.equal(readRdbStringAt(Buffer.from([0xc2, 0xff, 0xff, 0xff, 0x7f]), 0).value.toString(), '2147483647');
});

test('bad or short lengths and strings are RDB_CORRUPT at the right offset', () => {
  const ctx = { file: 'd', offset: 100 };
  assertCorrupt(() => readRdbLengthAt(Buffer.from([0x82]), 0, ctx), 100, /invalid length prefix byte 0x82/);
  assertCorrupt(() => readRdbLengthAt(Buffer.from([0xc0]), 0, ctx), 100, /found string encoding byte 0xC0/);
  assertCorrupt(() => readRdbLengthAt(Buffer.from([0x00, 0x40]), 1, ctx), 101, /14-bit length/);
  assertCorrupt(() => readRdbLengthAt(Buffer.from([0x81, 0x00, 0x20, 0, 0, 0, 0, 0, 0]), 0, ctx), 100, /beyond any input/);
  assertCorrupt(() => readRdbStringAt(Buffer.from([0x05, 0x61]), 0, ctx), 100, /string of 5 bytes, only 1 left/);
  assertCorrupt(() => readRdbStringAt(Buffer.from([0xc4]), 0, ctx), 100, /string encoding byte 0xC4/);
  assertCorrupt(() => readRdbStringAt(Buffer.from([0xc2, 0x01]), 0, ctx), 100, /32-bit integer string/);
  assertCorrupt(() => readRdbStringAt(Buffer.from([0xc3, 0x05, 0x10, 0x00]), 0, ctx), 100, /LZF string of 5 compressed bytes, only 1 left/);
  assertCorrupt(() => readRdbStringAt(Buffer.from([0xc3, 0x02, 0x40, 0x80, 0x00, 0x61]), 0, ctx, 64), 100, /declares 128 bytes, above the limit of 64/);
  assertCorrupt(() => readRdbStringAt(Buffer.alloc(0), 0, ctx), 100, /expected a string/);
});
