import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteSource } from '../../src/io/byte-source.js';
import { readAof, type AofNotice, type AofReadOptions } from '../../src/aof/aof-reader.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import { checkAof, checkedFile, declaresAofPreamble } from '../../src/aof/aof-check.js';
import type { ImportRecord } from '../../src/pipeline/types.js';

function resp(...argv: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

async function* chunks(buf: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const c of cuts) {
    yield buf.subarray(at, c);
    at = c;
  }
  yield buf.subarray(at);
}

/** Every way the tests split input: whole, byte by byte, and in two at every boundary. */
function splits(len: number): number[][] {
  const out: number[][] = [[]];
  out.push(Array.from({ length: Math.max(0, len - 1) }, (_, i) => i + 1));
  for (let i = 1; i < len; i++) out.push([i]);
  return out;
}

/** Flattens records to comparable text: `db:ARG ARG` for commands, `tx@db[...]` for transactions. */
function show(recs: ImportRecord[]): string[] {
  return recs.map((r) => {
    if (r.kind === 'command') return `${r.db}:${r.argv.map((a) => a.toString('latin1')).join(' ')}@${r.offset}`;
    if (r.kind === 'transaction') return `tx${r.db}@${r.offset}[${r.commands.map((c) => `${c.db}:${c.argv.join(' ')}`).join(';')}]`;
    return r.kind;
  });
}

async function readAll(buf: Buffer, cuts: number[], opts: AofReadOptions = {}): Promise<string[]> {
  const out: ImportRecord[] = [];
  for await (const b of readAof(new ByteSource(chunks(buf, cuts), { name: 't.aof' }), { batchSize: 3, ...opts })) out.push(...b);
  return show(out);
}

const sample = Buffer.concat([
  Buffer.from('#TS:1700000000\r\n'),
  resp('SELECT', '0'),
  resp('SET', 'k', 'v'),
  resp('SELECT', '3'),
  resp('RPUSH', 'l', 'a', Buffer.from([0, 13, 10, 255])),
  Buffer.from('#TS:1700000001\r\n'),
  resp('MULTI'),
  resp('INCR', 'n'),
  resp('SELECT', '4'),
  resp('SET', 'x', ''),
  resp('EXEC'),
  resp('DEL', 'k'),
]);

test('plain AOF: annotations skipped, SELECT tracked, MULTI/EXEC grouped, at every split', async () => {
  const expected = await readAll(sample, []);
  assert.equal(expected.length, 4);
  assert.match(expected[0]!, /^0:SET k v@\d+$/);
  assert.match(expected[1]!, /^3:RPUSH l a /);
  assert.match(expected[2]!, /^tx3@\d+\[3:INCR n;4:SET x \]$/);
  assert.match(expected[3]!, /^4:DEL k@\d+$/);
  assert.equal(Number(expected[0]!.split('@')[1]), sample.indexOf('*3\r\n$3\r\nSET'));
  for (const cuts of splits(sample.length)) assert.deepEqual(await readAll(sample, cuts), expected, `cuts ${cuts.join(',')}`);
});

test('truncated last command: AOF_TRUNCATED with the offset, or dropped and reported with load', async () => {
  const whole = Buffer.concat([resp('SET', 'a', '1'), resp('SET', 'b', '2')]);
  const cutAt = resp('SET', 'a', '1').length;
  for (let end = cutAt + 1; end < whole.length; end++) {
    const part = whole.subarray(0, end);
    for (const cuts of [[], [cutAt], [end - 1]]) {
      await assert.rejects(readAll(part, cuts.filter((c) => c < end)), (e: unknown) => isFerryError(e, 'AOF_TRUNCATED') && e.context.offset === cutAt);
      const notes: AofNotice[] = [];
      const got = await readAll(part, cuts.filter((c) => c < end), { truncated: 'load', onNotice: (n) => notes.push(n) });
      assert.deepEqual(got, ['0:SET a 1@0']);
      assert.equal(notes.length, 1);
      assert.equal(notes[0]!.offset, cutAt);
    }
  }
});

