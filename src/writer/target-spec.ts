/**
 * Where to write: one shape that both `redis://` URLs (CLI) and the API's instance registry
 * (`addrs: "h:p,h:p"`, password) turn into. Parsing validates everything and names the bad field.
 */
import { FerryError } from '../errors/ferry-error.js';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * TLS settings of a `rediss://` target, already read from their files (src/writer/tls.ts checks
 * them): every connection to the target (probe, node writers, cluster refreshes and redirections,
 * reconnects, replication) uses them.
 */
export interface TargetTls {
  /** PEM CA certificates trusted instead of Node's default store (`--tls-ca`). */
  ca?: Buffer;
  /** PEM client certificate (chain) and its private key, for servers with `tls-auth-clients`. */
  cert?: Buffer;
  key?: Buffer;
  /** Name sent as SNI and verified against the certificate, instead of the address's host. */
  servername?: string;
  /** Skip certificate verification (`--tls-insecure`). */
  insecure?: boolean;
}

export interface TargetSpec {
  /** Seed addresses; for a cluster any reachable node is enough, the rest is discovered. */
  addrs: HostPort[];
  username?: string;
  password?: string;
  tls?: boolean;
  /** With `tls`: CA, client certificate, server name, verification. */
  tlsOptions?: TargetTls;
  /** Default db for standalone targets (URL path `/N`). */
  db?: number;
  /** Per-connection connect timeout. */
  connectTimeoutMs?: number;
  /** Imports: longest wait for a target still loading its dataset (writer/loading.ts; default 10 min). */
  loadingTimeoutMs?: number;
}

/** `redis://[user:pass@]host:port[/db]` or `rediss://...` (TLS). */
export function parseTargetUrl(url: string): TargetSpec {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FerryError('BAD_ARGUMENT', `target is not a URL: ${JSON.stringify(url)}`, { field: 'target' });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new FerryError('BAD_ARGUMENT', `target URL must start with redis:// or rediss://, got ${u.protocol}//`, { field: 'target' });
  }
  if (!u.hostname) throw new FerryError('BAD_ARGUMENT', 'target URL has no host', { field: 'target' });
  const port = u.port ? Number(u.port) : 6379;
  const spec: TargetSpec = { addrs: [{ host: stripBrackets(u.hostname), port }], tls: u.protocol === 'rediss:' };
  if (u.username) spec.username = decodeURIComponent(u.username);
  if (u.password) spec.password = decodeURIComponent(u.password);
  const path = u.pathname.replace(/^\/+/, '');
  if (path) {
    if (!/^\d+$/.test(path)) throw new FerryError('BAD_ARGUMENT', `target URL path must be a db number, got ${JSON.stringify(path)}`, { field: 'target' });
    spec.db = Number(path);
  }
  return spec;
}

/** The API's instance registry form: `addrs` "h:p,h:p", optional password / user / tls (and its files, read at start-up). */
export function targetFromInstance(inst: { addrs: string; password?: string | null; username?: string | null; tls?: boolean; tlsOptions?: TargetTls; db?: number | string | null }): TargetSpec {
  const addrs = parseAddrs(inst.addrs);
  const spec: TargetSpec = { addrs, tls: inst.tls ?? false };
  if (inst.tls && inst.tlsOptions) spec.tlsOptions = inst.tlsOptions;
  if (inst.password) spec.password = inst.password;
  if (inst.username) spec.username = inst.username;
  if (inst.db !== undefined && inst.db !== null && inst.db !== '') {
    const db = Number(inst.db);
    if (!Number.isInteger(db) || db < 0) throw new FerryError('BAD_ARGUMENT', `db must be a non-negative integer, got ${JSON.stringify(inst.db)}`, { field: 'db' });
    spec.db = db;
  }
  return spec;
}

/** "h:p,h:p" (IPv6 as `[::1]:6379`). */
export function parseAddrs(addrs: string): HostPort[] {
  const out: HostPort[] = [];
  for (const part of addrs.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(part);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) throw new FerryError('BAD_ARGUMENT', `address must be host:port, got ${JSON.stringify(part)}`, { field: 'addrs' });
    out.push({ host: stripBrackets(m[1]!), port });
  }
  if (!out.length) throw new FerryError('BAD_ARGUMENT', 'no target address given', { field: 'addrs' });
  return out;
}

export function toTargetSpec(t: string | TargetSpec): TargetSpec {
  return typeof t === 'string' ? parseTargetUrl(t) : t;
}

function stripBrackets(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** For logs: never prints the password. */
export function describeTarget(spec: TargetSpec): string {
  return `${spec.tls ? 'rediss' : 'redis'}://${spec.username ? `${spec.username}@` : ''}${spec.addrs.map((a) => `${a.host}:${a.port}`).join(',')}`;
}
