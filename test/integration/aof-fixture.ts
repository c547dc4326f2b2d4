/**
 * AOF files written at test time by a real redis-server 7.0 with appendonly on, in every form Ferry
 * reads, plus the digest of the server that wrote them:
 *  - `dir`: the Redis 7 multi-part directory (manifest, base, incr), base as RDB (preamble on) or AOF;
 *  - `single`: base + incr concatenated into one file: the old-style single AOF (RDB preamble then
 *    RESP when the preamble is on; plain RESP when it is off), as Redis 4..6 wrote it.
 */
import { readFile, readdir, writeFile, mkdtemp, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, digest } from '../helpers/redis-server.js';
import { parseManifest, loadOrder } from '../../src/aof/manifest.js';

export interface AofFixture {
  /** Copy of the server's appendonlydir. */
  dir: string;
  /** One file: the base then the incr files. */
  single: string;
  digest: string;
  dbsize: number;
}

async function waitRewrite(c: Redis): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const info = String(await c.info('persistence'));
    if (info.includes('aof_rewrite_in_progress:0') && info.includes('aof_rewrite_scheduled:0')) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('AOF rewrite did not finish');
}

/** Writes a varied dataset: every type, several dbs, TTLs, a transaction, deletes, binary keys. */
async function fill(c: Redis, tag: string): Promise<void> {
  const far = Date.now() + 3_600_000;
  await c.select(0);
  await c.set(`${tag}:s`, 'hello');
  await c.set(Buffer.from([0, 1, 2, 255, 13, 10]), Buffer.from([9, 8, 7, 0]));
  await c.set(`${tag}:n`, '12345');
  await c.set(`${tag}:big`, 'x'.repeat(70_000));
  await c.rpush(`${tag}:l`, 'a', 'b', 'c', ...Array.from({ length: 200 }, (_, i) => `e${i}`));
  await c.sadd(`${tag}:set`, '1', '2', '3');
  await c.sadd(`${tag}:sets`, 'a', 'b');
  await c.zadd(`${tag}:z`, 1.5, 'one', -2, 'two', 1e300, 'big');
  await c.hset(`${tag}:h`, { f1: 'v1', f2: 'v2' });
  await c.xadd(`${tag}:st`, '1-1', 'f', 'v');
  await c.xadd(`${tag}:st`, '2-1', 'g', 'w');
  await c.call('XGROUP', 'CREATE', `${tag}:st`, 'grp', '0');
  await c.set(`${tag}:ttl`, 'v', 'PXAT', far);
  await c.expireat(`${tag}:l`, Math.floor(far / 1000));
  await c.set(`${tag}:gone`, '1');
  await c.del(`${tag}:gone`);
  await c.incrby(`${tag}:n`, 5);
  await c.select(3);
  await c.set(`${tag}:db3`, 'three');
  await c.multi().set(`${tag}:tx1`, '1').incr(`${tag}:tx2`).lpush(`${tag}:tx3`, 'x').exec();
  await c.select(9);
  await c.hset(`${tag}:h9`, 'a', '1');
  await c.select(0);
}

export async function makeAofFixture(preamble: boolean): Promise<AofFixture> {
  // The plain form also carries `#TS:` annotations (aof-timestamp-enabled), which readers must skip.
  const srv = await startRedis({
    args: ['--appendonly', 'yes', '--appendfsync', 'always', '--aof-use-rdb-preamble', preamble ? 'yes' : 'no', '--aof-timestamp-enabled', preamble ? 'no' : 'yes'],
  });
  try {
    const c = srv.client();
    await fill(c, 'base');
    await c.bgrewriteaof();
    await waitRewrite(c);
    await fill(c, 'incr');
    const d = await digest(c);
    let dbsize = 0;
    for (const db of [0, 3, 9]) {
      await c.select(db);
      dbsize += await c.dbsize();
    }
    const out = await mkdtemp(join(tmpdir(), 'ferry-aof-'));
    const dir = join(out, 'appendonlydir');
    await cp(join(srv.dir, 'appendonlydir'), dir, { recursive: true });
    const names = await readdir(dir);
    const manifestName = names.find((n) => n.endsWith('.manifest'))!;
    const manifest = parseManifest(await readFile(join(dir, manifestName), 'utf8'));
    const parts = await Promise.all(loadOrder(manifest).map((f) => readFile(join(dir, f.file))));
    const single = join(out, 'appendonly.aof');
    await writeFile(single, Buffer.concat(parts));
    return { dir, single, digest: d, dbsize };
  } finally {
    await srv.stop();
  }
}
