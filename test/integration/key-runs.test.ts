/**
 * Key runs (RdbParseOptions.keyRuns, written by the native run encoder) change how an import
 * encodes its RESTOREs, never what it writes or reports: the same files imported with key runs and
 * without give the same target (DEBUG DIGEST) and the same summary (keys, expired keys skipped,
 * write paths, errors), on every type with TTLs in several databases, on keys already expired, on
 * an older target that cannot take some types (rewritten instead), and on a value whose LZF data is
 * corrupt (the same error, naming the same key and offset).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRedis, digest, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { FAR_FUTURE_MS, makeEveryTypeRdb, makeRdbWith, type RdbFixture } from '../helpers/make-rdb.js';
import { importRecords } from '../../src/pipeline/import.js';
import type { ImportOptions, ImportSummary } from '../../src/pipeline/types.js';
import { FerryError } from '../../src/errors/ferry-error.js';
import { rdbInput } from './import-helpers.js';

let a: RedisServer;
let b: RedisServer;
let every: RdbFixture;
before(async () => {
  [a, b, every] = await Promise.all([startRedis(), startRedis(), makeEveryTypeRdb({ seed: 5 })]);
});
after(async () => {
  await Promise.all([a.stop(), b.stop(), every.cleanup()]);
});

/** What a summary says about the data written (not its timing). */
function facts(s: ImportSummary): unknown {
  return { keys: s.keys, skippedExpired: s.skippedExpired, skippedExisting: s.skippedExisting, errors: s.errors, paths: s.paths, lost: s.lost };
}

/** Imports `file` into `a` with key runs and into `b` without; returns both summaries after checking the targets match. */
async function both(file: string, opts: Partial<ImportOptions> = {}): Promise<[ImportSummary, ImportSummary]> {
  await Promise.all([a.client().flushall(), b.client().flushall()]);
  const withRuns = await importRecords([rdbInput(file, { keyRuns: true })], { target: a.url, ...opts });
  const without = await importRecords([rdbInput(file, { keyRuns: false })], { target: b.url, ...opts });
  assert.equal(await digest(a.client()), await digest(b.client()), `${file}: targets differ`);
  assert.deepEqual(facts(withRuns), facts(without), `${file}: summaries differ`);
  return [withRuns, without];
}

test('every type, TTLs, several databases: the same target and summary with key runs as without', async () => {
  const [s] = await both(every.path);
  assert.equal(await digest(a.client()), every.expected.digest);
  assert.ok(s.paths.restore > 10, JSON.stringify(s.paths));
});

test('keys already expired are skipped and counted the same way', async () => {
  const [s] = await both(join(CORPUS, 'rdb-tools/keys_with_expiry.rdb'));
  assert.ok(s.skippedExpired > 0, JSON.stringify(facts(s)));
});

test('conflict skip and rewrite mode take the per-key path from key runs, with the same result', async () => {
  await both(every.path, { conflict: 'skip' });
  await both(every.path, { mode: 'rewrite' });
});

test('a target too old for some types: those keys are rewritten, the rest restored, as without key runs', async () => {
  // Files of Redis 7.4+ and Valkey 8 (RDB 11-12: listpack sets, stream v3, hash field TTLs) into
  // Redis 7.0 (RDB 10): the newer types are rewritten (field TTLs dropped, counted).
  for (const f of ['generated/redis-7.4plus.rdb', 'generated/valkey-8.rdb']) {
    const [s] = await both(join(CORPUS, f), { acceptLoss: true });
    assert.ok(s.paths.rewrite > 0 && s.paths.restore > 0, `${f}: ${JSON.stringify(s.paths)}`);
  }
});

test('a value whose LZF data is corrupt fails the import with the same key and offset as without key runs', async () => {
  const f = await makeRdbWith([
    ['SET', 'good', 'x'.repeat(100), 'PXAT', String(FAR_FUTURE_MS)],
    ['SET', 'bad', 'abcabcabcabcabcabcabc-'.repeat(30), 'PXAT', String(FAR_FUTURE_MS)],
    ['HSET', 'h', 'f', 'v'],
  ]);
  try {
    const buf = readFileSync(f.path);
    // The LZF string after the key "bad": C3, compressed length, inflated length (14-bit), data. Say
    // it inflates to one byte less, and drop the checksum (0: not checked) so only the value is wrong.
    const at = buf.indexOf(Buffer.from('\x03bad\xc3', 'latin1')) + 5;
    assert.ok(at > 5, 'LZF value of "bad" found');
    const lenAt = at + (buf[at]! >> 6 === 1 ? 2 : 1);
    assert.equal(buf[lenAt]! >> 6, 1, 'a 14-bit inflated length');
    assert.ok(buf[lenAt + 1]! > 0);
    buf[lenAt + 1]!--;
    buf.writeBigUInt64LE(0n, buf.length - 8);
    const file = join(f.dir, 'corrupt.rdb');
    writeFileSync(file, buf);
    const errors: FerryError[] = [];
    for (const keyRuns of [true, false]) {
      await a.client().flushall();
      const err = await importRecords([rdbInput(file, { keyRuns })], { target: a.url }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof FerryError, `keyRuns ${keyRuns}: ${String(err)}`);
      errors.push(err);
    }
    assert.equal(errors[0]!.code, errors[1]!.code);
    assert.equal(errors[0]!.message, errors[1]!.message);
    assert.equal(errors[0]!.context.key, 'bad');
    assert.equal(errors[0]!.context.offset, errors[1]!.context.offset);
    // With --on-error skip: the other keys are written, the bad one is listed, in both forms.
    const [s] = await both(file, { onError: 'skip' });
    assert.equal(s.errors, 1);
    assert.equal(s.errorList[0]!.key, 'bad');
    assert.equal(s.keys, 2);
  } finally {
    await f.cleanup();
  }
});
