/**
 * Large benchmark datasets, written by a real redis-server and cached under `.tmp/bench-data/<version>/`
 * (git-ignored). Each is generated once: a server is filled through `redis-cli --pipe` from RESP
 * generated here as a stream (never built whole in memory), SAVEd, and the RDB is kept together with
 * a `<name>.json` meta file (written last, so a half-made dataset is never taken for a finished one).
 *
 * On demand a dataset also gets `<name>.restore.resp`: `RESTORE key abs-ttl payload REPLACE ABSTTL`
 * commands for `redis-cli --pipe`, built from DUMP/PEXPIRETIME answered by a server that loaded the RDB
 * natively — the import anchor, built independently of Ferry's parser.
 *
 *   small-strings  1,000,000 string keys with 16-byte values
 *   mixed          ~350 MB: strings, lists, sets, zsets, hashes, streams (with groups), 10% TTLs, a few big keys
 *   big-keys       a 2,000,000-field hash, a 5,000,000-element list and a 256 MB string (generated only when asked)
 */
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, digest } from './redis-server.js';
import { seededRandom, FAR_FUTURE_MS, RespWriter, pipeInto } from './make-rdb.js';

/** Bump when the content of any dataset changes: old caches are then ignored. */
export const DATASET_VERSION = 'v1';
export const BENCH_DATA_DIR = resolve(dirname(new URL(import.meta.url).pathname), '../../.tmp/bench-data', DATASET_VERSION);

export type DatasetName = 'small-strings' | 'mixed' | 'big-keys';
export const DATASET_NAMES: DatasetName[] = ['small-strings', 'mixed', 'big-keys'];

export interface Dataset {
  name: DatasetName;
  /** The RDB file (RDB 10, written by SAVE). */
  rdb: string;
  /** Size of the RDB in bytes. */
  bytes: number;
  /** Keys in the dataset (all databases). */
  keys: number;
  keysPerDb: Record<number, number>;
  /** `DEBUG DIGEST` of the server that wrote it: an import is exact when the target's digest matches. */
  digest: string;
  generatedAt: string;
  generateSeconds: number;
}

type Arg = string | Buffer;

/** Temp-file suffix: per process, so two runs generating the same dataset at once never share a file. */
const PART = `part-${process.pid}`;

/** Returns the dataset, generating and caching it first when it is not there yet. */
export async function dataset(name: DatasetName, log: (msg: string) => void = () => {}): Promise<Dataset> {
  const meta = join(BENCH_DATA_DIR, `${name}.json`);
  if (existsSync(meta)) return JSON.parse(await readFile(meta, 'utf8')) as Dataset;
  await mkdir(BENCH_DATA_DIR, { recursive: true });
  log(`generating dataset ${name} (once; cached in ${BENCH_DATA_DIR})`);
  const t0 = performance.now();
  const rdb = join(BENCH_DATA_DIR, `${name}.rdb`);
  const server = await startRedis({ args: ['--proto-max-bulk-len', '1gb'], keepDir: true });
  try {
    await pipeInto(server, GENERATORS[name]());
    const client = server.client();
    const keysPerDb = await keyspace(client);
    const dig = await digest(client);
    await client.call('SAVE');
    await copyFile(join(server.dir, 'dump.rdb'), `${rdb}.${PART}`);
    await rename(`${rdb}.${PART}`, rdb);
    const ds: Dataset = {
      name, rdb, bytes: (await stat(rdb)).size,
      keys: Object.values(keysPerDb).reduce((a, b) => a + b, 0), keysPerDb, digest: dig,
      generatedAt: new Date().toISOString(), generateSeconds: (performance.now() - t0) / 1000,
    };
    await writeFile(`${meta}.${PART}`, JSON.stringify(ds, null, 2));
    await rename(`${meta}.${PART}`, meta);
    log(`dataset ${name}: ${(ds.bytes / 1e6).toFixed(1)} MB, ${ds.keys} keys, ${ds.generateSeconds.toFixed(1)} s`);
    return ds;
  } finally {
    await server.stop();
    await rm(server.dir, { recursive: true, force: true });
    await rm(`${rdb}.${PART}`, { force: true });
  }
}

/**
 * Path of the dataset's RESTORE command file for `redis-cli --pipe`, built on first request from a
 * server that loaded the RDB natively (DUMP + PEXPIRETIME pipelined over SCAN, streamed to the file).
 */
