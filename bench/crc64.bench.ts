/**
 * CRC-64/Jones engines (src/rdb/crc64.ts): MB/s of each engine at input sizes from RESTORE-payload
 * size to file-chunk size, beside the JS engine measured in the same run (the anchor; ratio =
 * engine MB/s / JS MB/s). Every byte of an import is CRC'd twice, so these figures choose the length
 * thresholds in crc64.ts (NATIVE_MIN, WASM_MIN): an engine is worth calling from the length where its
 * ratio passes 1.
 *
 * Engines: `js` (two uint32 halves, slicing-by-8), `wasm` (slicing-by-8 on i64, input copied in),
 * `native` (the addon's best engine for this CPU: PCLMULQDQ folding on x86-64), `native-table` (the
 * addon's C slicing-by-8, what CPUs without PCLMULQDQ get) and `update` (Crc64.update as Ferry calls
 * it, thresholds included). Each engine runs in a child process of its own, so the JIT sees one
 * engine per call site, as Ferry's code does. Bounded: about 0.1 s per engine and size.
 */
import { CRC64_ENGINES, Crc64 } from '../src/rdb/crc64.js';
import type { BenchContext } from './harness.js';

export const name = 'crc64';

type Engine = 'js' | 'wasm' | 'native' | 'native-table' | 'update';
const SIZES = [16, 24, 32, 64, 256, 512, 1024, 16 * 1024, 1024 * 1024];
const ROUNDS = 3;
const ROUND_SECONDS = 0.03;

export interface EngineResult {
  /** MB/s per size (same order as SIZES); null when the engine is unavailable. */
  mbps: (number | null)[];
  check: string;
}

/** Child-side: MB/s of one engine at every size (best of a few short rounds). */
export async function measureEngine(a: { engine: Engine }): Promise<EngineResult> {
  const c = new Crc64();
  const step: Record<Engine, (buf: Buffer, s: number, e: number) => void> = {
    js: (b, s, e) => void c.updateJs(b, s, e),
    wasm: (b, s, e) => void c.updateWasm(b, s, e),
    native: (b, s, e) => void c.updateNative(b, s, e),
    'native-table': (b, s, e) => void c.updateNative(b, s, e, 'table'),
    update: (b, s, e) => void c.update(b, s, e),
  };
  if ((a.engine === 'native' || a.engine === 'native-table') && CRC64_ENGINES.native === null) return { mbps: SIZES.map(() => null), check: '' };
  if (a.engine === 'wasm' && !CRC64_ENGINES.wasm) return { mbps: SIZES.map(() => null), check: '' };
  const fn = step[a.engine];
  // Inputs walk a window that fits in L2 for small sizes (payload bytes were just parsed, so cached)
  // and spans 8 MB for 1 MiB inputs (file chunks come from the page cache, not from L2).
  const data = Buffer.allocUnsafe(8 << 20);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(Math.imul(i + 1, 2654435761) >>> 0, i);
  const mbps: number[] = [];
  for (const size of SIZES) {
    const window = Math.min(data.length, Math.max(256 << 10, 8 * size));
    const slots = Math.floor((window - size) / 64) + 1;
    let slot = 0;
    const batch = Math.max(1, Math.floor((1 << 20) / size));
    let best = 0;
    for (let r = 0; r < ROUNDS + 1; r++) {
      let bytes = 0;
      const t0 = performance.now();
      let t = t0;
      do {
        for (let i = 0; i < batch; i++) {
          const s = slot * 64;
          fn(data, s, s + size);
          if (++slot === slots) slot = 0;
        }
        bytes += batch * size;
        t = performance.now();
      } while (t - t0 < ROUND_SECONDS * 1000);
      if (r > 0) best = Math.max(best, bytes / ((t - t0) / 1000) / 1e6); // round 0 warms up
    }
    mbps.push(best);
  }
  return { mbps, check: c.value().toString(16) };
}

export async function run(ctx: BenchContext): Promise<void> {
  ctx.log(`native addon: ${CRC64_ENGINES.native ?? CRC64_ENGINES.nativeStatus}; WebAssembly: ${CRC64_ENGINES.wasm ? 'yes' : 'no'}`);
  if (CRC64_ENGINES.native === null) ctx.skip('native engines', `the addon is ${CRC64_ENGINES.nativeStatus}`);
  const engines: Engine[] = ['js', 'wasm', 'native', 'native-table', 'update'];
  const results = new Map<Engine, (number | null)[]>();
  for (const engine of engines) {
    const { runs } = await ctx.best(() => ctx.inChild<EngineResult>('bench/crc64.bench.ts', 'measureEngine', { engine }), () => 0);
    // Best of the --repeat runs, per size.
    results.set(engine, SIZES.map((_, i) => Math.max(...runs.map((r) => r.result.mbps[i] ?? 0)) || null));
  }
  const js = results.get('js')!;
  SIZES.forEach((size, i) => {
    const label = size >= 1 << 20 ? `${size >> 20} MiB` : size >= 1024 ? `${size >> 10} KiB` : `${size} B`;
    ctx.figure({ name: `crc64 js ${label}`, value: js[i]!, unit: 'MB/s' });
    for (const engine of engines.slice(1)) {
      const v = results.get(engine)![i];
      if (v == null) continue;
      ctx.figure({
        name: `crc64 ${engine} ${label}`, value: v, unit: 'MB/s',
        anchor: { name: `js ${label}`, value: js[i]!, unit: 'MB/s' },
        ratio: v / js[i]!, ratioMeaning: 'engine MB/s / JS engine MB/s',
        ...(engine === 'native' ? { note: CRC64_ENGINES.native ?? '' } : {}),
      });
    }
  });
}
