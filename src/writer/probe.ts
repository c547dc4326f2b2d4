/**
 * What a target is, read once at connect time: server flavour and version, the highest RDB version
 * it reads (hence which RESTORE payloads it takes), role, proto-max-bulk-len, loaded modules and
 * topology. The API uses `probeTarget` for its pre-checks; the import engine for its decisions.
 */
import { FerryError } from '../errors/ferry-error.js';
import { ReplyError, type Reply } from '../resp/decoder.js';
import { Connection } from './connection.js';
import type { HostPort, TargetSpec } from './target-spec.js';
import { waitUntilLoaded, type LoadingWait } from './loading.js';

export interface SlotRange {
  start: number;
  end: number;
  master: HostPort;
}

export interface TargetInfo {
  /** The node that answered. */
  addr: HostPort;
  flavor: 'redis' | 'valkey';
  /** Server version, e.g. "7.0.15" (Valkey's own version for Valkey). */
  version: string;
  /** Highest RDB version the server reads (formats reference §1.1). */
  maxRdb: number;
  role: 'master' | 'replica';
  /** null when CONFIG GET is not allowed (managed services); the default 512 MB is then assumed. */
  protoMaxBulkLen: number | null;
  /** Loaded module names, lower-cased. */
  modules: string[];
  topology: 'standalone' | 'cluster';
  /** Cluster only: slot ranges and their masters. */
  slots: SlotRange[];
  /** Distinct masters (cluster), or the one node. */
  masters: HostPort[];
  runId: string | null;
  /** Feature flags derived from the version. */
  features: {
    /** RESTORE ... ABSTTL / IDLETIME / FREQ (5.0+). */
    absTtl: boolean;
    /** FUNCTION LOAD (7.0+). */
    functions: boolean;
    /** HSETEX/HPEXPIREAT field TTLs (Redis 7.4+, Valkey 9+). */
    hashFieldTtl: boolean;
    /** XSETID ENTRIESADDED/MAXDELETEDID, XGROUP CREATE ENTRIESREAD (7.0+). */
    streamMeta7: boolean;
  };
}

/** Default proto-max-bulk-len when it cannot be read. */
export const DEFAULT_PROTO_MAX_BULK_LEN = 512 * 1024 * 1024;

/** Redis version -> RDB version it writes and reads (formats reference §1.1). */
export function redisMaxRdb(version: string): number {
  const [maj = 0, min = 0] = version.split('.').map(Number);
  const v = maj * 100 + min;
  if (v >= 806) return 13;
  if (v >= 704) return 12;
  if (v >= 702) return 11;
  if (v >= 700) return 10;
  if (v >= 500) return 9;
  if (v >= 400) return 8;
  if (v >= 302) return 7;
  if (v >= 206) return 6;
  return 5;
}

/** Valkey version -> RDB version (Valkey's RDB_VERSION_MAP: 7.2..8.x = 11, 9.0/9.1 = 80, 9.2+ = 81). */
export function valkeyMaxRdb(version: string): number {
  const [maj = 0, min = 0] = version.split('.').map(Number);
  if (maj >= 10 || (maj === 9 && min >= 2)) return 81;
  if (maj === 9) return 80;
  return 11;
}

/**
 * Whether the target accepts a RESTORE footer of version `v` (formats reference §2.2): at most its
 * own version; Valkey also refuses the "foreign" range 12..79 (Redis 7.4+ footers) in strict mode.
 */
export function acceptsFooter(info: Pick<TargetInfo, 'flavor' | 'maxRdb'>, v: number): boolean {
  if (v > info.maxRdb) return false;
  if (info.flavor === 'valkey' && v >= 12 && v <= 79) return false;
  return true;
}

