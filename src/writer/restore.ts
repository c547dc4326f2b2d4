/**
 * RESTORE payloads built from the raw value bytes an RDB holds (formats reference §2): the type byte
 * and value bytes pass through untouched, followed by a footer (RDB version, CRC-64). The footer
 * version is the lowest the type needs (§2.4), so a target that reads the type accepts it even when
 * it is older than the file; whether the target reads it at all is `acceptsFooter`'s question.
 */
import type { Entry } from '../entry/entry.js';
import { Crc64 } from '../rdb/crc64.js';
import { BIG, type Arg, type RespEncoder } from '../resp/encoder.js';
import { NATIVE_RESP } from '../resp/native-resp.js';

/** KEY_META opcode, which precedes the type byte in a Redis 8.6+ DUMP payload. */
const KEY_META = 0xf3;

/** Lowest RDB version that defines `typeByte` (formats reference §2.4); null for types no target reads. */
export function minRdbForType(typeByte: number, magic: 'REDIS' | 'VALKEY'): number | null {
  if (typeByte <= 4) return 1;
  if (typeByte === 5 || typeByte === 7) return 8;
  if (typeByte >= 9 && typeByte <= 12) return 2;
  if (typeByte === 13) return 4;
  if (typeByte === 14) return 7;
  if (typeByte === 15) return 9;
  if (typeByte >= 16 && typeByte <= 19) return 10;
  if (typeByte === 20 || typeByte === 21) return 11;
  if (typeByte === 22 || typeByte === 23) return magic === 'VALKEY' ? (typeByte === 22 ? 80 : 81) : 12;
  if (typeByte === 24 || typeByte === 25) return 12;
  if (typeByte === 26) return 13;
  return null; // 6 (pre-GA module) and anything unknown
}

/** Footer version for an entry: its type's minimum, raised to 13 when KEY_META leads the payload. */
export function footerVersion(entry: Entry): number | null {
  const v = minRdbForType(entry.typeByte, entry.source.magic);
  if (v === null) return null;
  return entry.keyMeta ? Math.max(v, 13) : v;
}

/** Payload length in bytes for a given entry (what proto-max-bulk-len is compared with). */
export function payloadLength(entry: Entry): number {
  return (entry.keyMeta ? 1 + entry.keyMeta.length : 0) + 1 + (entry.raw?.length ?? entry.rawSize) + 10;
}

/**
 * The payload as pieces (head, raw value, footer) so a big value is never copied: the encoder sends
 * `raw` as its own chunk. `entry.raw` must be set.
 */
export function restorePayload(entry: Entry, version: number): Buffer[] {
  const raw = entry.raw!;
  const head = entry.keyMeta ? Buffer.concat([Buffer.from([KEY_META]), entry.keyMeta, Buffer.from([entry.typeByte])]) : TYPE_BYTES[entry.typeByte]!;
  const footer = Buffer.allocUnsafe(10);
  footer.writeUInt16LE(version, 0);
  const crc = new Crc64().update(head).update(raw).update(footer, 0, 2);
  footer.writeUInt32LE(crc.lo >>> 0, 2);
  footer.writeUInt32LE(crc.hi >>> 0, 6);
  return [head, raw, footer];
}

const TYPE_BYTES: Buffer[] = Array.from({ length: 256 }, (_, i) => Buffer.from([i]));

export interface RestoreFlags {
  replace: boolean;
  /** Target supports ABSTTL (5.0+); otherwise a relative TTL is computed from `now`. */
  absTtl: boolean;
  now: number;
}

/**
 * Constant arguments as Buffers: the encoder copies a Buffer's bytes as they are, while a string
 * argument is measured and transcoded on every command (text() was 4% of a mixed-import profile).
 */
const RESTORE = Buffer.from('RESTORE');
const NO_TTL = Buffer.from('0');
const REPLACE = Buffer.from('REPLACE');
const ABSTTL = Buffer.from('ABSTTL');
const IDLETIME = Buffer.from('IDLETIME');
const FREQ = Buffer.from('FREQ');

/** `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s | FREQ f]`. */
export function restoreArgs(entry: Entry, version: number, f: RestoreFlags): Arg[] {
  const args: Arg[] = [RESTORE, entry.key];
  if (entry.expireAt === null) args.push(NO_TTL);
  else if (f.absTtl) args.push(entry.expireAt);
  else args.push(Math.max(1, entry.expireAt - f.now));
  args.push(restorePayload(entry, version));
  if (f.replace) args.push(REPLACE);
  if (f.absTtl) {
    if (entry.expireAt !== null) args.push(ABSTTL);
    if (entry.idle !== null) args.push(IDLETIME, entry.idle);
    else if (entry.freq !== null) args.push(FREQ, entry.freq);
  }
  return args;
}

/** One CRC state and footer for `encodeRestore`: used and copied into the slab before it returns. */
const SCRATCH_CRC = new Crc64();
const SCRATCH_FOOTER = Buffer.alloc(10);

