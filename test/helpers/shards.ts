/**
 * A cluster backup as DCS keeps one: one RDB per master, written by real redis-server nodes of a
 * source cluster filled through a cluster client (so every key sits on the master owning its slot).
 * A target cluster created the same way (same number of masters, same order) owns the same slots,
 * so after an import each target master's DEBUG DIGEST must equal its source master's.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { digest, startCluster } from './redis-server.js';

export interface Shards {
  /** The shard files, in master order. */
  files: string[];
  /** Each source master's DEBUG DIGEST, in the same order. */
  digests: string[];
  keys: number;
}

/** Fills a `masters`-node cluster with `keys` strings, plus a hash, list, set and zset per 100 keys, and saves each node into `dir`. */
export async function makeShards(dir: string, masters: number, keys: number, prefix = 'shard'): Promise<Shards> {
  const src = await startCluster(masters);
  const c = new Cluster([{ host: '127.0.0.1', port: src.nodes[0]!.port }]);
  try {
    const BATCH = 500;
    for (let i = 0; i < keys; i += BATCH) {
      const ops: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(keys, i + BATCH); j++) {
        ops.push(c.set(`k:${j}`, `value-${j}-${'x'.repeat(j % 64)}`));
        if (j % 100 === 0) {
          ops.push(c.hset(`h:${j}`, { a: String(j), b: 'bee' }));
          ops.push(c.rpush(`l:${j}`, 'one', 'two', String(j)));
          ops.push(c.sadd(`s:${j}`, 'x', 'y', String(j)));
          ops.push(c.zadd(`z:${j}`, 1, 'a', j, 'b'));
          ops.push(c.pexpireat(`k:${j}`, Date.now() + 3_600_000 + j));
        }
      }
      await Promise.all(ops);
    }
    const files: string[] = [];
    const digests: string[] = [];
    for (const [i, n] of src.nodes.entries()) {
      const cl = n.client();
      await cl.call('SAVE');
      const f = `${prefix}-${i}.rdb`;
      copyFileSync(join(n.dir, 'dump.rdb'), join(dir, f));
      files.push(f);
      digests.push(await digest(cl));
    }
    return { files, digests, keys };
  } finally {
    c.disconnect();
    await src.stop();
  }
}
