/**
 * lzfDecompress on real LZF data written by redis-server (DUMP of compressible strings, which Redis
 * saves LZF-compressed), on the corpus's compressed key, and on hand-made bad streams; then the
 * corruption harness over a real compressed blob.
 *
 * Then the two engines (WebAssembly and JS) side by side, whole-buffer and streaming
 * (values/lzf-stream.ts): the same output on real and random data, the same error (code, message,
 * offset) for every truncation, mutation and declared length, streams split at every input boundary,
 * a 20 MB input, and the generated WebAssembly module matching lzf.wat.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startRedis, CORPUS, type RedisServer } from '../helpers/redis-server.js';
import { dumpPayload, Gen } from '../helpers/make-rdb.js';
import { lzfDecompress, readRdbLengthAt, readRdbStringAt, LZF_MAX_EXPANSION } from '../../src/rdb/blobs/index.js';
import { lzfDecompressJs, lzfDecompressNative, lzfDecompressWasm, LZF_NATIVE_AVAILABLE, LZF_NATIVE_STATUS, LZF_WASM_AVAILABLE, acquireLzfWasm, releaseLzfWasm } from '../../src/rdb/blobs/lzf.js';
import type { BlobContext } from '../../src/rdb/blobs/context.js';
import { inflateLzfStream, type LzfStreamEngine } from '../../src/rdb/values/lzf-stream.js';
import { ByteSource } from '../../src/io/byte-source.js';
import { FerryError } from '../../src/errors/ferry-error.js';
import { assertCorrupt, fuzzDecoder, lzfCompress, oldRdbValues } from './blobs-support.js';

let server: RedisServer;
let client: Redis;

before(async () => {
  server = await startRedis();
  client = server.client();
});
after(async () => {
  await server.stop();
});

/** The LZF part of a string DUMP: compressed bytes and declared raw length. */
async function lzfOf(key: string): Promise<{ data: Buffer; rawLen: number }> {
  const { typeByte, raw } = await dumpPayload(client, key);
  assert.equal(typeByte, 0);
  assert.equal(raw[0], 0xc3, `${key}: Redis did not LZF-compress it`);
  const clen = readRdbLengthAt(raw, 1);
  const rawLen = readRdbLengthAt(raw, clen.end);
  const data = raw.subarray(rawLen.end, rawLen.end + clen.value);
  assert.equal(rawLen.end + clen.value, raw.length);
  return { data, rawLen: rawLen.value };
}

test('decompresses what redis-server compressed, for short, long, overlapping and binary content', async () => {
  const g = new Gen(7);
  const words = Array.from({ length: 40 }, () => g.word(g.int(3, 12)));
  const values: Record<string, Buffer> = {
    short: Buffer.from('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),
    run: Buffer.alloc(100_000, 'a'), // long overlapping back-references (distance 1)
    period3: Buffer.from('abc'.repeat(5000) + 'tail'),
    text: Buffer.from(Array.from({ length: 20_000 }, () => words[g.int(0, words.length - 1)]).join(' ')),
    binary: Buffer.concat(Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? g.bytes(40) : Buffer.alloc(50, i & 0xff)))),
  };
  // A back-reference reaching ~8 KB (the maximum LZF distance): a block repeated 8000 bytes later.
  const block = g.bytes(3000);
  values.farRefs = Buffer.concat([block, g.bytes(5000), block]);
  for (const [k, v] of Object.entries(values)) await client.set(k, v);
  for (const [k, v] of Object.entries(values)) {
    const { data, rawLen } = await lzfOf(k);
    assert.equal(rawLen, v.length, k);
    const out = lzfDecompress(data, rawLen, { key: k });
    assert.ok(out.equals(v), `${k}: decompressed bytes differ`);
    assert.ok(lzfDecompressJs(data, rawLen).equals(v), `${k}: JS engine differs`);
    assert.ok(lzfDecompressWasm(data, rawLen)!.equals(v), `${k}: WebAssembly engine differs`);
    if (LZF_NATIVE_AVAILABLE) assert.ok(nativeEngine(data, rawLen).equals(v), `${k}: native engine differs`);
    for (const cut of [1, 7, Math.floor(data.length / 2)]) {
      assert.deepEqual(await streamOutcome('wasm', data, rawLen, { split: cut }), await streamOutcome('js', data, rawLen, { split: cut }), `${k}: streamed, split at ${cut}`);
    }
    assert.ok(Buffer.concat((await streamOutcome('wasm', data, rawLen, { split: 3 })).chunks ?? []).equals(v), `${k}: streamed`);
    assert.ok(out.equals((await client.getBuffer(k))!), `${k}: differs from GET`);
  }
});