export async function restoreCommands(ds: Dataset, log: (msg: string) => void = () => {}): Promise<string> {
  const out = join(BENCH_DATA_DIR, `${ds.name}.restore.resp`);
  if (existsSync(out)) return out;
  log(`building RESTORE anchor for ${ds.name} from DUMP`);
  const server = await startRedis({ rdbFile: ds.rdb, args: ['--proto-max-bulk-len', '1gb'] });
  const file = createWriteStream(`${out}.${PART}`);
  try {
    const client = server.client();
    const enc = new RespWriter(file);
    let written = 0;
    for (const db of Object.keys(ds.keysPerDb).map(Number)) {
      await client.select(db);
      await enc.command(['SELECT', String(db)]);
      let cursor = '0';
      do {
        const [next, keys] = (await client.callBuffer('SCAN', cursor, 'COUNT', '500')) as [Buffer, Buffer[]];
        cursor = next.toString();
        const p = client.pipeline();
        for (const key of keys) {
          p.callBuffer('DUMP', key);
          p.call('PEXPIRETIME', key);
        }
        const res = (await p.exec()) ?? [];
        for (let i = 0; i < keys.length; i++) {
          const [e1, payload] = res[2 * i]!;
          const [e2, at] = res[2 * i + 1]!;
          if (e1 || e2) throw e1 ?? e2;
          const ttl = Number(at) > 0 ? String(at) : '0';
          await enc.command(['RESTORE', keys[i]!, ttl, payload as Buffer, 'REPLACE', 'ABSTTL']);
          written++;
        }
      } while (cursor !== '0');
    }
    await enc.end();
    if (written !== ds.keys) throw new Error(`RESTORE anchor for ${ds.name}: dumped ${written} keys, expected ${ds.keys}`);
    await rename(`${out}.${PART}`, out);
    return out;
  } finally {
    if (!file.closed) file.destroy();
    await rm(`${out}.${PART}`, { force: true });
    await server.stop();
  }
}

/** Keys per database from INFO keyspace. */
export async function keyspace(client: Redis): Promise<Record<number, number>> {
  const info = String(await client.call('INFO', 'keyspace'));
  const out: Record<number, number> = {};
  for (const m of info.matchAll(/^db(\d+):keys=(\d+)/gm)) out[Number(m[1])] = Number(m[2]);
  return out;
}

// ------------------------------------------------------------------------------------------------
// Content. Values are slices of a seeded pool of random lowercase letters: fast to make, deterministic,
// and not LZF-compressible (so file sizes are what the counts say). Compressible values are made on purpose.

class Pool {
  readonly rnd: () => number;
  private readonly pool: Buffer;
  constructor(seed: number, size = 16 << 20) {
    this.rnd = seededRandom(seed);
    this.pool = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) this.pool[i] = 97 + Math.floor(this.rnd() * 26);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  /** A random slice of the pool (shares memory: copy before keeping it). */
  bytes(len: number): Buffer {
    const off = Math.floor(this.rnd() * (this.pool.length - len));
    return this.pool.subarray(off, off + len);
  }
  str(len: number): string {
    return this.bytes(len).toString('latin1');
  }
}

const far = (p: Pool): string => String(FAR_FUTURE_MS + p.int(0, 86_400_000 * 365));

function* smallStrings(): Generator<Arg[]> {
  const p = new Pool(101, 1 << 20);
  for (let i = 0; i < 1_000_000; i++) yield ['SET', `key:${i}`, p.bytes(16)];
}

