/**
 * One socket to one Redis node: RESP out through an `Outbox` (writes coalesced per tick), replies in
 * through `RespDecoder`, matched FIFO with what was sent. No retry logic here (node-writer.ts owns
 * that); this file only knows bytes, order and the handshake (AUTH, SELECT).
 */
import net from 'node:net';
import tls from 'node:tls';
import { FerryError } from '../errors/ferry-error.js';
import { Outbox, RespEncoder, type Arg } from '../resp/encoder.js';
import { RespDecoder, ReplyError, type Reply } from '../resp/decoder.js';
import type { HostPort, TargetSpec } from './target-spec.js';
import { explainTlsFailure, tlsConnectOptions, tlsRefusal } from './tls.js';

/**
 * What was sent and is waiting for its replies: `replies` commands (a batch of RESTOREs is one Sent),
 * `got` of them answered so far in this transmission. `onReply` runs for each, in reply order.
 */
export interface Sent {
  parts: Buffer[];
  bytes: number;
  replies: number;
  got: number;
  onReply: (r: Reply, s: Sent) => void;
  /** For awaited calls: runs when the connection closes before the reply. */
  onLost?: () => void;
}

/** Flush as soon as this much is pending, without waiting for the end of the tick. */
const FLUSH_BYTES = 256 * 1024;

export class Connection {
  readonly enc = new RespEncoder();
  private readonly out = new Outbox();
  private readonly fifo: Sent[] = [];
  private head = 0;
  private flushScheduled = false;
  private readonly dec: RespDecoder;
  closed = false;
  closeError: Error | null = null;
  /** Called once when the socket closes (after an error or end). */
  onClose: ((err: Error | null) => void) | null = null;
  /** Called when the socket's own buffer drained (`drain`). */
  onDrain: (() => void) | null = null;
  /** True while the socket buffer is above its high-water mark. */
  congested = false;

