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