test('the corpus key compressed by Redis 2.x decompresses to 200 "a"', async () => {
  const file = join(CORPUS, 'rdb-tools/easily_compressible_string_key.rdb');
  const [only] = await oldRdbValues(file);
  assert.equal(only.key.toString(), 'a'.repeat(200));
});

test('errors: back-reference before the start, literal past the end, overflow, short output (every engine)', () => {
  for (const lzfDecompress of [lzfDecompressJs, ...OTHER_ENGINES.map((e) => e[1])]) {
    const ctx = { file: 'f.rdb', offset: 1000, key: 'k' };
    // A back-reference as the first thing: nothing to copy from.
    assertCorrupt(() => lzfDecompress(Buffer.from([0x20, 0x00]), 3, ctx), 1000, /before the start/);
    // Literal run of 6 with 2 bytes present.
    assertCorrupt(() => lzfDecompress(Buffer.from([0x05, 0x61, 0x62]), 6, ctx), 1000, /only 2 left/);
    // Literal "ab" then a back-reference of 3 bytes: 5 bytes out, declared 4.
    assertCorrupt(() => lzfDecompress(Buffer.from([0x01, 0x61, 0x62, 0x20, 0x01]), 4, ctx), 1003, /overflows the declared length 4/);
    // Declared 10, produces 2.
    assertCorrupt(() => lzfDecompress(Buffer.from([0x01, 0x61, 0x62]), 10, ctx), 1003, /decompresses to 2 bytes, expected the declared 10/);
    // Back-reference missing its offset byte; long back-reference missing its offset byte.
    assertCorrupt(() => lzfDecompress(Buffer.from([0x00, 0x61, 0x20]), 3, ctx), 1002, /missing its offset byte/);
    assertCorrupt(() => lzfDecompress(Buffer.from([0x00, 0x61, 0xe0, 0x05]), 20, ctx), 1002, /missing its offset byte/);
    // Overflow by a literal.
    assertCorrupt(() => lzfDecompress(Buffer.from([0x02, 0x61, 0x62, 0x63]), 2, ctx), 1000, /overflows/);
    // A valid stream with overlap: "a" then copy 9 from distance 1 = 10 x "a".
    assert.equal(lzfDecompress(Buffer.from([0x00, 0x61, 0xe0, 0x00, 0x00]), 10).toString(), 'a'.repeat(10));
    assert.equal(lzfDecompress(Buffer.alloc(0), 0).length, 0);
    assert.equal(lzfDecompress(Buffer.from([0x00, 0x61]), 1).toString(), 'a');
  }
});

test('a declared length no input of that size can produce is refused before allocating (every engine)', () => {
  for (const lzfDecompress of [lzfDecompressJs, ...OTHER_ENGINES.map((e) => e[1])]) {
    const src = Buffer.from([0x00, 0x61, 0xe0, 0xff, 0x00]);
    // 5 bytes can yield at most 5 * 88; the real maximum for this shape is 1 + 264.
    assert.equal(lzfDecompress(src, 1 + 7 + 255 + 2).length, 265);
    assertCorrupt(() => lzfDecompress(src, 5 * LZF_MAX_EXPANSION + 1, { offset: 7 }), 7, /cannot come from 5 compressed bytes/);
    assertCorrupt(() => lzfDecompress(src, 2 ** 32 + 1), undefined, /not a length/);
    assertCorrupt(() => lzfDecompress(src, -1), undefined, /not a length/);
    assertCorrupt(() => lzfDecompress(src, 1.5), undefined, /not a length/);
    assertCorrupt(() => lzfDecompress(Buffer.alloc(0), 1), undefined, /cannot come from 0 compressed bytes/);
  }
});

