/**
 * LZF decompression (liblzf's lzf_d.c, as Redis uses it for compressed strings and quicklist nodes).
 *
 * Hand-written: the format is ~30 lines, the npm ports (lzfjs and friends) are unmaintained, copy into
 * growing arrays, and do not report where bad input went wrong. This one writes into one Buffer sized
 * by the declared raw length and checks every reference against both ends.
 *
 * Format: a control byte c. c < 32: a literal run of c+1 bytes follows. Otherwise a back-reference:
 * length c>>5 (7 means "add the next byte"), distance ((c & 31) << 8) + next byte + 1 back from the
 * output position, copying length+2 bytes; source and destination may overlap (run-length style).
 *
 * Three engines, one set of errors:
 * - native (native/crc64/lzf.c, in Ferry's addon when npm's install step could build it): reads the
 *   input Buffer and writes the result Buffer directly, no copies; it only says "failed", and the JS
 *   engine is then run on the same bytes for the error, so messages never depend on the engine. On
 *   the mixed bench import the WebAssembly engine and its copies were ~7% of Ferry's CPU.
 * - WebAssembly (lzf.wat, compiled to lzf-wasm.generated.ts): 8-byte copies with over-copy into
 *   padding, input copied into its memory and output out of it 1 MiB at a time (fixed 2.1 MiB of wasm
 *   memory, whatever the declared length). Also used by values/lzf-stream.ts for big strings.
 * - JS (the loop below): where neither is available, and the reference the tests compare with.
 *
 * Speed (shared 2-core box, Node 20, bench/lzf.bench.ts, MB/s of output, JS -> WebAssembly):
 *   30 MB of word text compressed by redis-server (ratio 0.7): 255 -> 750 whole, 273 -> 1020 streamed
 *   30 MB of JSON-like records (ratio 0.4): 457 -> 1840 whole, 423 -> 1810 streamed
 *   (whole-buffer figures include page-faulting the fresh 30 MB result, which both engines pay).
 * There is no length below which JS is used: the WebAssembly engine's fixed cost (one call, one copy
 * in, one out) is below the JS engine's (two Uint8Array views), so it is faster from the shortest
 * outputs on: 16 B 203 vs 150 MB/s, 32 B 388 vs 249, 64 B 667 vs 363, 256 B 1380 vs 549, 1 KiB
 * 1400 vs 652, 64 KiB 1770 vs 403 (2-8 B outputs, measured while choosing: 28-101 vs 25-84).
 */
import { FerryError } from '../../errors/ferry-error.js';
import { type BlobContext, corrupt } from './context.js';
import { LZF_WASM_BASE64 } from './lzf-wasm.generated.js';
import { NATIVE_ADDON } from '../native-addon.js';

/**
 * The most output LZF can make per input byte: a 3-byte back-reference yields at most 7+255+2 = 264
 * bytes, i.e. 88 per input byte, and the stream must open with a literal. Any rawLen above
 * input.length * 88 cannot be produced, so it is refused before anything is allocated (this is tighter
 * than the 8192x bound often quoted, so a hostile length forces even less allocation).
 */
export const LZF_MAX_EXPANSION = 88;
/** Redis never compresses a value this large (string and node sizes are 32-bit in the format). */
const MAX_RAW = 2 ** 32;

/**
 * Back-references at least this long and not overlapping use copyWithin (a memmove); shorter ones a
 * byte loop, which beats the call for a few dozen bytes. Literal runs (at most 32 bytes) always loop.
 */
const COPY_WITHIN_MIN = 32;

/**
 * Decompresses `input` into exactly `rawLen` bytes. The caller checks rawLen against its own limit first;
 * this function refuses rawLen that no LZF input of this size can produce.
 */
export function lzfDecompress(input: Buffer, rawLen: number, ctx: BlobContext = {}): Buffer {
  checkDeclared(input.length, rawLen, ctx);
  if (nativeInflate !== null && rawLen >= NATIVE_MIN) return inflateNative(nativeInflate, input, rawLen, ctx);
  if (shared !== null) return inflateWasm(shared, input, rawLen, ctx);
  return inflateJs(input, rawLen, ctx);
}