function* mixed(): Generator<Arg[]> {
  const p = new Pool(202);
  const ttl = (key: string): Arg[][] => (p.rnd() < 0.1 ? [['PEXPIREAT', key, far(p)]] : []);
  // Strings: 800k, mostly 10-400 bytes; some int-encoded, some LZF-compressible.
  for (let i = 0; i < 800_000; i++) {
    const r = p.rnd();
    const v: Arg = r < 0.05 ? String(p.int(-1e9, 1e9)) : r < 0.1 ? `${p.str(8)}-`.repeat(p.int(25, 120)) : p.bytes(r < 0.7 ? p.int(10, 100) : p.int(100, 400));
    if (p.rnd() < 0.1) yield ['SET', `s:${i}`, v, 'PXAT', far(p)];
    else yield ['SET', `s:${i}`, v];
  }
  // Hashes: 100k listpack-sized, 200 hashtable ones.
  for (let i = 0; i < 100_200; i++) {
    const big = i >= 100_000;
    const n = big ? 2000 : p.int(5, 20);
    const args: Arg[] = ['HSET', `h:${i}`];
    for (let j = 0; j < n; j++) args.push(`field:${j}`, p.bytes(big ? p.int(10, 60) : p.int(5, 40)));
    yield args;
    yield* ttl(`h:${i}`);
  }
  // Lists: 50k small, 100 of 20k elements (sent in chunks).
  for (let i = 0; i < 50_100; i++) {
    const n = i >= 50_000 ? 20_000 : p.int(5, 50);
    for (let done = 0; done < n; done += 1000) {
      const args: Arg[] = ['RPUSH', `l:${i}`];
      for (let j = done; j < Math.min(n, done + 1000); j++) args.push(j % 7 === 0 ? String(j) : p.bytes(p.int(5, 30)));
      yield args;
    }
    yield* ttl(`l:${i}`);
  }
  // Sets: 50k intsets, 30k string sets.
  for (let i = 0; i < 80_000; i++) {
    const ints = i < 50_000;
    const n = ints ? p.int(5, 100) : p.int(10, 60);
    const args: Arg[] = ['SADD', `set:${i}`];
    for (let j = 0; j < n; j++) args.push(ints ? String(p.int(-1e6, 1e9)) : p.bytes(p.int(8, 20)));
    yield args;
    yield* ttl(`set:${i}`);
  }
  // Zsets: 50k listpack-sized, 100 skiplists of 10k members.
  for (let i = 0; i < 50_100; i++) {
    const n = i >= 50_000 ? 10_000 : p.int(5, 60);
    for (let done = 0; done < n; done += 1000) {
      const args: Arg[] = ['ZADD', `z:${i}`];
      for (let j = done; j < Math.min(n, done + 1000); j++) args.push(String(Math.round((p.rnd() - 0.3) * 1e8) / 100), `${p.str(p.int(4, 12))}${j}`);
      yield args;
    }
    yield* ttl(`z:${i}`);
  }
  // Streams: 5k of 50-300 entries, one in five with a consumer group and pending entries.
  for (let i = 0; i < 5000; i++) {
    const key = `x:${i}`;
    const n = p.int(50, 300);
    for (let j = 1; j <= n; j++) {
      const args: Arg[] = ['XADD', key, `${1_700_000_000_000 + i}-${j}`, 'a', p.bytes(p.int(5, 30)), 'b', String(j)];
      if (j % 10 === 0) args.push('c', p.bytes(40));
      yield args;
    }
    if (i % 5 === 0) {
      yield ['XGROUP', 'CREATE', key, 'g', '0'];
      yield ['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '20', 'STREAMS', key, '>'];
    }
    yield* ttl(key);
  }
  // A few big keys.
  for (let i = 0; i < 32; i++) yield ['APPEND', 'big:string', p.bytes(1 << 20)];
  for (let b = 0; b < 500; b++) {
    const h: Arg[] = ['HSET', 'big:hash'];
    const l: Arg[] = ['RPUSH', 'big:list'];
    for (let j = 0; j < 1000; j++) h.push(`f${b * 1000 + j}`, p.bytes(p.int(8, 20)));
    for (let j = 0; j < 2000; j++) l.push(p.bytes(p.int(4, 12)));
    yield h;
    yield l;
    if (b < 300) {
      const z: Arg[] = ['ZADD', 'big:zset'];
      const s: Arg[] = ['SADD', 'big:set'];
      for (let j = 0; j < 1000; j++) {
        z.push(String(p.rnd() * 1e6), `m${b * 1000 + j}`);
        s.push(`m${b * 1000 + j}:${p.str(4)}`);
      }
      yield z;
      yield s;
    }
  }
  // Other databases.
  for (const db of [1, 5]) {
    yield ['SELECT', String(db)];
    for (let i = 0; i < 10_000; i++) yield ['SET', `d${db}:${i}`, p.bytes(p.int(10, 100))];
  }
}

function* bigKeys(): Generator<Arg[]> {
  const p = new Pool(303);
  for (let i = 0; i < 256; i++) yield ['APPEND', 'big:string:256m', p.bytes(1 << 20)];
  for (let b = 0; b < 2000; b++) {
    const args: Arg[] = ['HSET', 'big:hash:2m'];
    for (let j = 0; j < 1000; j++) args.push(`field:${b * 1000 + j}`, p.bytes(p.int(4, 16)));
    yield args;
  }
  for (let b = 0; b < 5000; b++) {
    const args: Arg[] = ['RPUSH', 'big:list:5m'];
    for (let j = 0; j < 1000; j++) args.push(j % 5 === 0 ? String(b * 1000 + j) : p.bytes(p.int(4, 12)));
    yield args;
  }
}

const GENERATORS: Record<DatasetName, () => Iterable<Arg[]>> = { 'small-strings': smallStrings, mixed, 'big-keys': bigKeys };