test('readRdbStringAt undoes LZF strings and places LZF errors at the compressed data', async () => {
  await client.set('lz', 'xyz'.repeat(100));
  const { raw } = await dumpPayload(client, 'lz');
  assert.equal(readRdbStringAt(raw, 0).value.toString(), 'xyz'.repeat(100));
  const bad = Buffer.from(raw);
  const clen = readRdbLengthAt(bad, 1);
  const rawLen = readRdbLengthAt(bad, clen.end);
  bad[rawLen.end] = 0x20; // first control byte becomes a back-reference with nothing behind it
  assertCorrupt(() => readRdbStringAt(bad, 0, { offset: 500 }), 500 + rawLen.end, /before the start/);
});

test('corruption harness: truncations and mutations of a real LZF stream give output or RDB_CORRUPT', { timeout: 60_000 }, async () => {
  const g = new Gen(11);
  const v = Buffer.from(Array.from({ length: 400 }, () => g.word(g.int(2, 6))).join('-'));
  await client.set('fz', v);
  const { data, rawLen } = await lzfOf('fz');
  // The allocation is the declared rawLen, fixed here; what the harness checks is that nothing else
  // is allocated and every failure is typed.
  const report = fuzzDecoder(data, (b) => {
    const out = lzfDecompress(b, rawLen);
    assert.equal(out.length, rawLen);
    return [];
  }, { rounds: 3000, seed: 3 });
  assert.ok(report.corrupt > 0);
  // Also with the declared length itself varied, on the original data.
  for (let d = -40; d <= 40; d++) {
    if (d === 0) assert.equal(lzfDecompress(data, rawLen).length, rawLen);
    else assertCorrupt(() => lzfDecompress(data, rawLen + d));
  }
});

// ------------------------------------------------------------------------------------------------
// The WebAssembly and JS engines side by side

/** The WebAssembly engine; a test using it fails (rather than skips) where it did not load. */
/** The native engine, where the addon is built (the test below says whether it must be). */
function nativeEngine(input: Buffer, rawLen: number, ctx?: BlobContext): Buffer {
  const out = lzfDecompressNative(input, rawLen, ctx);
  assert.ok(out !== null, 'the LZF native engine did not load');
  return out;
}

/** Engines compared with the JS reference. */
const OTHER_ENGINES: [string, (input: Buffer, rawLen: number, ctx?: BlobContext) => Buffer][] = [
  ['WebAssembly', wasmEngine],
  ...(LZF_NATIVE_AVAILABLE ? [['native', nativeEngine] as [string, typeof nativeEngine]] : []),
];

function wasmEngine(input: Buffer, rawLen: number, ctx?: BlobContext): Buffer {
  const out = lzfDecompressWasm(input, rawLen, ctx);
  assert.ok(out !== null, 'the LZF WebAssembly engine did not load');
  return out;
}

type Outcome = { out: Buffer } | { code: string; message: string; offset: unknown };

function outcome(fn: () => Buffer): Outcome {
  try {
    return { out: fn() };
  } catch (err) {
    if (!(err instanceof FerryError)) throw err;
    return { code: err.code, message: err.message, offset: err.context.offset };
  }
}

const CTX: BlobContext = { file: 'f.rdb', offset: 100, key: 'k' };

/** Both engines on one input: the same bytes or the same error (code, message, offset); returns it. */
function sameBlob(input: Buffer, rawLen: number, what: string): Outcome {
  const js = outcome(() => lzfDecompressJs(input, rawLen, CTX));
  for (const [name, engine] of OTHER_ENGINES) {
    const o = outcome(() => engine(input, rawLen, CTX));
    if ('out' in js && 'out' in o) assert.ok(o.out.equals(js.out), `${what}: ${name} bytes differ`);
    else assert.deepEqual(o, js, `${what} (${name})`);
  }
  return js;
}

interface StreamOutcome {
  chunks?: Buffer[];
  /** Input offset after the stream: the next record's. */
  after?: number;
  code?: string;
  message?: string;
  offset?: unknown;
}