/**
 * Shortest output sent to the native engine: below it the N-API call (two typed-array lookups) costs
 * more than WebAssembly's copies (bench/lzf.bench.ts, MB/s native vs WebAssembly: 16 B 94 vs 131,
 * 32 B 212 vs 255, 64 B 682 vs 457, 256 B 1472 vs 1056, 1 KiB 1793 vs 1097, 64 KiB 1216 vs 1192).
 */
const NATIVE_MIN = 48;

/** lzfDecompress on the native engine whatever the length (tests and benches); null without it. */
export function lzfDecompressNative(input: Buffer, rawLen: number, ctx: BlobContext = {}): Buffer | null {
  if (nativeInflate === null) return null;
  checkDeclared(input.length, rawLen, ctx);
  return inflateNative(nativeInflate, input, rawLen, ctx);
}

function inflateNative(inflate: NativeInflate, input: Buffer, rawLen: number, ctx: BlobContext): Buffer {
  const out = Buffer.allocUnsafe(rawLen);
  if (inflate(input, out) === rawLen) return out;
  // Not a valid stream of exactly rawLen bytes: the JS engine says where and why (and throws).
  return inflateJs(input, rawLen, ctx);
}

type NativeInflate = (input: Uint8Array, output: Uint8Array) => number;

/** Why the native engine is not in use, when it is not (tests and benches). */
export let LZF_NATIVE_STATUS = 'loaded';

/**
 * The addon's LZF function, checked at load against the JS engine on a stream with a literal, an
 * overlapping run and a long reference, and on a corrupt one; null when missing or wrong.
 */
const nativeInflate: NativeInflate | null = (() => {
  const f = NATIVE_ADDON.mod?.lzfInflate;
  if (typeof f !== 'function') {
    LZF_NATIVE_STATUS = NATIVE_ADDON.mod === null ? `addon ${NATIVE_ADDON.status}` : 'addon built before LZF was added: run npm install again';
    return null;
  }
  const probe = Buffer.from([0x02, 0x61, 0x62, 0x63, 0x20, 0x00, 0xe0, 0x0a, 0x02, 0x01, 0x78, 0x79]);
  const want = inflateJs(probe, 3 + 3 + 19 + 2, {});
  const got = Buffer.alloc(want.length);
  const bad = Buffer.alloc(4);
  if (f(probe, got) !== want.length || !got.equals(want) || f(Buffer.from([0x20, 0x00]), bad) !== -1) {
    LZF_NATIVE_STATUS = 'addon gives wrong LZF output: not used';
    return null;
  }
  return f;
})();
export const LZF_NATIVE_AVAILABLE = nativeInflate !== null;

/** lzfDecompress on the JS engine only (the reference; also the engine where WebAssembly is missing). */
export function lzfDecompressJs(input: Buffer, rawLen: number, ctx: BlobContext = {}): Buffer {
  checkDeclared(input.length, rawLen, ctx);
  return inflateJs(input, rawLen, ctx);
}

/** lzfDecompress on the WebAssembly engine whatever the length (tests and benches); null without it. */
export function lzfDecompressWasm(input: Buffer, rawLen: number, ctx: BlobContext = {}): Buffer | null {
  if (shared === null) return null;
  checkDeclared(input.length, rawLen, ctx);
  return inflateWasm(shared, input, rawLen, ctx);
}

function checkDeclared(inEnd: number, rawLen: number, ctx: BlobContext): void {
  if (!Number.isSafeInteger(rawLen) || rawLen < 0 || rawLen > MAX_RAW) {
    throw corrupt(ctx, 0, `LZF: declared uncompressed length ${rawLen} is not a length between 0 and 2^32`);
  }
  if (rawLen > inEnd * LZF_MAX_EXPANSION) {
    throw corrupt(ctx, 0, `LZF: declared uncompressed length ${rawLen} cannot come from ${inEnd} compressed bytes (at most ${inEnd * LZF_MAX_EXPANSION})`);
  }
}

/**
 * The error for the instruction at input position `at`, which cannot be done with `op` bytes already
 * output: the checks in the order both engines report them (overflow of the declared length before
 * missing input for a literal; missing offset byte, then overflow, then a reference before the start).
 */
