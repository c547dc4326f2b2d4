import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest, splitArgs, loadOrder, looksLikeManifest } from '../../src/aof/manifest.js';
import { isFerryError } from '../../src/errors/ferry-error.js';

test('splitArgs tokenises like sdssplitargs', () => {
  assert.deepEqual(splitArgs('file a seq 1 type b'), ['file', 'a', 'seq', '1', 'type', 'b']);
  assert.deepEqual(splitArgs('  file "a b\\x41\\n" seq \'it\\\'s\'  '), ['file', 'a bA\n', 'seq', "it's"]);
  assert.equal(splitArgs('file "abc'), null);
  assert.equal(splitArgs('file "abc"x'), null);
});

test('a Redis 7 manifest: base then incrs in order, history ignored, unknown keys ignored', () => {
  const m = parseManifest(
    [
      '# written by hand',
      'file appendonly.aof.1.base.rdb seq 1 type h',
      'file appendonly.aof.2.base.rdb seq 2 type b',
      'seq 3 type i file appendonly.aof.3.incr.aof extra x',
      'file "appendonly.aof.4.incr.aof" seq 4 type i',
      '',
    ].join('\n'),
    'appendonly.aof.manifest',
  );
  assert.deepEqual(loadOrder(m).map((f) => f.file), ['appendonly.aof.2.base.rdb', 'appendonly.aof.3.incr.aof', 'appendonly.aof.4.incr.aof']);
  assert.equal(m.history.length, 1);
  assert.ok(looksLikeManifest(Buffer.from('file appendonly.aof.2.base.rdb seq 2 type b\n')));
  assert.ok(!looksLikeManifest(Buffer.from('*1\r\n$4\r\nPING\r\n')));
});

test('bad manifests are AOF_CORRUPT naming the line', () => {
  const bad = [
    'file a seq 1',
    'file ../etc/passwd seq 1 type b',
    'file /abs seq 1 type b',
    'file a seq 1 type b\nfile b seq 2 type b',
    'file a seq 2 type i\nfile b seq 2 type i',
    'file a seq x type i',
    'file a seq 1 type z',
    '# nothing\n',
    'file "a seq 1 type b',
  ];
  for (const text of bad) {
    assert.throws(() => parseManifest(text, 'm'), (e: unknown) => isFerryError(e, 'AOF_CORRUPT') && typeof e.context.field === 'string', text);
  }
});
