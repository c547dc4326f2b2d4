/**
 * RDB fixtures written at test time by the machine's real redis-server (7.0, RDB 10).
 *
 * Why generate instead of checking files in: the server is the oracle. A test can load the same file
 * into a fresh server natively and compare with what Ferry parsed or imported (`DEBUG DIGEST`), and the
 * fixture follows whatever encodings the installed server really writes.
 *
 * `makeEveryTypeRdb()` fills a server with every type and encoding Redis 7.0 writes (small and large
 * variants, so each encoding appears), in databases 0, 1 and 7, plus a function library, then SAVEs.
 * Content is deterministic for a given seed (explicit stream IDs, absolute expiries), so the digest is
 * stable across runs. `makeRdbWith(commands)` does the same for a caller-chosen command list.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, digest, type RedisServer } from './redis-server.js';

export type Arg = string | Buffer | number;
export type Command = Arg[];

/** What the server held right after SAVE: the facts a test compares against. */
export interface RdbExpectation {
  /** Keys per database number (only non-empty databases). */
  keysPerDb: Record<number, number>;
  /** Keys with a TTL per database number. */
  expiresPerDb: Record<number, number>;
  /** `DEBUG DIGEST` of the whole dataset (all databases). */
  digest: string;
  /** Every key with its TYPE and OBJECT ENCODING as the server reported them. */
  keys: { db: number; key: Buffer; type: string; encoding: string }[];
  /** Function library names (FUNCTION LIST). */
  functions: string[];
}

export interface RdbFixture {
  /** The RDB file written by SAVE. */
  path: string;
  /** Temp dir holding it (and the server log); removed by cleanup(). */
  dir: string;
  expected: RdbExpectation;
  cleanup(): Promise<void>;
}

export interface EveryTypeOptions {
  /** PRNG seed for values (default 1). Same seed, same content, same digest. */
  seed?: number;
  /** Databases to fill (default [0, 1, 7]). */
  dbs?: number[];
  /**
   * Add big keys in db 0, each just over the parser's default 8 MiB inline limit (see largeCommands),
   * for streaming paths. Off by default: it makes a ~60 MB file and takes several seconds.
   */
  large?: boolean;
  /** Eviction policy while saving: `lru` writes IDLE opcodes, `lfu` writes FREQ opcodes (default none). */
  policy?: 'none' | 'lru' | 'lfu';
  /** Extra redis-server arguments (e.g. ['--rdbcompression', 'no']). */
  args?: string[];
}

/** Absolute expiries far in the future (2100-01-01 + a few ms), so the fixture never changes with time. */
export const FAR_FUTURE_MS = 4_102_444_800_000;

/** mulberry32: a tiny deterministic PRNG; good enough for test content, not for anything else. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Helpers drawing deterministic values from one PRNG. */
export class Gen {
  readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = seededRandom(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  /** Lowercase letters: incompressible enough for LZF, printable for debugging. */
  word(len: number): string {
    const b = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) b[i] = 97 + Math.floor(this.rnd() * 26);
    return b.toString('latin1');
  }
  bytes(len: number): Buffer {
    const b = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) b[i] = Math.floor(this.rnd() * 256);
    return b;
  }
}

