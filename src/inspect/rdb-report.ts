/**
 * What `ferry inspect` reports about an RDB: built incrementally from the parser's records, so it
 * runs in bounded memory over any file size (only the 20 biggest keys are kept).
 */
import type { RdbRecord, ValueType, Entry } from '../entry/entry.js';

export const TOP_KEYS = 20;

export interface BigKey {
  db: number;
  key: string;
  type: ValueType;
  encoding: string;
  bytes: number;
}

export interface RdbReport {
  format: 'rdb';
  file: string;
  magic: 'REDIS' | 'VALKEY' | null;
  rdbVersion: number | null;
  aux: Record<string, string>;
  keys: number;
  expires: number;
  expiredKeys: number;
  emptyKeysSkipped: number;
  databases: Record<string, { keys: number; expires: number; expired: number; resizeHint: { size: number; expires: number } | null }>;
  types: Record<ValueType, number>;
  encodings: Record<string, number>;
  functions: string[];
  luaScripts: number;
  modules: Record<string, number>;
  moduleAux: string[];
  biggestKeys: BigKey[];
  /** Bytes of the RDB (header to CRC). */
  bytes: number;
  checksum: 'ok' | 'mismatch-ignored' | 'not-computed' | 'absent';
}

/** Renders a key for people: UTF-8 when it is printable text, else escaped like redis-cli does. */
export function displayKey(key: Buffer): string {
  const s = key.toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (!s.includes('\uFFFD') && !/[\x00-\x1f\x7f]/.test(s)) return s;
  let out = '';
  for (const b of key) out += b >= 0x20 && b < 0x7f && b !== 0x5c && b !== 0x22 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

export class RdbReportBuilder {
  readonly report: RdbReport;
  private readonly now: number;
  /** A streamed entry whose size is known only once the parser moved past it. */
  private pendingStreamed: Entry | null = null;

  constructor(file: string, now: number) {
    this.now = now;
    this.report = {
      format: 'rdb', file, magic: null, rdbVersion: null, aux: {}, keys: 0, expires: 0, expiredKeys: 0, emptyKeysSkipped: 0,
      databases: {}, types: { string: 0, list: 0, set: 0, zset: 0, hash: 0, stream: 0, module: 0 }, encodings: {},
      functions: [], luaScripts: 0, modules: {}, moduleAux: [], biggestKeys: [], bytes: 0, checksum: 'absent',
    };
  }

  add(batch: RdbRecord[]): void {
    if (this.pendingStreamed) {
      this.noteSize(this.pendingStreamed);
      this.pendingStreamed = null;
    }
    const r = this.report;
    for (const rec of batch) {
      switch (rec.kind) {
        case 'header':
          r.magic = rec.magic;
          r.rdbVersion = rec.version;
          break;
        case 'aux': {
          const k = rec.key.toString('utf8');
          if (k === 'lua') r.luaScripts++;
          else r.aux[k] = displayKey(rec.value);
          break;
        }
        case 'resizedb':
          this.db(rec.db).resizeHint = { size: rec.size, expires: rec.expires };
          break;
        case 'function': {
          const m = /^#!\S+\s+name=(\S+)/.exec(rec.code.subarray(0, 256).toString('utf8'));
          r.functions.push(m ? m[1]! : '(unnamed library)');
          break;
        }
        case 'module-aux':
          r.moduleAux.push(rec.moduleName);
          break;
        case 'entry': {
          const e = rec.entry;
          const d = this.db(e.db);
          r.keys++;
          d.keys++;
          r.types[e.type]++;
          const enc = `${e.type}:${e.encoding}`;
          r.encodings[enc] = (r.encodings[enc] ?? 0) + 1;
          if (e.expireAt !== null) {
            r.expires++;
            d.expires++;
            if (e.expireAt <= this.now) {
              r.expiredKeys++;
              d.expired++;
            }
          }
          if (e.module) r.modules[e.module.name] = (r.modules[e.module.name] ?? 0) + 1;
          if (e.raw) this.noteSize(e);
          else this.pendingStreamed = e;
          break;
        }
        case 'end':
          r.bytes = rec.bytes;
          r.emptyKeysSkipped = rec.emptyKeysSkipped ?? 0;
          r.checksum = rec.checksum === null ? 'absent' : rec.checksum === 0n ? 'not-computed' : rec.checksumOk ? 'ok' : 'mismatch-ignored';
          break;
      }
    }
  }

  /** Call after the last batch. */
  finish(): RdbReport {
    if (this.pendingStreamed) this.noteSize(this.pendingStreamed);
    this.pendingStreamed = null;
    return this.report;
  }

  private db(n: number) {
    return (this.report.databases[String(n)] ??= { keys: 0, expires: 0, expired: 0, resizeHint: null });
  }

  private noteSize(e: Entry): void {
    const top = this.report.biggestKeys;
    if (top.length === TOP_KEYS && top[top.length - 1]!.bytes >= e.rawSize) return;
    const item: BigKey = { db: e.db, key: displayKey(e.key), type: e.type, encoding: e.encoding, bytes: e.rawSize };
    let i = top.length;
    while (i > 0 && top[i - 1]!.bytes < item.bytes) i--;
    top.splice(i, 0, item);
    if (top.length > TOP_KEYS) top.pop();
  }
}
