/**
 * The rewrite path: an entry's decoded value replayed as ordinary commands, for targets that cannot
 * take its RESTORE payload (type too new, payload over proto-max-bulk-len, a streamed big value) or
 * under `--mode rewrite`.
 *
 * Shape of every rewrite: DEL first (so sending it all again is idempotent), then the value in
 * batches of at most BATCH_ITEMS elements and BATCH_BYTES bytes per command (never one element per
 * command; never one huge command), then the metadata (stream ids, groups, PELs, field TTLs), and
 * the key's expiry last with PEXPIREAT. Yields commands as the value's chunks arrive, so a streamed
 * value is never held whole.
 */
import type { Entry, StreamId, StreamMeta } from '../entry/entry.js';
import { FerryError } from '../errors/ferry-error.js';
import type { Arg, RespArgs } from '../resp/encoder.js';

/** Elements per command: hundreds, so the server's per-command cost is amortised. */
export const BATCH_ITEMS = 500;
/** Bytes per command, so no single command approaches the query buffer limits. */
export const BATCH_BYTES = 1 << 20;
/** What a presizing SETRANGE writes at a big string's last byte (the last piece overwrites it). */
const ZERO_BYTE = Buffer.alloc(1);

export interface RewriteEnv {
  now: number;
  /** DEL before writing (conflict policy `replace`; under skip/fail the key is known absent). */
  del: boolean;
  hashFieldTtl: boolean;
  streamMeta7: boolean;
  acceptLoss: boolean;
  /** Records a dropped feature (only called under acceptLoss). */
  lose(feature: string): void;
  /**
   * The caller encodes each command before asking for the next (pinning what it keeps), so a
   * streamed value's chunks may be leased buffers (Entry ChunkOptions).
   */
  leased?: boolean;
}