/** Every type and encoding of Redis 7.0, for one database. Key names are the same in every db. */
function* everyTypeCommands(g: Gen, db: number): Generator<Command> {
  const k = (name: string): string => `t:${name}`;

  // --- strings: int (8/16/32-bit and 64-bit-as-text in the RDB), embstr, raw, LZF, binary, empty ---
  yield ['SET', k('str:int8'), '100'];
  yield ['SET', k('str:int16'), '-30000'];
  yield ['SET', k('str:int32'), String(2_000_000_000 + db)];
  yield ['SET', k('str:int64max'), '9223372036854775807'];
  yield ['SET', k('str:int64min'), '-9223372036854775808'];
  yield ['SET', k('str:leading-zero'), '007'];
  yield ['SET', k('str:float'), '3.14159'];
  yield ['SET', k('str:empty'), ''];
  yield ['SET', k('str:embstr'), g.word(20)];
  yield ['SET', k('str:raw'), g.bytes(100)];
  yield ['SET', k('str:lzf'), 'a'.repeat(200) + g.word(10)];
  yield ['SET', k('str:lzf-64k'), `${g.word(64)}|`.repeat(1000)];
  yield ['SET', k('str:random-300k'), g.bytes(300_000)];
  yield ['SET', Buffer.from([0xff, 0x00, 0xfe, db, 0x0a, 0x0d]), Buffer.from(Array.from({ length: 256 }, (_, i) => i))];
  yield ['SET', k('str:bin-value'), Buffer.concat([Buffer.from([0, 0, 0]), g.bytes(30)])];

  // --- lists: listpack (every listpack int and string width), quicklist, compressed nodes, PLAIN node ---
  yield ['RPUSH', k('list:lp'), 'a', '0', '127', '-4096', '4095', '-32768', '32767', '-8388608', '8388607',
    '-2147483648', '2147483647', '-9223372036854775808', '9223372036854775807', '', g.word(63), g.word(64),
    g.word(4095), g.word(4096), Buffer.from([0, 1, 2, 255]), '1.5'];
  yield ['RPUSH', k('list:one'), 'only'];
  const qItems: Arg[] = [];
  for (let i = 0; i < 5000; i++) qItems.push(i % 3 === 0 ? String(i * 7919) : g.word(g.int(1, 40)));
  yield ['RPUSH', k('list:quicklist'), ...qItems];
  // A PLAIN node: Redis 7.0 stores an element as its own node when it reaches the packed threshold
  // (1 GB by default; lowered here with DEBUG so a small fixture has one).
  yield ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '1024'];
  yield ['RPUSH', k('list:plain'), 'head', g.word(5000), 'mid', g.bytes(3000), 'tail'];
  yield ['DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '1073741824'];
  // Nodes LZF-compressed in memory (list-compress-depth applies to lists created while it is set).
  yield ['CONFIG', 'SET', 'list-compress-depth', '1'];
  const cItems: Arg[] = [];
  for (let i = 0; i < 3000; i++) cItems.push(`item-${i % 50}-xxxxxxxxxxxxxxxx`);
  yield ['RPUSH', k('list:compressed'), ...cItems];
  yield ['CONFIG', 'SET', 'list-compress-depth', '0'];

  // --- sets: intset (16/32/64-bit), hashtable (strings, and ints beyond set-max-intset-entries) ---
  yield ['SADD', k('set:intset16'), '1', '2', '3', '-5', '32767'];
  yield ['SADD', k('set:intset32'), '1', '65536', '-2147483648', '2147483647'];
  yield ['SADD', k('set:intset64'), '-5', '1', '4294967296', '9223372036854775807', '-9223372036854775808'];
  yield ['SADD', k('set:strings'), 'x', 'y', 'z', Buffer.from([0, 255])];
  const sm: Arg[] = [];
  for (let i = 0; i < 1000; i++) sm.push(`m${i}${g.word(4)}`);
  yield ['SADD', k('set:big'), ...sm];
  const si: Arg[] = [];
  for (let i = 0; i < 600; i++) si.push(String(i * 1000 - 300_000));
  yield ['SADD', k('set:ints-big'), ...si];

  // --- zsets: listpack and skiplist, with inf, -inf, 1e300, negative, fractional, tiny scores ---
  yield ['ZADD', k('zset:lp'), '-inf', 'ninf', '+inf', 'pinf', '1e300', 'huge', '-1e300', 'nhuge', '-2.5', 'neg',
    '0.1', 'tenth', '0', 'zero', '3', 'three', '5e-324', 'denormal', '123456789012', 'bigint'];
  yield ['ZADD', k('zset:small'), '1', 'one', '2.5', 'two', '-3', 'three'];
  const zs: Arg[] = [];
  for (let i = 0; i < 500; i++) zs.push(String((g.rnd() - 0.5) * 1e4), `z${i}`);
  zs.push('inf', 'top', '-inf', 'bottom', '1e300', 'huge');
  yield ['ZADD', k('zset:skiplist'), ...zs];
  yield ['ZADD', k('zset:long-member'), '1', 'short', '2', g.word(100)];

  // --- hashes: listpack and hashtable (by count, and by value length) ---
  yield ['HSET', k('hash:lp'), 'f1', 'v1', 'f2', '2', 'f3', g.word(30), 'neg', '-123456', Buffer.from([0, 1]), Buffer.from([255]), 'empty', ''];
  const hf: Arg[] = [];
  for (let i = 0; i < 1000; i++) hf.push(`f${i}`, g.word(12));
  yield ['HSET', k('hash:hashtable'), ...hf];
  yield ['HSET', k('hash:long-value'), 'a', '1', 'b', g.word(200)];

  // --- streams: several nodes, deleted entries, consumer groups with pending entries, emptied streams ---
  const base = 1_700_000_000_000 + db * 1000;
  for (let i = 0; i < 250; i++) {
    const fields: Arg[] = i % 5 === 4 ? ['other', g.word(6), 'n', String(i), 'extra', g.word(3)] : ['n', String(i), 'w', g.word(5)];
    yield ['XADD', k('stream'), `${base + Math.floor(i / 3)}-${i % 3}`, ...fields];
  }
  for (const i of [1, 2, 50, 120, 121, 249]) yield ['XDEL', k('stream'), `${base + Math.floor(i / 3)}-${i % 3}`];
  yield ['XGROUP', 'CREATE', k('stream'), 'g1', '0'];
  yield ['XGROUP', 'CREATE', k('stream'), 'g2', '$'];
  yield ['XGROUP', 'CREATE', k('stream'), 'g3', `${base + 10}-0`, 'ENTRIESREAD', '30'];
  yield ['XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', '10', 'STREAMS', k('stream'), '>'];
  yield ['XREADGROUP', 'GROUP', 'g1', 'bob', 'COUNT', '5', 'STREAMS', k('stream'), '>'];
  yield ['XACK', k('stream'), 'g1', `${base}-0`, `${base + 1}-0`];
  yield ['XGROUP', 'CREATECONSUMER', k('stream'), 'g2', 'idle-consumer'];
  yield ['XREADGROUP', 'GROUP', 'g3', 'carol', 'COUNT', '3', 'STREAMS', k('stream'), '>'];
  yield ['XADD', k('stream:emptied'), `${base}-5`, 'f', 'v'];
  yield ['XDEL', k('stream:emptied'), `${base}-5`];
  yield ['XGROUP', 'CREATE', k('stream:mkstream'), 'grp', '$', 'MKSTREAM'];
  for (let i = 1; i <= 40; i++) yield ['XADD', k('stream:trimmed'), `${base}-${i}`, 'i', String(i)];
  yield ['XTRIM', k('stream:trimmed'), 'MAXLEN', '10'];

  // --- TTLs (absolute, far future; ms and s precision) on several types ---
  yield ['SET', k('ttl:str'), 'expires', 'PXAT', String(FAR_FUTURE_MS + 123 + db)];
  yield ['SET', k('ttl:str-s'), 'expires-s', 'EXAT', String(Math.floor(FAR_FUTURE_MS / 1000) + 60)];
  yield ['RPUSH', k('ttl:list'), 'a', 'b'];
  yield ['PEXPIREAT', k('ttl:list'), String(FAR_FUTURE_MS + 7)];
  yield ['PEXPIREAT', k('hash:hashtable'), String(FAR_FUTURE_MS + 999)];
  yield ['PEXPIREAT', k('zset:lp'), String(FAR_FUTURE_MS + 1)];
  yield ['PEXPIREAT', k('stream'), String(FAR_FUTURE_MS + 2)];
}

