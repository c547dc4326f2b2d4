/**
 * Synchronous RDB primitives over a ByteSource (formats reference §1.5-§1.7). Each throws SHORT when
 * bytes are missing (the caller rewinds and waits) and a typed error when the bytes are wrong.
 */
import { type ByteSource } from '../io/byte-source.js';
import { FerryError } from '../errors/ferry-error.js';
import { lzfDecompress } from './blobs/index.js';

export interface ReadLimits {
  /** Largest string (or blob) a single read may materialize. */
  maxString: number;
  /** Total input size when known: lengths past the end are refused at once instead of read for. */
  inputSize: number | null;
}

export const DEFAULT_LIMITS: ReadLimits = { maxString: 512 * 1024 * 1024, inputSize: null };

const TWO32 = 0x100000000;

/** A length (§1.5). Special string encodings are an error here. */
export function readLength(src: ByteSource): number {
  const b = src.u8();
  switch (b >> 6) {
    case 0:
      return b & 0x3f;
    case 1:
      return ((b & 0x3f) << 8) | src.u8();
    case 2:
      if (b === 0x80) return src.u32be();
      if (b === 0x81) {
        const hi = src.u32be();
        const lo = src.u32be();
        if (hi > 0x1fffff) throw src.corrupt(`64-bit length ${hi * TWO32 + lo} is beyond what any input can hold`, { offset: src.offset - 9 });
        return hi * TWO32 + lo;
      }
      throw src.corrupt(`invalid length prefix byte 0x${b.toString(16)}`, { offset: src.offset - 1 });
    default:
      throw src.corrupt(`expected a length, found a string encoding byte 0x${b.toString(16)}`, { offset: src.offset - 1 });
  }
}

/** A length read as bigint (stream IDs use the full 64 bits). */
export function readLengthBig(src: ByteSource): bigint {
  const b = src.peekU8();
  if (b === 0x81) {
    src.u8();
    return src.u64be();
  }
  return BigInt(readLength(src));
}

function checkLen(src: ByteSource, len: number, limits: ReadLimits, what: string): void {
  if (len > limits.maxString) {
    throw new FerryError('RDB_LIMIT_EXCEEDED', `${what} of ${len} bytes is above the limit of ${limits.maxString}`, { file: src.name, offset: src.offset });
  }
  if (limits.inputSize !== null && src.offset + len > limits.inputSize) {
    throw new FerryError('RDB_TRUNCATED', `${what} of ${len} bytes runs past the end of the input (${limits.inputSize - src.offset} bytes left)`, { file: src.name, offset: src.offset });
  }
}

/** How a string is stored; returned by readStringHeader for callers that stream big strings. */
export const STR_RAW = 0;
export const STR_INT = 1;
export const STR_LZF = 2;

/** An RDB string (§1.6) as bytes: raw views are zero-copy, ints become decimal text, LZF is inflated. */
export function readString(src: ByteSource, limits: ReadLimits = DEFAULT_LIMITS): Buffer {
  const b = src.u8();
  const kind = b >> 6;
  if (kind !== 3) {
    src.pos--;
    const len = readLength(src);
    checkLen(src, len, limits, 'string');
    return src.bytes(len);
  }
  switch (b & 0x3f) {
    case 0:
      return Buffer.from(String((src.u8() << 24) >> 24));
    case 1: {
      const v = src.u16le();
      return Buffer.from(String((v << 16) >> 16));
    }
    case 2:
      return Buffer.from(String(src.i32le()));
    case 3: {
      const start = src.offset - 1;
      const clen = readLength(src);
      const rawLen = readLength(src);
      checkLen(src, clen, limits, 'compressed string');
      if (rawLen > limits.maxString) {
        throw new FerryError('RDB_LIMIT_EXCEEDED', `LZF string of ${rawLen} bytes is above the limit of ${limits.maxString}`, { file: src.name, offset: start });
      }
      const data = src.bytes(clen);
      return lzfDecompress(data, rawLen, { file: src.name, offset: src.offset - clen });
    }
    default:
      throw src.corrupt(`unknown string encoding 0x${b.toString(16)}`, { offset: src.offset - 1 });
  }
}

