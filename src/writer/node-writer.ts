/**
 * A pipelined writer to one Redis node: bounded in-flight commands and bytes, backpressure as
 * "undefined when accepted, a Promise when the caller must wait", replies matched FIFO with the item
 * (and so the key) they belong to, SELECT inserted when the db changes, and recovery from a dropped
 * connection that re-sends only what is safe to send twice.
 */
import { FerryError } from '../errors/ferry-error.js';
import { RespEncoder, type Arg } from '../resp/encoder.js';
import { releasePins, type Pins } from '../io/buffer-lease.js';
import { ReplyError, isReplyError, type Reply } from '../resp/decoder.js';
import { Connection, type Sent } from './connection.js';
import type { HostPort, TargetSpec } from './target-spec.js';
import { waitUntilLoaded, type LoadingWait } from './loading.js';

/**
 * What a group of commands belongs to (one key's writes). `replay` says what may be re-sent after a
 * reconnect: `idempotent` commands alone (RESTORE REPLACE ABSTTL, SET, MSET); `group` only by sending
 * all `items` again from the first (DEL + rebuild, held in memory); `never` (a big streamed key or a
 * non-idempotent AOF command): the import fails naming the key.
 */
export interface Owner {
  key: Buffer;
  db: number;
  replay: 'idempotent' | 'group' | 'never';
  items: Item[] | null;
  acked: number;
}

export interface Item extends Sent {
  /** Db the command runs in; -1 when it does not matter (keyless). */
  db: number;
  owner: Owner | null;
  /** Sent after ASKING (cluster, during a slot migration). */
  asking: boolean;
  redirects: number;
  /** Extra reply hook (rare: EXISTS checks); called before the writer's handler. */
  hook?: (r: Reply, item: Item) => void;
  /** Set once the item was handed to write() (a group is re-sent only up to what was written). */
  written?: boolean;
  /** Routing key (cluster), null for keyless commands; the key named when a shared owner's command fails. */
  key?: Buffer | null;
  /** Input offset of the record the command writes (for a shared owner's errors); -1 when unset. */
  offset: number;
  /** SELECT / ASKING added by the writer itself (never re-sent: transmit() adds them again). */
  internal?: boolean;
  /** Encoder slabs this item's bytes live in, held until nothing will send them again (releaseItem). */
  pins: Pins;
  /**
   * Replies the writer already accounted for, over every transmission: a batch re-sent after a
   * reconnect is answered again from its first command, and those answers must not count twice.
   */
  settled: number;
  /** A batch's input offsets, one per command (for its errors); null for a single command. */
  offsets: number[] | null;
}

export interface NodeLimits {
  maxInflightCommands: number;
  maxInflightBytes: number;
}

/**
 * In flight per node: enough unanswered commands that the target always has ~20 ms of work queued
 * (on the mixed bench, 2k in flight left the server idle between refills: 3.23-3.26 s against
 * 2.89-3.14 s with 8k-16k), and 8 MiB, which bounds memory whatever the command sizes. Every
 * unanswered command keeps its item and buffer views alive, so young-generation GC time grows with
 * this cap; past 8k it bought nothing measurable.
 */
export const DEFAULT_LIMITS: NodeLimits = { maxInflightCommands: 8_000, maxInflightBytes: 8 * 1024 * 1024 };

/** How long and how often to try to reconnect before the import fails (bounded, never forever). */
const RECONNECT_DELAYS_MS = [50, 100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000, 2000, 2000, 2000];

export type ReplyHandler = (item: Item, reply: Reply, node: NodeWriter) => void;

export class NodeWriter {
  conn: Connection | null = null;
  private curDb = 0;
  inflightCommands = 0;
  inflightBytes = 0;
  /**
   * The one big command (half the bytes cap or more: a multi-MB RESTORE) allowed outside the bytes
   * cap. Counted in it, the target ran dry twice per big value on the mixed bench: Ferry stopped
   * queueing until the big command was answered, and refilled from empty after it. Its bytes are
   * in memory already (the parser's buffer), so only one at a time is let past the cap.
   */
  private bigBytes = 0;
  private bigCount = 0;

