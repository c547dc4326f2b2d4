/**
 * RDB 11 (Valkey 8) and RDB 12 (Redis 7.4+) files cannot be loaded by the machine's redis-server 7.0,
 * so their oracle is the JSON dump the writing server produced (corpus/generated/*.json). Importing
 * them into Redis 7.0 exercises the rewrite path for types the target cannot RESTORE (set listpack,
 * stream v3, hashes with field TTLs).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { importRecords } from '../../src/pipeline/import.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import { rdbInput } from './import-helpers.js';

type Json = Record<string, unknown>;
interface KeyJson {
  type: string;
  expireAt: number | null;
  value: unknown;
}

let target: RedisServer;
let c: Redis;
before(async () => {
  target = await startRedis();
  c = target.client();
});
after(async () => {
  await target.stop();
});

function bytes(s: string): Buffer {
  return s.startsWith('b64:') ? Buffer.from(s.slice(4), 'base64') : Buffer.from(s);
}

function sortedStrings(xs: Buffer[]): string[] {
  return xs.map((x) => x.toString('base64')).sort();
}

/** Compares every live key of the JSON dump with the target; returns the keys checked. */
async function compareWithJson(jsonPath: string, opts: { fieldTtlsDropped: boolean }): Promise<number> {
  const dump = JSON.parse(readFileSync(jsonPath, 'utf8')) as Json;
  const now = Date.now();
  let checked = 0;
  for (const [dbText, keys] of Object.entries(dump)) {
    if (dbText === 'functions') continue;
    await c.select(Number(dbText));
    const live = Object.entries(keys as Record<string, KeyJson>).filter(([, v]) => v.expireAt === null || v.expireAt > now);
    assert.equal(await c.dbsize(), live.length, `db ${dbText} key count`);
    for (const [name, want] of live) {
      const key = bytes(name);
      const where = `db${dbText} ${name}`;
      assert.equal(await c.type(key), want.type, `${where} type`);
      assert.equal(await c.pexpiretime(key), want.expireAt ?? -1, `${where} expiry`);
      switch (want.type) {
        case 'string':
          assert.deepEqual(await c.getBuffer(key), bytes(want.value as string), where);
          break;
        case 'list':
          assert.deepEqual(await c.lrangeBuffer(key, 0, -1), (want.value as string[]).map(bytes), where);
          break;
        case 'set':
          assert.deepEqual(sortedStrings(await c.smembersBuffer(key)), sortedStrings((want.value as string[]).map(bytes)), where);
          break;
        case 'zset': {
          const got = await c.zrange(key, '0', '-1', 'WITHSCORES');
          const pairs: [string, number][] = [];
          for (let i = 0; i < got.length; i += 2) pairs.push([got[i]!, Number(got[i + 1]!)]);
          const exp = (want.value as [string, string][]).map(([m, s]) => [m, Number(s)] as [string, number]);
          assert.deepEqual(pairs, exp, where);
          break;
        }
        case 'hash': {
          const v = want.value as Record<string, unknown>;
          const hfe = 'fields' in v && 'fieldExpires' in v;
          const fields = (hfe ? v.fields : v) as Record<string, string>;
          const ttls = (hfe ? v.fieldExpires : {}) as Record<string, number>;
          const expect: Record<string, string> = {};
          for (const [f, val] of Object.entries(fields)) if (!(ttls[f] !== undefined && ttls[f]! <= now)) expect[f] = val;
          assert.deepEqual(await c.hgetall(key), expect, where);
          if (hfe) assert.ok(opts.fieldTtlsDropped, `${where}: field TTLs on a target without them`);
          break;
        }
        case 'stream': {
          const v = want.value as { entries: [string, string[]][]; lastId: string; groups: { name: string; lastDeliveredId: string; pending: number }[] };
          const got = (await c.xrange(key, '-', '+')) as [string, string[]][];
          assert.deepEqual(got, v.entries, `${where} entries`);
          const info = (await c.call('XINFO', 'STREAM', key)) as unknown[];
          assert.equal(info[info.indexOf('last-generated-id') + 1], v.lastId, `${where} last id`);
          const groups = (await c.call('XINFO', 'GROUPS', key)) as unknown[][];
          const g = groups.map((row) => ({ name: row[row.indexOf('name') + 1], lastDeliveredId: row[row.indexOf('last-delivered-id') + 1], pending: row[row.indexOf('pending') + 1] }));
          assert.deepEqual(g, v.groups, `${where} groups`);
          break;
        }
        default:
          assert.fail(`${where}: unexpected type ${want.type}`);
      }
      checked++;
    }
  }
  await c.select(0);
  const libs = (await c.call('FUNCTION', 'LIST')) as unknown[][];
  assert.deepEqual(libs.map((l) => l[l.indexOf('library_name') + 1]).sort(), (dump.functions as string[]).slice().sort(), 'function libraries');
  return checked;
}

async function reset(): Promise<void> {
  await c.flushall();
  await c.call('FUNCTION', 'FLUSH');
}

for (const mode of ['auto', 'rewrite'] as const) {
  test(`valkey-8.rdb (RDB 11) into Redis 7.0 (${mode}): every key as the JSON dump says`, async () => {
    await reset();
    const s = await importRecords([rdbInput(join(CORPUS, 'generated/valkey-8.rdb'))], { target: target.url, mode });
    assert.equal(s.errors, 0, JSON.stringify(s.errorList));
    assert.ok(s.skippedExpired >= 1, 'the 3 s TTL keys were skipped');
    if (mode === 'auto') assert.ok(s.paths.rewrite > 0 && s.paths.restore > 0, 'both RESTORE and rewrite were used');
    const n = await compareWithJson(join(CORPUS, 'generated/valkey-8.json'), { fieldTtlsDropped: false });
    assert.equal(n, s.keys);
  });
}

test('redis-7.4plus.rdb (field TTLs) into Redis 7.0 fails naming the key and the feature', async () => {
  await reset();
  await assert.rejects(
    importRecords([rdbInput(join(CORPUS, 'generated/redis-7.4plus.rdb'))], { target: target.url }),
    (e: unknown) => isFerryError(e, 'TARGET_TOO_OLD') && /hfe/.test(e.message) && /field TTL/i.test(e.message) && /--accept-loss/.test(e.message),
  );
});

test('redis-7.4plus.rdb with --accept-loss: fields imported without TTLs, every loss counted', async () => {
  await reset();
  const s = await importRecords([rdbInput(join(CORPUS, 'generated/redis-7.4plus.rdb'))], { target: target.url, acceptLoss: true });
  assert.equal(s.errors, 0, JSON.stringify(s.errorList));
  assert.ok((s.lost['hash-field-ttl'] ?? 0) > 0, JSON.stringify(s.lost));
  const n = await compareWithJson(join(CORPUS, 'generated/redis-7.4plus.json'), { fieldTtlsDropped: true });
  assert.equal(n, s.keys);
});
