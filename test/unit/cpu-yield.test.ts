/**
 * Yielding the CPU to a local target (src/cli/cpu-yield.ts): which targets count as local, and that
 * every thread of the process ends at the lowered priority (checked in a child process: a nice value
 * once raised cannot be lowered again without privileges).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { isLocalTarget } from '../../src/cli/cpu-yield.js';

const MODULE = join(import.meta.dirname, '../../src/cli/cpu-yield.ts');

test('isLocalTarget: loopback, localhost and this host\'s own interface addresses are local; others are not', async () => {
  assert.equal(await isLocalTarget([{ host: '127.0.0.1', port: 6379 }]), true);
  assert.equal(await isLocalTarget([{ host: '127.0.0.53', port: 6379 }]), true);
  assert.equal(await isLocalTarget([{ host: '::1', port: 6379 }]), true);
  assert.equal(await isLocalTarget([{ host: 'localhost', port: 6379 }]), true);
  const own = Object.values(networkInterfaces()).flat().find((a) => a && !a.internal);
  if (own) assert.equal(await isLocalTarget([{ host: own.address, port: 6379 }]), true, own.address);
  // Documentation addresses (RFC 5737 / 3849): never a host's own. Nothing is connected to.
  assert.equal(await isLocalTarget([{ host: '192.0.2.10', port: 6379 }]), false);
  assert.equal(await isLocalTarget([{ host: '2001:db8::1', port: 6379 }]), false);
  assert.equal(await isLocalTarget([{ host: 'no-such-host.invalid', port: 6379 }]), false);
  // A cluster seed list with one local address is local.
  assert.equal(await isLocalTarget([{ host: '192.0.2.10', port: 7000 }, { host: '127.0.0.1', port: 7001 }]), true);
});

test('lowerOwnPriority: every thread of the process (V8 and libuv ones included) ends at nice 10, and a second call changes nothing', { skip: existsSync('/proc/self/task') ? false : 'no /proc/self/task here' }, () => {
  // The child starts libuv's pool first (a file read), lowers, then starts more work, and reports each
  // thread's nice value (field 19 of /proc/self/task/TID/stat) and the two calls' counts.
  const code = `
    import { readFileSync, readdirSync } from 'node:fs';
    import { readFile } from 'node:fs/promises';
    const { lowerOwnPriority } = await import(${JSON.stringify(MODULE)});
    await readFile(${JSON.stringify(MODULE)});
    const first = lowerOwnPriority();
    const second = lowerOwnPriority();
    await Promise.all(Array.from({ length: 8 }, () => readFile(${JSON.stringify(MODULE)})));
    const nice = readdirSync('/proc/self/task').map((t) => {
      const s = readFileSync('/proc/self/task/' + t + '/stat', 'utf8');
      return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]);
    });
    console.log(JSON.stringify({ first, second, nice }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { first: number; second: number; nice: number[] };
  assert.ok(out.nice.length >= 5, `threads seen: ${out.nice.length}`);
  assert.ok(out.first >= 5, `threads lowered: ${out.first}`);
  assert.equal(out.second, 0);
  assert.deepEqual(out.nice.filter((n) => n !== 10), [], `nice values ${out.nice.join(' ')}`);
});