test('dangling MULTI: error at the MULTI offset; load drops the block; not last file must be whole', async () => {
  const buf = Buffer.concat([resp('SET', 'a', '1'), resp('MULTI'), resp('SET', 'b', '2')]);
  const multiAt = resp('SET', 'a', '1').length;
  await assert.rejects(readAll(buf, []), (e: unknown) => isFerryError(e, 'AOF_TRUNCATED') && e.context.offset === multiAt);
  assert.deepEqual(await readAll(buf, [], { truncated: 'load' }), ['0:SET a 1@0']);
  await assert.rejects(readAll(buf, [], { truncated: 'load', isLast: false }), (e: unknown) => isFerryError(e, 'AOF_TRUNCATED'));
});

test('refused commands fail by default and are skipped and reported on request', async () => {
  const buf = Buffer.concat([resp('SET', 'a', '1'), resp('flushall'), resp('SCRIPT', 'LOAD', 'return 1'), resp('SCRIPT', 'FLUSH')]);
  await assert.rejects(readAll(buf, []), (e: unknown) => isFerryError(e, 'AOF_COMMAND_REFUSED') && e.context.offset === resp('SET', 'a', '1').length);
  const notes: AofNotice[] = [];
  const got = await readAll(buf, [], { refused: 'skip', onNotice: (n) => notes.push(n) });
  assert.equal(got.length, 2);
  assert.match(got[1]!, /^0:SCRIPT LOAD return 1/);
  assert.deepEqual(notes.map((n) => n.kind), ['refused', 'refused']);
});

test('corrupt input is AOF_CORRUPT with the offset; lengths are limited before allocation', async () => {
  const cases: [Buffer, number][] = [
    [Buffer.concat([resp('SET', 'a', '1'), Buffer.from('+OK\r\n')]), 27],
    [Buffer.from('*1\r\n$3\r\nSETxx'), 11],
    [Buffer.from('*x\r\n'), 0],
    [Buffer.from('*1\r\n$99999999999999\r\n'), 4],
    [Buffer.from('*0\r\n'), 4],
    [resp('EXEC'), 0],
    [resp('SELECT', 'abc'), 0],
  ];
  for (const [buf, offset] of cases) {
    await assert.rejects(readAll(buf, []), (e: unknown) => isFerryError(e, 'AOF_CORRUPT') && e.context.offset === offset, buf.toString('latin1'));
  }
  await assert.rejects(readAll(Buffer.from('*1\r\n$100\r\n'), [], { limits: { maxArgBytes: 10 } }), (e: unknown) => isFerryError(e, 'AOF_CORRUPT'));
});

test('a big argument parses linearly across many small chunks', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  const buf = Buffer.concat([resp('SET', 'big', big), resp('SET', 'after', '1')]);
  const cuts: number[] = [];
  for (let i = 4096; i < buf.length; i += 4096) cuts.push(i);
  const out: ImportRecord[] = [];
  for await (const b of readAof(new ByteSource(chunks(buf, cuts), { name: 'big.aof' }))) out.push(...b);
  assert.equal(out.length, 2);
  const first = out[0]!;
  assert.ok(first.kind === 'command' && first.argv[2]!.equals(big));
});

test('an AOF with an RDB preamble (corpus) reads the same at every split: RDB records, then commands', async () => {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { CORPUS } = await import('../helpers/redis-server.js');
  const buf = await readFile(join(CORPUS, 'redis-tests', 'rdb-preamble.aof'));
  const showAll = async (cuts: number[]): Promise<string[]> => {
    const out: string[] = [];
    for await (const b of readAof(new ByteSource(chunks(buf, cuts), { name: 'p.aof' }))) {
      for (const r of b) out.push(r.kind === 'entry' ? `entry ${r.entry.db}:${r.entry.key}` : r.kind === 'command' ? `cmd ${r.db}:${r.argv.join(' ')}` : r.kind);
    }
    return out;
  };
  const expected = await showAll([]);
  assert.ok(expected.includes('end'));
  assert.ok(expected.filter((s) => s.startsWith('entry ')).length > 0);
  assert.ok(expected[expected.length - 1]!.startsWith('cmd '));
  for (const cuts of splits(buf.length)) assert.deepEqual(await showAll(cuts), expected, `cuts ${cuts.join(',')}`);
});