function cmpVersion(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

function infoField(text: string, name: string): string | null {
  const m = new RegExp(`^${name}:(.*)$`, 'm').exec(text);
  return m ? m[1]!.trim() : null;
}

/** Reads everything about a target through an open connection. */
export async function readTargetInfo(c: Connection): Promise<TargetInfo> {
  const infoReply = await c.call(['INFO']);
  if (infoReply instanceof ReplyError) throw new FerryError('TARGET_AUTH', `target refused INFO: ${infoReply.message}`);
  if (!Buffer.isBuffer(infoReply)) throw new FerryError('TARGET_PROTOCOL', 'INFO did not return a bulk string');
  const info = infoReply.toString('utf8');
  const valkeyVersion = infoField(info, 'valkey_version');
  const flavor: 'redis' | 'valkey' = valkeyVersion || infoField(info, 'server_name') === 'valkey' ? 'valkey' : 'redis';
  const version = valkeyVersion ?? infoField(info, 'redis_version') ?? '0.0.0';
  const maxRdb = flavor === 'valkey' ? valkeyMaxRdb(version) : redisMaxRdb(version);
  const role = infoField(info, 'role') === 'slave' ? 'replica' : 'master';
  const clusterEnabled = infoField(info, 'cluster_enabled') === '1';

  let protoMaxBulkLen: number | null = null;
  const cfg = await c.call(['CONFIG', 'GET', 'proto-max-bulk-len']);
  if (Array.isArray(cfg) && Buffer.isBuffer(cfg[1])) protoMaxBulkLen = Number(cfg[1].toString());

  const modules: string[] = [];
  const ml = await c.call(['MODULE', 'LIST']);
  if (Array.isArray(ml)) {
    for (const m of ml) {
      if (!Array.isArray(m)) continue;
      for (let i = 0; i + 1 < m.length; i += 2) {
        if (String(m[i]) === 'name' && Buffer.isBuffer(m[i + 1])) modules.push((m[i + 1] as Buffer).toString().toLowerCase());
      }
    }
  }

  const addr = c.addr;
  let slots: SlotRange[] = [];
  let masters: HostPort[] = [addr];
  if (clusterEnabled) {
    slots = await readClusterSlots(c);
    const seen = new Map<string, HostPort>();
    for (const s of slots) seen.set(`${s.master.host}:${s.master.port}`, s.master);
    masters = [...seen.values()];
  }
  const isRedis = flavor === 'redis';
  return {
    addr,
    flavor,
    version,
    maxRdb,
    role,
    protoMaxBulkLen,
    modules,
    topology: clusterEnabled ? 'cluster' : 'standalone',
    slots,
    masters,
    runId: infoField(info, 'run_id'),
    features: {
      absTtl: maxRdb >= 9,
      functions: maxRdb >= 10,
      hashFieldTtl: isRedis ? cmpVersion(version, '7.4.0') >= 0 : cmpVersion(version, '9.0.0') >= 0,
      streamMeta7: maxRdb >= 10,
    },
  };
}

/**
 * CLUSTER SLOTS -> validated ranges (every value read off the wire is checked). Redis 7 answers with
 * the ports for the kind of connection asking (TLS ports to a TLS client, with tls-cluster yes), as
 * it does in MOVED/ASK: the map is always read over a connection made like the writers' (same spec).
 */
export async function readClusterSlots(c: Connection): Promise<SlotRange[]> {
  const r: Reply = await c.call(['CLUSTER', 'SLOTS']);
  if (r instanceof ReplyError) throw new FerryError('TARGET_CLUSTER', `CLUSTER SLOTS failed on ${c.addr.host}:${c.addr.port}: ${r.message}`);
  if (!Array.isArray(r)) throw new FerryError('TARGET_PROTOCOL', 'CLUSTER SLOTS did not return an array');
  const out: SlotRange[] = [];
  for (const row of r) {
    if (!Array.isArray(row) || row.length < 3) throw new FerryError('TARGET_PROTOCOL', 'CLUSTER SLOTS row is malformed');
    const [start, end, m] = row;
    if (typeof start !== 'number' || typeof end !== 'number' || start < 0 || end > 16383 || start > end || !Array.isArray(m)) {
      throw new FerryError('TARGET_PROTOCOL', 'CLUSTER SLOTS row has a bad slot range');
    }
    const hostRaw = Buffer.isBuffer(m[0]) ? m[0].toString() : '';
    const port = m[1];
    if (typeof port !== 'number' || port < 1 || port > 65535) throw new FerryError('TARGET_PROTOCOL', 'CLUSTER SLOTS row has a bad port');
    // An empty or '?' host means "the address you reached me on" (Redis 7 with no announced host).
    const host = hostRaw && hostRaw !== '?' ? hostRaw : c.addr.host;
    out.push({ start, end, master: { host, port } });
  }
  return out;
}

/**
 * Connects to the first reachable seed, authenticates and reads the target's facts. Refuses a
 * standalone replica (TARGET_READONLY). Throws TARGET_UNREACHABLE / TARGET_AUTH with the cause.
 * With `waitLoading` (imports) a node still loading its dataset is waited for (writer/loading.ts).
 */
export async function probeTarget(spec: TargetSpec, opts: { waitLoading?: LoadingWait } = {}): Promise<TargetInfo> {
  let lastErr: unknown = null;
  for (const addr of spec.addrs) {
    let c: Connection | null = null;
    try {
      c = await Connection.open(addr, spec);
      // An import waits for a node still loading its dataset (CLUSTER SLOTS is refused meanwhile too).
      if (opts.waitLoading) await waitUntilLoaded(c, opts.waitLoading);
      const info = await readTargetInfo(c);
      if (info.topology === 'standalone' && info.role === 'replica') {
        throw new FerryError('TARGET_READONLY', `target ${addr.host}:${addr.port} is a replica; write to its master`, { field: 'target' });
      }
      if (info.topology === 'cluster' && !info.slots.length) {
        throw new FerryError('TARGET_CLUSTER', `cluster at ${addr.host}:${addr.port} has no slots assigned`);
      }
      return info;
    } catch (e) {
      let err = e;
      // A TLS port drops a plaintext client at its first bytes: say what that likely means.
      if (!spec.tls && err instanceof FerryError && err.code === 'TARGET_CONNECTION_LOST') {
        err = new FerryError('TARGET_UNREACHABLE', `${err.message}; if ${addr.port} is a TLS port (tls-port), use rediss://`, { field: 'target' }, { cause: err });
      }
      lastErr = err;
      if (err instanceof FerryError && err.code !== 'TARGET_UNREACHABLE') throw err;
    } finally {
      c?.destroy();
    }
  }
  throw lastErr instanceof FerryError ? lastErr : new FerryError('TARGET_UNREACHABLE', `no target address reachable: ${String(lastErr)}`);
}
