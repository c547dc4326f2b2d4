/**
 * Finds the extent of a serialized value without decoding it: the fast path behind RESTORE, where the
 * raw bytes are passed on untouched and only lengths are walked. Also tells whether the value is
 * empty (an empty collection, which Redis refuses to load), from counts and blob headers alone.
 */
import { SHORT, type ByteSource } from '../io/byte-source.js';
import { readLength, readLengthBig, skipString, skipModuleOpcodes, type ReadLimits, STR_RAW } from './primitives.js';

/** Result flags of a skip; `strEncoding` is set for type 0 (raw/int/lzf). */
export interface SkipResult {
  empty: boolean;
  strEncoding: number;
}

const out: SkipResult = { empty: false, strEncoding: STR_RAW };

/** Peeks the element count in a blob header (ziplist, listpack, intset, zipmap); -1 when unknown. */
function blobCount(src: ByteSource, limits: ReadLimits, kind: 'ziplist' | 'listpack' | 'intset' | 'zipmap'): number {
  const b = src.peekU8();
  if (b >> 6 === 3) {
    skipString(src, limits); // int or LZF-compressed blob: count not visible without inflating
    return -1;
  }
  const len = readLength(src);
  const at = src.pos;
  src.skip(len);
  const buf = src.buf;
  switch (kind) {
    case 'ziplist':
      return len >= 10 ? buf.readUInt16LE(at + 8) : -1;
    case 'listpack':
      return len >= 6 ? buf.readUInt16LE(at + 4) : -1;
    case 'intset':
      return len >= 8 ? buf.readUInt32LE(at + 4) : -1;
    case 'zipmap':
      return len >= 1 ? buf[at]! : -1;
  }
}

/**
 * A short read inside a collection of `n` elements, `i` of them skipped since `start`: sets
 * SHORT.hint to the rest's estimated size (the mean element so far, plus a tenth), so the parser
 * buffers a big value in one or two more reads; each retry re-walks the value from its start, and
 * doubling from 64 KiB walked a 500,000-field hash some twenty times. Returns `err` to rethrow.
 */
function hintRest(err: unknown, src: ByteSource, start: number, i: number, n: number): unknown {
  if (err === SHORT && i > 0) SHORT.hint = Math.ceil(((src.pos - start) / i) * (n - i) * 1.1);
  return err;
}

