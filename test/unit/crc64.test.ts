/**
 * CRC-64/Jones: the check value, every engine (native addon, WebAssembly, JS) agreeing with the JS
 * reference on every length, offset and split, the generated WebAssembly module matching its .wat
 * source, the addon's constants matching their script, and Ferry working without the addon.
 *
 * The native tests are skipped (saying why) only when the addon is not built or not loadable here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { crc64, Crc64, CRC64_ENGINES } from '../../src/rdb/crc64.js';
import { CORPUS } from '../helpers/redis-server.js';

const RDB_DIR = fileURLToPath(new URL('../../src/rdb/', import.meta.url));
const noNative = CRC64_ENGINES.native === null && /not built/.test(CRC64_ENGINES.nativeStatus) ? `native CRC-64 addon ${CRC64_ENGINES.nativeStatus}` : false;

/** Seeded so a failure can be replayed: the seed is in every assertion message. */
const SEED = (Date.now() ^ (process.pid << 16)) >>> 0;
function rng(seed: number): () => number {
  let s = seed || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}
function randomBytes(n: number, rnd: () => number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (rnd() * 256) | 0;
  return b;
}
/** A Crc64 already holding some state, so the init is exercised too. */
function seeded(rnd: () => number): Crc64 {
  const c = new Crc64();
  c.lo = (rnd() * 2 ** 32) >>> 0;
  c.hi = (rnd() * 2 ** 32) >>> 0;
  return c;
}
function copy(c: Crc64): Crc64 {
  const d = new Crc64();
  d.lo = c.lo;
  d.hi = c.hi;
  return d;
}

test('check value of "123456789" is 0xe9c6d914c4b8d9ca', () => {
  assert.equal(crc64(Buffer.from('123456789')), 0xe9c6d914c4b8d9can);
  assert.equal(new Crc64().updateJs(Buffer.from('123456789')).value(), 0xe9c6d914c4b8d9can);
  assert.equal(new Crc64().updateWasm(Buffer.from('123456789')).value(), 0xe9c6d914c4b8d9can);
});

test('WebAssembly and JS engines agree on every length around the thresholds and on any split', () => {
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
  for (const n of [0, 1, 7, 8, 9, 255, 256, 257, 1023, 1024, 1025, 65535, 65536, 65537, 131072 + 13, 300_000]) {
    const js = new Crc64().updateJs(data, 0, n).value();
    assert.equal(new Crc64().updateWasm(data, 0, n).value(), js, `wasm, length ${n}`);
    assert.equal(new Crc64().update(data, 0, n).value(), js, `update, length ${n}`);
    for (const cut of [1, 3, 1024, Math.floor(n / 2), n - 1]) {
      if (cut <= 0 || cut >= n) continue;
      assert.equal(new Crc64().update(data, 0, cut).update(data, cut, n).value(), js, `length ${n} cut at ${cut}`);
      assert.equal(new Crc64().updateWasm(data, 0, cut).updateWasm(data, cut, n).value(), js, `wasm, length ${n} cut at ${cut}`);
    }
  }
});

test('a built addon is in use (a stale, unloadable or wrong one fails here rather than skipping)', () => {
  const built = existsSync(fileURLToPath(new URL('../../native/crc64/build/Release/ferry_crc64.node', import.meta.url)));
  if (built) assert.notEqual(CRC64_ENGINES.native, null, `native/crc64 is built but not used: ${CRC64_ENGINES.nativeStatus}`);
  else assert.match(CRC64_ENGINES.nativeStatus, /not built/);
});

test('native engines: the check value, and the engine in use', { skip: noNative }, () => {
  assert.match(CRC64_ENGINES.native!, /^(pclmul|table)$/);
  if (process.arch === 'x64') {
    const flags = (() => {
      try {
        return readFileSync('/proc/cpuinfo', 'utf8');
      } catch {
        return '';
      }
    })();
    if (/\bpclmulqdq\b/.test(flags) && /\bsse4_1\b/.test(flags)) assert.equal(CRC64_ENGINES.native, 'pclmul', 'this CPU has PCLMULQDQ and SSE4.1');
  }
  const check = Buffer.from('123456789');
  assert.equal(new Crc64().updateNative(check).value(), 0xe9c6d914c4b8d9can);
  assert.equal(new Crc64().updateNative(check, 0, check.length, 'table').value(), 0xe9c6d914c4b8d9can);
});

