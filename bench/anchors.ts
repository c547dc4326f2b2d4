/**
 * Anchors: what the machine's own redis tools achieve on the same data, measured in the same run.
 *
 * (a) `serverLoad`: a fresh redis-server loading the RDB at start-up; the figure is the server's own
 *     "DB loaded from disk: N seconds" (nothing subtracted), read from its log on stdout as it is
 *     printed, with the wall time from spawn to that line beside it.
 * (b) `pipeFile`: `redis-cli --pipe` of a pre-built command file into a server, wall time from spawn
 *     to exit; any error reply fails the anchor.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { openSync, closeSync, createReadStream, createWriteStream, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/free-port.js';
import type { RedisServer } from '../test/helpers/redis-server.js';

export interface LoadTime {
  /** The server's own load time from its log. */
  seconds: number;
  /** Spawn to "DB loaded" line: process start-up included. */
  wallSeconds: number;
  /** Keys the server reported loading. */
  keys: number;
}

/** Start-up load time of `rdbPath` in a fresh redis-server (the file is symlinked, not copied). */
export async function serverLoad(rdbPath: string, timeoutMs = 600_000): Promise<LoadTime> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-anchor-'));
  await symlink(rdbPath, join(dir, 'dump.rdb'));
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb',
    '--save', '', '--appendonly', 'no', '--logfile', '', '--proto-max-bulk-len', '1gb',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    return await new Promise<LoadTime>((resolve, reject) => {
      let log = '';
      let keys = 0;
      const timer = setTimeout(() => reject(new Error(`redis-server did not load ${rdbPath} within ${timeoutMs} ms`)), timeoutMs);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}) while loading ${rdbPath}: ${log.slice(-500)}`));
      });
      proc.stdout.on('data', (d: Buffer) => {
        log += d.toString();
        const k = /Done loading RDB, keys loaded: (\d+)/.exec(log);
        if (k) keys = Number(k[1]);
        const m = /DB loaded from disk: ([\d.]+) seconds/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve({ seconds: Number(m[1]), wallSeconds: (performance.now() - t0) / 1000, keys });
        }
      });
    });
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

export interface PipeTime {
  seconds: number;
  replies: number;
}

/** Wall time of `redis-cli --pipe < file` into `server`. */
export async function pipeFile(server: RedisServer, file: string): Promise<PipeTime> {
  const fd = openSync(file, 'r');
  try {
    const t0 = performance.now();
    const cli = spawn('redis-cli', ['-h', server.host, '-p', String(server.port), '--pipe'], { stdio: [fd, 'pipe', 'inherit'] });
    let out = '';
    cli.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    // 'close', not 'exit': the process can exit before its stdout (the summary line) was read.
    const code = await new Promise<number | null>((resolve, reject) => {
      cli.once('error', reject);
      cli.once('close', resolve);
    });
    const seconds = (performance.now() - t0) / 1000;
    const m = /errors: (\d+), replies: (\d+)/.exec(out);
    if (code !== 0 || !m || m[1] !== '0') throw new Error(`redis-cli --pipe of ${file} failed (exit ${code}): ${out.trim().slice(-500)}`);
    return { seconds, replies: Number(m[2]) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Splits a pipe file of commands into two files for two connections: commands alternate between them,
 * and SELECT goes to both so each keeps the right database. Cached next to the source file.
 */
export async function splitPipeFile(file: string): Promise<[string, string]> {
  const outs: [string, string] = [`${file}.half0`, `${file}.half1`];
  if (existsSync(outs[0]) && existsSync(outs[1])) return outs;
  const ws = outs.map((o) => createWriteStream(`${o}.part`));
  const write = async (i: number, b: Buffer): Promise<void> => {
    if (!ws[i]!.write(b)) await new Promise<void>((r) => ws[i]!.once('drain', () => r()));
  };
  let pending: Buffer = Buffer.alloc(0);
  let turn = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
    let p = 0;
    for (;;) {
      const end = commandEnd(pending, p);
      if (end < 0) break;
      const cmd = pending.subarray(p, end);
      if (/^\*2\r\n\$6\r\nSELECT\r\n/i.test(cmd.subarray(0, 20).toString('latin1'))) {
        await write(0, cmd);
        await write(1, cmd);
      } else {
        await write(turn, cmd);
        turn ^= 1;
      }
      p = end;
    }
    pending = Buffer.from(pending.subarray(p));
  }
  if (pending.length) throw new Error(`${file} ends inside a command`);
  await Promise.all(ws.map((w) => new Promise<void>((r, j) => w.end((err?: Error | null) => (err ? j(err) : r())))));
  for (const o of outs) await rename(`${o}.part`, o);
  return outs;
}

/** End offset of the RESP command starting at `p`, or -1 when it is not wholly in `b`. */
function commandEnd(b: Buffer, p: number): number {
  if (p >= b.length) return -1;
  let e = b.indexOf('\r\n', p);
  if (e < 0) return -1;
  const argc = Number(b.toString('latin1', p + 1, e));
  let q = e + 2;
  for (let i = 0; i < argc; i++) {
    e = b.indexOf('\r\n', q);
    if (e < 0) return -1;
    q = e + 2 + Number(b.toString('latin1', q + 1, e)) + 2;
    if (q > b.length) return -1;
  }
  return q;
}

/** Wall time of two `redis-cli --pipe` runs at once into `server`, one per file (two connections). */
export async function pipeFiles2(server: RedisServer, files: [string, string]): Promise<PipeTime> {
  const t0 = performance.now();
  const [a, b] = await Promise.all(files.map((f) => pipeFile(server, f)));
  return { seconds: (performance.now() - t0) / 1000, replies: a!.replies + b!.replies };
}
