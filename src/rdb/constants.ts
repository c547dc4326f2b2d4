/** RDB opcodes and object type bytes (redis src/rdb.h, valkey src/rdb.h; formats reference §1.3-§1.4). */
import type { ValueType } from '../entry/entry.js';

export const OP = {
  VALKEY_UPDATE: 242,
  KEY_META_OR_SLOT_IMPORT: 243,
  SLOT_INFO: 244,
  FUNCTION2: 245,
  FUNCTION_PRE_GA: 246,
  MODULE_AUX: 247,
  IDLE: 248,
  FREQ: 249,
  AUX: 250,
  RESIZEDB: 251,
  EXPIRETIME_MS: 252,
  EXPIRETIME: 253,
  SELECTDB: 254,
  EOF: 255,
} as const;

export interface TypeInfo {
  type: ValueType;
  encoding: string;
  /** Lowest RDB version whose loader knows this type byte (for DUMP footers). */
  minVersion: number;
}

const REDIS_TYPES: Record<number, TypeInfo> = {
  0: { type: 'string', encoding: 'raw', minVersion: 1 },
  1: { type: 'list', encoding: 'linkedlist', minVersion: 1 },
  2: { type: 'set', encoding: 'hashtable', minVersion: 1 },
  3: { type: 'zset', encoding: 'skiplist', minVersion: 1 },
  4: { type: 'hash', encoding: 'hashtable', minVersion: 1 },
  5: { type: 'zset', encoding: 'skiplist', minVersion: 8 },
  7: { type: 'module', encoding: 'module', minVersion: 8 },
  9: { type: 'hash', encoding: 'zipmap', minVersion: 2 },
  10: { type: 'list', encoding: 'ziplist', minVersion: 2 },
  11: { type: 'set', encoding: 'intset', minVersion: 2 },
  12: { type: 'zset', encoding: 'ziplist', minVersion: 2 },
  13: { type: 'hash', encoding: 'ziplist', minVersion: 4 },
  14: { type: 'list', encoding: 'quicklist', minVersion: 7 },
  15: { type: 'stream', encoding: 'stream', minVersion: 9 },
  16: { type: 'hash', encoding: 'listpack', minVersion: 10 },
  17: { type: 'zset', encoding: 'listpack', minVersion: 10 },
  18: { type: 'list', encoding: 'quicklist', minVersion: 10 },
  19: { type: 'stream', encoding: 'stream', minVersion: 10 },
  20: { type: 'set', encoding: 'listpack', minVersion: 11 },
  21: { type: 'stream', encoding: 'stream', minVersion: 11 },
  22: { type: 'hash', encoding: 'hashtable-ttl-pre-ga', minVersion: 12 },
  23: { type: 'hash', encoding: 'listpack-ex-pre-ga', minVersion: 12 },
  24: { type: 'hash', encoding: 'hashtable-ex', minVersion: 12 },
  25: { type: 'hash', encoding: 'listpack-ex', minVersion: 12 },
  26: { type: 'stream', encoding: 'stream', minVersion: 13 },
};

const VALKEY_TYPES: Record<number, TypeInfo> = {
  ...Object.fromEntries(Object.entries(REDIS_TYPES).filter(([k]) => Number(k) <= 21)),
  22: { type: 'hash', encoding: 'hashtable-ex', minVersion: 80 },
};

/** What a type byte means under a given magic; undefined when it is not an object type there. */
export function typeInfo(magic: 'REDIS' | 'VALKEY', typeByte: number): TypeInfo | undefined {
  return magic === 'VALKEY' ? VALKEY_TYPES[typeByte] : REDIS_TYPES[typeByte];
}

/** Highest RDB versions Ferry reads, per magic. */
export const MAX_REDIS_RDB = 13;
export const VALKEY_RDB_VERSIONS = [80, 81];

/** The encoding of a string value (type 0) from the first byte of its RDB string: LZF, an integer or raw. */
export function stringEncoding(first: number | undefined): 'lzf' | 'int' | 'raw' {
  return first === 0xc3 ? 'lzf' : first !== undefined && first >> 6 === 3 ? 'int' : 'raw';
}
