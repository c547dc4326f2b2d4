/**
 * Ferry as a replica, just long enough to receive one full snapshot: connect (TLS optional), AUTH,
 * `REPLCONF listening-port`, `REPLCONF capa eof capa psync2`, `PSYNC ? -1` (falling back to `SYNC`
 * on servers that do not know PSYNC), `+FULLRESYNC <replid> <offset>`, then the RDB payload in either
 * form: `$<len>\r\n` + len bytes (disk-based sync), or `$EOF:<40-byte mark>\r\n` ... `<mark>`
 * (diskless sync). The payload is handed out as a pull stream, so the socket is only read as fast as
 * the consumer writes; the replication stream that follows the RDB is never read (the caller closes).
 *
 * Hand-written: no maintained Node library exposes a replica handshake (ioredis/node-redis speak
 * the request/reply protocol only), and the wire part is small (redis/src/replication.c).
 */
import net from 'node:net';
import tls from 'node:tls';
import { FerryError } from '../errors/ferry-error.js';
import type { HostPort, TargetSpec } from '../writer/target-spec.js';
import { explainTlsFailure, tlsConnectOptions, tlsRefusal } from '../writer/tls.js';

export const EOF_MARK_LEN = 40;
/** Longest status line accepted during the handshake (a real one is under 100 bytes). */
const MAX_LINE = 64 * 1024;

export interface ReplicaSyncOptions {
  addr: HostPort;
  /** Credentials and TLS, as for a target (`password`, `username` for ACL users, `tls` and its `tlsOptions`). */
  auth: Pick<TargetSpec, 'password' | 'username' | 'tls' | 'tlsOptions' | 'connectTimeoutMs'>;
  signal?: AbortSignal;
  /** A silent socket for this long fails the sync (the master sends `\n` every second while it forks). Default 60 s. */
  idleTimeoutMs?: number;
}

export interface SyncSession {
  /** From `+FULLRESYNC`; null after a plain `SYNC`. */
  replId: string | null;
  replOffset: number | null;
  /** `length`: `$<len>` (disk-based); `eof`: `$EOF:<mark>` (diskless). */
  form: 'length' | 'eof';
  /** Payload size when the master announced it (length form). */
  size: number | null;
  /** Exactly the RDB bytes, pulled from the socket as they are consumed; throws REPLICATION_LOST if the master goes away. */
  payload(): AsyncGenerator<Buffer>;
  /** Closes the connection (the replication stream after the RDB is not wanted). */
  close(): void;
}

/** Pull reader over a socket: buffered leftovers plus the socket's own async iterator (backpressure). */
class SocketReader {
  private rest: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  private failure: Error | null = null;
  private timedOut = false;