// ---- the checking pass (aof-check.ts, resp-scan.ts) must stop on exactly what the reader stops on

type Verdict = { code: string; message: string; offset: number | undefined } | null;

function verdictOf(e: unknown): Verdict {
  if (!isFerryError(e)) throw e;
  return { code: e.code, message: e.message, offset: e.context.offset };
}

async function readVerdict(buf: Buffer, cuts: number[], opts: AofReadOptions = {}): Promise<Verdict> {
  try {
    for await (const _ of readAof(new ByteSource(chunks(buf, cuts), { name: 't.aof' }), { batchSize: 3, ...opts })) {
      /* drain */
    }
    return null;
  } catch (e) {
    return verdictOf(e);
  }
}

async function checkVerdict(buf: Buffer, cuts: number[], opts: AofReadOptions = {}): Promise<Verdict> {
  try {
    await checkAof(new ByteSource(chunks(buf, cuts), { name: 't.aof' }), opts);
    return null;
  } catch (e) {
    return verdictOf(e);
  }
}

const policies: AofReadOptions[] = [{}, { truncated: 'load' }, { refused: 'skip' }, { truncated: 'load', isLast: false }, { limits: { maxAnnotation: 20, maxArgs: 5, maxArgBytes: 1000 } }];

async function sameVerdict(buf: Buffer, cuts: number[], label: string): Promise<void> {
  for (const opts of policies) {
    assert.deepEqual(await checkVerdict(buf, cuts, opts), await readVerdict(buf, cuts, opts), `${label} ${JSON.stringify(opts)} cuts ${cuts.join(',')}`);
  }
}

test('checking pass: the same verdict (code, message, offset) as the reader, on every prefix of an AOF and at every split', async () => {
  const body = Buffer.concat([sample, resp('FLUSHALL'), resp('MULTI'), resp('SET', 'y', '1')]);
  assert.equal(await checkVerdict(sample, []), null);
  for (let end = 0; end <= body.length; end++) {
    const part = body.subarray(0, end);
    await sameVerdict(part, [], `prefix ${end}`);
    await sameVerdict(part, [Math.floor(end / 2)], `prefix ${end}`);
  }
  for (const cuts of splits(sample.length)) await sameVerdict(sample, cuts, 'sample');
});

test('checking pass: the same verdict as the reader on corrupt, refused and unbalanced input', async () => {
  const cases = [
    Buffer.concat([resp('SET', 'a', '1'), Buffer.from('+OK\r\n')]),
    Buffer.from('*1\r\n$3\r\nSETxx'),
    Buffer.from('*1\r\n$3\r\nSET\rx'),
    Buffer.from('*x\r\n'),
    Buffer.from('*\r\n'),
    Buffer.from('*1\rx'),
    Buffer.from('*1\r\n$99999999999999\r\n'),
    Buffer.from('*9999999999\r\n'),
    Buffer.from('*1\r\n*3\r\n'),
    Buffer.from('*0\r\n'),
    Buffer.from('*1\r\n$0\r\n\r\n'),
    Buffer.from('#' + 'x'.repeat(40) + '\n' + '*1\r\n$4\r\nPING\r\n'),
    Buffer.from('#short\n#' + 'y'.repeat(19) + '\r\n'),
    resp('EXEC'),
    resp('DISCARD'),
    Buffer.concat([resp('MULTI'), resp('MULTI')]),
    Buffer.concat([resp('MULTI'), resp('SET', 'a', '1'), resp('DISCARD'), resp('EXEC')]),
    Buffer.concat([resp('MULTI'), resp('FLUSHDB'), resp('EXEC')]),
    resp('SELECT', 'abc'),
    resp('SELECT', '1234567890'),
    resp('SELECT', '12345678901234567890'),
    resp('select', '1', '2'),
    resp('SELECT'),
    resp('SeLeCt', '7'),
    resp('SCRIPT', 'LOAD', 'return 1'),
    resp('script', 'load'),
    resp('SCRIPT', 'FLUSH'),
    resp('FUNCTION', 'LOADX', 'x'),
    resp('CONFIG', 'SET', 'a', 'b'),
    resp('x'.repeat(33)),
    resp('flushall'.padEnd(32, 'x')),
    Buffer.concat([resp('SET', 'a', '1'), resp('SET', 'a', '1'), resp('flushall'), resp('flushall')]),
    resp('SET', 'k', 'v', 'x', 'y', 'z'),
    resp('SET', 'k', Buffer.alloc(2000)),
  ];
  for (const buf of cases) {
    await sameVerdict(buf, [], buf.toString('latin1'));
    for (const cuts of splits(Math.min(buf.length, 64))) await sameVerdict(buf, cuts, buf.toString('latin1'));
  }
});

