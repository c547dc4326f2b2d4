/**
 * The write side of an import: one `NodeWriter` per master, and the routing between them.
 *
 * Standalone: every item goes to the one node. Cluster: the slot of the item's key (CRC16, npm
 * `cluster-key-slot`) picks the master. MOVED updates that slot at once and raises a barrier: new
 * writes wait until every redirected command was answered, then the slot map is re-read (one
 * refresh at a time), so commands for one key never overtake each other across nodes. ASK re-sends
 * the command to the importing node after ASKING (no map change). Redirections per command are
 * bounded.
 */
import calculateSlot from 'cluster-key-slot';
import { FerryError } from '../errors/ferry-error.js';
import { ReplyError, isReplyError, type Reply } from '../resp/decoder.js';
import type { Arg } from '../resp/encoder.js';
import type { Pins } from '../io/buffer-lease.js';
import { Connection } from './connection.js';
import { NodeWriter, DEFAULT_LIMITS, newItem, type Item, type NodeLimits, type Owner } from './node-writer.js';
import { readClusterSlots, readTargetInfo, type TargetInfo } from './probe.js';
import type { HostPort, TargetSpec } from './target-spec.js';
import { LOADING_TIMEOUT_MS, type LoadingWait } from './loading.js';

/** Most redirections one command may take before the import fails (a slot bouncing between nodes). */
const MAX_REDIRECTS = 16;

/** Called for every reply that is not a redirection (errors included), in reply order per node. */
export type ItemReplyHandler = (item: Item, reply: Reply) => void;

export class Target {
  readonly cluster: boolean;
  private readonly nodes = new Map<string, NodeWriter>();
  /** Cluster: slot -> node. */
  private readonly slotMap: (NodeWriter | undefined)[] = new Array(16384);
  private standalone: NodeWriter | null = null;
  private barrier: { promise: Promise<void>; resolve: () => void } | null = null;
  private refreshing: Promise<void> | null = null;
  fatal: FerryError | null = null;
  onReply: ItemReplyHandler = () => {};
  redirects = 0;

  private constructor(
    readonly spec: TargetSpec,
    readonly info: TargetInfo,
    private readonly limits: NodeLimits,
    private readonly log: (msg: string) => void,
  ) {
    this.cluster = info.topology === 'cluster';
  }

  /** Probes the target and connects to every master. */
  static async open(spec: TargetSpec, opts: { limits?: Partial<NodeLimits>; log?: (msg: string) => void; loading?: Omit<LoadingWait, 'timeoutMs'> } = {}): Promise<Target> {
    const { probeTarget } = await import('./probe.js');
    const loading: LoadingWait = { timeoutMs: spec.loadingTimeoutMs ?? LOADING_TIMEOUT_MS, ...opts.loading };
    const info = await probeTarget(spec, { waitLoading: loading });
    const t = new Target(spec, info, { ...DEFAULT_LIMITS, ...opts.limits }, opts.log ?? (() => {}));
    try {
      if (t.cluster) {
        for (const s of info.slots) {
          const n = t.node(s.master);
          for (let i = s.start; i <= s.end; i++) t.slotMap[i] = n;
        }
        await Promise.all([...t.nodes.values()].map((n) => n.connect(loading)));
      } else {
        const addr = info.addr;
        t.standalone = t.node(addr);
        // The probe already waited for this node to load (a node does not go back to loading
        // without a restart, which the writer detects by its run_id).
        await t.standalone.connect();
      }
    } catch (err) {
      t.destroy();
      throw err;
    }
    return t;
  }

  private node(addr: HostPort): NodeWriter {
    const id = `${addr.host}:${addr.port}`;
    let n = this.nodes.get(id);
    if (!n) {
      n = new NodeWriter(addr, this.spec, this.handle, this.limits, (e) => this.fail(e), this.log);
      this.nodes.set(id, n);
    }
    return n;
  }

  /** Node a key routes to. */
  nodeFor(key: Buffer | null): NodeWriter {
    if (!this.cluster) return this.standalone!;
    if (key === null) throw new FerryError('INTERNAL', 'a keyless command must be broadcast on a cluster');
    const n = this.slotMap[calculateSlot(key)];
    if (!n) throw new FerryError('TARGET_CLUSTER', `slot ${calculateSlot(key)} is not served by any master`, { key: key.toString() });
    return n;
  }

  slotOf(key: Buffer): number {
    return calculateSlot(key);
  }

  /** Builds a routed item. */
  item(args: readonly Arg[], key: Buffer | null, db: number, owner: Owner | null): Item {
    const n = this.cluster ? (key ? this.nodeFor(key) : [...this.nodes.values()][0]!) : this.standalone!;
    const it = n.item(args, this.cluster ? -1 : db, owner);
    it.key = key;
    return it;
  }

  /** A routed item from bytes already encoded for `key` (by any encoder: slab views are portable). */
  itemOfKey(parts: Buffer[], bytes: number, key: Buffer, db: number, owner: Owner | null, pins: Pins): Item {
    const it = newItem(parts, bytes, this.cluster ? -1 : db, owner, pins);
    it.key = key;
    return it;
  }

  /** Builds a standalone item from pre-encoded bytes (keyless routing; standalone only). */
  itemFromParts(parts: Buffer[], bytes: number, db: number, owner: Owner | null, pins: Pins = null): Item {
    if (this.cluster) throw new FerryError('INTERNAL', 'pre-encoded batches are for standalone targets');
    const it = this.standalone!.itemFromParts(parts, bytes, db, owner, pins);
    it.key = null;
    return it;
  }