const HEAD = Buffer.from('HEAD');
const TAIL = Buffer.from('TAIL: the next record');

/**
 * inflateLzfStream over HEAD + data (+ TAIL), from a ByteSource whose first buffered chunk ends
 * `split` bytes into the data (or of `chunk`-byte chunks), as the parser calls it after the header.
 */
async function streamOutcome(
  engine: LzfStreamEngine, data: Buffer, rawLen: number,
  opts: { split?: number; chunk?: number; clen?: number; tail?: boolean } = {},
): Promise<StreamOutcome> {
  const whole = Buffer.concat([HEAD, data, opts.tail === false ? Buffer.alloc(0) : TAIL]);
  const parts: Buffer[] = [];
  if (opts.chunk) {
    for (let i = 0; i < whole.length; i += opts.chunk) parts.push(whole.subarray(i, i + opts.chunk));
  } else {
    const cut = HEAD.length + (opts.split ?? 0);
    parts.push(whole.subarray(0, cut), whole.subarray(cut));
  }
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const p of parts) if (p.length > 0) yield p;
  }
  const src = new ByteSource(chunks(), { name: 't.rdb' });
  await src.fill(HEAD.length);
  src.skip(HEAD.length);
  const got: Buffer[] = [];
  try {
    for await (const c of inflateLzfStream(src, opts.clen ?? data.length, rawLen, { key: 'k', magic: 'REDIS', rdbVersion: 10 }, engine)) got.push(c);
  } catch (err) {
    if (!(err instanceof FerryError)) throw err;
    return { code: err.code, message: err.message, offset: err.context.offset };
  }
  return { chunks: got, after: src.offset };
}

/** Both stream engines alike; returns the outcome. */
async function sameStream(data: Buffer, rawLen: number, opts: Parameters<typeof streamOutcome>[3], what: string): Promise<StreamOutcome> {
  const js = await streamOutcome('js', data, rawLen, opts);
  const wasm = await streamOutcome('wasm', data, rawLen, opts);
  if (js.chunks && wasm.chunks) {
    assert.deepEqual(wasm.chunks.map((c) => c.length), js.chunks.map((c) => c.length), `${what}: chunk sizes`);
    assert.ok(Buffer.concat(wasm.chunks).equals(Buffer.concat(js.chunks)), `${what}: bytes differ`);
    assert.equal(wasm.after, js.after, `${what}: position after`);
  } else {
    assert.deepEqual(wasm, js, what);
  }
  return js;
}

/** Word text of `n` bytes (LZF ratio ~0.7, like real values) from a seeded generator. */
function text(g: Gen, n: number, vocabulary = 2000): Buffer {
  const words = Array.from({ length: vocabulary }, () => g.word(g.int(2, 10)));
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  while (o < n) {
    o += out.write(words[g.int(0, vocabulary - 1)]!, o, 'latin1');
    if (o < n) out[o++] = 0x20;
  }
  return out;
}

/**
 * A random valid LZF stream written instruction by instruction (every kind: literal runs of 1-32,
 * short and long back-references at distances 1, 2-7, 8-16 and up to 8 KiB) and what it inflates to.
 */
function randomLzf(g: Gen, outLen: number): { data: Buffer; raw: Buffer } {
  const raw = Buffer.allocUnsafe(outLen);
  const data = Buffer.allocUnsafe(2 * outLen + 64);
  let d = 0;
  let op = 0;
  while (op < outLen) {
    const left = outLen - op;
    if (op === 0 || left < 3 || g.rnd() < 0.4) {
      const run = Math.min(left, g.int(1, 32));
      data[d++] = run - 1;
      for (let i = 0; i < run; i++) data[d++] = raw[op++] = g.int(0, 255);
      continue;
    }
    const len = Math.min(left, g.rnd() < 0.7 ? g.int(3, 12) : g.int(3, 264));
    const kind = g.int(0, 4);
    const far = Math.min(8192, op);
    const dist = Math.min(far, [1, g.int(2, 7), g.int(8, 16), g.int(17, 300), g.int(1, far)][kind]!);
    const l = len - 2;
    const off = dist - 1;
    if (l < 7) data[d++] = (off >> 8) | (l << 5);
    else {
      data[d++] = (off >> 8) | 0xe0;
      data[d++] = l - 7;
    }
    data[d++] = off & 0xff;
    for (let i = 0; i < len; i++, op++) raw[op] = raw[op - dist]!;
  }
  return { data: data.subarray(0, d), raw };
}

