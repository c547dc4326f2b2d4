/**
 * Hand-made RDB bytes for what no local server writes (Valkey 9 HASH_2, RDB 12/13 opcodes) and for
 * precise corruption: length and string encoders plus a finisher that appends EOF and the CRC-64.
 */
import { crc64 } from '../../src/rdb/crc64.js';

export function len(n: number | bigint): Buffer {
  const v = BigInt(n);
  if (v < 64n) return Buffer.from([Number(v)]);
  if (v < 16384n) return Buffer.from([0x40 | Number(v >> 8n), Number(v & 0xffn)]);
  if (v < 0x100000000n) {
    const b = Buffer.alloc(5);
    b[0] = 0x80;
    b.writeUInt32BE(Number(v), 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0x81;
  b.writeBigUInt64BE(v, 1);
  return b;
}

export function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([len(b.length), b]);
}

export function i64le(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return b;
}

/** header + body + EOF (+ CRC-64 for version >= 5; `crc: 'zero'` writes 0, `'bad'` a wrong one). */
export function rdb(header: string, body: Buffer[], opts: { crc?: 'good' | 'zero' | 'bad' } = {}): Buffer {
  const content = Buffer.concat([Buffer.from(header, 'latin1'), ...body, Buffer.from([0xff])]);
  const version = Number(header.replace(/^\D+/, ''));
  if (version < 5 && header.startsWith('REDIS')) return content;
  const c = Buffer.alloc(8);
  const mode = opts.crc ?? 'good';
  if (mode !== 'zero') c.writeBigUInt64LE(crc64(content) ^ (mode === 'bad' ? 1n : 0n));
  return Buffer.concat([content, c]);
}

/** A listpack holding string entries (short strings only: 6-bit length encoding). */
export function listpack(items: string[], opts: { countOverride?: number; badBacklen?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const it of items) {
    const b = Buffer.from(it);
    if (b.length > 63) throw new Error('test listpack builder: strings up to 63 bytes');
    const entry = Buffer.concat([Buffer.from([0x80 | b.length]), b]);
    parts.push(entry, Buffer.from([opts.badBacklen ? entry.length + 1 : entry.length]));
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(6);
  head.writeUInt32LE(6 + body.length + 1, 0);
  head.writeUInt16LE(opts.countOverride ?? items.length, 4);
  return Buffer.concat([head, body, Buffer.from([0xff])]);
}
