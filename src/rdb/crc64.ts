/**
 * CRC-64/Jones as Redis computes it (crc64.c): reflected polynomial 0x95AC9329AC4BC9B5, init 0,
 * no final xor. Check value: "123456789" -> 0xe9c6d914c4b8d9ca.
 *
 * Written by hand because no npm package implements this variant natively or at speed. Every byte of
 * an import is CRC'd twice (the file checksum, and each RESTORE payload's footer), so this is on the
 * hot path. Three engines, one state (two uint32 halves), chosen per call by input length
 * (thresholds measured by bench/crc64.bench.ts, figures in docs/benchmarks.md):
 * - the native addon (native/crc64, built by `npm ci`/`npm install` when a C compiler is there):
 *   PCLMULQDQ folding on x86-64 CPUs that have it, C slicing-by-8 elsewhere; it reads the caller's
 *   memory directly, and its call costs ~20 ns, so inputs from NATIVE_MIN bytes go there;
 * - without the addon, inputs of WASM_MIN bytes and more go to a WebAssembly slicing-by-8 loop over
 *   native 64-bit words (crc64.wat; about 2x the JS loop), copied into its memory 64 KiB at a time;
 * - shorter inputs (RESTORE headers and footers, small values) stay in JS, where a call out would cost
 *   more than it saves: input is consumed 8 bytes a step with slicing-by-8 tables (Redis's crcspeed).
 * A missing, unloadable or wrong addon is not an error: the other engines give the same results.
 */
import { NATIVE_ADDON, type NativeAddon } from './native-addon.js';
import { CRC64_WASM_BASE64 } from './crc64-wasm.generated.js';

const POLY = 0x95ac9329ac4bc9b5n;
const LO = new Uint32Array(8 * 256);
const HI = new Uint32Array(8 * 256);

(function buildTables() {
  const base: bigint[] = [];
  for (let n = 0; n < 256; n++) {
    let c = BigInt(n);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ POLY : c >> 1n;
    base.push(c);
  }
  for (let n = 0; n < 256; n++) {
    let c = base[n]!;
    for (let t = 0; t < 8; t++) {
      LO[t * 256 + n] = Number(c & 0xffffffffn);
      HI[t * 256 + n] = Number(c >> 32n);
      c = base[Number(c & 0xffn)]! ^ (c >> 8n);
    }
  }
})();

/** The part of the WebAssembly API used here (the ES2023 lib this project compiles against lacks it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

interface WasmCrc {
  update(ptr: number, len: number, crc: bigint): bigint;
  mem: Uint8Array;
}

const WASM_BLOCK = 65536;
/**
 * Shortest input the WebAssembly engine takes when there is no native addon: its call (BigInt in and
 * out, a copy) costs more than JS's loop below ~200 bytes (bench/crc64.bench.ts: 0.46x JS at 64 B,
 * 1.1x at 256 B, 1.7x at 1 KiB, 2.1x from 16 KiB).
 */
const WASM_MIN = 256;
/**
 * Shortest input the native addon takes: its ~20 ns call costs more than JS's loop below ~20 bytes
 * (bench/crc64.bench.ts: 0.88x JS at 16 B, 1.06x at 24 B, 1.5x at 32 B, 2.7x at 64 B, 7.4x at 256 B).
 */
const NATIVE_MIN = 24;
/** The addon's calling convention this file speaks (FERRY_CRC64_ABI in native/crc64/crc64.c). */
const NATIVE_ABI = 1;

/** Instantiated once, synchronously (the module is tiny); null where WebAssembly is unavailable. */
const wasm: WasmCrc | null = (() => {
  try {
    const mod = new WebAssembly.Module(Buffer.from(CRC64_WASM_BASE64, 'base64'));
    const inst = new WebAssembly.Instance(mod, {});
    const memory = inst.exports.mem as { buffer: ArrayBuffer };
    const mem = new Uint8Array(memory.buffer);
    const view = new DataView(memory.buffer);
    for (let i = 0; i < 8 * 256; i++) {
      view.setUint32(i * 8, LO[i]!, true);
      view.setUint32(i * 8 + 4, HI[i]!, true);
    }
    return { update: inst.exports.update as WasmCrc['update'], mem };
  } catch {
    return null;
  }
})();

/** Byte at a time over the first table: the simplest form, to check the addon with at load. */
function crcBytewise(lo: number, hi: number, buf: Uint8Array, start: number, end: number): [number, number] {
  for (let i = start; i < end; i++) {
    const idx = (lo ^ buf[i]!) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ LO[idx]!;
    hi = (hi >>> 8) ^ HI[idx]!;
  }
  return [lo >>> 0, hi >>> 0];
}

/** Why the addon is not in use, when it is not (for test skips and benches). */
let nativeStatus = NATIVE_ADDON.status;