/** Score text that Redis parses back to the same double (shortest round trip; ±inf; -0 kept). */
export function scoreText(x: number): string {
  if (x === Infinity) return '+inf';
  if (x === -Infinity) return '-inf';
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

function idText(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

/** Accumulates `[cmd, key, ...elements]` and emits it when a batch is full. */
class Batcher {
  private args: Arg[] = [];
  private items = 0;
  private bytes = 0;
  constructor(private readonly head: Arg[]) {}

  /** Adds one element group (1 arg for RPUSH/SADD, 2 for ZADD/HSET); returns a full command or null. */
  add(parts: Arg[], size: number): Arg[] | null {
    let out: Arg[] | null = null;
    if (this.items > 0 && (this.items >= BATCH_ITEMS || this.bytes + size > BATCH_BYTES)) out = this.take();
    for (const p of parts) this.args.push(p);
    this.items++;
    this.bytes += size;
    return out;
  }

  /**
   * Adds a run of elements already encoded (a listpack node's, RespArgs). A run is not split: one
   * node of many small elements may make a command of more than BATCH_ITEMS, bounded by the node.
   */
  addRun(run: RespArgs): Arg[] | null {
    let out: Arg[] | null = null;
    if (this.items > 0 && (this.items + run.count > BATCH_ITEMS || this.bytes + run.bytes > BATCH_BYTES)) out = this.take();
    this.args.push(run);
    this.items += run.count;
    this.bytes += run.bytes;
    return out;
  }

  take(): Arg[] | null {
    if (!this.items) return null;
    const cmd = [...this.head, ...this.args];
    this.args = [];
    this.items = 0;
    this.bytes = 0;
    return cmd;
  }
}

export async function* rewriteEntry(entry: Entry, env: RewriteEnv): AsyncGenerator<Arg[]> {
  const key = entry.key;
  if (env.del && entry.type !== 'string') yield ['DEL', key];
  let stringStarted = false;
  /** Bytes of the string sent so far, and whether the target's string was sized to the whole value. */
  let stringAt = 0;
  let presized = false;
  let wroteStreamEntries = false;
  let meta: StreamMeta | null = null;
  const list = new Batcher(['RPUSH', key]);
  const set = new Batcher(['SADD', key]);
  const zset = new Batcher(['ZADD', key]);
  const hash = new Batcher(['HSET', key]);
  /** Field TTLs grouped by expiry time (HPEXPIREAT takes one time for many fields). */
  const fieldTtls = new Map<number, Buffer[]>();

  for await (const c of entry.chunks({ leased: env.leased ?? false, packedLists: true })) {
    switch (c.t) {
      case 'string':
        if (!stringStarted) {
          yield ['SET', key, c.data];
          stringStarted = true;
          stringAt = c.data.length;
          // Sized once: one SETRANGE at the last byte makes the target allocate the whole string, and
          // the pieces are then copied in place. Grown by APPENDs the target re-allocates (and copies)
          // the string every other megabyte: measured with redis-cli --pipe on Redis 7.0, a 256 MB
          // string took 1.33-1.41 s as 1 MB APPENDs, 0.29-0.31 s as presized SETRANGEs.
          if (c.total !== undefined && c.total > stringAt) {
            presized = true;
            yield ['SETRANGE', key, c.total - 1, ZERO_BYTE];
          }
        } else if (c.data.length) {
          // SETRANGE at a fixed offset also writes the same bytes again if repeated (APPEND would not).
          yield presized ? ['SETRANGE', key, stringAt, c.data] : ['APPEND', key, c.data];
          stringAt += c.data.length;
        }
        break;
      case 'list':
        if (c.packed) {
          for (const run of c.packed) {
            const out = list.addRun(run);
            if (out) yield out;
          }
        }
        for (const it of c.items) {
          const out = list.add([it], it.length);
          if (out) yield out;
        }
        break;
      case 'set':
        for (const m of c.members) {
          const out = set.add([m], m.length);
          if (out) yield out;
        }
        break;
      case 'zset':
        for (let i = 0; i < c.members.length; i++) {
          const m = c.members[i]!;
          const out = zset.add([scoreText(c.scores[i]!), m], m.length + 24);
          if (out) yield out;
        }
        break;
      case 'hash':
        for (let i = 0; i < c.fields.length; i++) {
          const f = c.fields[i]!;
          const v = c.values[i]!;
          const ttl = c.expireAts?.[i] ?? null;
          if (ttl !== null) {
            if (ttl <= env.now) continue; // expired field: dropped, as a loading server does
            if (!env.hashFieldTtl) {
              if (!env.acceptLoss) {
                throw new FerryError('TARGET_TOO_OLD', 'hash has field TTLs and the target has no HPEXPIREAT (needs Redis 7.4+ or Valkey 9+); pass --accept-loss to import without them', { key: key.toString() });
              }
              env.lose('hash-field-ttl');
            } else {
              let g = fieldTtls.get(ttl);
              if (!g) fieldTtls.set(ttl, (g = []));
              g.push(f);
            }
          }
          const out = hash.add([f, v], f.length + v.length);
          if (out) yield out;
        }
        break;
      case 'stream-entries':
        for (let i = 0; i < c.ids.length; i++) {
          wroteStreamEntries = true;
          yield ['XADD', key, idText(c.ids[i]!), ...c.fields[i]!];
        }
        break;
      case 'stream-meta':
        meta = c.meta;
        break;
      case 'module':
        throw new FerryError('TARGET_TOO_OLD', `a module value (${entry.module?.name ?? 'unknown type'}) can only be imported with RESTORE on a target that has the module`, { key: key.toString() });
    }
  }
  for (const b of [list, set, zset, hash]) {
    const out = b.take();
    if (out) yield out;
  }
  for (const [ttl, fields] of fieldTtls) {
    for (let i = 0; i < fields.length; i += BATCH_ITEMS) {
      const part = fields.slice(i, i + BATCH_ITEMS);
      yield ['HPEXPIREAT', key, ttl, 'FIELDS', part.length, ...part];
    }
  }
  if (meta) yield* streamMetaCommands(key, meta, wroteStreamEntries, env);
  if (entry.expireAt !== null) yield ['PEXPIREAT', key, entry.expireAt];
}

/** XSETID, groups, consumers and PELs; an emptied stream is created so it still exists. */
function* streamMetaCommands(key: Buffer, meta: StreamMeta, wroteEntries: boolean, env: RewriteEnv): Generator<Arg[]> {
  if (!wroteEntries) {
    // A stream whose entries were all deleted still exists: create it empty.
    const tmp = '__ferry_tmp_group__';
    yield ['XGROUP', 'CREATE', key, tmp, '0', 'MKSTREAM'];
    yield ['XGROUP', 'DESTROY', key, tmp];
  }
  const setid: Arg[] = ['XSETID', key, idText(meta.lastId)];
  if (env.streamMeta7) {
    if (meta.entriesAdded !== null) setid.push('ENTRIESADDED', meta.entriesAdded);
    if (meta.maxDeletedId !== null) setid.push('MAXDELETEDID', idText(meta.maxDeletedId));
  }
  yield setid;
  for (const g of meta.groups) {
    const create: Arg[] = ['XGROUP', 'CREATE', key, g.name, idText(g.lastId)];
    if (env.streamMeta7 && g.entriesRead !== null) create.push('ENTRIESREAD', g.entriesRead);
    yield create;
    const pel = new Map<string, { deliveryTime: number; deliveryCount: number }>();
    for (const p of g.pending) pel.set(idText(p.id), p);
    for (const c of g.consumers) {
      if (!c.pending.length) {
        yield ['XGROUP', 'CREATECONSUMER', key, g.name, c.name];
        continue;
      }
      for (const id of c.pending) {
        const t = idText(id);
        const p = pel.get(t);
        const args: Arg[] = ['XCLAIM', key, g.name, c.name, '0', t];
        if (p) args.push('TIME', p.deliveryTime, 'RETRYCOUNT', p.deliveryCount);
        args.push('FORCE', 'JUSTID');
        yield args;
      }
    }
  }
}