  constructor(readonly sock: net.Socket, readonly where: string, private readonly idleMs: number, private readonly signal?: AbortSignal) {
    this.it = sock[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    sock.on('error', (err) => {
      this.failure ??= err;
    });
  }

  /** Next chunk of socket bytes (leftovers first); null at end of stream. */
  async chunk(): Promise<Buffer | null> {
    if (this.rest.length) {
      const r = this.rest;
      this.rest = Buffer.alloc(0);
      return r;
    }
    if (this.signal?.aborted) throw new FerryError('ABORTED', `sync from ${this.where} stopped on request`);
    let r: IteratorResult<Buffer>;
    // The idle clock runs only while Ferry waits for the master: time spent by a slow destination
    // (the socket paused by backpressure) is not the master's silence.
    const timer = setTimeout(() => {
      this.timedOut = true;
      this.sock.destroy(new Error(`no data from ${this.where} for ${this.idleMs} ms`));
    }, this.idleMs);
    try {
      r = await this.it.next();
    } catch (err) {
      throw this.lost(err as Error);
    } finally {
      clearTimeout(timer);
    }
    if (this.signal?.aborted) throw new FerryError('ABORTED', `sync from ${this.where} stopped on request`);
    return r.done ? null : r.value;
  }

  unread(b: Buffer): void {
    if (b.length) this.rest = this.rest.length ? Buffer.concat([b, this.rest]) : b;
  }

  /** One line without its `\r\n` (or `\n`). */
  async line(): Promise<string> {
    const parts: Buffer[] = [];
    let len = 0;
    for (;;) {
      const c = await this.chunk();
      if (!c) throw this.lost(null, 'while waiting for a reply');
      const nl = c.indexOf(0x0a);
      if (nl >= 0) {
        parts.push(c.subarray(0, nl));
        this.unread(c.subarray(nl + 1));
        return Buffer.concat(parts).toString('latin1').replace(/\r$/, '');
      }
      parts.push(c);
      len += c.length;
      if (len > MAX_LINE) throw new FerryError('REPLICATION_PROTOCOL', `${this.where} sent a line over ${MAX_LINE} bytes during the replication handshake`);
    }
  }

  lost(err: Error | null, what = ''): FerryError {
    if (err instanceof FerryError) return err;
    if (this.signal?.aborted) return new FerryError('ABORTED', `sync from ${this.where} stopped on request`);
    const cause = err ?? this.failure;
    if (this.timedOut) return new FerryError('REPLICATION_TIMEOUT', `${cause?.message ?? `no data from ${this.where}`}${what ? ` ${what}` : ''}`, {}, { cause });
    return new FerryError('REPLICATION_LOST', `connection to ${this.where} closed${what ? ` ${what}` : ''}${cause ? `: ${cause.message}` : ''}`, {}, { cause });
  }
}

function connect(addr: HostPort, o: ReplicaSyncOptions['auth']): Promise<net.Socket> {
  const timeout = o.connectTimeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const sock = o.tls ? tls.connect(tlsConnectOptions(addr, o.tlsOptions)) : net.connect({ host: addr.host, port: addr.port });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      reject(new FerryError('TARGET_UNREACHABLE', `cannot connect to source ${addr.host}:${addr.port}: ${explainTlsFailure(err) ?? err.message}`, { field: 'source' }, { cause: err }));
    };
    const timer = setTimeout(() => fail(new Error(`no connection after ${timeout} ms`)), timeout);
    sock.once('error', fail);
    sock.once(o.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      sock.off('error', fail);
      resolve(sock);
    });
  });
}

/** RESP array of bulk strings (handshake commands only). */
function command(args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''));
}