/** Loaded once, synchronously; null when not built, not loadable here, or not giving right answers. */
const native: NativeAddon | null = (() => {
  const mod = NATIVE_ADDON.mod;
  if (mod === null) return null;
  if (mod.abi !== NATIVE_ABI) {
    nativeStatus = `stale build (ABI ${mod.abi}, want ${NATIVE_ABI}): run npm install again`;
    return null;
  }
  // A wrong build must not corrupt checksums: compare it with the byte-at-a-time table loop on the
  // check value (table path) and on 200 bytes at an odd offset (PCLMULQDQ folding, every stage).
  const probe = Buffer.alloc(203);
  for (let i = 0; i < probe.length; i++) probe[i] = (Math.imul(i + 1, 2654435761) >>> 24) & 0xff;
  probe.write('123456789', 0, 'latin1');
  for (const [start, end] of [[0, 9], [3, 203]] as const) {
    const st = mod.state;
    st[0] = 0x89abcdef;
    st[1] = 0x01234567;
    st[2] = start;
    st[3] = end;
    mod.update(probe);
    const want = crcBytewise(0x89abcdef, 0x01234567, probe, start, end);
    if (st[0] !== want[0] || st[1] !== want[1]) {
      nativeStatus = `giving wrong CRCs (${mod.engine} engine): not used`;
      return null;
    }
  }
  return mod;
})();

/** Which engines this process has. */
export const CRC64_ENGINES: { native: string | null; nativeStatus: string; wasm: boolean } = {
  native: native?.engine ?? null,
  nativeStatus,
  wasm: wasm !== null,
};

const nativeUpdate = native?.update ?? null;
const nativeState = native?.state ?? new Float64Array(4);

/** Incremental CRC-64 state. */
export class Crc64 {
  lo = 0;
  hi = 0;

  update(buf: Uint8Array, start = 0, end = buf.length): this {
    if (nativeUpdate !== null) {
      if (end - start < NATIVE_MIN) return this.updateJs(buf, start, end);
      const st = nativeState;
      st[0] = this.lo >>> 0;
      st[1] = this.hi >>> 0;
      st[2] = start;
      st[3] = end;
      nativeUpdate(buf);
      this.lo = st[0];
      this.hi = st[1];
      return this;
    }
    if (wasm !== null && end - start >= WASM_MIN) return this.updateWasm(buf, start, end);
    return this.updateJs(buf, start, end);
  }

  /**
   * The native engine whatever the length (`table`: the addon's slicing-by-8 whatever the CPU, for
   * tests and benches). Throws without the addon, and a RangeError for a range outside `buf`.
   */
  updateNative(buf: Uint8Array, start = 0, end = buf.length, engine: 'best' | 'table' = 'best'): this {
    if (native === null) throw new Error(`the native CRC-64 addon is ${nativeStatus}`);
    const st = native.state;
    st[0] = this.lo >>> 0;
    st[1] = this.hi >>> 0;
    st[2] = start;
    st[3] = end;
    if (engine === 'table') native.updateTable(buf);
    else native.update(buf);
    this.lo = st[0];
    this.hi = st[1];
    return this;
  }

  /** The WebAssembly engine whatever the length. Throws where WebAssembly is unavailable. */
  updateWasm(buf: Uint8Array, start = 0, end = buf.length): this {
    if (wasm === null) throw new Error('WebAssembly is unavailable');
    let crc = (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
    for (let i = start; i < end; i += WASM_BLOCK) {
      const n = Math.min(WASM_BLOCK, end - i);
      wasm.mem.set(buf.subarray(i, i + n), WASM_BLOCK);
      crc = wasm.update(WASM_BLOCK, n, crc);
    }
    crc = BigInt.asUintN(64, crc);
    this.lo = Number(crc & 0xffffffffn);
    this.hi = Number(crc >> 32n);
    return this;
  }

  /** The JS engine (also the reference the tests compare the others with). */
  updateJs(buf: Uint8Array, start = 0, end = buf.length): this {
    let lo = this.lo;
    let hi = this.hi;
    let i = start;
    const end8 = start + ((end - start) & ~7);
    while (i < end8) {
      lo ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
      hi ^= buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
      const l =
        LO[1792 + (lo & 0xff)]! ^ LO[1536 + ((lo >>> 8) & 0xff)]! ^ LO[1280 + ((lo >>> 16) & 0xff)]! ^ LO[1024 + (lo >>> 24)]! ^
        LO[768 + (hi & 0xff)]! ^ LO[512 + ((hi >>> 8) & 0xff)]! ^ LO[256 + ((hi >>> 16) & 0xff)]! ^ LO[hi >>> 24]!;
      const h =
        HI[1792 + (lo & 0xff)]! ^ HI[1536 + ((lo >>> 8) & 0xff)]! ^ HI[1280 + ((lo >>> 16) & 0xff)]! ^ HI[1024 + (lo >>> 24)]! ^
        HI[768 + (hi & 0xff)]! ^ HI[512 + ((hi >>> 8) & 0xff)]! ^ HI[256 + ((hi >>> 16) & 0xff)]! ^ HI[hi >>> 24]!;
      lo = l;
      hi = h;
      i += 8;
    }
    while (i < end) {
      const idx = (lo ^ buf[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ LO[idx]!;
      hi = (hi >>> 8) ^ HI[idx]!;
      i++;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this;
  }

  /** The CRC as an unsigned 64-bit bigint. */
  value(): bigint {
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }

  /** The CRC as 8 little-endian bytes (how RDB files and DUMP payloads store it). */
  bytesLE(): Buffer {
    const b = Buffer.allocUnsafe(8);
    b.writeUInt32LE(this.lo >>> 0, 0);
    b.writeUInt32LE(this.hi >>> 0, 4);
    return b;
  }
}

export function crc64(buf: Uint8Array): bigint {
  return new Crc64().update(buf).value();
}
