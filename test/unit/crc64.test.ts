/**
 * CRC-64/Jones: the check value, the WebAssembly and JS engines agreeing on every length and split,
 * and the generated WebAssembly module matching its .wat source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { crc64, Crc64 } from '../../src/rdb/crc64.js';
import { CORPUS } from '../helpers/redis-server.js';

test('check value of "123456789" is 0xe9c6d914c4b8d9ca', () => {
  assert.equal(crc64(Buffer.from('123456789')), 0xe9c6d914c4b8d9can);
  assert.equal(new Crc64().updateJs(Buffer.from('123456789')).value(), 0xe9c6d914c4b8d9can);
});

test('WebAssembly and JS engines agree on every length around the thresholds and on any split', () => {
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
  for (const n of [0, 1, 7, 8, 9, 1023, 1024, 1025, 65535, 65536, 65537, 131072 + 13, 300_000]) {
    const js = new Crc64().updateJs(data, 0, n).value();
    assert.equal(new Crc64().update(data, 0, n).value(), js, `length ${n}`);
    for (const cut of [1, 3, 1024, Math.floor(n / 2), n - 1]) {
      if (cut <= 0 || cut >= n) continue;
      assert.equal(new Crc64().update(data, 0, cut).update(data, cut, n).value(), js, `length ${n} cut at ${cut}`);
    }
  }
});

test('a real RDB: the CRC over header..EOF equals the stored trailer', () => {
  const f = readFileSync(`${CORPUS}/generated/redis-7.0.rdb`);
  assert.equal(crc64(f.subarray(0, f.length - 8)), f.readBigUInt64LE(f.length - 8));
});

test('the generated WebAssembly module is up to date with crc64.wat', () => {
  execFileSync(process.execPath, ['scripts/build-crc64-wasm.mjs', '--check'], { stdio: 'pipe' });
});