  /** Sends an item; undefined when more may be sent now, else a Promise to await first. */
  write(item: Item): Promise<void> | undefined {
    if (this.fatal) throw this.fatal;
    if (this.barrier) return this.barrier.promise.then(() => this.write(item));
    return this.nodeFor(item.key ?? null).write(item);
  }

  /** One awaited command to the node owning `key` (EXISTS checks...). */
  async request(args: readonly Arg[], key: Buffer, db: number): Promise<Reply> {
    if (this.barrier) await this.barrier.promise;
    return this.nodeFor(key).request(args, this.cluster ? -1 : db);
  }

  /** Runs a keyless command on every master (FUNCTION LOAD, SCRIPT LOAD); returns each reply. */
  async broadcast(args: readonly Arg[]): Promise<Reply[]> {
    if (this.barrier) await this.barrier.promise;
    const targets = this.cluster ? this.masters() : [this.standalone!];
    return Promise.all(targets.map((n) => n.request(args, -1)));
  }

  private masters(): NodeWriter[] {
    return [...new Set(this.slotMap.filter((n): n is NodeWriter => n !== undefined))];
  }

  private readonly handle = (item: Item, reply: Reply, _node: NodeWriter): void => {
    if (isReplyError(reply) && (reply.code === 'MOVED' || reply.code === 'ASK') && this.cluster) {
      this.redirect(item, reply);
      return;
    }
    this.onReply(item, reply);
    this.maybeLiftBarrier();
  };

  private redirect(item: Item, reply: ReplyError): void {
    // "MOVED 3999 127.0.0.1:6381"
    const parts = reply.message.split(' ');
    const slot = Number(parts[1]);
    const m = /^(.*):(\d+)$/.exec(parts[2] ?? '');
    if (!m || !Number.isInteger(slot) || slot < 0 || slot > 16383) {
      this.fail(new FerryError('TARGET_PROTOCOL', `malformed redirection: ${reply.message}`));
      return;
    }
    if (++item.redirects > MAX_REDIRECTS) {
      this.fail(new FerryError('TARGET_CLUSTER', `too many redirections (${MAX_REDIRECTS}), last: ${reply.message}`, { key: item.key?.toString() }));
      return;
    }
    this.redirects++;
    const dest = this.node({ host: m[1] || this.info.addr.host, port: Number(m[2]) });
    if (!dest.conn && !dest.connecting) dest.connectInBackground();
    if (reply.code === 'MOVED') {
      this.slotMap[slot] = dest;
      item.asking = false;
      if (!this.barrier) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.barrier = { promise, resolve };
        this.log(`slot ${slot} moved to ${dest.name}; pausing new writes until redirected commands are answered`);
      }
    } else {
      item.asking = true;
    }
    // Bypasses the barrier on purpose: this command is older than anything waiting behind it.
    try {
      void dest.write(item);
    } catch (e) {
      this.fail(e as FerryError);
    }
  }

  private maybeLiftBarrier(): void {
    if (!this.barrier || this.refreshing) return;
    for (const n of this.nodes.values()) if (n.inflightCommands > 0) return;
    this.refreshing = this.refresh()
      .catch((e: unknown) => this.fail(e instanceof FerryError ? e : new FerryError('TARGET_CLUSTER', String(e))))
      .finally(() => {
        this.refreshing = null;
        const b = this.barrier;
        this.barrier = null;
        b?.resolve();
      });
  }

  /** Re-reads the slot map from a live master (one refresh at a time). */
  async refresh(): Promise<void> {
    const n = this.masters()[0] ?? [...this.nodes.values()][0]!;
    const c = await Connection.open(n.addr, this.spec);
    try {
      const slots = await readClusterSlots(c);
      for (const s of slots) {
        const w = this.node(s.master);
        if (!w.conn && !w.connecting) w.connectInBackground();
        for (let i = s.start; i <= s.end; i++) this.slotMap[i] = w;
      }
    } finally {
      c.destroy();
    }
  }

  /** Resolves when every command sent to every node was answered (and redirections settled). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.fatal) throw this.fatal;
      await Promise.all([...this.nodes.values()].map((n) => n.idle()));
      if (this.refreshing) await this.refreshing;
      if (this.barrier) {
        this.maybeLiftBarrier();
        await this.barrier?.promise;
        continue;
      }
      let busy = false;
      for (const n of this.nodes.values()) if (n.inflightCommands > 0) busy = true;
      if (!busy) return;
    }
  }

  fail(err: FerryError): void {
    if (this.fatal) return;
    this.fatal = err;
    for (const n of this.nodes.values()) n.fail(err);
    const b = this.barrier;
    this.barrier = null;
    b?.resolve();
  }

  get reconnects(): number {
    let r = 0;
    for (const n of this.nodes.values()) r += n.reconnects;
    return r;
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.close()));
  }

  destroy(): void {
    for (const n of this.nodes.values()) n.destroy();
  }
}

/** Reads a target's info through a fresh connection (used by tests and the CLI). */
export async function targetInfoOf(spec: TargetSpec, addr: HostPort): Promise<TargetInfo> {
  const c = await Connection.open(addr, spec);
  try {
    return await readTargetInfo(c);
  } finally {
    c.destroy();
  }
}