/** Skips an RDB string without materializing it; returns the encoding kind. */
export function skipString(src: ByteSource, limits: ReadLimits = DEFAULT_LIMITS): number {
  const b = src.u8();
  if (b >> 6 !== 3) {
    src.pos--;
    const len = readLength(src);
    checkLen(src, len, limits, 'string');
    src.skip(len);
    return STR_RAW;
  }
  switch (b & 0x3f) {
    case 0:
      src.skip(1);
      return STR_INT;
    case 1:
      src.skip(2);
      return STR_INT;
    case 2:
      src.skip(4);
      return STR_INT;
    case 3: {
      const clen = readLength(src);
      readLength(src);
      checkLen(src, clen, limits, 'compressed string');
      src.skip(clen);
      return STR_LZF;
    }
    default:
      throw src.corrupt(`unknown string encoding 0x${b.toString(16)}`, { offset: src.offset - 1 });
  }
}

/** A double stored as text with a one-byte length (ZSET type 3, old module values). */
export function readStringDouble(src: ByteSource): number {
  const len = src.u8();
  if (len === 253) return NaN;
  if (len === 254) return Infinity;
  if (len === 255) return -Infinity;
  const text = src.bytes(len).toString('latin1');
  const v = parseScore(text);
  if (Number.isNaN(v)) throw src.corrupt(`invalid double text ${JSON.stringify(text)}`);
  return v;
}

/** Parses a score as Redis prints it ("inf", "-inf", "1.5", "1e300"). NaN when it is not a number. */
export function parseScore(text: string): number {
  switch (text) {
    case 'inf':
    case '+inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    default: {
      if (text.length === 0) return NaN;
      const v = Number(text);
      return v;
    }
  }
}

/** Module type name and encoding version from a 64-bit module id (9 chars x 6 bits + 10-bit encver). */
const MODULE_CHARSET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
export function moduleIdToName(id: bigint): { name: string; encver: number; id: bigint } {
  let name = '';
  for (let i = 0; i < 9; i++) {
    const shift = BigInt(64 - 6 * (i + 1));
    name += MODULE_CHARSET[Number((id >> shift) & 63n)];
  }
  return { name, encver: Number(id & 1023n), id };
}

/**
 * Skips one module opcode's value (opcodes 1 SINT / 2 UINT: a 64-bit length; 3 FLOAT: 4 bytes;
 * 4 DOUBLE: 8 bytes; 5 STRING: an RDB string). Returns false for the EOF opcode 0.
 */
export function skipModuleValue(src: ByteSource, limits: ReadLimits): boolean {
  const at = src.offset;
  const op = Number(readLengthBig(src));
  switch (op) {
    case 0:
      return false;
    case 1:
    case 2:
      readLengthBig(src);
      return true;
    case 3:
      src.skip(4);
      return true;
    case 4:
      src.skip(8);
      return true;
    case 5:
      skipString(src, limits);
      return true;
    default:
      throw src.corrupt(`unknown module value opcode ${op}`, { offset: at });
  }
}

/** Skips a module opcode stream (MODULE_2 values, MODULE_AUX, KEY_META) up to its EOF opcode (0). */
export function skipModuleOpcodes(src: ByteSource, limits: ReadLimits): void {
  while (skipModuleValue(src, limits));
}

/** Where a blob's bytes are, for decoder error offsets (see blobs/context.ts). */
export interface BlobAt {
  blob: Buffer;
  /** Offset of the blob's first byte; for an LZF-compressed blob, of its compressed string. */
  offset: number;
  inflated: boolean;
}

/** Reads a string that holds an inner structure (ziplist, listpack, intset, zipmap). */
export function readBlob(src: ByteSource, limits: ReadLimits): BlobAt {
  const start = src.offset;
  const inflated = src.peekU8() === 0xc3;
  if (inflated) return { blob: readString(src, limits), offset: start, inflated };
  const blob = readString(src, limits);
  return { blob, offset: src.offset - blob.length, inflated };
}