/**
 * Big keys (db 0 only), each a little over the parser's default 8 MiB inline limit so it is streamed:
 * a 9 MB string, a 1M-element list, a 500k-field hash, an 800k-member set, a 600k-member zset and a
 * 300k-entry stream with a consumer group. Sent in pieces so no single command is huge.
 */
function* largeCommands(g: Gen): Generator<Command> {
  for (let i = 0; i < 9; i++) yield ['APPEND', 'big:string', g.bytes(1 << 20)];
  for (let b = 0; b < 1000; b++) {
    const items: Arg[] = [];
    for (let i = 0; i < 1000; i++) items.push(i % 4 === 0 ? String(b * 1000 + i) : g.word(8));
    yield ['RPUSH', 'big:list', ...items];
  }
  for (let b = 0; b < 800; b++) {
    const hf: Arg[] = [];
    const sm: Arg[] = [];
    const zs: Arg[] = [];
    for (let i = 0; i < 1000; i++) {
      const n = b * 1000 + i;
      hf.push(`f${n}`, g.word(10));
      sm.push(`m${n}:${g.word(3)}`);
      zs.push(String(g.rnd() * 1e6), `z${n}`);
    }
    if (b < 500) yield ['HSET', 'big:hash', ...hf];
    yield ['SADD', 'big:set', ...sm];
    if (b < 600) yield ['ZADD', 'big:zset', ...zs];
  }
  for (let i = 1; i <= 300_000; i++) yield ['XADD', 'big:stream', `1700000000000-${i}`, 'i', String(i), 'w', g.word(20)];
  yield ['XGROUP', 'CREATE', 'big:stream', 'g', '0'];
  yield ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '500', 'STREAMS', 'big:stream', '>'];
}