  private constructor(readonly addr: HostPort, private readonly sock: net.Socket) {
    this.dec = new RespDecoder((r) => this.reply(r));
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => {
      try {
        this.dec.feed(chunk);
      } catch (err) {
        this.destroy(err instanceof Error ? err : new Error(String(err)));
      }
    });
    sock.on('drain', () => {
      this.congested = false;
      this.onDrain?.();
    });
    sock.on('error', (err) => {
      this.closeError ??= err;
    });
    sock.on('close', () => {
      this.closed = true;
      for (let i = this.head; i < this.fifo.length; i++) this.fifo[i]!.onLost?.();
      this.onClose?.(this.closeError);
    });
  }

  /** Connects and authenticates; `db` selects a database when not 0. */
  static async open(addr: HostPort, spec: TargetSpec, db = 0): Promise<Connection> {
    const sock = await connectSocket(addr, spec);
    const c = new Connection(addr, sock);
    try {
      if (spec.password !== undefined || spec.username !== undefined) {
        const args = spec.username ? ['AUTH', spec.username, spec.password ?? ''] : ['AUTH', spec.password ?? ''];
        const r = await c.call(args);
        if (r instanceof ReplyError) {
          throw new FerryError('TARGET_AUTH', `target ${addr.host}:${addr.port} refused the credentials: ${r.message}`, { field: 'password' });
        }
      }
      if (db) {
        const r = await c.call(['SELECT', db]);
        if (r instanceof ReplyError) throw new FerryError('TARGET_DB_UNSUPPORTED', `target refused SELECT ${db}: ${r.message}`, { field: 'db' });
      }
      // TLS 1.3 servers refuse a client certificate only after the handshake: one round trip makes
      // that refusal this connection's failure, not a later command's (any reply will do).
      if (spec.tls && !db && spec.password === undefined && spec.username === undefined) await c.call(['PING']);
    } catch (err) {
      c.destroy();
      const lost = err instanceof FerryError && err.code === 'TARGET_CONNECTION_LOST';
      throw (spec.tls && lost && tlsRefusal(addr, c.closeError, { clientCert: !!spec.tlsOptions?.cert })) || err;
    }
    return c;
  }

  /** Queues a command built from `args`. */
  send(args: readonly Arg[], onReply: (r: Reply, s: Sent) => void): Sent {
    const { parts, bytes } = this.enc.command(args);
    const s: Sent = { parts, bytes, replies: 1, got: 0, onReply };
    this.sendSent(s);
    return s;
  }

  /** Queues already-encoded bytes (a resend, or a command encoded by the caller). */
  sendSent(s: Sent): void {
    if (this.closed) throw new FerryError('TARGET_CONNECTION_LOST', `connection to ${this.addr.host}:${this.addr.port} is closed`);
    s.got = 0;
    this.fifo.push(s);
    this.out.push(s.parts);
    if (this.out.bytes >= FLUSH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** One command, awaited (handshakes, probes, rare control commands; never the hot path). */
  call(args: readonly Arg[]): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(this.lostError());
        return;
      }
      const s = this.send(args, (r) => resolve(r));
      s.onLost = () => reject(this.lostError());
    });
  }

  private lostError(): FerryError {
    const why = this.closeError?.message ?? 'closed by peer';
    return new FerryError('TARGET_CONNECTION_LOST', `connection to ${this.addr.host}:${this.addr.port} lost: ${why}`);
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.out.empty || this.closed) return;
    const chunks = this.out.take();
    this.sock.cork();
    let ok = true;
    for (const c of chunks) ok = this.sock.write(c);
    this.sock.uncork();
    if (!ok) this.congested = true;
  }

  /** Replies still expected. */
  get pending(): number {
    return this.fifo.length - this.head;
  }

  /** The sent-but-unanswered records, oldest first (used to resend after a reconnect). */
  unanswered(): Sent[] {
    return this.fifo.slice(this.head);
  }

  private reply(r: Reply): void {
    const s = this.fifo[this.head];
    if (!s) {
      this.destroy(new FerryError('TARGET_PROTOCOL', `reply from ${this.addr.host}:${this.addr.port} with no command waiting`));
      return;
    }
    // A batch stays first in line until its last command is answered.
    if (++s.got < s.replies) {
      s.onReply(r, s);
      return;
    }
    this.fifo[this.head] = undefined as unknown as Sent;
    this.head++;
    if (this.head > 4096 && this.head * 2 > this.fifo.length) {
      this.fifo.splice(0, this.head);
      this.head = 0;
    }
    s.onReply(r, s);
  }

  destroy(err?: Error): void {
    if (err) this.closeError ??= err;
    this.sock.destroy();
  }

  /** Closes politely after everything was answered. */
  async quit(): Promise<void> {
    if (this.closed) return;
    this.flush();
    const closed = new Promise<void>((r) => this.sock.once('close', () => r()));
    this.sock.end();
    const t = setTimeout(() => this.sock.destroy(), 2000);
    await closed;
    clearTimeout(t);
  }
}

function connectSocket(addr: HostPort, spec: TargetSpec): Promise<net.Socket> {
  const timeout = spec.connectTimeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const sock = spec.tls ? tls.connect(tlsConnectOptions(addr, spec.tlsOptions)) : net.connect({ host: addr.host, port: addr.port });
    let tcpUp = false;
    sock.once('connect', () => (tcpUp = true));
    const fail = (err: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      reject(new FerryError('TARGET_UNREACHABLE', `cannot connect to ${addr.host}:${addr.port}: ${explainTlsFailure(err) ?? err.message}`, { field: 'target' }, { cause: err }));
    };
    const timer = setTimeout(() => {
      // A plaintext port never answers a TLS ClientHello: say so instead of a bare timeout.
      const why = spec.tls && tcpUp ? `no TLS handshake after ${timeout} ms: is ${addr.port} a TLS port? (a cluster announces its TLS ports with tls-cluster yes)` : `no connection after ${timeout} ms`;
      fail(new Error(why));
    }, timeout);
    sock.once('error', fail);
    sock.once(spec.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      sock.off('error', fail);
      resolve(sock);
    });
  });
}
