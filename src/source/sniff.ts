/**
 * Content sniffing: what a stream holds, from its first bytes. Inputs are chosen by content, not
 * by name: a `.bak` holding an RDB is read as one, a `.rdb` holding gzip is unpacked.
 */
import { looksLikeManifest } from '../aof/manifest.js';

export type ContentFormat = 'rdb' | 'aof' | 'manifest' | 'zip' | 'gzip' | 'tar' | 'other-compression' | 'unknown';

/** Bytes a caller should read for `sniff` to see every signature (tar's is at 257..262). */
export const SNIFF_BYTES = 512;

export function sniff(head: Buffer): ContentFormat {
  if (head.length === 0) return 'aof';
  const s5 = head.subarray(0, 5).toString('latin1');
  if (s5 === 'REDIS' || head.subarray(0, 6).toString('latin1') === 'VALKEY') return 'rdb';
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) return 'zip';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  if (s5.startsWith('BZh') || head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) || (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528)) {
    return 'other-compression';
  }
  if (looksLikeManifest(head)) return 'manifest';
  if (head[0] === 0x2a && head.length > 1 && head[1]! >= 0x30 && head[1]! <= 0x39) return 'aof';
  if (head[0] === 0x23) return 'aof';
  return 'unknown';
}

export function isArchiveFormat(f: ContentFormat): boolean {
  return f === 'zip' || f === 'gzip' || f === 'tar' || f === 'other-compression';
}

/** RDB magic and version from the first 9 bytes (`REDIS0011`, `VALKEY080`), when it is an RDB. */
export function rdbHeader(head: Buffer): { magic: 'REDIS' | 'VALKEY'; version: number } | null {
  const s = head.subarray(0, 9).toString('latin1');
  const m = /^(REDIS)(\d{4})$/.exec(s) ?? /^(VALKEY)(\d{3})$/.exec(s);
  if (!m) return null;
  return { magic: m[1] as 'REDIS' | 'VALKEY', version: Number(m[2]) };
}
