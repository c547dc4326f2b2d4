/**
 * Which arguments of a replayed (AOF) command are keys, for routing on a cluster target.
 *
 * Source of truth: the target's own `COMMAND` reply (first key, last key, step), read once, so the
 * positions match the server's version. Commands whose keys move with their arguments (flag
 * `movablekeys`: ZUNIONSTORE, SORT ... STORE, EVAL...) are resolved with `COMMAND GETKEYS` on the
 * target, an awaited round trip that only those rare commands pay. A small table covers what must be
 * decided before looking at the server: commands an import must never replay, and keyless commands
 * that go to every master.
 */
import { FerryError } from '../errors/ferry-error.js';
import { ReplyError, type Reply } from '../resp/decoder.js';

export interface KeySpec {
  first: number;
  last: number;
  step: number;
  movable: boolean;
}

/** Never replayed: they would flush, reconfigure or stop the target, or change what a db means. */
export const REFUSED = new Set(['flushall', 'flushdb', 'swapdb', 'shutdown', 'config', 'debug', 'replicaof', 'slaveof', 'cluster', 'failover', 'acl', 'module', 'monitor', 'sync', 'psync', 'client', 'save', 'bgsave', 'bgrewriteaof']);

/** Keyless commands replayed on every master of a cluster. */
export const BROADCAST = new Set(['function', 'script']);

/** Multi-key commands that are split into one command per slot on a cluster (they are per-key independent). */
export const SPLITTABLE: Record<string, number> = { mset: 2, del: 1, unlink: 1 };

export function parseCommandTable(r: Reply): Map<string, KeySpec> {
  const out = new Map<string, KeySpec>();
  if (!Array.isArray(r)) return out;
  for (const row of r) {
    if (!Array.isArray(row) || row.length < 6) continue;
    const name = Buffer.isBuffer(row[0]) ? row[0].toString().toLowerCase() : typeof row[0] === 'string' ? row[0].toLowerCase() : '';
    const flags = Array.isArray(row[2]) ? row[2].map((f) => String(f)) : [];
    const [first, last, step] = [row[3], row[4], row[5]];
    if (!name || typeof first !== 'number' || typeof last !== 'number' || typeof step !== 'number') continue;
    out.set(name, { first, last, step, movable: flags.includes('movablekeys') });
  }
  return out;
}

/** Key argument indexes of `argv` per the server's spec; null when the command is movable-keys. */
export function keyIndexes(argv: Buffer[], spec: KeySpec): number[] | null {
  if (spec.movable) return null;
  if (spec.first <= 0) return [];
  const last = spec.last < 0 ? argv.length + spec.last : spec.last;
  const out: number[] = [];
  for (let i = spec.first; i <= last && i < argv.length; i += Math.max(1, spec.step)) out.push(i);
  return out;
}

/** Parses a `COMMAND GETKEYS` reply into keys. */
export function getkeysReply(r: Reply, name: string): Buffer[] {
  if (r instanceof ReplyError) {
    // "The command has no key arguments" is a legitimate answer.
    if (/no key arguments/i.test(r.message)) return [];
    throw new FerryError('AOF_COMMAND_REFUSED', `cannot tell which keys ${name.toUpperCase()} touches: ${r.message}`);
  }
  if (!Array.isArray(r)) throw new FerryError('TARGET_PROTOCOL', 'COMMAND GETKEYS did not return an array');
  return r.filter((x): x is Buffer => Buffer.isBuffer(x));
}