/**
 * `restoreArgs` encoded straight into `enc` (the import's hot path: one RESTORE per key), without
 * the argument and payload arrays, the footer Buffer and the CRC object each call would allocate.
 * The bytes are those `enc.command(restoreArgs(...))` gives (a unit test holds them equal); their
 * length is `enc.lastBytes` afterwards (no result object per key). `raw` replaces the entry's value
 * bytes (an inflated payload, see inflate-payload.ts). `native`: the common form goes through the
 * native encoder when it is there (the tests pass false to hold the two paths' bytes equal).
 */
export function encodeRestore(enc: RespEncoder, entry: Entry, version: number, f: RestoreFlags, raw: Buffer | Buffer[] = entry.raw!, native = NATIVE_RESP !== null): Buffer[] {
  // The common forms (no key metadata or hint; the value in one piece, or a length header and an
  // inflated value; nothing big enough to send by reference) in one native call: resp.c.
  const ttl = native ? nativeTtl(entry, f) : -1;
  if (ttl >= 0) {
    const one = Buffer.isBuffer(raw);
    const value = one ? raw : raw.length === 2 ? raw[1]! : null;
    if (value !== null && value.length < BIG) {
      enc.restoreNative(entry.key, 0, entry.key.length, value, 0, value.length, entry.typeByte, version, ttl, nativeFlags(entry, f), one ? undefined : (raw as Buffer[])[0]);
      return enc.endParts();
    }
  }
  const head = entry.keyMeta ? Buffer.concat([Buffer.from([KEY_META]), entry.keyMeta, Buffer.from([entry.typeByte])]) : TYPE_BYTES[entry.typeByte]!;
  const footer = SCRATCH_FOOTER;
  footer.writeUInt16LE(version, 0);
  const crc = SCRATCH_CRC;
  crc.lo = 0;
  crc.hi = 0;
  crc.update(head);
  if (Buffer.isBuffer(raw)) crc.update(raw);
  else for (const p of raw) crc.update(p);
  crc.update(footer, 0, 2);
  footer.writeUInt32LE(crc.lo >>> 0, 2);
  footer.writeUInt32LE(crc.hi >>> 0, 6);
  const abs = f.absTtl && entry.expireAt !== null;
  const hint = f.absTtl ? (entry.idle !== null ? 1 : entry.freq !== null ? 1 : 0) : 0;
  enc.begin(4 + (f.replace ? 1 : 0) + (abs ? 1 : 0) + 2 * hint);
  enc.arg(RESTORE);
  enc.arg(entry.key);
  if (entry.expireAt === null) enc.arg(NO_TTL);
  else enc.argUint(f.absTtl ? entry.expireAt : Math.max(1, entry.expireAt - f.now));
  enc.arg3(head, raw, footer);
  if (f.replace) enc.arg(REPLACE);
  if (abs) enc.arg(ABSTTL);
  if (hint) {
    if (entry.idle !== null) {
      enc.arg(IDLETIME);
      enc.argUint(entry.idle);
    } else {
      enc.arg(FREQ);
      enc.argUint(entry.freq!);
    }
  }
  return enc.endParts();
}

/**
 * The TTL argument of a RESTORE the native encoder can write (no key metadata or hint, a key under
 * BIG, a TTL that is a whole number), or -1 when it cannot.
 */
function nativeTtl(entry: Entry, f: RestoreFlags): number {
  if (NATIVE_RESP === null || entry.keyMeta !== null || entry.key.length >= BIG || (f.absTtl && (entry.idle !== null || entry.freq !== null))) return -1;
  const ttl = entry.expireAt === null ? 0 : f.absTtl ? entry.expireAt : Math.max(1, entry.expireAt - f.now);
  return Number.isSafeInteger(ttl) && ttl >= 0 ? ttl : -1;
}

/** resp.c's flags: 1 REPLACE, 2 ABSTTL. */
function nativeFlags(entry: Entry, f: RestoreFlags): number {
  return (f.replace ? 1 : 0) | (f.absTtl && entry.expireAt !== null ? 2 : 0);
}

/**
 * The RESTORE of an entry whose value is one LZF string (its data `raw[cs, raw.length)`, `len` bytes
 * inflated), sent plain: the native encoder writes the length header `pre` and inflates the data
 * straight into the command, with no Buffer for the inflated value (inflate-payload.ts says why
 * plain). Null when that path does not apply (no addon, a form it does not write, a value of BIG or
 * more) or the data does not inflate: the caller then takes the general path, which reports it.
 */
export function encodeRestoreInflating(enc: RespEncoder, entry: Entry, version: number, f: RestoreFlags, pre: Buffer, cs: number, len: number): Buffer[] | null {
  const ttl = nativeTtl(entry, f);
  if (ttl < 0 || pre.length + len >= BIG) return null;
  const raw = entry.raw!;
  if (!enc.restoreNative(entry.key, 0, entry.key.length, raw, cs, raw.length, entry.typeByte, version, ttl, nativeFlags(entry, f), pre, len)) return null;
  return enc.endParts();
}