/** Performs the handshake and reads up to the payload header; the payload itself is pulled by `payload()`. */
export async function openReplicaSync(o: ReplicaSyncOptions): Promise<SyncSession> {
  const where = `${o.addr.host}:${o.addr.port}`;
  if (o.signal?.aborted) throw new FerryError('ABORTED', `sync from ${where} stopped on request`);
  const sock = await connect(o.addr, o.auth);
  const onAbort = (): void => {
    sock.destroy();
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const close = (): void => {
    o.signal?.removeEventListener('abort', onAbort);
    sock.destroy();
  };
  const rd = new SocketReader(sock, where, o.idleTimeoutMs ?? 60_000, o.signal);
  const ask = async (args: string[]): Promise<string> => {
    sock.write(command(args));
    return rd.line();
  };
  try {
    if (o.auth.password !== undefined || o.auth.username !== undefined) {
      const args = o.auth.username ? ['AUTH', o.auth.username, o.auth.password ?? ''] : ['AUTH', o.auth.password ?? ''];
      const r = await ask(args);
      if (!r.startsWith('+')) throw new FerryError('TARGET_AUTH', `source ${where} refused the credentials: ${r.slice(1)}`, { field: 'password' });
    }
    // Both REPLCONFs are advisory: a master too old to know them still serves SYNC.
    await ask(['REPLCONF', 'listening-port', String(sock.localPort ?? 0)]);
    await ask(['REPLCONF', 'capa', 'eof', 'capa', 'psync2']);
    let replId: string | null = null;
    let replOffset: number | null = null;
    // A master waiting to start its snapshot (repl-diskless-sync-delay, another child running) sends
    // `\n` keep-alives before it answers +FULLRESYNC.
    let reply = await ask(['PSYNC', '?', '-1']);
    while (reply === '') reply = await rd.line();
    if (reply.startsWith('-') && /unknown command/i.test(reply)) {
      sock.write(command(['SYNC']));
    } else if (reply.startsWith('+FULLRESYNC')) {
      const m = /^\+FULLRESYNC ([0-9A-Za-z]+) (\d+)$/.exec(reply);
      if (!m) throw new FerryError('REPLICATION_PROTOCOL', `${where} answered PSYNC with a malformed line: ${JSON.stringify(reply.slice(0, 200))}`);
      replId = m[1]!;
      replOffset = Number(m[2]);
    } else if (reply.startsWith('-')) {
      throw new FerryError('REPLICATION_REFUSED', `${where} refused to sync: ${reply.slice(1)}`);
    } else {
      throw new FerryError('REPLICATION_PROTOCOL', `${where} answered PSYNC ? -1 with ${JSON.stringify(reply.slice(0, 200))} instead of +FULLRESYNC`);
    }

    // The payload header, after any number of `\n` keep-alives sent while the master forks.
    for (;;) {
      reply = await rd.line();
      if (reply !== '') break;
    }
    if (reply.startsWith('-')) throw new FerryError('REPLICATION_REFUSED', `${where} could not produce a snapshot: ${reply.slice(1)}`);
    let form: 'length' | 'eof';
    let size: number | null = null;
    let mark: Buffer | null = null;
    if (reply.startsWith('$EOF:')) {
      mark = Buffer.from(reply.slice(5), 'latin1');
      if (mark.length !== EOF_MARK_LEN) throw new FerryError('REPLICATION_PROTOCOL', `${where} sent an EOF mark of ${mark.length} bytes (expected ${EOF_MARK_LEN})`);
      form = 'eof';
    } else if (/^\$\d{1,18}$/.test(reply)) {
      size = Number(reply.slice(1));
      form = 'length';
    } else {
      throw new FerryError('REPLICATION_PROTOCOL', `${where} sent ${JSON.stringify(reply.slice(0, 200))} where the snapshot header ($<len> or $EOF:<mark>) belongs`);
    }

    let started = false;
    const payload = (): AsyncGenerator<Buffer> => {
      if (started) throw new FerryError('INTERNAL', 'replica payload read twice');
      started = true;
      return mark ? eofPayload(rd, mark) : lengthPayload(rd, size!);
    };
    return { replId, replOffset, form, size, payload, close };
  } catch (err) {
    close();
    const e = err instanceof FerryError ? err : rd.lost(err as Error);
    // TLS 1.3: a refused client certificate arrives after the handshake, while AUTH/REPLCONF wait.
    throw (o.auth.tls && e.code === 'REPLICATION_LOST' && tlsRefusal(o.addr, e.cause ?? null, { what: 'source', clientCert: !!o.auth.tlsOptions?.cert })) || e;
  }
}

async function* lengthPayload(rd: SocketReader, size: number): AsyncGenerator<Buffer> {
  let left = size;
  while (left > 0) {
    const c = await rd.chunk();
    if (!c) throw rd.lost(null, `after ${size - left} of ${size} snapshot bytes`);
    if (c.length <= left) {
      left -= c.length;
      yield c;
    } else {
      yield c.subarray(0, left);
      left = 0; // what follows is the replication stream: not read
    }
  }
}

/**
 * Diskless form: bytes up to the 40-byte mark. The last `mark.length - 1` bytes are held back until
 * the next chunk shows whether the mark starts among them, so the mark is found across any chunk
 * split while no more than those few bytes are ever held.
 */
export async function* eofPayload(rd: { chunk(): Promise<Buffer | null>; lost(e: Error | null, what?: string): FerryError }, mark: Buffer): AsyncGenerator<Buffer> {
  const keep = mark.length - 1;
  let held: Buffer = Buffer.alloc(0);
  let total = 0;
  for (;;) {
    const c = await rd.chunk();
    if (!c) throw rd.lost(null, `after ${total} snapshot bytes, before the end mark`);
    if (held.length) {
      // A mark straddling the boundary starts inside `held`.
      const joint = Buffer.concat([held, c.subarray(0, keep)]);
      const j = joint.indexOf(mark);
      if (j >= 0 && j < held.length) {
        if (j > 0) yield joint.subarray(0, j);
        return;
      }
    }
    const i = c.indexOf(mark);
    if (i >= 0) {
      if (held.length) yield held;
      if (i > 0) yield c.subarray(0, i);
      return;
    }
    const all = held.length + c.length;
    if (all <= keep) {
      held = Buffer.concat([held, c]);
      continue;
    }
    // Emit everything but the last `keep` bytes.
    const emitFromC = c.length - Math.min(keep, c.length);
    const tail = held.length && c.length < keep ? Buffer.concat([held, c]).subarray(all - keep) : c.subarray(c.length - keep);
    if (held.length) {
      const fromHeld = c.length >= keep ? held.length : held.length - (keep - c.length);
      if (fromHeld > 0) {
        total += fromHeld;
        yield held.subarray(0, fromHeld);
      }
    }
    if (emitFromC > 0) {
      total += emitFromC;
      yield c.subarray(0, emitFromC);
    }
    held = Buffer.from(tail); // copy: never pins the whole chunk
  }
}