test('the LZF WebAssembly engine loads here', () => {
  assert.ok(LZF_WASM_AVAILABLE);
});

test('the LZF native engine is in use wherever the addon is built', () => {
  const built = existsSync(fileURLToPath(new URL('../../native/crc64/build/Release/ferry_crc64.node', import.meta.url)));
  if (built) assert.ok(LZF_NATIVE_AVAILABLE, `native/crc64 is built but its LZF engine is not used: ${LZF_NATIVE_STATUS}`);
});

test('every engine gives the same bytes on random data, across the WebAssembly block boundaries', () => {
  const g = new Gen(21);
  const MiB = 1 << 20;
  const check = (raw: Buffer, data: Buffer, what: string): void => {
    const r = sameBlob(data, raw.length, what);
    assert.ok('out' in r && r.out.equals(raw), `${what}: not the original`);
  };
  for (let n = 0; n <= 80; n++) {
    const t = text(g, n, 20);
    check(t, lzfCompress(t), `text of ${n}`);
    const r = randomLzf(g, n);
    check(r.raw, r.data, `instructions for ${n}`);
  }
  for (let i = 0; i < 200; i++) {
    const r = randomLzf(g, g.int(1, 20_000));
    check(r.raw, r.data, `instructions ${i}`);
  }
  // Outputs around the 1 MiB chunk, inputs past the 1 MiB block, output far past the input.
  for (const n of [8191, 8192, 8193, MiB - 1, MiB, MiB + 1, MiB + 263, MiB + 264, 2_500_000]) {
    const t = text(g, n);
    check(t, lzfCompress(t), `text of ${n}`);
  }
  const mixed = Buffer.concat(Array.from({ length: 400 }, (_, i) => (i % 2 ? g.bytes(g.int(1, 3000)) : Buffer.alloc(g.int(1, 20_000), i))));
  check(mixed, lzfCompress(mixed), 'runs and random bytes');
  const runs = Buffer.alloc(3 * MiB + 5, 'x');
  check(runs, lzfCompress(runs), 'one 3 MiB run');
  const r = randomLzf(g, 3 * MiB);
  check(r.raw, r.data, 'instructions for 3 MiB');
});

