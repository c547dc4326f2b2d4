/**
 * Chunk-split harness: every corpus RDB parsed whole, in tiny chunks and split at every boundary
 * (every byte for files up to 6 KB, 600 evenly spread points beyond) gives identical records and
 * values; and with a tiny inline limit (every collection streamed) the decoded values are the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS } from '../helpers/redis-server.js';
import { canonRdb, chunked, splitAt } from '../helpers/rdb-canon.js';

const FILES = ['generated', 'rdb-tools', 'redis-tests']
  .flatMap((d) => readdirSync(join(CORPUS, d)).filter((f) => f.endsWith('.rdb') && f !== 'corrupt_ziplist.rdb').map((f) => join(CORPUS, d, f)));

for (const file of FILES) {
  const name = file.slice(CORPUS.length + 1);
  test(`chunk splits give identical output: ${name}`, async () => {
    const buf = readFileSync(file);
    const whole = await canonRdb(buf, { raw: true });
    assert.ok(whole.length > 0);
    assert.deepEqual(await canonRdb(chunked(buf, [1]), { raw: true }), whole, 'byte by byte');
    assert.deepEqual(await canonRdb(chunked(buf, [7, 1, 3, 64, 2]), { raw: true }), whole, 'mixed small chunks');
    const points = buf.length <= 6_000 ? buf.length : 600;
    for (let p = 1; p <= points; p++) {
      const at = buf.length <= 6_000 ? p : Math.floor((p * buf.length) / (points + 1));
      assert.deepEqual(await canonRdb(splitAt(buf, at), { raw: true }), whole, `split at ${at}`);
    }
  });

  test(`streamed values decode like inline ones: ${name}`, async () => {
    const buf = readFileSync(file);
    const inline = await canonRdb(buf, { dropEmpty: true });
    const streamed = { inlineLimit: 16, dropEmpty: true };
    assert.deepEqual(await canonRdb(buf, streamed), inline, 'inline limit 16, whole input');
    assert.deepEqual(await canonRdb(chunked(buf, [5, 1, 13]), streamed), inline, 'inline limit 16, small chunks');
    const step = Math.max(1, Math.floor(buf.length / 150));
    for (let at = 1; at < buf.length; at += step) {
      assert.deepEqual(await canonRdb(splitAt(buf, at), streamed), inline, `streamed, split at ${at}`);
    }
  });
}