  /** Items accepted while reconnecting; sent once the connection is back. */
  private backlog: Item[] = [];
  private waiter: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | null = null;
  private idleWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private reconnecting = false;
  private closing = false;
  fatal: FerryError | null = null;
  runId: string | null = null;
  reconnects = 0;

  constructor(
    readonly addr: HostPort,
    private readonly spec: TargetSpec,
    private readonly handler: ReplyHandler,
    private readonly limits: NodeLimits = DEFAULT_LIMITS,
    private readonly onFatal: (e: FerryError) => void = () => {},
    private readonly log: (msg: string) => void = () => {},
  ) {}

  get name(): string {
    return `${this.addr.host}:${this.addr.port}`;
  }

  /** First connection; with `loading`, a node still loading its dataset is waited for first. */
  async connect(loading?: LoadingWait): Promise<void> {
    const c = await Connection.open(this.addr, this.spec);
    try {
      if (loading) await waitUntilLoaded(c, loading);
    } catch (err) {
      c.destroy();
      throw err;
    }
    this.attach(c);
    this.runId = await this.readRunId();
  }

  private attach(c: Connection): void {
    this.conn = c;
    this.curDb = 0;
    c.onDrain = () => this.maybeRelease();
    c.onClose = (err) => this.lost(c, err);
  }

  private async readRunId(): Promise<string | null> {
    const r = await this.conn!.call(['INFO', 'server']);
    if (!Buffer.isBuffer(r)) return null;
    const m = /run_id:([0-9a-f]+)/.exec(r.toString('latin1'));
    return m ? m[1]! : null;
  }

  /** Encoder for this node's items (pooled slabs: see releaseItem). */
  private readonly enc = new RespEncoder(true);

  /** Builds an item for `args` (encoded once; the same bytes serve a resend). */
  item(args: readonly Arg[], db: number, owner: Owner | null): Item {
    const { parts, bytes } = this.enc.command(args);
    return newItem(parts, bytes, db, owner, this.enc.takePins());
  }

  /** Builds an item from bytes already encoded (the MSET batch, assembled as keys arrive). */
  itemFromParts(parts: Buffer[], bytes: number, db: number, owner: Owner | null, pins: Pins): Item {
    return newItem(parts, bytes, db, owner, pins);
  }

  /** Sends an item. Returns undefined when more may be sent now, or a Promise to await first. */
  write(item: Item): Promise<void> | undefined {
    if (this.fatal) throw this.fatal;
    item.written = true;
    this.count(item, 1);
    if (this.reconnecting || !this.conn) this.backlog.push(item);
    else this.transmit(item);
    return this.pressure();
  }

  /** Adds (sign 1) or removes (-1) an item from the in-flight counts. */
  private count(it: Item, sign: 1 | -1): void {
    this.inflightCommands += sign * it.replies;
    this.inflightBytes += sign * it.bytes;
    if (it.bytes >= this.limits.maxInflightBytes / 2) {
      this.bigBytes += sign * it.bytes;
      this.bigCount += sign;
    }
  }

