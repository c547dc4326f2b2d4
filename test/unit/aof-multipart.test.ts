import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readMultipart } from '../../src/aof/multipart.js';
import { parseManifest } from '../../src/aof/manifest.js';
import { isFerryError } from '../../src/errors/ferry-error.js';
import type { AofNotice } from '../../src/aof/aof-reader.js';
import type { ImportRecord } from '../../src/pipeline/types.js';

const set = (k: string, v: string): string => `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`;
const manifest = parseManifest('file a.base.aof seq 1 type b\nfile a.1.incr.aof seq 1 type i\nfile a.2.incr.aof seq 2 type i\n');

async function run(files: Record<string, string>, truncated: 'error' | 'load', notes: AofNotice[] = []): Promise<string[]> {
  const out: ImportRecord[] = [];
  const open = async (f: string): Promise<AsyncIterable<Buffer>> => (async function* () {
    yield Buffer.from(files[f]!);
  })();
  for await (const b of readMultipart(manifest, open, { truncated, onNotice: (n) => notes.push(n), namePrefix: 'dir' })) out.push(...b);
  return out.map((r) => (r.kind === 'command' ? `${r.db}:${r.argv.join(' ')}` : r.kind));
}

test('base then incrs in order; each file starts in db 0', async () => {
  const got = await run({ 'a.base.aof': `*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n${set('a', '1')}`, 'a.1.incr.aof': set('b', '2'), 'a.2.incr.aof': '' }, 'error');
  assert.deepEqual(got, ['5:SET a 1', '0:SET b 2']);
});

test('only the last file may be truncated, and only with load', async () => {
  const cut = set('c', '3').slice(0, -3);
  const notes: AofNotice[] = [];
  assert.deepEqual(await run({ 'a.base.aof': set('a', '1'), 'a.1.incr.aof': set('b', '2'), 'a.2.incr.aof': set('x', '9') + cut }, 'load', notes), ['0:SET a 1', '0:SET b 2', '0:SET x 9']);
  assert.equal(notes.length, 1);
  assert.equal(notes[0]!.file, 'dir/a.2.incr.aof');
  await assert.rejects(run({ 'a.base.aof': set('a', '1'), 'a.1.incr.aof': set('b', '2'), 'a.2.incr.aof': cut }, 'error'), (e: unknown) => isFerryError(e, 'AOF_TRUNCATED'));
  await assert.rejects(
    run({ 'a.base.aof': set('a', '1'), 'a.1.incr.aof': set('b', '2') + cut, 'a.2.incr.aof': set('x', '9') }, 'load'),
    (e: unknown) => isFerryError(e, 'AOF_TRUNCATED') && /only the last file/.test(e.message) && e.context.file === 'dir/a.1.incr.aof',
  );
});

/** Reads a set, counting records, until the end or an error. */
async function pull(files: Record<string, string | Buffer>, opts: { truncated?: 'error' | 'load'; refused?: 'error' | 'skip' } = {}): Promise<{ records: number; error: unknown; opened: string[] }> {
  const opened: string[] = [];
  const open = async (f: string): Promise<AsyncIterable<Buffer>> => {
    opened.push(f);
    return (async function* () {
      const b = Buffer.from(files[f]!);
      yield b.subarray(0, b.length >> 1);
      yield b.subarray(b.length >> 1);
    })();
  };
  let records = 0;
  try {
    for await (const b of readMultipart(manifest, open, { ...opts, namePrefix: 'dir' })) records += b.length;
    return { records, error: null, opened };
  } catch (error) {
    return { records, error, opened };
  }
}

