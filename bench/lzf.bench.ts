/**
 * LZF inflation engines (src/rdb/blobs/lzf.ts and src/rdb/values/lzf-stream.ts): MB/s of output for
 * the JS, WebAssembly and native (the addon's lzf.c, when built) engines, JS measured in the same run
 * as the anchor (ratio = engine MB/s / JS MB/s). The native engine has no streamed form (big strings
 * stream through WebAssembly), so it has whole and small figures only.
 *
 * - Big: a ~30 MB compressible string inflated whole (lzfDecompress's engines) and streamed
 *   (inflateLzfStream from 256 KiB input chunks, output in ~1 MiB chunks, as big strings are parsed).
 *   Two inputs: word text compressed by redis-server (DUMP; its own LZF compressor, ratio ~0.7) and
 *   JSON-like records compressed by the tests' JS compressor (ratio ~0.4).
 * - Small: outputs of 16 B to 64 KiB (word text), the sizes of small LZF strings and list nodes: they
 *   show whether the JS engine should keep short outputs (where copying into and out of WebAssembly
 *   memory could cost more than it saves). So far it should not: see lzf.ts.
 *
 * Each engine runs in a child process of its own, so the JIT sees one engine per call site as Ferry's
 * code does. Bounded: a few seconds per engine.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { lzfDecompressJs, lzfDecompressNative, lzfDecompressWasm, LZF_NATIVE_AVAILABLE, LZF_NATIVE_STATUS, LZF_WASM_AVAILABLE } from '../src/rdb/blobs/lzf.js';
import { readRdbLengthAt } from '../src/rdb/blobs/index.js';
import { inflateLzfStream } from '../src/rdb/values/lzf-stream.js';
import { ByteSource } from '../src/io/byte-source.js';
import { Gen, dumpPayload } from '../test/helpers/make-rdb.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { lzfCompress } from '../test/unit/blobs-support.js';
import type { BenchContext } from './harness.js';

export const name = 'lzf';

type Engine = 'js' | 'wasm' | 'native';
const DIR = fileURLToPath(new URL('../.tmp/lzf-bench/', import.meta.url));
const BIG = 30_000_000;
const SMALL_SIZES = [16, 32, 64, 256, 1024, 16 * 1024, 64 * 1024];
const ROUNDS = 3;

interface BigInput {
  what: string;
  /** File under .tmp/lzf-bench/ holding the compressed bytes. */
  file: string;
  rawLen: number;
}

export interface EngineResult {
  /** Per big input: whole-buffer and streamed MB/s of output. */
  big: { whole: number; stream: number }[];
  /** MB/s per SMALL_SIZES entry. */
  small: number[];
}

function words(g: Gen, n: number): string[] {
  return Array.from({ length: n }, () => g.word(g.int(2, 10)));
}

function text(g: Gen, n: number, vocabulary: string[]): Buffer {
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  while (o < n) {
    o += out.write(vocabulary[g.int(0, vocabulary.length - 1)]!, o, 'latin1');
    if (o < n) out[o++] = 0x20;
  }
  return out;
}

