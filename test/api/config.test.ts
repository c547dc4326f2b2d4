/**
 * Configuration: a YAML file with every top-level key, env overrides, errors that name the file and
 * field, PostgreSQL refused clearly, and the embedded default (credentials generated once and kept).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { applyEmbeddedDefaults } from '../../src/config/embedded-defaults.js';
import { FerryError } from '../../src/errors/ferry-error.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function refused(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FerryError, String(err));
    return err;
  }
  assert.fail('expected a FerryError');
}

test('the commented example in examples/ferry.yaml loads', () => {
  const c = loadConfig({ configPath: new URL('../../examples/ferry.yaml', import.meta.url).pathname, env: {}, cwd: dir });
  assert.equal(c.listen.port, 8080);
  assert.ok(c.projects.length >= 1 && c.instances.length >= 1 && c.buckets.length >= 1);
});

test('a YAML file with every key, defaults filled, env overrides applied', () => {
  const file = write(
    'full.yaml',
    `listen: "0.0.0.0:9090"
data_dir: ./d
projects:
  - id: p1
    tokens: [tok-aaaaaaaa]
    credentials: [{ak: AK1, sk: SK1}]
instances:
  - {id: i1, project: p1, name: redis-a, type: cluster, addrs: "127.0.0.1:7000,127.0.0.1:7001", password: pw}
buckets:
  - {name: local-b, path: ./bk}
  - {name: obs-b, endpoint: "http://127.0.0.1:9000", region: r1, access_key: a, secret_key: s, path_style: true}
tasks: {concurrency: 3, on_restart: fail}
`,
  );
  const c = loadConfig({ configPath: file, env: {}, cwd: dir });
  assert.deepEqual(c.listen, { host: '0.0.0.0', port: 9090 });
  assert.equal(c.dataDir, join(dir, 'd'));
  assert.deepEqual(c.store, { kind: 'sqlite', path: join(dir, 'd', 'ferry.db') });
  assert.equal(c.instances[0]!.type, 'cluster');
  assert.deepEqual(c.buckets[0], { name: 'local-b', path: join(dir, 'bk') });
  assert.deepEqual(c.tasks, { concurrency: 3, onRestart: 'fail', maxAttempts: 3, leaseMs: 30_000, workerMaxInflightBytes: null, pollMs: 1000 });
  assert.equal(c.origin.file, file);

  const e = loadConfig({ configPath: file, env: { FERRY_LISTEN: '127.0.0.1:0', FERRY_STORE: 'sqlite:/tmp/x.db', FERRY_TASK_CONCURRENCY: '5' }, cwd: dir });
  assert.deepEqual(e.listen, { host: '127.0.0.1', port: 0 });
  assert.deepEqual(e.store, { kind: 'sqlite', path: '/tmp/x.db' });
  assert.equal(e.tasks.concurrency, 5);
});

test('JSON works too; ./ferry.yaml is found without --config', () => {
  const sub = join(dir, 'cwd');
  mkdirSync(sub);
  writeFileSync(join(sub, 'ferry.yaml'), 'listen: "127.0.0.1:1234"\n');
  assert.equal(loadConfig({ env: {}, cwd: sub }).listen.port, 1234);
  const j = write('c.json', JSON.stringify({ listen: '127.0.0.1:4321', projects: [{ id: 'p' }] }));
  assert.equal(loadConfig({ configPath: j, env: {}, cwd: dir }).listen.port, 4321);
});

test('errors name the file and the field', () => {
  const cases: [string, string, RegExp][] = [
    ['bad1.yaml', 'listen: 8080\n', /listen/],
    ['bad2.yaml', 'projects: [{id: p1}]\ninstances: [{id: i, project: nope, name: n, type: single, addrs: "h:1"}]\n', /instances\[0\]\.project/],
    ['bad3.yaml', 'projects: [{id: p1}]\ninstances: [{id: i, project: p1, name: n, type: single, addrs: "nohost"}]\n', /instances\[0\]\.addrs/],
    ['bad4.yaml', 'projects: [{id: p1}]\ninstances: [{id: i, project: p1, name: n, type: weird, addrs: "h:1"}]\n', /instances\.0\.type/],
    ['bad5.yaml', 'buckets: [{name: bk, path: /x, endpoint: "http://h"}]\n', /buckets\[0\]\.endpoint/],
    ['bad6.yaml', 'projects: [{id: p1, tokens: [same-token-1]}, {id: p2, tokens: [same-token-1]}]\n', /tokens/],
    ['bad7.yaml', 'listen: [unclosed\n', /not valid YAML/],
    ['bad8.yaml', 'surprise: 1\n', /surprise|additional/i],
  ];
  for (const [name, text, re] of cases) {
    const file = write(name, text);
    const err = refused(() => loadConfig({ configPath: file, env: {}, cwd: dir }));
    assert.equal(err.code, 'CONFIG_INVALID', name);
    assert.match(err.message, re, name);
    assert.ok(err.message.includes(file), `${name}: ${err.message}`);
  }
  assert.equal(refused(() => loadConfig({ configPath: join(dir, 'missing.yaml'), env: {}, cwd: dir })).code, 'CONFIG_INVALID');
});

test('a PostgreSQL store URL is taken as is; a bad schema name is refused naming the field', () => {
  assert.deepEqual(loadConfig({ env: { FERRY_STORE: 'postgres://u@127.0.0.1/ferry?schema=tenant_a' }, cwd: dir }).store, { kind: 'postgres', url: 'postgres://u@127.0.0.1/ferry?schema=tenant_a' });
  const err = refused(() => loadConfig({ env: { FERRY_STORE: 'postgres://u@127.0.0.1/ferry?schema=a;drop' }, cwd: dir }));
  assert.equal(err.code, 'CONFIG_INVALID');
  assert.match(err.message, /schema "a;drop" must be a plain identifier/);
});

test('embedded default: credentials generated once (0600), kept across restarts, buckets from folders', async () => {
  const dataDir = join(dir, 'embedded');
  const base = loadConfig({ env: { FERRY_DATA_DIR: dataDir }, cwd: join(dir, 'cwd-none-' + process.pid) });
  const first = await applyEmbeddedDefaults(base);
  assert.ok(first.generated);
  assert.equal(statSync(join(dataDir, 'bootstrap.json')).mode & 0o777, 0o600);
  assert.equal(first.config.projects[0]!.id, first.generated.project_id);
  assert.deepEqual(first.config.projects[0]!.tokens, [first.generated.token]);
  // `backups` is the default backup_bucket (issue #6), a local folder created on first use.
  assert.deepEqual(first.config.buckets.map((b) => b.name).sort(), ['backups', 'default']);
  mkdirSync(join(dataDir, 'buckets', 'more'));
  const second = await applyEmbeddedDefaults(base);
  assert.equal(second.generated, null);
  assert.equal(second.config.projects[0]!.id, first.config.projects[0]!.id);
  assert.deepEqual(second.config.buckets.map((b) => b.name).sort(), ['backups', 'default', 'more']);
  assert.deepEqual(JSON.parse(readFileSync(join(dataDir, 'bootstrap.json'), 'utf8')).token, first.generated.token);
  // Instances: the local redis is registered only when 127.0.0.1:6379 answers.
  assert.equal(second.config.instances.length, second.localRedis ? 1 : 0);
});
