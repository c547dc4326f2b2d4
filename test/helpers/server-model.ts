/**
 * Reads a key's value from a live redis-server in the same canonical form the parser's decoded
 * values are rendered in, so the server that loaded an RDB natively is the oracle for the parser.
 */
import type { Redis } from 'ioredis';
import type { Entry } from '../../src/entry/entry.js';

export interface Canon {
  type: string;
  expireAt: number | null;
  value: unknown;
}

const h = (b: Buffer) => b.toString('hex');

/** Canonical form of a parsed entry's decoded value (all chunks merged; sets/hashes sorted). */
export async function canonFromEntry(e: Entry): Promise<Canon> {
  const str: Buffer[] = [];
  const list: string[] = [];
  const zset: [string, number][] = [];
  const hash: [string, string, number | null][] = [];
  const entries: string[] = [];
  let meta: { length: number; lastId: string; groups: [string, string, number][] } | null = null;
  for await (const c of e.chunks()) {
    switch (c.t) {
      case 'string':
        str.push(c.data);
        break;
      case 'list':
        for (const i of c.items) list.push(h(i));
        break;
      case 'set':
        for (const m of c.members) list.push(h(m));
        break;
      case 'zset':
        c.members.forEach((m, i) => zset.push([h(m), c.scores[i]!]));
        break;
      case 'hash':
        c.fields.forEach((f, i) => hash.push([h(f), h(c.values[i]!), c.expireAts?.[i] ?? null]));
        break;
      case 'stream-entries':
        c.ids.forEach((id, i) => entries.push(`${id.ms}-${id.seq}:${c.fields[i]!.map(h).join(',')}`));
        break;
      case 'stream-meta':
        meta = {
          length: c.meta.length,
          lastId: `${c.meta.lastId.ms}-${c.meta.lastId.seq}`,
          groups: c.meta.groups.map((g) => [h(g.name), `${g.lastId.ms}-${g.lastId.seq}`, g.pending.length] as [string, string, number]).sort(),
        };
        break;
      case 'module':
        break;
    }
  }
  let value: unknown;
  switch (e.type) {
    case 'string':
      value = h(Buffer.concat(str));
      break;
    case 'list':
      value = list;
      break;
    case 'set':
      value = list.sort();
      break;
    case 'zset':
      value = zset.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      break;
    case 'hash':
      value = hash.map(([f, v]) => [f, v]).sort();
      break;
    case 'stream':
      value = { entries, ...meta };
      break;
    default:
      value = null;
  }
  return { type: e.type, expireAt: e.expireAt, value };
}

/** The same canonical form, read from a live server (db already selected on `c`). */
export async function canonFromServer(c: Redis, key: Buffer): Promise<Canon | null> {
  const type = String(await c.type(key));
  if (type === 'none') return null;
  const pexp = Number(await c.call('PEXPIRETIME', key));
  const expireAt = pexp < 0 ? null : pexp;
  let value: unknown;
  switch (type) {
    case 'string':
      value = h((await c.getBuffer(key))!);
      break;
    case 'list':
      value = (await c.lrangeBuffer(key, 0, -1)).map(h);
      break;
    case 'set':
      value = (await c.smembersBuffer(key)).map(h).sort();
      break;
    case 'zset': {
      // Flattened: some client versions group WITHSCORES replies in pairs.
      const r = ((await c.callBuffer('ZRANGE', key, '0', '-1', 'WITHSCORES')) as (Buffer | Buffer[])[]).flat();
      const out: [string, number][] = [];
      for (let i = 0; i < r.length; i += 2) out.push([h(r[i]!), parseServerScore(r[i + 1]!.toString())]);
      value = out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      break;
    }
    case 'hash': {
      const r = (await c.callBuffer('HGETALL', key)) as Buffer[];
      const out: [string, string][] = [];
      for (let i = 0; i < r.length; i += 2) out.push([h(r[i]!), h(r[i + 1]!)]);
      value = out.sort();
      break;
    }
    case 'stream': {
      const r = (await c.callBuffer('XRANGE', key, '-', '+')) as [Buffer, Buffer[]][];
      const entries = r.map(([id, f]) => `${id.toString()}:${f.map(h).join(',')}`);
      const info = (await c.call('XINFO', 'STREAM', key)) as unknown[];
      const m = new Map<string, unknown>();
      for (let i = 0; i < info.length; i += 2) m.set(String(info[i]), info[i + 1]);
      const groupsRaw = (await c.callBuffer('XINFO', 'GROUPS', key)) as Buffer[][];
      const groups = groupsRaw
        .map((g) => {
          const gm = new Map<string, Buffer>();
          for (let i = 0; i < g.length; i += 2) gm.set(g[i]!.toString(), g[i + 1]!);
          return [h(gm.get('name')!), gm.get('last-delivered-id')!.toString(), Number(gm.get('pending'))] as [string, string, number];
        })
        .sort();
      value = { entries, length: Number(m.get('length')), lastId: String(m.get('last-generated-id')), groups };
      break;
    }
    default:
      value = null;
  }
  return { type, expireAt, value };
}

export function parseServerScore(s: string): number {
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}