function instructionError(src: Uint8Array, at: number, op: number, rawLen: number, ctx: BlobContext): FerryError {
  const inEnd = src.length;
  const ctrl = src[at]!;
  let ip = at + 1;
  if (ctrl < 32) {
    const run = ctrl + 1;
    if (op + run > rawLen) {
      return corrupt(ctx, at, `LZF: literal run of ${run} bytes at output ${op} overflows the declared length ${rawLen}`);
    }
    return corrupt(ctx, at, `LZF: literal run of ${run} bytes needs ${run} input bytes, only ${inEnd - ip} left`);
  }
  let len = ctrl >> 5;
  if (ip >= inEnd) return corrupt(ctx, at, 'LZF: back-reference is missing its offset byte at the end of the input');
  if (len === 7) {
    len += src[ip++]!;
    if (ip >= inEnd) return corrupt(ctx, at, 'LZF: long back-reference is missing its offset byte at the end of the input');
  }
  const dist = ((ctrl & 0x1f) << 8) + src[ip]! + 1;
  len += 2;
  if (op + len > rawLen) {
    return corrupt(ctx, at, `LZF: back-reference of ${len} bytes at output ${op} overflows the declared length ${rawLen}`);
  }
  return corrupt(ctx, at, `LZF: back-reference ${dist} bytes back from output ${op} points before the start of the output`);
}

function shortOutput(inEnd: number, op: number, rawLen: number, ctx: BlobContext): FerryError {
  return corrupt(ctx, inEnd, `LZF: input decompresses to ${op} bytes, expected the declared ${rawLen}`);
}

function inflateJs(input: Buffer, rawLen: number, ctx: BlobContext): Buffer {
  const inEnd = input.length;
  const result = Buffer.allocUnsafe(rawLen);
  // Plain Uint8Array views: indexed access on them is measurably faster than on Buffer instances.
  const out = new Uint8Array(result.buffer, result.byteOffset, rawLen);
  const src = new Uint8Array(input.buffer, input.byteOffset, inEnd);
  let ip = 0;
  let op = 0;
  while (ip < inEnd) {
    const at = ip;
    const ctrl = src[ip++];
    if (ctrl < 32) {
      const run = ctrl + 1;
      if (op + run > rawLen || ip + run > inEnd) throw instructionError(src, at, op, rawLen, ctx);
      for (let i = 0; i < run; i++) out[op + i] = src[ip + i];
      ip += run;
      op += run;
    } else {
      let len = ctrl >> 5;
      if (ip >= inEnd) throw instructionError(src, at, op, rawLen, ctx);
      if (len === 7) {
        len += src[ip++];
        if (ip >= inEnd) throw instructionError(src, at, op, rawLen, ctx);
      }
      const dist = ((ctrl & 0x1f) << 8) + src[ip++] + 1;
      len += 2;
      let ref = op - dist;
      if (op + len > rawLen || ref < 0) throw instructionError(src, at, op, rawLen, ctx);
      if (dist === 1) {
        // A run of one byte (the commonest long match): fill is a memset.
        out.fill(out[ref], op, op + len);
        op += len;
      } else if (dist >= len && len >= COPY_WITHIN_MIN) {
        out.copyWithin(op, ref, ref + len);
        op += len;
      } else {
        // Overlapping copies must go byte by byte: each byte may read one this loop just wrote.
        const stop = op + len;
        while (op < stop) out[op++] = out[ref++];
      }
    }
  }
  if (op !== rawLen) throw shortOutput(inEnd, op, rawLen, ctx);
  return result;
}

// ------------------------------------------------------------------------------------------------
// The WebAssembly engine

/** The part of the WebAssembly API used here (the ES2023 lib this project compiles against lacks it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** One instance of lzf.wat: its memory and entry point (see the .wat for the layout and statuses). */
export interface LzfWasm {
  mem: Uint8Array;
  /** Returns the output position (from OUT_BASE) plus the status times 2^24 (see LZF_STATUS_SHIFT). */
  inflate(inLen: number, outPos: number, outCap: number, hist: number, rawLeft: number): number;
  /** Input position of the instruction it stopped at. */
  ip: { value: number };
}

/** inflate() returns op | status << 24. */
export const LZF_STATUS_SHIFT = 24;
export const LZF_OP_MASK = 0xffffff;
/** inflate() statuses. */
export const LZF_OK = 0;
export const LZF_NEED = 1;
export const LZF_OVERFLOW = 2;
export const LZF_BEFORE_START = 3;