test('checking pass: the same verdict as the reader on randomly damaged AOFs', async () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const body = Buffer.concat([sample, resp('MULTI'), resp('SET', 'q', 'r'), resp('EXEC'), resp('SCRIPT', 'LOAD', 'x')]);
  const bytes = [0x2a, 0x24, 0x23, 0x0d, 0x0a, 0x30, 0x39, 0x31, 0x00, 0x41];
  for (let i = 0; i < 1500; i++) {
    const buf = Buffer.from(body);
    for (let k = 1 + rand(3); k > 0; k--) buf[rand(buf.length)] = bytes[rand(bytes.length)]!;
    const end = rand(4) === 0 ? rand(buf.length + 1) : buf.length;
    const part = buf.subarray(0, end);
    await sameVerdict(part, part.length > 1 ? [1 + rand(part.length - 1)] : [], `damaged #${i}`);
  }
});

test('checking pass: an AOF with an RDB preamble is walked to its RESP part; a plain RDB is not walked', async () => {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { CORPUS } = await import('../helpers/redis-server.js');
  const buf = await readFile(join(CORPUS, 'redis-tests', 'rdb-preamble.aof'));
  assert.ok(declaresAofPreamble(buf));
  const whole = Buffer.concat([buf, resp('MULTI'), resp('SET', 'z', '1'), resp('EXEC')]);
  for (let end = whole.length; end > buf.indexOf('*2\r\n$6\r\nSELECT'); end--) {
    await sameVerdict(whole.subarray(0, end), [], `preamble cut ${end}`);
    await sameVerdict(whole.subarray(0, end), [end >> 1], `preamble cut ${end}`);
  }
  await sameVerdict(Buffer.concat([buf, resp('FLUSHALL')]), [], 'preamble + FLUSHALL');
  await sameVerdict(Buffer.concat([buf, resp('MULTI')]), [], 'preamble + MULTI');
  // A plain RDB (no aof-preamble/aof-base aux field) is left to the RDB parser: the check reads its head only.
  const rdb = await readFile(join(CORPUS, 'rdb-tools', 'multiple_databases.rdb'));
  assert.equal(declaresAofPreamble(rdb), false);
  assert.equal(checkedFile(rdb, {}), false);
  assert.equal(checkedFile(buf, {}), true);
  assert.equal(checkedFile(resp('SET', 'a', '1'), {}), true);
  assert.equal(checkedFile(resp('SET', 'a', '1'), { truncated: 'load', refused: 'skip' }), false);
  assert.equal(await checkVerdict(Buffer.concat([rdb, resp('MULTI')]), []), null);
});

test('checking pass: argument bytes are skipped, not buffered (a 64 MiB argument in 64 KiB chunks)', async () => {
  const size = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const head = Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${size}\r\n`);
  async function* stream(): AsyncGenerator<Buffer> {
    yield head;
    for (let n = 0; n < size; n += chunk.length) yield chunk;
    yield Buffer.from('\r\n');
    yield resp('MULTI');
  }
  const before = process.memoryUsage().arrayBuffers;
  await assert.rejects(checkAof(new ByteSource(stream(), { name: 'big.aof' })), (e: unknown) => isFerryError(e, 'AOF_TRUNCATED') && e.context.offset === head.length + size + 2);
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024, 'no argument held whole');
});
