/**
 * Real redis-server processes for tests: standalone (optionally with a password, loading an RDB
 * natively, or TLS) and 3-master clusters. Every server binds 127.0.0.1 on a free port, keeps its
 * files in a temp dir, and is killed by `stop()` (tests call it in `after`).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, basename, resolve, dirname } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import type { TestCerts } from './tls-certs.js';

const execFileP = promisify(execFile);

export interface RedisServer {
  /** The port clients use: the TLS port of a TLS server. */
  port: number;
  /** TLS servers started with `plainPort`: the plaintext port next to the TLS one. */
  plainPort?: number;
  host: string;
  dir: string;
  password?: string;
  /** `redis://...` or, for a TLS server, `rediss://...` on its TLS port. */
  url: string;
  /** redis-cli arguments reaching this server (`-p`, and `--tls --cacert ...` for a TLS server). */
  cliArgs: string[];
  client(): Redis;
  stop(): Promise<void>;
  proc: ChildProcess;
}

export interface StartOptions {
  password?: string;
  /** Load this RDB at start-up (copied into the server's dir; the original is never touched). */
  rdbFile?: string;
  args?: string[];
  cluster?: boolean;
  /** Keep the server's dir when stopping (for debugging). */
  keepDir?: boolean;
  /**
   * TLS only (`--port 0 --tls-port P`, clients must show a certificate of the test CA), or also a
   * plaintext port with `plainPort`. Clusters get `--tls-cluster yes --tls-replication yes`.
   */
  tls?: { certs: TestCerts; plainPort?: boolean };
}

/** redis-cli's TLS arguments for the test CA and client certificate. */
export function tlsCliArgs(certs: TestCerts): string[] {
  return ['--tls', '--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey];
}

export async function startRedis(opts: StartOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-redis-'));
  let dbfilename = 'dump.rdb';
  if (opts.rdbFile) {
    dbfilename = basename(opts.rdbFile);
    await copyFile(opts.rdbFile, join(dir, dbfilename));
  }
  const tls = opts.tls;
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const plainPort = tls ? (tls.plainPort ? await freePort() : 0) : port;
    const args = [
      '--port', String(plainPort), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', dbfilename,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', join(dir, 'redis.log'),
      '--enable-debug-command', 'yes',
    ];
    if (tls) {
      const c = tls.certs;
      args.push('--tls-port', String(port), '--tls-cert-file', c.serverCert, '--tls-key-file', c.serverKey, '--tls-ca-cert-file', c.ca);
      if (opts.cluster) args.push('--tls-cluster', 'yes', '--tls-replication', 'yes');
    }
    if (opts.password) args.push('--requirepass', opts.password);
    if (opts.cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000');
    args.push(...(opts.args ?? []));
    const cliArgs = ['-h', '127.0.0.1', '-p', String(port), ...(tls ? tlsCliArgs(tls.certs) : [])];
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    try {
      await waitReady(cliArgs, opts.password, proc);
    } catch (err) {
      proc.kill('SIGKILL');
      if (attempt < 3) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const host = '127.0.0.1';
    const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
    const clients: Redis[] = [];
    const clientTls = tls ? { ca: readFileSync(tls.certs.ca), cert: readFileSync(tls.certs.clientCert), key: readFileSync(tls.certs.clientKey) } : undefined;
    return {
      port, host, dir, proc, password: opts.password, cliArgs,
      ...(tls?.plainPort ? { plainPort } : {}),
      url: `${tls ? 'rediss' : 'redis'}://${auth}${host}:${port}`,
      client() {
        const c = new Redis({ host, port, password: opts.password, lazyConnect: false, maxRetriesPerRequest: 1, ...(clientTls ? { tls: clientTls } : {}) });
        clients.push(c);
        return c;
      },
      async stop() {
        for (const c of clients) c.disconnect();
        // After a SIGKILL exitCode stays null and signalCode is set: the process is gone already.
        if (proc.exitCode === null && proc.signalCode === null) {
          const exited = new Promise((r) => proc.once('exit', r));
          proc.kill('SIGKILL');
          await exited;
        }
        if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

async function waitReady(cliArgs: string[], password: string | undefined, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  const port = cliArgs[cliArgs.indexOf('-p') + 1];
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${proc.exitCode}`);
    try {
      const a = password ? ['-a', password, '--no-auth-warning'] : [];
      const { stdout } = await execFileP('redis-cli', [...cliArgs, ...a, 'PING'], { timeout: 2000 });
      if (stdout.trim() === 'PONG') return;
      // LOADING: the server is still reading its RDB; keep waiting.
    } catch {
      /* not yet listening */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not become ready`);
}

export interface RedisCluster {
  nodes: RedisServer[];
  /** Seed URL of the first master. */
  url: string;
  stop(): Promise<void>;
}

/** Three masters (no replicas) joined with `redis-cli --cluster create` (over TLS for a TLS cluster). */
export async function startCluster(masters = 3, opts: { password?: string; tls?: StartOptions['tls'] } = {}): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) nodes.push(await startRedis({ cluster: true, password: opts.password, ...(opts.tls ? { tls: opts.tls } : {}) }));
    const a = opts.password ? ['-a', opts.password, '--no-auth-warning'] : [];
    const t = opts.tls ? tlsCliArgs(opts.tls.certs) : [];
    await execFileP('redis-cli', [...t, ...a, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    // Wait until every node agrees the cluster is ok.
    const deadline = Date.now() + 30_000;
    for (const n of nodes) {
      for (;;) {
        const { stdout } = await execFileP('redis-cli', [...n.cliArgs, ...a, 'CLUSTER', 'INFO']);
        if (stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error('cluster did not reach state ok');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return {
    nodes,
    url: nodes[0]!.url,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** `DEBUG DIGEST` of a server: one hex string for the whole dataset (all databases). */
export async function digest(client: Redis): Promise<string> {
  return String(await client.call('DEBUG', 'DIGEST'));
}

/** The shared corpus folder, seen from the project root. */
export const CORPUS = resolve(dirname(new URL(import.meta.url).pathname), '../../../shared/corpus');