function policyArgs(policy: EveryTypeOptions['policy']): string[] {
  if (policy === 'lru') return ['--maxmemory-policy', 'allkeys-lru'];
  if (policy === 'lfu') return ['--maxmemory-policy', 'allkeys-lfu'];
  return [];
}

/** The Lua library every fixture loads (FUNCTION2 record in the RDB). */
export const FIXTURE_FUNCTION =
  "#!lua name=ferrylib\nredis.register_function('ferry_echo', function(keys, args) return args[1] end)\n" +
  "redis.register_function{function_name='ferry_ro', callback=function(keys, args) return #keys end, flags={'no-writes'}}\n";

/** Every type and encoding Redis 7.0 writes, in dbs 0, 1 and 7 by default, plus a function library. */
export async function makeEveryTypeRdb(opts: EveryTypeOptions = {}): Promise<RdbFixture> {
  const seed = opts.seed ?? 1;
  function* all(): Generator<Command> {
    yield ['FUNCTION', 'LOAD', FIXTURE_FUNCTION];
    for (const db of opts.dbs ?? [0, 1, 7]) {
      yield ['SELECT', String(db)];
      yield* everyTypeCommands(new Gen(seed * 1000 + db), db);
    }
    if (opts.large) {
      yield ['SELECT', '0'];
      yield* largeCommands(new Gen(seed * 1000 + 999));
    }
  }
  return makeRdb([...policyArgs(opts.policy), ...(opts.args ?? [])], (server) => pipeInto(server, all()));
}

export interface WithOptions {
  /** Extra redis-server arguments (e.g. config that forces an encoding). */
  args?: string[];
}

/**
 * An RDB holding what `commands` build. Commands run in order on one connection (SELECT works as
 * usual); a function instead of a list gets the client to do anything else first.
 */
export async function makeRdbWith(commands: Command[] | ((client: Redis) => Promise<void>), opts: WithOptions = {}): Promise<RdbFixture> {
  return makeRdb(opts.args ?? [], async (_server, client) => {
    if (typeof commands === 'function') await commands(client);
    else for (const [name, ...args] of commands) await client.call(String(name), ...args);
  });
}