test('native engines agree with JS on every length 0..300 at random offsets and initial CRCs', { skip: noNative }, () => {
  const rnd = rng(SEED);
  const data = randomBytes(4096, rnd);
  for (let n = 0; n <= 300; n++) {
    for (let k = 0; k < 4; k++) {
      const start = (rnd() * (data.length - n)) | 0;
      const c = seeded(rnd);
      const want = copy(c).updateJs(data, start, start + n).value();
      const at = `length ${n} at ${start} (seed ${SEED})`;
      assert.equal(copy(c).updateNative(data, start, start + n).value(), want, `native ${at}`);
      assert.equal(copy(c).updateNative(data, start, start + n, 'table').value(), want, `native table ${at}`);
      assert.equal(copy(c).update(data, start, start + n).value(), want, `update ${at}`);
      // The same bytes in a view of their own (byteOffset into a bigger ArrayBuffer).
      const view = data.subarray(start, start + n);
      assert.equal(copy(c).updateNative(view).value(), want, `native on a subarray, ${at}`);
    }
  }
});

test('native engines on 5 MB buffers, plain Uint8Arrays included', { skip: noNative }, () => {
  const rnd = rng(SEED ^ 0x5bd1e995);
  const big = randomBytes(5_000_000 + 13, rnd);
  const want = new Crc64().updateJs(big).value();
  assert.equal(new Crc64().updateNative(big).value(), want, `native (seed ${SEED})`);
  assert.equal(new Crc64().updateNative(big, 0, big.length, 'table').value(), want, `native table (seed ${SEED})`);
  assert.equal(crc64(big), want, `crc64() (seed ${SEED})`);
  const plain = new Uint8Array(big.buffer.slice(big.byteOffset + 7, big.byteOffset + big.length));
  assert.equal(new Crc64().update(plain).value(), new Crc64().updateJs(plain).value(), `Uint8Array (seed ${SEED})`);
});

test('incremental updates split at random points give the one-shot CRC (every engine, mixed)', { skip: noNative }, () => {
  const rnd = rng(SEED ^ 0x9e3779b9);
  const data = randomBytes(200_000, rnd);
  const want = new Crc64().updateJs(data).value();
  type Step = (c: Crc64, s: number, e: number) => Crc64;
  const engines: Step[] = [
    (c, s, e) => c.update(data, s, e),
    (c, s, e) => c.updateJs(data, s, e),
    (c, s, e) => c.updateWasm(data, s, e),
    (c, s, e) => c.updateNative(data, s, e),
    (c, s, e) => c.updateNative(data, s, e, 'table'),
  ];
  for (let round = 0; round < 40; round++) {
    const cuts = new Set<number>();
    const pieces = 1 + ((rnd() * 30) | 0);
    // Mostly small pieces (RESTORE payload sizes), sometimes anywhere.
    let at = 0;
    while (cuts.size < pieces && at < data.length) {
      at += rnd() < 0.8 ? 1 + ((rnd() * 300) | 0) : (rnd() * 50_000) | 0;
      cuts.add(Math.min(at, data.length));
    }
    const bounds = [0, ...[...cuts].sort((a, b) => a - b), data.length];
    let c = new Crc64();
    const used: number[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const e = (rnd() * engines.length) | 0;
      used.push(e);
      c = engines[e]!(c, bounds[i]!, bounds[i + 1]!);
    }
    assert.equal(c.value(), want, `round ${round}, cuts ${bounds.join(',')}, engines ${used.join(',')} (seed ${SEED})`);
  }
});

