/**
 * Blobs only newer servers write, taken from the generated corpus files (written by Valkey 8 with
 * RDB 11 and a Redis 7.4+ build with RDB 12) and checked against the keyspace JSON saved with them:
 * set listpacks (type 20), listpack hashes with field TTLs (type 25), and intsets of those files.
 * The value is found by scanning the file for the key's record ([type][len][key]); the blob's RDB
 * string follows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CORPUS } from '../helpers/redis-server.js';
import { listpackEntries, listpackValues, intsetMembers, readRdbStringAt } from '../../src/rdb/blobs/index.js';

const GEN = join(CORPUS, 'generated');

/** The position just past `[type][len][key]` in the file, which must occur exactly once. */
function afterKey(file: Buffer, typeByte: number, key: string): number {
  const k = Buffer.from(key, 'latin1');
  assert.ok(k.length < 64);
  const pattern = Buffer.concat([Buffer.from([typeByte, k.length]), k]);
  const at = file.indexOf(pattern);
  assert.ok(at > 0, `${key}: no type-${typeByte} record`);
  assert.equal(file.indexOf(pattern, at + 1), -1, `${key}: more than one record`);
  return at + pattern.length;
}

interface Keyspace {
  [db: string]: Record<string, { type: string; value: unknown }>;
}

async function load(name: string): Promise<{ file: Buffer; json: Keyspace }> {
  const file = await readFile(join(GEN, `${name}.rdb`));
  const json = JSON.parse(await readFile(join(GEN, `${name}.json`), 'utf8')) as Keyspace;
  return { file, json };
}

test('Valkey 8 (RDB 11): set listpacks and intsets hold the saved members', async () => {
  const { file, json } = await load('valkey-8');
  for (const db of ['0', '1', '7']) {
    const small = `s1:db${db}:set:small`;
    const lp = readRdbStringAt(file, afterKey(file, 20, small), { file: 'valkey-8.rdb', key: small });
    assert.deepEqual(listpackEntries(lp.value).map(String).sort(), [...(json[db][small].value as string[])].sort());
    const ints = `s1:db${db}:set:int`;
    const is = readRdbStringAt(file, afterKey(file, 11, ints));
    assert.deepEqual(intsetMembers(is.value).map(String), [...(json[db][ints].value as string[])].sort((a, b) => Number(a) - Number(b)));
  }
});

test('Redis 7.4+ (RDB 12): listpack hashes with field TTLs hold field, value, absolute expiry triplets', async () => {
  const { file, json } = await load('redis-7.4plus');
  for (const db of ['0', '1', '7']) {
    const key = `s1:db${db}:hash:hfe:small`;
    const saved = json[db][key].value as { fields: Record<string, string>; fieldExpires: Record<string, number> };
    let pos = afterKey(file, 25, key);
    const minExpire = Number(file.readBigUInt64LE(pos));
    pos += 8;
    const lp = readRdbStringAt(file, pos, { file: 'redis-7.4plus.rdb', key });
    const v = listpackValues(lp.value);
    assert.equal(v.length % 3, 0);
    const fields: Record<string, string> = {};
    const expires: Record<string, number> = {};
    for (let i = 0; i < v.length; i += 3) {
      const f = String(v[i]);
      fields[f] = String(v[i + 1]);
      assert.equal(typeof v[i + 2], 'bigint', 'the TTL is an integer');
      if (v[i + 2] !== 0n) expires[f] = Number(v[i + 2]);
    }
    assert.deepEqual(fields, saved.fields);
    assert.deepEqual(expires, saved.fieldExpires);
    assert.equal(minExpire, Math.min(...Object.values(saved.fieldExpires)));
    // The text view renders the same integers.
    assert.deepEqual(listpackEntries(lp.value).map(String), v.map(String));
  }
});