/** Advances past one value of `typeByte`; throws SHORT when incomplete. */
export function skipValue(src: ByteSource, typeByte: number, magic: 'REDIS' | 'VALKEY', limits: ReadLimits): SkipResult {
  out.empty = false;
  out.strEncoding = STR_RAW;
  switch (typeByte) {
    case 0:
      out.strEncoding = skipString(src, limits);
      return out;
    case 1:
    case 2: {
      const n = readLength(src);
      const start = src.pos;
      let i = 0;
      try {
        for (; i < n; i++) skipString(src, limits);
      } catch (err) {
        throw hintRest(err, src, start, i, n);
      }
      out.empty = n === 0;
      return out;
    }
    case 3: {
      const n = readLength(src);
      const start = src.pos;
      let i = 0;
      try {
        for (; i < n; i++) {
          skipString(src, limits);
          const l = src.u8();
          if (l < 253) src.skip(l);
        }
      } catch (err) {
        throw hintRest(err, src, start, i, n);
      }
      out.empty = n === 0;
      return out;
    }
    case 4: {
      const n = readLength(src);
      const start = src.pos;
      let i = 0;
      try {
        for (; i < n; i++) {
          skipString(src, limits);
          skipString(src, limits);
        }
      } catch (err) {
        throw hintRest(err, src, start, i, n);
      }
      out.empty = n === 0;
      return out;
    }
    case 5: {
      const n = readLength(src);
      const start = src.pos;
      let i = 0;
      try {
        for (; i < n; i++) {
          skipString(src, limits);
          src.skip(8);
        }
      } catch (err) {
        throw hintRest(err, src, start, i, n);
      }
      out.empty = n === 0;
      return out;
    }
    case 7:
      readLengthBig(src);
      skipModuleOpcodes(src, limits);
      return out;
    case 9:
      out.empty = blobCount(src, limits, 'zipmap') === 0;
      return out;
    case 10:
    case 12:
    case 13:
      out.empty = blobCount(src, limits, 'ziplist') === 0;
      return out;
    case 11:
      out.empty = blobCount(src, limits, 'intset') === 0;
      return out;
    case 14: {
      // Redis drops empty ziplist nodes and then a list left with none: so do we.
      const n = readLength(src);
      let live = 0;
      for (let i = 0; i < n; i++) if (blobCount(src, limits, 'ziplist') !== 0) live++;
      out.empty = live === 0;
      return out;
    }
    case 16:
    case 17:
    case 20:
    case 23:
      out.empty = blobCount(src, limits, 'listpack') === 0;
      return out;
    case 18: {
      const n = readLength(src);
      let live = 0;
      for (let i = 0; i < n; i++) {
        const container = readLength(src);
        if (container === 2 ? blobCount(src, limits, 'listpack') !== 0 : (skipString(src, limits), true)) live++;
      }
      out.empty = live === 0;
      return out;
    }
    case 15:
    case 19:
    case 21:
    case 26:
      skipStream(src, typeByte, limits);
      return out;
    case 22:
      if (magic === 'VALKEY') {
        const n = readLength(src);
        for (let i = 0; i < n; i++) {
          skipString(src, limits);
          skipString(src, limits);
          src.skip(8);
        }
        out.empty = n === 0;
      } else {
        const n = readLength(src);
        for (let i = 0; i < n; i++) {
          readLengthBig(src);
          skipString(src, limits);
          skipString(src, limits);
        }
        out.empty = n === 0;
      }
      return out;
    case 24: {
      src.skip(8);
      const n = readLength(src);
      for (let i = 0; i < n; i++) {
        readLengthBig(src);
        skipString(src, limits);
        skipString(src, limits);
      }
      out.empty = n === 0;
      return out;
    }
    case 25:
      src.skip(8);
      out.empty = blobCount(src, limits, 'listpack') === 0;
      return out;
    default:
      throw src.corrupt(`no skip rule for type ${typeByte}`);
  }
}

function skipStream(src: ByteSource, typeByte: number, limits: ReadLimits): void {
  const nodes = readLength(src);
  for (let i = 0; i < nodes; i++) {
    skipString(src, limits);
    skipString(src, limits);
  }
  readLength(src); // length
  readLengthBig(src);
  readLengthBig(src); // last id
  if (typeByte >= 19) {
    readLengthBig(src);
    readLengthBig(src); // first id
    readLengthBig(src);
    readLengthBig(src); // max deleted id
    readLengthBig(src); // entries added
  }
  const groups = readLength(src);
  for (let g = 0; g < groups; g++) {
    skipString(src, limits);
    readLengthBig(src);
    readLengthBig(src);
    if (typeByte >= 19) readLengthBig(src); // entries read
    const pel = readLength(src);
    for (let p = 0; p < pel; p++) {
      src.skip(16 + 8);
      readLength(src);
    }
    const consumers = readLength(src);
    for (let c = 0; c < consumers; c++) {
      skipString(src, limits);
      src.skip(8);
      if (typeByte >= 21) src.skip(8);
      const n = readLength(src);
      src.skip(16 * n);
    }
  }
  if (typeByte >= 26) skipStreamIdmp(src, limits);
}

/** Redis 8.6 (RDB 13) stream IDMP block; layout per librdb PR #93. */
export function skipStreamIdmp(src: ByteSource, limits: ReadLimits): void {
  readIdmp(src, limits);
}

import { readIdmp } from './values/stream-idmp.js';