test('native engine refuses ranges outside the buffer and non-typed-arrays', { skip: noNative }, () => {
  const b = Buffer.alloc(100);
  assert.throws(() => new Crc64().updateNative(b, 0, 101), RangeError);
  assert.throws(() => new Crc64().updateNative(b, 50, 40), RangeError);
  assert.throws(() => new Crc64().updateNative(b, -1, 10), RangeError);
  assert.throws(() => new Crc64().updateNative(b.subarray(10, 20), 0, 11), RangeError);
  assert.throws(() => new Crc64().updateNative({ length: 10 } as unknown as Uint8Array, 0, 10), TypeError);
  assert.equal(new Crc64().updateNative(b, 100, 100).value(), 0n);
});

test('native addon loads and agrees in a worker thread (its state is per Node environment)', { skip: noNative }, async () => {
  const data = Buffer.alloc(100_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131) & 0xff;
  const want = new Crc64().updateJs(data).value().toString(16);
  const src = `
    import { parentPort, workerData } from 'node:worker_threads';
    const { register } = await import(workerData.tsx);
    register(); // workers do not inherit the parent's --import tsx hooks on Node 20
    const { Crc64, CRC64_ENGINES } = await import(workerData.url);
    const data = Buffer.from(workerData.data);
    parentPort.postMessage({ engine: CRC64_ENGINES.native, crc: new Crc64().updateNative(data).value().toString(16) });`;
  const url = pathToFileURL(join(RDB_DIR, 'crc64.ts')).href;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(src)}`), { workerData: { url, data, tsx: import.meta.resolve('tsx/esm/api') } });
  const msg = await new Promise<{ engine: string; crc: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.deepEqual(msg, { engine: CRC64_ENGINES.native, crc: want });
});

test('without the addon (not built), crc64.ts falls back to WebAssembly and JS with the same results', async () => {
  // A copy of the module where the addon's relative path leads nowhere, as on a machine where the
  // build failed or npm ran with --ignore-scripts.
  const dir = mkdtempSync(join(tmpdir(), 'ferry-crc64-'));
  try {
    mkdirSync(join(dir, 'src/rdb'), { recursive: true });
    for (const f of ['crc64.ts', 'crc64-wasm.generated.ts', 'native-addon.ts']) copyFileSync(join(RDB_DIR, f), join(dir, 'src/rdb', f));
    const m = (await import(pathToFileURL(join(dir, 'src/rdb/crc64.ts')).href)) as typeof import('../../src/rdb/crc64.js');
    assert.equal(m.CRC64_ENGINES.native, null);
    assert.match(m.CRC64_ENGINES.nativeStatus, /not built/);
    assert.throws(() => new m.Crc64().updateNative(Buffer.alloc(1)), /not built/);
    const data = Buffer.alloc(70_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    for (const n of [0, 9, 100, 255, 256, 1023, 1024, 70_000]) {
      assert.equal(new m.Crc64().update(data, 0, n).value(), new Crc64().updateJs(data, 0, n).value(), `length ${n}`);
    }
    assert.equal(m.crc64(Buffer.from('123456789')), 0xe9c6d914c4b8d9can);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real RDB: the CRC over header..EOF equals the stored trailer', () => {
  const f = readFileSync(`${CORPUS}/generated/redis-7.0.rdb`);
  assert.equal(crc64(f.subarray(0, f.length - 8)), f.readBigUInt64LE(f.length - 8));
  assert.equal(new Crc64().updateJs(f, 0, f.length - 8).value(), f.readBigUInt64LE(f.length - 8));
});

test('the generated WebAssembly module is up to date with crc64.wat', () => {
  execFileSync(process.execPath, ['scripts/build-crc64-wasm.mjs', '--check'], { stdio: 'pipe' });
});

test('the addon constants are what scripts/crc64-constants.mjs derives (and its folding model checks out)', () => {
  execFileSync(process.execPath, ['scripts/crc64-constants.mjs', '--check'], { stdio: 'pipe' });
});