test('every file is checked before any record: a truncated, unbalanced or refused file anywhere writes nothing', async () => {
  const cut = set('c', '3').slice(0, -3);
  const base = set('a', '1').repeat(50);
  const cases: [string, Record<string, string>, 'error' | 'load', string, string, number][] = [
    ['truncated middle', { 'a.base.aof': base, 'a.1.incr.aof': set('b', '2') + cut, 'a.2.incr.aof': set('x', '9') }, 'error', 'AOF_TRUNCATED', 'dir/a.1.incr.aof', set('b', '2').length],
    ['truncated middle, load', { 'a.base.aof': base, 'a.1.incr.aof': set('b', '2') + cut, 'a.2.incr.aof': set('x', '9') }, 'load', 'AOF_TRUNCATED', 'dir/a.1.incr.aof', set('b', '2').length],
    ['truncated last', { 'a.base.aof': base, 'a.1.incr.aof': set('b', '2'), 'a.2.incr.aof': set('x', '9') + cut }, 'error', 'AOF_TRUNCATED', 'dir/a.2.incr.aof', set('x', '9').length],
    ['dangling MULTI in the base', { 'a.base.aof': base + '*1\r\n$5\r\nMULTI\r\n' + set('m', '1'), 'a.1.incr.aof': set('b', '2'), 'a.2.incr.aof': '' }, 'load', 'AOF_TRUNCATED', 'dir/a.base.aof', base.length],
    ['FLUSHALL in the last', { 'a.base.aof': base, 'a.1.incr.aof': set('b', '2'), 'a.2.incr.aof': set('x', '9') + '*1\r\n$8\r\nFLUSHALL\r\n' }, 'error', 'AOF_COMMAND_REFUSED', 'dir/a.2.incr.aof', set('x', '9').length],
  ];
  for (const [label, files, truncated, code, file, offset] of cases) {
    const r = await pull(files, { truncated });
    assert.ok(isFerryError(r.error, code as 'AOF_TRUNCATED'), `${label}: ${String(r.error)}`);
    assert.equal(r.error.context.file, file, label);
    assert.equal(r.error.context.offset, offset, label);
    assert.equal(r.records, 0, `${label}: no record before the error`);
  }
  // Only the last file may be cut under load: it is checked, accepted, and its tail dropped by the reading pass.
  const ok = await pull({ 'a.base.aof': base, 'a.1.incr.aof': set('b', '2'), 'a.2.incr.aof': set('x', '9') + cut }, { truncated: 'load' });
  assert.deepEqual([ok.error, ok.records], [null, 52]);
  assert.deepEqual(ok.opened, ['a.base.aof', 'a.1.incr.aof', 'a.2.incr.aof', 'a.base.aof', 'a.1.incr.aof', 'a.2.incr.aof'], 'checked, then read');
  const lenient = await pull({ 'a.base.aof': base, 'a.1.incr.aof': set('b', '2'), 'a.2.incr.aof': set('x', '9') + cut }, { truncated: 'load', refused: 'skip' });
  assert.deepEqual(lenient.opened, ['a.base.aof', 'a.1.incr.aof', 'a.2.incr.aof'], 'no checking pass when both are tolerated');
});

test('a multi-part directory through openInputs: checked first (nothing from a cut middle file), both passes counted', async () => {
  const { mkdtemp, writeFile, rm, readFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { openInputs } = await import('../../src/source/index.js');
  const { CORPUS } = await import('../helpers/redis-server.js');
  const dir = await mkdtemp(join(tmpdir(), 'ferry-mp-'));
  try {
    // The base is an RDB that says it is an AOF preamble: it is checked (walked) too.
    const base = await readFile(join(CORPUS, 'redis-tests', 'rdb-preamble.aof'));
    await writeFile(join(dir, 'a.aof.manifest'), 'file a.base.rdb seq 1 type b\nfile a.1.incr.aof seq 1 type i\nfile a.2.incr.aof seq 2 type i\n');
    await writeFile(join(dir, 'a.base.rdb'), base);
    await writeFile(join(dir, 'a.1.incr.aof'), set('b', '2').repeat(10));
    await writeFile(join(dir, 'a.2.incr.aof'), set('c', '3'));
    const [whole] = await openInputs(dir);
    let records = 0;
    for await (const b of whole!.records()) records += b.length;
    assert.ok(records > 11);
    const sum = base.length + set('b', '2').length * 10 + set('c', '3').length;
    assert.equal(whole!.size, 2 * sum);
    assert.equal(whole!.bytesRead(), 2 * sum);
    await writeFile(join(dir, 'a.1.incr.aof'), set('b', '2').repeat(10) + '*2\r\n$3\r\nDEL');
    const [cut] = await openInputs(dir, { aofTruncated: 'load' });
    records = 0;
    await assert.rejects(
      (async () => {
        for await (const b of cut!.records()) records += b.length;
      })(),
      (e: unknown) => isFerryError(e, 'AOF_TRUNCATED') && /a\.1\.incr\.aof$/.test(String(e.context.file)) && e.context.offset === set('b', '2').length * 10,
    );
    assert.equal(records, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
