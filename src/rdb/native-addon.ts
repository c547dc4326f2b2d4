/**
 * Ferry's native addon (native/crc64: CRC-64 in crc64.c, LZF decompression in lzf.c, the import's
 * per-key RESP encoding in resp.c), loaded once.
 * Optional by design: npm's install step builds it where a C compiler and Node headers are there, and
 * every user of it (crc64.ts, blobs/lzf.ts, resp/native-resp.ts) checks it against its JS engine at load and falls back
 * to WebAssembly/JS when it is missing or wrong.
 */
import { createRequire } from 'node:module';

/** Everything the addon exports; each user checks what it needs (`abi`, the presence of a function). */
export interface NativeAddon {
  abi: number;
  /** 'pclmul' or 'table' (slicing-by-8), chosen by the addon from the CPU at load. */
  engine: string;
  /** [lo, hi, start, end]: the CRC in, the range to add; lo and hi out. */
  state: Float64Array;
  update(buf: Uint8Array): void;
  updateTable(buf: Uint8Array): void;
  /** Inflates LZF `input` into `output`: bytes written (output.length on success) or -1. Absent in older builds. */
  lzfInflate?: (input: Uint8Array, output: Uint8Array) => number;
  /** The RESP encoders' numbers in and out (src/resp/native-resp.ts). Absent in older builds, as are they. */
  io?: Float64Array;
  respPairs?: (dst: Uint8Array, src: Uint8Array, pos: Int32Array) => void;
  respRestore?: (dst: Uint8Array, key: Uint8Array, raw: Uint8Array, pre?: Uint8Array) => void;
  respRestoreRun?: (dst: Uint8Array, src: Uint8Array, pos: Int32Array, exp: Float64Array, vers: Uint8Array) => void;
}

export const NATIVE_ADDON: { mod: NativeAddon | null; status: string } = (() => {
  try {
    // The same relative path from src/rdb/ (tsx) and dist/rdb/ (compiled).
    const mod = createRequire(import.meta.url)('../../native/crc64/build/Release/ferry_crc64.node') as NativeAddon;
    return { mod, status: 'loaded' };
  } catch (err) {
    const e = err as Error & { code?: string };
    const status = e.code === 'MODULE_NOT_FOUND' ? 'not built (npm ci / npm install builds it; needs a C compiler and Node headers)' : `not loadable: ${e.message}`;
    return { mod: null, status };
  }
})();