  private pressure(): Promise<void> | undefined {
    const over =
      this.inflightCommands >= this.limits.maxInflightCommands ||
      this.inflightBytes - this.bigBytes >= this.limits.maxInflightBytes ||
      this.bigCount > 1 ||
      this.reconnecting ||
      (this.conn?.congested ?? false);
    if (!over) return undefined;
    if (!this.waiter) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {});
      this.waiter = { promise, resolve, reject };
    }
    return this.waiter.promise;
  }

  private transmit(item: Item): void {
    const c = this.conn!;
    if (item.db >= 0 && item.db !== this.curDb) {
      const sel = this.item(['SELECT', item.db], -1, null);
      sel.internal = true;
      this.count(sel, 1);
      sel.onReply = this.onItemReply;
      c.sendSent(sel);
      this.curDb = item.db;
    }
    if (item.asking) {
      const ask = this.item(['ASKING'], -1, null);
      ask.internal = true;
      this.count(ask, 1);
      ask.onReply = this.onItemReply;
      c.sendSent(ask);
    }
    item.onReply = this.onItemReply;
    c.sendSent(item);
  }

  private readonly onItemReply = (r: Reply, s: Sent): void => {
    const item = s as Item;
    // A batch leaves the in-flight counts with its last reply (the connection counts them in `got`).
    const last = item.got >= item.replies;
    if (last) this.count(item, -1);
    if (item.internal) {
      if (isReplyError(r)) this.fail(new FerryError('TARGET_REPLY_ERROR', `target ${this.name} refused ${this.describeInternal(item)}: ${r.message}`));
      releaseItem(item);
    } else if (item.hook) {
      item.hook(r, item);
    } else if (isReplyError(r)) {
      // Kept pinned: a redirection re-sends these bytes (an item that fails for good just leaves its slabs to the GC).
      this.handler(item, r, this);
    } else {
      const o = item.owner;
      if (o !== null) o.acked++;
      this.handler(item, r, this);
      // A group's items stay pinned until the group completes: a reconnect re-sends all of them.
      if (last && (o === null || o.replay !== 'group')) releaseItem(item);
    }
    if (last) this.maybeRelease();
  };

  private describeInternal(item: Item): string {
    return (item.parts[0]?.toString('latin1', 0, 40) ?? '').replace(/\r\n/g, ' ').trim();
  }

  private maybeRelease(): void {
    if (this.waiter && !this.reconnecting && !(this.conn?.congested ?? false) &&
      this.inflightCommands <= this.limits.maxInflightCommands / 2 && this.inflightBytes - this.bigBytes <= this.limits.maxInflightBytes / 2 && this.bigCount <= 1) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve();
    }
    if (this.inflightCommands === 0 && this.idleWaiters.length) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w.resolve();
    }
  }

  /** Resolves when every sent command was answered. */
  idle(): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.inflightCommands === 0) return Promise.resolve();
    this.conn?.flush();
    return new Promise((resolve, reject) => this.idleWaiters.push({ resolve, reject }));
  }

  /** Stops the writer with an error; every waiter is rejected. */
  fail(err: FerryError): void {
    if (this.fatal) return;
    this.fatal = err;
    this.waiter?.reject(err);
    this.waiter = null;
    for (const w of this.idleWaiters) w.reject(err);
    this.idleWaiters = [];
    for (const r of this.lostRequests) r(err);
    this.lostRequests.clear();
    this.onFatal(err);
    this.conn?.destroy();
  }

  private lost(c: Connection, err: Error | null): void {
    if (this.closing || this.fatal || c !== this.conn) return;
    const unanswered = c.unanswered() as Item[];
    this.conn = null;
    // Internal SELECT/ASKING are re-issued by transmit(); drop them from the resend list.
    const items: Item[] = [];
    for (const it of unanswered) {
      this.count(it, -1);
      if (it.internal) continue;
      items.push(it);
    }
    const why = err?.message ?? 'closed by peer';
    if (!items.length && !this.backlog.length) {
      // Nothing lost; reconnect lazily but still now, so the next write finds a connection.
      this.log(`connection to ${this.name} closed (${why}); reconnecting`);
    } else {
      this.log(`connection to ${this.name} lost with ${items.length} unanswered commands (${why}); reconnecting`);
    }
    let resend: Item[];
    try {
      resend = this.resendPlan(items);
    } catch (e) {
      this.fail(e as FerryError);
      return;
    }
    for (const it of resend) this.count(it, 1);
    this.backlog = resend.concat(this.backlog);
    void this.reconnect(why);
  }

  /** Which unanswered items may be sent again, and in what form (groups from their first command). */
  private resendPlan(items: Item[]): Item[] {
    const out: Item[] = [];
    const expanded = new Set<Owner>();
    for (const it of items) {
      const o = it.owner;
      if (!o || o.replay === 'idempotent') {
        out.push(it);
        continue;
      }
      if (expanded.has(o)) continue;
      if (o.replay === 'group' && o.items) {
        // DEL + rebuild from the start: the whole batch is still in memory. Only what the caller
        // already handed over is re-sent; the rest is still to come through write().
        expanded.add(o);
        o.acked = 0;
        for (const x of o.items) {
          if (!x.written) break;
          x.redirects = 0;
          out.push(x);
        }
        continue;
      }
      throw new FerryError(
        'TARGET_CONNECTION_LOST',
        `connection to ${this.name} dropped while key was being written in pieces that cannot be re-sent safely`,
        { key: (it.key ?? o.key).toString('utf8') },
      );
    }
    return out;
  }

  /** True while a connection is being (re-)established. */
  get connecting(): boolean {
    return this.reconnecting;
  }

  /** Starts connecting (a node learned from a redirection); writes queue until it is up. */
  connectInBackground(): void {
    if (this.conn || this.reconnecting) return;
    void this.reconnect('new node');
  }

  private async reconnect(why: string): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    let lastErr: unknown = null;
    for (const delay of RECONNECT_DELAYS_MS) {
      if (this.closing || this.fatal) return;
      await new Promise((r) => setTimeout(r, delay));
      try {
        const c = await Connection.open(this.addr, this.spec);
        const prevRunId = this.runId;
        this.attach(c);
        const runId = await this.readRunId();
        if (prevRunId && runId && runId !== prevRunId) {
          this.fail(new FerryError('TARGET_CONNECTION_LOST',
            `target ${this.name} restarted during the import (run_id changed): keys already written may be lost; run the import again`));
          return;
        }
        if (prevRunId) this.reconnects++;
        this.runId = runId ?? prevRunId;
        this.reconnecting = false;
        const backlog = this.backlog;
        this.backlog = [];
        for (const it of backlog) this.transmit(it);
        this.log(`reconnected to ${this.name}; re-sent ${backlog.length} commands`);
        this.maybeRelease();
        return;
      } catch (err) {
        lastErr = err;
        if (err instanceof FerryError && err.code === 'TARGET_AUTH') break;
      }
    }
    const detail = lastErr instanceof Error ? lastErr.message : String(lastErr);
    this.fail(new FerryError('TARGET_CONNECTION_LOST', `connection to ${this.name} lost (${why}) and could not be re-established: ${detail}`));
  }

  /**
   * One awaited command in the pipeline's order and db (EXISTS before a rewrite under --conflict
   * skip, FUNCTION LOAD...). Not for the hot path. Re-sent after a reconnect like idempotent items.
   */
  request(args: readonly Arg[], db: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const it = this.item(args, db, null);
      it.hook = (r) => resolve(r);
      try {
        void this.write(it);
      } catch (e) {
        reject(e);
        return;
      }
      this.lostRequests.add(reject);
      const done = it.hook;
      it.hook = (r, x) => {
        this.lostRequests.delete(reject);
        done(r, x);
      };
    });
  }

  /** Awaited requests to reject if the writer fails. */
  private readonly lostRequests = new Set<(e: Error) => void>();

  async close(): Promise<void> {
    this.closing = true;
    const c = this.conn;
    this.conn = null;
    if (c) await c.quit();
  }

  destroy(): void {
    this.closing = true;
    this.conn?.destroy();
    this.conn = null;
  }
}

const NOOP = (): void => {};

/**
 * Every item is made here with every field present, so all items share one hidden class: fields
 * added later (key, written, hook...) made the per-reply code polymorphic (onItemReply was 4% of a
 * mixed import's profile).
 */
export function newItem(parts: Buffer[], bytes: number, db: number, owner: Owner | null, pins: Pins = null): Item {
  return { parts, bytes, replies: 1, got: 0, db, owner, asking: false, redirects: 0, onReply: NOOP, onLost: undefined, hook: undefined, written: false, key: null, offset: -1, internal: false, pins, settled: 0, offsets: null };
}

/**
 * Lets the item's slabs be reused: only once nothing will send its bytes again (answered and not in
 * a re-sendable group, or its group complete). Safe to call twice; after it, `parts` must not be sent.
 */
export function releaseItem(it: Item): void {
  const p = it.pins;
  if (p === null) return;
  it.pins = null;
  releasePins(p);
}
