/**
 * Reading an input to its end closes its file at once: the RDB parser stops at the EOF opcode
 * without asking the stream for its end, and a file reader left suspended kept its descriptor open
 * until the GC closed it (Node warns, DEP0137, and a server running many imports could run out).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openInputs } from '../../src/source/index.js';
import { CORPUS } from '../helpers/redis-server.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

for (const [rel, what] of [['generated/redis-7.0.rdb', 'an RDB'], ['redis-tests/encodings.rdb', 'a small RDB']] as const) {
  for (const leased of [false, true]) {
    test(`${what} read to its end leaves no file open (leased ${leased})`, async () => {
      const before = openFds();
      const [input] = await openInputs([join(CORPUS, rel)], { leased });
      let records = 0;
      for await (const batch of input!.records()) records += batch.length;
      assert.ok(records > 1);
      assert.equal(openFds(), before, 'the file descriptor is closed when the records end');
    });
  }
}

test('an input abandoned halfway is closed too', async () => {
  const before = openFds();
  const [input] = await openInputs([join(CORPUS, 'generated/redis-7.0.rdb')], {});
  for await (const batch of input!.records()) {
    assert.ok(batch.length > 0);
    break;
  }
  assert.equal(openFds(), before);
});