async function makeRdb(args: string[], fill: (server: RedisServer, client: Redis) => Promise<void>): Promise<RdbFixture> {
  const server = await startRedis({ args, keepDir: true });
  // RedisServer.stop() must run once only: a second call waits for an 'exit' that already happened.
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) await server.stop();
    stopped = true;
  };
  const cleanup = async (): Promise<void> => {
    await stop();
    await rm(server.dir, { recursive: true, force: true });
  };
  try {
    const client = server.client();
    await fill(server, client);
    await client.select(0);
    const expected = await describe(server, client);
    await client.call('SAVE');
    await stop();
    return { path: join(server.dir, 'dump.rdb'), dir: server.dir, expected, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Reads the facts of a live server's dataset: keyspace counts, digest, every key's type/encoding, functions. */
export async function describe(server: RedisServer, client: Redis): Promise<RdbExpectation> {
  const keysPerDb: Record<number, number> = {};
  const expiresPerDb: Record<number, number> = {};
  const info = String(await client.call('INFO', 'keyspace'));
  for (const m of info.matchAll(/^db(\d+):keys=(\d+),expires=(\d+)/gm)) {
    keysPerDb[Number(m[1])] = Number(m[2]);
    expiresPerDb[Number(m[1])] = Number(m[3]);
  }
  const keys: RdbExpectation['keys'] = [];
  const c = server.client();
  try {
    for (const db of Object.keys(keysPerDb).map(Number)) {
      await c.select(db);
      let cursor = '0';
      do {
        const [next, batch] = (await c.callBuffer('SCAN', cursor, 'COUNT', '1000')) as [Buffer, Buffer[]];
        cursor = next.toString();
        const p = c.pipeline();
        for (const key of batch) {
          p.call('TYPE', key);
          p.call('OBJECT', 'ENCODING', key);
        }
        const res = (await p.exec()) ?? [];
        batch.forEach((key, i) => {
          keys.push({ db, key, type: String(res[2 * i]![1]), encoding: String(res[2 * i + 1]![1]) });
        });
      } while (cursor !== '0');
    }
    const libs = (await c.call('FUNCTION', 'LIST')) as unknown[][];
    const functions = libs.map((lib) => String(lib[lib.indexOf('library_name') + 1]));
    return { keysPerDb, expiresPerDb, digest: await digest(c), keys, functions };
  } finally {
    c.disconnect();
  }
}

/**
 * `DUMP key` split into its parts: the RDB type byte, the raw value bytes as an RDB stores them
 * (payload minus the type byte and the 10-byte footer), and the footer's RDB version.
 */
export async function dumpPayload(client: Redis, key: string | Buffer): Promise<{ payload: Buffer; typeByte: number; raw: Buffer; rdbVersion: number }> {
  const payload = (await client.callBuffer('DUMP', key)) as Buffer | null;
  if (!payload) throw new Error(`DUMP: no such key ${String(key)}`);
  const footer = payload.length - 10;
  return { payload, typeByte: payload[0]!, raw: payload.subarray(1, footer), rdbVersion: payload.readUInt16LE(footer) };
}

// ------------------------------------------------------------------------------------------------
// RESP generation, streamed into redis-cli --pipe (much faster than a client library for bulk fills)

/** Encodes commands as RESP into a 4 MB buffer, flushed to the sink with backpressure. */
export class RespWriter {
  private buf = Buffer.allocUnsafe(4 << 20);
  private n = 0;
  constructor(private readonly sink: Writable) {}

  async command(cmd: Command): Promise<void> {
    const args = cmd.map((a) => (typeof a === 'number' ? String(a) : a));
    let size = 16;
    for (const a of args) size += 16 + (typeof a === 'string' ? Buffer.byteLength(a) : a.length);
    if (this.n + size > this.buf.length) await this.flush();
    if (size > this.buf.length) {
      // A command bigger than the buffer (a big DUMP payload): write its parts straight through.
      await this.write(Buffer.from(`*${args.length}\r\n`));
      for (const a of args) {
        const b = typeof a === 'string' ? Buffer.from(a) : a;
        await this.write(Buffer.from(`$${b.length}\r\n`));
        await this.write(b);
        await this.write(Buffer.from('\r\n'));
      }
      return;
    }
    this.n += this.buf.write(`*${args.length}\r\n`, this.n, 'latin1');
    for (const a of args) {
      if (typeof a === 'string') {
        this.n += this.buf.write(`$${Buffer.byteLength(a)}\r\n`, this.n, 'latin1');
        this.n += this.buf.write(a, this.n, 'utf8');
      } else {
        this.n += this.buf.write(`$${a.length}\r\n`, this.n, 'latin1');
        this.n += a.copy(this.buf, this.n);
      }
      this.buf[this.n++] = 13;
      this.buf[this.n++] = 10;
    }
  }

  async flush(): Promise<void> {
    if (!this.n) return;
    const out = Buffer.from(this.buf.subarray(0, this.n));
    this.n = 0;
    await this.write(out);
  }

  async end(): Promise<void> {
    await this.flush();
    this.sink.end();
    await once(this.sink, 'finish');
  }

  /** Writes with backpressure; a sink that errors or closes meanwhile fails the write instead of hanging. */
  private async write(b: Buffer): Promise<void> {
    const sink = this.sink;
    if (sink.destroyed || sink.writableEnded) throw new Error('the command sink closed before all commands were written');
    if (sink.write(b)) return;
    await new Promise<void>((resolve, reject) => {
      const off = (): void => {
        sink.off('drain', drained);
        sink.off('error', failed);
        sink.off('close', closed);
      };
      const drained = (): void => (off(), resolve());
      const failed = (e: Error): void => (off(), reject(e));
      const closed = (): void => (off(), reject(new Error('the command sink closed before all commands were written')));
      sink.on('drain', drained);
      sink.on('error', failed);
      sink.on('close', closed);
    });
  }
}

/** Streams commands into `redis-cli --pipe`; fails unless every reply was a success. */
export async function pipeInto(server: RedisServer, commands: AsyncIterable<Command> | Iterable<Command>): Promise<void> {
  const cli = spawn('redis-cli', ['-h', server.host, '-p', String(server.port), '--pipe'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  // Error replies and connection failures go into the thrown message, not onto the test's stderr.
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-8192);
  };
  cli.stdout.on('data', keep);
  cli.stderr.on('data', keep);
  const exited = once(cli, 'exit');
  // An early exit of redis-cli shows as EPIPE here; the exit code and output below say why.
  let writeError: Error | null = null;
  cli.stdin.on('error', (e) => (writeError ??= e));
  try {
    const w = new RespWriter(cli.stdin);
    for await (const c of commands) await w.command(c);
    await w.end();
  } catch (err) {
    writeError ??= err as Error;
    cli.kill('SIGKILL');
  }
  const [code] = (await exited) as [number | null];
  if (writeError) throw new Error(`redis-cli --pipe stopped reading (exit ${code}): ${(writeError as Error).message} ${output.trim()}`);
  const m = /errors: (\d+), replies: (\d+)/.exec(output);
  if (code !== 0 || !m || m[1] !== '0') throw new Error(`redis-cli --pipe failed (exit ${code}): ${output.trim()}`);
}

/**
 * An RDB of `keys` string keys written by a real server (`DEBUG POPULATE keys key 32`), copied to
 * `dest`; returns the server's DEBUG DIGEST of it. Big enough to import for a while (stop/kill tests).
 */
export async function populatedRdb(dest: string, keys: number): Promise<string> {
  const gen = await startRedis();
  try {
    await gen.client().call('DEBUG', 'POPULATE', String(keys), 'key', '32');
    await gen.client().call('SAVE');
    await copyFile(join(gen.dir, 'dump.rdb'), dest);
    return await digest(gen.client());
  } finally {
    await gen.stop();
  }
}