test('corruption: every truncation, mutation and declared length gives the same error from every engine', () => {
  const g = new Gen(5);
  const inputs: { data: Buffer; rawLen: number }[] = [];
  const t = text(g, 600, 30);
  inputs.push({ data: lzfCompress(t), rawLen: t.length });
  const r = randomLzf(g, 900);
  inputs.push({ data: r.data, rawLen: r.raw.length });
  const runs = Buffer.concat([Buffer.from('abcdefgh'), Buffer.alloc(700, 'z'), Buffer.from('abcabcabcabc')]);
  inputs.push({ data: lzfCompress(runs), rawLen: runs.length });
  let errors = 0;
  const seen = new Set<string>();
  const tally = (o: Outcome): void => {
    if ('out' in o) return;
    errors++;
    assert.equal(o.code, 'RDB_CORRUPT', o.message);
    seen.add(o.message.replace(/\d+/g, 'N').replace(/ \(file.*$/, ''));
  };
  for (const [i, { data, rawLen }] of inputs.entries()) {
    for (let n = 0; n <= data.length; n++) tally(sameBlob(data.subarray(0, n), rawLen, `input ${i} truncated to ${n}`));
    for (let p = 0; p < data.length; p++) {
      for (const v of [0x00, 0x1f, 0x20, 0x3f, 0xe0, 0xff, data[p]! ^ 0x80, data[p]! ^ 0x01]) {
        const m = Buffer.from(data);
        m[p] = v;
        tally(sameBlob(m, rawLen, `input ${i}, byte ${p} set to ${v}`));
      }
    }
    for (let dl = -40; dl <= 40; dl++) tally(sameBlob(data, rawLen + dl, `input ${i}, declared ${rawLen + dl}`));
  }
  assert.ok(errors > 1000);
  // Every kind of error came up.
  for (const kind of [/before the start/, /literal run .* overflows/, /back-reference of .* overflows/, /needs N input bytes/, /^LZF: back-reference is missing/, /long back-reference is missing/, /decompresses to/]) {
    assert.ok([...seen].some((m) => kind.test(m)), `no ${kind} among ${[...seen].join('; ')}`);
  }
});

test('corruption across the WebAssembly block boundaries of a 2.5 MB input: the same errors, whole and streamed', { timeout: 120_000 }, async () => {
  const g = new Gen(6);
  const raw = text(g, 2_500_000);
  const data = lzfCompress(raw);
  const IN_CAP = 1 << 20;
  assert.ok(data.length > IN_CAP + 100);
  // Truncated just before, at and after the end of the first 1 MiB block, and at the very end.
  for (const n of [...Array.from({ length: 40 }, (_, i) => IN_CAP - 34 + i), ...Array.from({ length: 35 }, (_, i) => data.length - 35 + i)]) {
    const o = sameBlob(data.subarray(0, n), raw.length, `truncated to ${n}`);
    assert.ok(!('out' in o) && o.code === 'RDB_CORRUPT', `truncated to ${n}`);
  }
  // Declared lengths around the real one: overflow at the last instructions, or short output.
  for (const dl of [-300, -2, -1, 1, 2, 300]) {
    const o = sameBlob(data, raw.length + dl, `declared ${raw.length + dl}`);
    assert.ok(!('out' in o) && /overflows|decompresses to/.test(o.message), `declared ${dl}`);
  }
  // A back-reference before the start of the output, past which 2.5 MB would follow.
  const m = Buffer.from(data);
  m[0] = 0x20;
  const o = sameBlob(m, raw.length, 'first byte a back-reference');
  assert.ok(!('out' in o) && /before the start/.test(o.message));
  // Streamed (whole input buffered, so one pass covers several blocks; and in 256 KiB file chunks).
  for (const opts of [{ split: data.length }, { chunk: 256 * 1024 }]) {
    for (const dl of [-1, 1]) {
      const s = await sameStream(data, raw.length + dl, opts, `streamed, declared ${raw.length + dl}`);
      assert.match(s.message ?? '', /inflates past|inflates to/);
    }
    for (const clen of [IN_CAP - 1, IN_CAP, IN_CAP + 1, IN_CAP + 2]) {
      const s = await sameStream(data, raw.length, { ...opts, clen }, `streamed, compressed length ${clen}`);
      assert.equal(s.code, 'RDB_CORRUPT');
    }
    for (const n of [IN_CAP - 1, IN_CAP + 1, data.length - 1]) {
      const s = await sameStream(data.subarray(0, n), raw.length, { ...opts, clen: data.length, tail: false }, `streamed, file cut at ${n}`);
      assert.equal(s.code, 'RDB_TRUNCATED');
    }
  }
});

test('streams: split at every input boundary, both engines emit the same chunks and stop at the same place', { timeout: 120_000 }, async () => {
  const g = new Gen(8);
  const t = text(g, 500, 25);
  const r = randomLzf(g, 3000);
  const runs = Buffer.concat([Buffer.alloc(3000, 'q'), Buffer.from('0123456789'), Buffer.alloc(200, 'r')]);
  const cases = [
    { what: 'text', data: lzfCompress(t), raw: t },
    { what: 'instructions', data: r.data, raw: r.raw },
    { what: 'runs', data: lzfCompress(runs), raw: runs },
  ];
  for (const { what, data, raw } of cases) {
    for (let split = 0; split <= data.length; split++) {
      const o = await sameStream(data, raw.length, { split }, `${what}, split at ${split}`);
      assert.ok(o.chunks && Buffer.concat(o.chunks).equals(raw), `${what}, split at ${split}: ${o.message}`);
      assert.equal(o.after, HEAD.length + data.length);
    }
    const o = await sameStream(data, raw.length, { chunk: 1 }, `${what}, byte by byte`);
    assert.ok(o.chunks && Buffer.concat(o.chunks).equals(raw));
  }
});

test('streams: corrupt, truncated and mis-declared inputs fail alike in both engines at every split', { timeout: 120_000 }, async () => {
  const g = new Gen(9);
  const raw = text(g, 400, 20);
  const data = lzfCompress(raw);
  const splits = (n: number): number[] => Array.from({ length: n + 1 }, (_, i) => i);
  const expect = async (d: Buffer, rawLen: number, opts: Parameters<typeof streamOutcome>[3], code: string, pattern: RegExp, what: string): Promise<void> => {
    const o = await sameStream(d, rawLen, opts, what);
    assert.equal(o.code, code, `${what}: ${o.message ?? 'no error'}`);
    assert.match(o.message!, pattern, what);
  };
  const before = Buffer.from(data);
  before[0] = 0x20;
  for (const split of splits(data.length)) {
    await expect(before, raw.length, { split }, 'RDB_CORRUPT', /back-reference \d+ bytes back with only 0 produced/, `before the start, split ${split}`);
    await expect(data, raw.length - 5, { split }, 'RDB_CORRUPT', /inflates past its declared/, `overflow, split ${split}`);
    await expect(data, raw.length + 5, { split }, 'RDB_CORRUPT', /inflates to \d+ bytes, its header says/, `short output, split ${split}`);
  }
  // The file ends inside the compressed data.
  for (let n = 0; n < data.length; n++) {
    await expect(data.subarray(0, n), raw.length, { split: n >> 1, clen: data.length, tail: false }, 'RDB_TRUNCATED', /input ended inside LZF-compressed string/, `file cut at ${n}`);
  }
  // The declared compressed length ends inside an instruction while the file goes on (this used to
  // spin forever); or on an instruction boundary, short of the declared output.
  let inside = 0;
  for (let clen = 1; clen < data.length; clen++) {
    const o = await sameStream(data, raw.length, { split: clen >> 1, clen }, `clen ${clen}`);
    assert.equal(o.code, 'RDB_CORRUPT', `clen ${clen}`);
    if (/runs past the end of the \d+ compressed bytes/.test(o.message!)) inside++;
    else assert.match(o.message!, /inflates to \d+ bytes, its header says/);
  }
  assert.ok(inside > 10);
  // Every byte mutated: the same output or the same error.
  for (let p = 0; p < data.length; p++) {
    for (const v of [0x20, 0xe0, 0x1f, data[p]! ^ 0x40]) {
      const m = Buffer.from(data);
      m[p] = v;
      await sameStream(m, raw.length, { split: p }, `byte ${p} set to ${v}`);
    }
  }
});

test('a 20 MB input: both engines, whole and streamed, give the original bytes and the same chunks', { timeout: 300_000 }, async () => {
  const g = new Gen(10);
  const raw = text(g, 20_000_000);
  const data = lzfCompress(raw);
  assert.ok(lzfDecompressJs(data, raw.length).equals(raw));
  assert.ok(wasmEngine(data, raw.length).equals(raw));
  // File chunks of 256 KiB as the local source reads them, and the whole input buffered at once.
  await sameStream(data, raw.length, { chunk: 256 * 1024 }, '256 KiB chunks');
  const o = await sameStream(data, raw.length, { split: data.length }, 'whole');
  assert.ok(o.chunks && Buffer.concat(o.chunks).equals(raw));
  assert.ok(o.chunks.every((c, i) => i === o.chunks!.length - 1 || (c.length >= 1 << 20 && c.length < (1 << 20) + 264)));
  // Back-references up to 8 KiB back across every chunk boundary (random instructions, 3.5 MiB).
  const r = randomLzf(g, 3.5 * (1 << 20));
  for (const opts of [{ split: r.data.length }, { chunk: 64 * 1024 }]) {
    const s = await sameStream(r.data, r.raw.length, opts, 'random instructions');
    assert.ok(s.chunks && Buffer.concat(s.chunks).equals(r.raw));
  }
});

/**
 * Literal runs of random bytes until the output reaches `literalOut` or the input `literalIn` bytes
 * (the last run shortened to land exactly), then back-references 8192 back (the farthest LZF reaches;
 * lengths 3, 8, 9, 264 and random) until the output reaches `refOut`, then 40 more.
 */
function farRefs(g: Gen, opts: { literalOut?: number; literalIn?: number; refOut?: number }): { data: Buffer; raw: Buffer } {
  const data = Buffer.allocUnsafe(4 << 20);
  const raw = Buffer.allocUnsafe(4 << 20);
  let d = 0;
  let o = 0;
  for (;;) {
    let run = 32;
    if (opts.literalOut !== undefined) run = Math.min(run, opts.literalOut - o);
    if (opts.literalIn !== undefined) run = Math.min(run, opts.literalIn - d - 1);
    if (run <= 0) break;
    data[d++] = run - 1;
    for (let i = 0; i < run; i++) data[d++] = raw[o++] = g.int(0, 255);
  }
  assert.ok(o >= 8192);
  for (let i = 0; o < (opts.refOut ?? 0) || i < 40; i++) {
    const len = [3, 8, 9, 264, g.int(3, 264)][i % 5]!;
    const l = len - 2;
    if (l < 7) data[d++] = 0x1f | (l << 5);
    else {
      data[d++] = 0xff;
      data[d++] = l - 7;
    }
    data[d++] = 0xff;
    for (let k = 0; k < len; k++, o++) raw[o] = raw[o - 8192]!;
  }
  return { data: data.subarray(0, d), raw: raw.subarray(0, o) };
}

test('back-references reaching the full 8 KiB right after each block and chunk boundary, whole and streamed', async () => {
  const g = new Gen(13);
  const MiB = 1 << 20;
  const cases = [
    // Output chunks (1 MiB) ending exactly on, inside and just before a literal run: the stream's chunks.
    ...[MiB, MiB + 5, MiB - 3].map((n) => ({ what: `literals to output ${n}`, ...farRefs(g, { literalOut: n }) })),
    // Input blocks (1 MiB) ending on a back-reference or inside one: both engines' calls.
    ...[MiB, MiB - 1, MiB - 2].map((n) => ({ what: `literals to input ${n}`, ...farRefs(g, { literalIn: n }) })),
    // The output chunk filling from a short input: whole-buffer calls.
    { what: 'references to output 1.2 MiB', ...farRefs(g, { literalOut: 8192, refOut: 1.2 * MiB }) },
  ];
  for (const { what, data, raw } of cases) {
    const o = sameBlob(data, raw.length, what);
    assert.ok('out' in o && o.out.equals(raw), what);
    for (const opts of [{ split: data.length }, { chunk: 4096 }]) {
      const st = await sameStream(data, raw.length, opts, `${what}, streamed`);
      assert.ok(st.chunks && Buffer.concat(st.chunks).equals(raw), `${what}, streamed`);
    }
  }
});

test('hostile declared lengths: typed errors, and the WebAssembly memory is fixed at 2.1 MiB', async () => {
  const g = new Gen(12);
  const raw = text(g, 5000, 20);
  const data = lzfCompress(raw);
  for (const rawLen of [2 ** 32, 2 ** 31, 2 ** 31 - 1, 0x7fffffff + 5000]) {
    const o = await sameStream(data, rawLen, { split: 10 }, `declared ${rawLen}`);
    assert.match(o.message ?? '', /inflates to 5000 bytes, its header says/);
    assertCorrupt(() => wasmEngine(data, rawLen), undefined, /cannot come from|not a length/);
  }
  const w = acquireLzfWasm();
  assert.ok(w !== null);
  assert.equal(w.mem.length, 34 * 65536);
  releaseLzfWasm(w);
});

test('the generated WebAssembly module is up to date with lzf.wat', () => {
  execFileSync(process.execPath, ['scripts/build-lzf-wasm.mjs', '--check'], { stdio: 'pipe' });
});