/** The module's fixed layout (read from its exports): input block size, output chunk, window. */
export const LZF_LAYOUT = { IN_CAP: 0, OUT_BASE: 0, OUT_CAP: 0, WINDOW: 0 };
/** rawLeft is an i32 argument; anything above the output region is the same to the module. */
const RAW_LEFT_MAX = 0x7fffffff;

const wasmModule: object | null = (() => {
  try {
    return new WebAssembly.Module(Buffer.from(LZF_WASM_BASE64, 'base64'));
  } catch {
    return null;
  }
})();

function instantiate(): LzfWasm | null {
  if (wasmModule === null) return null;
  try {
    const e = new WebAssembly.Instance(wasmModule, {}).exports;
    const w: LzfWasm = {
      mem: new Uint8Array((e.mem as { buffer: ArrayBuffer }).buffer),
      inflate: e.inflate as LzfWasm['inflate'],
      ip: e.ip as LzfWasm['ip'],
    };
    if (LZF_LAYOUT.IN_CAP === 0) {
      LZF_LAYOUT.IN_CAP = (e.in_cap as { value: number }).value;
      LZF_LAYOUT.OUT_BASE = (e.out_base as { value: number }).value;
      LZF_LAYOUT.OUT_CAP = (e.out_cap as { value: number }).value;
      LZF_LAYOUT.WINDOW = (e.window as { value: number }).value;
    }
    return w;
  } catch {
    return null;
  }
}

/** The instance lzfDecompress uses (synchronously, so one is enough); null where WebAssembly is unavailable. */
const shared = instantiate();
export const LZF_WASM_AVAILABLE = shared !== null;

/**
 * Streams (values/lzf-stream.ts) keep their window and output chunk in an instance across awaits, so
 * each takes one of its own for its lifetime; a few are kept for reuse (2.1 MiB each).
 */
const pool: LzfWasm[] = [];
const POOL_KEEP = 2;

export function acquireLzfWasm(): LzfWasm | null {
  return pool.pop() ?? instantiate();
}

export function releaseLzfWasm(w: LzfWasm): void {
  if (pool.length < POOL_KEEP) pool.push(w);
}

/**
 * Inflates with the module, input copied in IN_CAP bytes at a time and output copied out after each
 * call (each call's output starts at OUT_BASE, the last WINDOW bytes of output kept just before it).
 */
function inflateWasm(w: LzfWasm, input: Buffer, rawLen: number, ctx: BlobContext): Buffer {
  const { IN_CAP, OUT_BASE, OUT_CAP, WINDOW } = LZF_LAYOUT;
  const inEnd = input.length;
  const src: Uint8Array = input;
  const result = Buffer.allocUnsafe(rawLen);
  const mem = w.mem;
  let inPos = 0;
  let produced = 0;
  let hist = 0;
  while (inPos < inEnd) {
    const n = Math.min(inEnd - inPos, IN_CAP);
    mem.set(n === inEnd ? input : input.subarray(inPos, inPos + n), 0);
    const r = w.inflate(n, 0, OUT_CAP, hist, Math.min(rawLen - produced, RAW_LEFT_MAX));
    const status = r >>> LZF_STATUS_SHIFT;
    const op = r & LZF_OP_MASK;
    // Where it stopped: the end of the block unless it failed or the chunk filled first.
    const at = status === LZF_OK && op < OUT_CAP ? inPos + n : inPos + w.ip.value;
    if (op > 0) result.set(mem.subarray(OUT_BASE, OUT_BASE + op), produced);
    produced += op;
    if (status !== LZF_OK) {
      if (status > LZF_BEFORE_START) throw new Error(`LZF WebAssembly engine refused its arguments (status ${status})`);
      // An instruction across the end of this block (not of the input) is done by the next call.
      if (status !== LZF_NEED || inPos + n === inEnd) throw instructionError(src, at, produced, rawLen, ctx);
    }
    inPos = at;
    if (inPos < inEnd) {
      // Old window and new output are contiguous: keep their last WINDOW bytes before OUT_BASE.
      const keep = Math.min(WINDOW, hist + op);
      if (op > 0) mem.copyWithin(OUT_BASE - keep, OUT_BASE + op - keep, OUT_BASE + op);
      hist = keep;
    }
  }
  if (produced !== rawLen) throw shortOutput(inEnd, produced, rawLen, ctx);
  return result;
}
