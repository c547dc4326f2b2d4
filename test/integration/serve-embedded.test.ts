/**
 * `ferry serve` with no configuration at all, as a process in an empty directory: a project, token
 * and AK/SK are generated and printed once, kept in ./data/bootstrap.json so a restart keeps them
 * (and prints nothing); ./data/buckets/default exists; the local Redis at 127.0.0.1:6379 is
 * registered exactly when it answers.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pingRedis } from '../../src/config/ping-redis.js';
import { spawnServe } from './serve-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-embedded-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('no config: credentials generated and printed once, kept across a restart', async () => {
  const env = { FERRY_LISTEN: '127.0.0.1:0', FERRY_CONFIG: '' };
  const first = await spawnServe(null, dir, env);
  let boot: { project_id: string; token: string; ak: string; sk: string };
  try {
    await new Promise((r) => setTimeout(r, 200)); // the banner follows the listening line
    boot = JSON.parse(readFileSync(join(dir, 'data', 'bootstrap.json'), 'utf8'));
    assert.ok(first.output().includes(`X-Auth-Token: ${boot.token}`));
    assert.ok(first.output().includes(`project_id:   ${boot.project_id}`));
    assert.ok(existsSync(join(dir, 'data', 'buckets', 'default')));
    assert.ok(existsSync(join(dir, 'data', 'ferry.db')));
    const r = await fetch(`${first.url}/v2/${boot.project_id}/instances`, { headers: { 'x-auth-token': boot.token } });
    assert.equal(r.status, 200);
    const inst = (await r.json()) as { instance_num: number; instances: { addrs: string }[] };
    const local = await pingRedis('127.0.0.1', 6379, 500);
    assert.equal(inst.instance_num, local ? 1 : 0);
    if (local) assert.equal(inst.instances[0]!.addrs, '127.0.0.1:6379');
  } finally {
    assert.equal(await first.stop(), 0);
  }
  const second = await spawnServe(null, dir, env);
  try {
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!second.output().includes('X-Auth-Token:'), 'printed only once');
    const r = await fetch(`${second.url}/v2/${boot.project_id}/migration-tasks`, { headers: { 'x-auth-token': boot.token } });
    assert.equal(r.status, 200);
  } finally {
    await second.stop();
  }
});