function json(g: Gen, n: number, vocabulary: string[]): Buffer {
  const parts: string[] = [];
  let len = 0;
  for (let id = 0; len < n; id++) {
    const s = `{"id":${id},"name":"${vocabulary[g.int(0, vocabulary.length - 1)]}","tags":["${vocabulary[g.int(0, 99)]}","${vocabulary[g.int(0, 99)]}"],"score":${g.int(0, 100_000)}},`;
    parts.push(s);
    len += s.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

/** Parent side: the big inputs, written once per run (redis-server compresses the text). */
async function prepare(ctx: BenchContext): Promise<BigInput[]> {
  await mkdir(DIR, { recursive: true });
  const g = new Gen(30);
  const vocabulary = words(g, 2000);
  const inputs: BigInput[] = [];
  const t = text(g, BIG, vocabulary);
  try {
    const server = await startRedis();
    try {
      const client = server.client();
      await client.set('big', t);
      const { raw } = await dumpPayload(client, 'big');
      client.disconnect();
      if (raw[0] !== 0xc3) throw new Error('redis-server did not LZF-compress the value');
      const clen = readRdbLengthAt(raw, 1);
      const rawLen = readRdbLengthAt(raw, clen.end);
      await writeFile(`${DIR}text-redis.lzf`, raw.subarray(rawLen.end, rawLen.end + clen.value));
      inputs.push({ what: 'text (redis-server LZF)', file: 'text-redis.lzf', rawLen: rawLen.value });
    } finally {
      await server.stop();
    }
  } catch (err) {
    ctx.skip('text compressed by redis-server', (err as Error).message);
    await writeFile(`${DIR}text-js.lzf`, lzfCompress(t));
    inputs.push({ what: 'text (JS LZF)', file: 'text-js.lzf', rawLen: BIG });
  }
  await writeFile(`${DIR}json-js.lzf`, lzfCompress(json(g, BIG, vocabulary)));
  inputs.push({ what: 'JSON (JS LZF)', file: 'json-js.lzf', rawLen: BIG });
  return inputs;
}

/** Child side: MB/s of output of one engine on every input (best of a few rounds). */
export async function measureEngine(a: { engine: Engine; inputs: BigInput[] }): Promise<EngineResult> {
  const inflate = a.engine === 'js' ? lzfDecompressJs : a.engine === 'native' ? (b: Buffer, n: number) => lzfDecompressNative(b, n)! : (b: Buffer, n: number) => lzfDecompressWasm(b, n)!;
  const big: EngineResult['big'] = [];
  for (const input of a.inputs) {
    const data = await readFile(`${DIR}${input.file}`);
    let whole = 0;
    for (let r = 0; r < ROUNDS + 1; r++) {
      const t0 = performance.now();
      const out = inflate(data, input.rawLen);
      const s = (performance.now() - t0) / 1000;
      if (out.length !== input.rawLen) throw new Error('wrong length');
      if (r > 0) whole = Math.max(whole, input.rawLen / s / 1e6); // round 0 warms up
    }
    let stream = 0;
    for (let r = 0; r < ROUNDS + 1 && a.engine !== 'native'; r++) {
      async function* chunks(): AsyncGenerator<Buffer> {
        for (let i = 0; i < data.length; i += 256 * 1024) yield data.subarray(i, i + 256 * 1024);
      }
      const src = new ByteSource(chunks(), { name: input.file });
      let n = 0;
      const t0 = performance.now();
      for await (const c of inflateLzfStream(src, data.length, input.rawLen, { key: 'big', magic: 'REDIS', rdbVersion: 11 }, a.engine === 'js' ? 'js' : 'wasm')) n += c.length;
      const s = (performance.now() - t0) / 1000;
      if (n !== input.rawLen) throw new Error('wrong length');
      if (r > 0) stream = Math.max(stream, input.rawLen / s / 1e6);
    }
    big.push({ whole, stream });
  }
  // Small outputs: 64 different values per size, cycled (their bytes stay in cache, as a value just
  // parsed does), timed in 40 ms rounds.
  const g = new Gen(31);
  const vocabulary = words(g, 200);
  const small: number[] = [];
  for (const size of SMALL_SIZES) {
    const items = Array.from({ length: 64 }, () => {
      const v = text(g, size, vocabulary);
      return { c: lzfCompress(v), n: v.length };
    });
    let best = 0;
    for (let r = 0; r < ROUNDS + 2; r++) {
      let bytes = 0;
      const t0 = performance.now();
      let t = t0;
      do {
        for (let k = 0; k < 256; k++) {
          const it = items[k & 63]!;
          bytes += inflate(it.c, it.n).length;
        }
        t = performance.now();
      } while (t - t0 < 40);
      if (r > 0) best = Math.max(best, bytes / ((t - t0) / 1000) / 1e6);
    }
    small.push(best);
  }
  return { big, small };
}

export async function run(ctx: BenchContext): Promise<void> {
  if (!LZF_WASM_AVAILABLE) {
    ctx.skip('lzf', 'WebAssembly is unavailable: only the JS engine would run');
    return;
  }
  const inputs = await prepare(ctx);
  const results = new Map<Engine, EngineResult>();
  if (!LZF_NATIVE_AVAILABLE) ctx.skip('lzf native', `the native engine is not in use: ${LZF_NATIVE_STATUS}`);
  for (const engine of LZF_NATIVE_AVAILABLE ? (['js', 'wasm', 'native'] as const) : (['js', 'wasm'] as const)) {
    const { runs } = await ctx.best(() => ctx.inChild<EngineResult>('bench/lzf.bench.ts', 'measureEngine', { engine, inputs }), () => 0);
    // Best of the --repeat runs, figure by figure.
    results.set(engine, {
      big: inputs.map((_, i) => ({ whole: Math.max(...runs.map((r) => r.result.big[i]!.whole)), stream: Math.max(...runs.map((r) => r.result.big[i]!.stream)) })),
      small: SMALL_SIZES.map((_, i) => Math.max(...runs.map((r) => r.result.small[i]!))),
    });
  }
  const js = results.get('js')!;
  const wasm = results.get('wasm')!;
  const pair = (label: string, j: number, w: number, note?: string): void => {
    ctx.figure({ name: `lzf js ${label}`, value: j, unit: 'MB/s', ...(note ? { note } : {}) });
    ctx.figure({
      name: `lzf wasm ${label}`, value: w, unit: 'MB/s',
      anchor: { name: `js ${label}`, value: j, unit: 'MB/s' }, ratio: w / j, ratioMeaning: 'WebAssembly MB/s / JS MB/s (output)',
    });
  };
  const native = results.get('native');
  const nativeFigure = (label: string, j: number, n: number): void => {
    ctx.figure({ name: `lzf native ${label}`, value: n, unit: 'MB/s', anchor: { name: `js ${label}`, value: j, unit: 'MB/s' }, ratio: n / j, ratioMeaning: 'native MB/s / JS MB/s (output)' });
  };
  inputs.forEach((input, i) => {
    const mb = (input.rawLen / 1e6).toFixed(0);
    pair(`${input.what} ${mb} MB whole`, js.big[i]!.whole, wasm.big[i]!.whole);
    if (native) nativeFigure(`${input.what} ${mb} MB whole`, js.big[i]!.whole, native.big[i]!.whole);
    pair(`${input.what} ${mb} MB streamed`, js.big[i]!.stream, wasm.big[i]!.stream);
  });
  SMALL_SIZES.forEach((size, i) => {
    const label = `text ${size >= 1024 ? `${size >> 10} KiB` : `${size} B`}`;
    pair(label, js.small[i]!, wasm.small[i]!);
    if (native) nativeFigure(label, js.small[i]!, native.small[i]!);
  });
}
