/**
 * Contract tests for every migration-task and instance route, through fastify.inject against the
 * real service (SQLite store, runner, import engine, a real redis-server, a local bucket over the
 * shared corpus): shapes, string-typed numbers, every DCS error code the issue names, pagination,
 * masking of passwords, project isolation, X-Request-Id, OpenAPI and metrics.
 */
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { startHarness, waitStatus, type Harness } from './harness.js';
import { startRedis, CORPUS, digest, type RedisServer } from '../helpers/redis-server.js';
import type { NewTask } from '../../src/store/contract.js';

const PA = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const PB = 'ffeeddccbbaa99887766554433221100';
const TA = 'token-project-a-0001';
const TB = 'token-project-b-0001';
const PASSWORD = 'S3cret-target-pw!';

let redis: RedisServer;
let other: RedisServer;
let h: Harness;
let app: FastifyInstance;

before(async () => {
  redis = await startRedis({ password: PASSWORD });
  other = await startRedis();
  h = await startHarness({
    projects: [
      { id: PA, tokens: [TA], credentials: [] },
      { id: PB, tokens: [TB], credentials: [] },
    ],
    instances: [
      { id: 'inst-a', project: PA, name: 'redis-a', type: 'single', addrs: `127.0.0.1:${redis.port}`, password: PASSWORD },
      { id: 'inst-a2', project: PA, name: 'redis-a2', type: 'master_standby', addrs: `127.0.0.1:${other.port}` },
      { id: 'inst-down', project: PA, name: 'down', type: 'single', addrs: '127.0.0.1:1' },
      { id: 'inst-b', project: PB, name: 'redis-b', type: 'single', addrs: `127.0.0.1:${other.port}` },
    ],
    buckets: [
      { name: 'corpus', path: `${CORPUS}/generated` },
      { name: 'tests', path: `${CORPUS}/redis-tests` },
    ],
  });
  app = h.app;
});

after(async () => {
  await h?.close();
  await redis?.stop();
  await other?.stop();
});

function call(o: InjectOptions & { token?: string | null }) {
  const headers: Record<string, string> = { ...(o.headers as Record<string, string> | undefined) };
  if (o.token !== null) headers['x-auth-token'] = o.token ?? TA;
  if (o.payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  return app.inject({ ...o, headers });
}

function createBody(over: Record<string, unknown> = {}, target: Record<string, unknown> = {}) {
  return {
    task_name: 'import-task',
    description: 'from the corpus',
    migration_type: 'backupfile_import',
    migration_method: 'full_amount_migration',
    backup_files: { file_source: 'self_build_obs', bucket_name: 'corpus', files: [{ file_name: 'redis-7.0.rdb', size: '170363', update_at: '2026-11-27 00:00:00' }] },
    target_instance: { id: 'inst-a', password: PASSWORD, ...target },
    ...over,
  };
}

function assertError(r: { statusCode: number; json(): unknown; headers: Record<string, unknown> }, status: number, code: string, msg?: RegExp) {
  const body = r.json() as { error_code: string; error_msg: string; error_ext_msg: string | null };
  assert.equal(r.statusCode, status, JSON.stringify(body));
  assert.equal(body.error_code, code, JSON.stringify(body));
  assert.equal(typeof body.error_msg, 'string');
  assert.ok('error_ext_msg' in body);
  assert.match(String(r.headers['x-request-id']), /^[0-9a-f]{32}$/);
  if (msg) assert.match(body.error_msg + ' ' + (body.error_ext_msg ?? ''), msg);
}

let n = 0;
/** A task row put straight into the store (for states an import passes through too fast to catch). */
function seed(over: Partial<NewTask> & { target?: string } = {}) {
  n++;
  return h.store.createTask(
    {
      id: over.id ?? `seeded-${n}`,
      project_id: over.project_id ?? PA,
      name: over.name ?? `seeded-${n}`,
      description: '',
      migration_type: 'backupfile_import',
      migration_method: 'full_amount_migration',
      spec: { file_source: 'self_build_obs', bucket_name: 'corpus', files: [{ file_name: 'x.rdb' }], backup_id: null, target: { id: over.target ?? `ghost-${n}`, name: 'ghost', addrs: '127.0.0.1:1', db: null, proxy_multi_db: null } },
    },
    Date.now() + n,
  );
}

describe('create, show, stats, logs: a real import', () => {
  let id = '';
  test('create answers at once with {id, name, status: MIGRATING, error: ""}', async () => {
    const r = await call({ method: 'POST', url: `/v2/${PA}/migration-task`, payload: createBody() });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json();
    assert.deepEqual(Object.keys(body).sort(), ['error', 'id', 'name', 'status']);
    assert.equal(body.name, 'import-task');
    assert.equal(body.status, 'MIGRATING');
    assert.equal(body.error, '');
    id = body.id;
  });

  test('the task ends SUCCESS and the target holds exactly the backup', async () => {
    const d = await waitStatus(app, PA, TA, id, (s) => s !== 'MIGRATING');
    assert.equal(d.status, 'SUCCESS', JSON.stringify(d));
    const ref = await startRedis({ rdbFile: `${CORPUS}/generated/redis-7.0.rdb` });
    try {
      assert.equal(await digest(redis.client()), await digest(ref.client()));
    } finally {
      await ref.stop();
    }
  });

  test('show: the DCS detail shape, numbers as strings, no password anywhere', async () => {
    const r = await call({ method: 'GET', url: `/v2/${PA}/migration-task/${id}` });
    assert.equal(r.statusCode, 200);
    const d = r.json();
    for (const k of ['task_id', 'task_name', 'description', 'status', 'migration_type', 'migration_method', 'ecs_tenant_private_ip', 'backup_files', 'network_type', 'source_instance', 'target_instance', 'created_at', 'updated_at', 'released_at', 'version', 'resume_mode', 'supported_features', 'tenant_vpc_id', 'tenant_subnet_id', 'tenant_security_group_id', 'bandwidth_limit_mb', 'task_status']) {
      assert.ok(k in d, `missing ${k}`);
    }
    assert.equal(d.task_id, id);
    assert.equal(d.backup_files.bucket_name, 'corpus');
    assert.deepEqual(d.backup_files.files, [{ file_name: 'redis-7.0.rdb', size: '170363', update_at: '2026-11-27 00:00:00' }]);
    assert.equal(d.target_instance.id, 'inst-a');
    assert.equal(d.target_instance.port, String(redis.port));
    assert.equal(typeof d.target_instance.port, 'string');
    assert.match(d.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(d.error_message, null);
    assert.ok(!r.body.includes(PASSWORD));
    assert.ok(!('password' in d.target_instance));
  });

  test('stats: strings, 100.00 percent, keys and bytes', async () => {
    const r = await call({ method: 'GET', url: `/v2/${PA}/migration-task/${id}/stats` });
    const s = r.json();
    assert.equal(r.statusCode, 200);
    assert.equal(s.full_migration_progress, '100.00');
    assert.equal(s.is_migrating, false);
    assert.equal(s.read_bytes, '170363');
    assert.ok(Number(s.imported_keys) > 50);
    for (const k of ['full_migration_progress', 'offset', 'source_dbsize', 'target_dbsize', 'target_input_kbps', 'target_ops', 'imported_keys', 'keys_per_second']) assert.equal(typeof s[k], 'string', k);
  });

  test('logs: INFO entries with codes, filtered and paginated', async () => {
    const all = (await call({ method: 'GET', url: `/v2/${PA}/migration-task/${id}/logs?limit=100` })).json();
    assert.ok(all.log_num >= 3);
    const codes = all.migration_logs.map((l: { log_code: string }) => l.log_code);
    assert.ok(codes.includes('MIGRATION_CREATED') && codes.includes('MIGRATION_SUCCESS'), codes.join());
    for (const l of all.migration_logs) assert.deepEqual(Object.keys(l).sort(), ['created_at', 'keyword', 'log_code', 'log_level', 'message']);
    const page = (await call({ method: 'GET', url: `/v2/${PA}/migration-task/${id}/logs?offset=1&limit=1` })).json();
    assert.equal(page.migration_logs.length, 1);
    assert.equal(page.log_num, all.log_num);
    assert.equal(page.migration_logs[0].log_code, codes[1]);
    const errs = (await call({ method: 'GET', url: `/v2/${PA}/migration-task/${id}/logs?log_level=ERROR` })).json();
    assert.deepEqual(errs, { log_num: 0, migration_logs: [] });
  });

  test('the password never reached a log line', () => {
    assert.ok(h.logs().length > 0);
    assert.ok(!h.logs().includes(PASSWORD));
  });
});

describe('create: pre-checks and field errors', () => {
  const cases: [string, unknown, number, string, RegExp?][] = [
    ['online_migration is refused', createBody({ migration_type: 'online_migration' }), 400, 'DCS.4062', /migration_type/],
    ['bad task_name', createBody({ task_name: '1x' }), 400, 'DCS.4062', /task_name/],
    ['bad migration_method', createBody({ migration_method: 'magic' }), 400, 'DCS.4062', /migration_method/],
    ['no target id', { ...createBody(), target_instance: { password: PASSWORD } }, 400, 'DCS.4062', /id parameter/],
    ['no files', createBody({ backup_files: { file_source: 'self_build_obs', bucket_name: 'corpus', files: [] } }), 400, 'DCS.4062', /files/],
    ['no bucket', createBody({ backup_files: { file_source: 'self_build_obs', files: [{ file_name: 'a.rdb' }] } }), 400, 'DCS.4062', /bucket_name/],
    ['unknown bucket', createBody({ backup_files: { bucket_name: 'nope', files: [{ file_name: 'a.rdb' }] } }), 400, 'DCS.4062', /bucket_name/],
    ['backup_record without backup_id', createBody({ backup_files: { file_source: 'backup_record' } }), 400, 'DCS.4062', /backup_id/],
    ['unknown target instance', createBody({}, { id: 'inst-nope' }), 404, 'DCS.3022'],
    ['another project\'s instance', createBody({}, { id: 'inst-b', password: undefined }), 404, 'DCS.3022'],
    ['wrong password', createBody({}, { password: 'wrong' }), 400, 'DCS.4080', /password verify failed/],
    ['missing password', createBody({}, { password: undefined }), 400, 'DCS.4080'],
    ['unreachable target', createBody({}, { id: 'inst-down', password: undefined }), 400, 'DCS.4049'],
  ];
  for (const [name, body, status, code, msg] of cases) {
    test(name, async () => assertError(await call({ method: 'POST', url: `/v2/${PA}/migration-task`, payload: JSON.stringify(body) }), status, code, msg));
  }

  test('bad JSON is DCS.4005, an empty body DCS.4004', async () => {
    assertError(await call({ method: 'POST', url: `/v2/${PA}/migration-task`, payload: '{"task_name": ' }), 400, 'DCS.4005');
    assertError(await call({ method: 'POST', url: `/v2/${PA}/migration-task`, payload: '' }), 400, 'DCS.4004');
  });

  test('Content-Type application/json;charset=UTF-8 is accepted', async () => {
    const r = await call({ method: 'POST', url: `/v2/${PA}/migration-task`, headers: { 'content-type': 'application/json;charset=UTF-8' }, payload: JSON.stringify(createBody({}, { password: 'wrong' })) });
    assertError(r, 400, 'DCS.4080'); // reached the password check, so the body was read
  });

  test('a missing file: created, then FAILED at once with the reason in error and logs', async () => {
    const r = await call({ method: 'POST', url: `/v2/${PA}/migration-task`, payload: createBody({ task_name: 'missing-file', backup_files: { bucket_name: 'corpus', files: [{ file_name: 'no-such.rdb' }] } }, { id: 'inst-a2', password: undefined }) });
    assert.equal(r.statusCode, 200, r.body);
    const c = r.json();
    assert.equal(c.status, 'FAILED');
    assert.match(c.error, /no-such\.rdb/);
    const d = (await call({ method: 'GET', url: `/v2/${PA}/migration-task/${c.id}` })).json();
    assert.equal(d.status, 'FAILED');
    assert.equal(d.error_code, 'FERRY.4201');
    const logs = (await call({ method: 'GET', url: `/v2/${PA}/migration-task/${c.id}/logs?log_level=ERROR` })).json();
    assert.equal(logs.log_num, 1);
    assert.match(logs.migration_logs[0].message, /SOURCE_NOT_FOUND.*no-such\.rdb/);
  });

  test('a corrupt file ends FAILED with the offset in the message', async () => {
    const r = await call({ method: 'POST', url: `/v2/${PA}/migration-task`, payload: createBody({ task_name: 'corrupt-file', backup_files: { bucket_name: 'tests', files: [{ file_name: 'corrupt_ziplist.rdb' }] } }, { id: 'inst-a2', password: undefined }) });
    assert.equal(r.statusCode, 200, r.body);
    const d = await waitStatus(app, PA, TA, r.json().id, (s) => s !== 'MIGRATING');
    assert.equal(d.status, 'FAILED', JSON.stringify(d));
    assert.match(String(d.error_message), /offset \d+/);
  });

  test('a second task on a busy target is DCS.4017', async () => {
    const busy = await seed({ target: 'inst-a' });
    try {
      assertError(await call({ method: 'POST', url: `/v2/${PA}/migration-task`, payload: createBody() }), 400, 'DCS.4017');
    } finally {
      await h.store.transition(busy.id, ['MIGRATING', 'TERMINATING'], 'TERMINATED', {}, Date.now());
    }
  });
});

describe('request edge cases', () => {
  test('two creates racing for one target: exactly one wins, the other is DCS.4017', async () => {
    const body = (name: string) => createBody({ task_name: name, backup_files: { bucket_name: 'tests', files: [{ file_name: 'hash-ziplist.rdb' }] } }, { id: 'inst-a2', password: undefined });
    const [a, b] = await Promise.all([
      call({ method: 'POST', url: `/v2/${PA}/migration-task`, payload: body('race-one') }),
      call({ method: 'POST', url: `/v2/${PA}/migration-task`, payload: body('race-two') }),
    ]);
    const codes = [a.statusCode, b.statusCode].sort();
    assert.deepEqual(codes, [200, 400], a.body + b.body);
    const loser = a.statusCode === 400 ? a : b;
    assertError(loser, 400, 'DCS.4017');
    const winner = (a.statusCode === 200 ? a : b).json();
    assert.equal((await waitStatus(app, PA, TA, winner.id, (s) => s !== 'MIGRATING')).status, 'SUCCESS');
  });

  test('a body over 12 MB is 413 APIGW.0201', async () => {
    const r = await call({ method: 'POST', url: `/v2/${PA}/migration-task`, payload: JSON.stringify({ task_name: 'x'.repeat(13 * 1024 * 1024) }) });
    assert.equal(r.statusCode, 413);
    assert.equal(r.json().error_code, 'APIGW.0201');
    assert.match(String(r.headers['x-request-id']), /^[0-9a-f]{32}$/);
  });

  test('a JSON body without a Content-Type header is still read', async () => {
    const r = await app.inject({ method: 'POST', url: `/v2/${PA}/migration-task`, headers: { 'x-auth-token': TA }, payload: JSON.stringify(createBody({}, { password: 'wrong' })) });
    assertError(r, 400, 'DCS.4080');
  });
});

describe('list, stop, batch-stop, delete', () => {
  test('list: count is the total, offset/limit page newest first, name filters, limit bounds', async () => {
    const mine = [await seed({ name: 'page-one' }), await seed({ name: 'page-two' }), await seed({ name: 'page-three' })];
    const all = (await call({ method: 'GET', url: `/v2/${PA}/migration-tasks?limit=1000` })).json();
    assert.ok(all.count >= 3);
    assert.equal(all.migration_tasks.length, all.count);
    const first = (await call({ method: 'GET', url: `/v2/${PA}/migration-tasks?offset=0&limit=2` })).json();
    assert.equal(first.count, all.count);
    assert.deepEqual(first.migration_tasks.map((t: { task_id: string }) => t.task_id), [mine[2]!.id, mine[1]!.id]);
    const second = (await call({ method: 'GET', url: `/v2/${PA}/migration-tasks?offset=2&limit=2` })).json();
    assert.equal(second.migration_tasks[0].task_id, mine[0]!.id);
    const def = (await call({ method: 'GET', url: `/v2/${PA}/migration-tasks` })).json();
    assert.equal(def.migration_tasks.length, Math.min(10, all.count));
    const named = (await call({ method: 'GET', url: `/v2/${PA}/migration-tasks?name=page-t` })).json();
    assert.deepEqual(named.migration_tasks.map((t: { task_name: string }) => t.task_name).sort(), ['page-three', 'page-two']);
    const item = named.migration_tasks[0];
    for (const k of ['task_id', 'task_name', 'status', 'migration_type', 'migration_method', 'data_source', 'target_instance_addrs', 'target_instance_name', 'target_instance_id', 'created_at', 'error_message', 'supported_features']) assert.ok(k in item, k);
    assert.equal(item.data_source, 'corpus');
    assertError(await call({ method: 'GET', url: `/v2/${PA}/migration-tasks?limit=0` }), 400, 'DCS.4062', /limit/);
    assertError(await call({ method: 'GET', url: `/v2/${PA}/migration-tasks?limit=1001` }), 400, 'DCS.4062', /limit/);
    assertError(await call({ method: 'GET', url: `/v2/${PA}/migration-tasks?offset=-1` }), 400, 'DCS.4062', /offset/);
    for (const t of mine) await h.store.transition(t.id, ['MIGRATING'], 'FAILED', {}, Date.now());
  });

  test('stop: TERMINATING answered, TERMINATED soon after; a final task refuses with DCS.4957', async () => {
    const t = await seed();
    const r = await call({ method: 'POST', url: `/v2/${PA}/migration-task/${t.id}/stop` });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().status, 'TERMINATING');
    assert.equal(r.json().task_id, t.id);
    const d = await waitStatus(app, PA, TA, t.id, (s) => s === 'TERMINATED', 3000);
    assert.equal(d.status, 'TERMINATED');
    assertError(await call({ method: 'POST', url: `/v2/${PA}/migration-task/${t.id}/stop` }), 400, 'DCS.4957');
  });

  test('sync-stop: 200 with an empty body once stopped', async () => {
    const t = await seed();
    const r = await call({ method: 'POST', url: `/v2/${PA}/migration-task/${t.id}/sync-stop` });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, '');
    assert.equal((await h.store.getTaskById(t.id))?.status, 'TERMINATED');
  });

  test('batch-stop: per-task results; unknown ids fail with DCS.4855', async () => {
    const a = await seed();
    const done = await seed();
    await h.store.transition(done.id, ['MIGRATING'], 'SUCCESS', {}, Date.now());
    const r = await call({ method: 'POST', url: `/v2/${PA}/migration-task/batch-stop`, payload: { migration_tasks: [a.id, 'no-such-task', done.id] } });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().migration_tasks, [
      { result: 'success', task_id: a.id },
      { result: 'failed', task_id: 'no-such-task', error_code: 'DCS.4855', error_msg: 'invalid migration task id in the request.' },
      { result: 'failed', task_id: done.id, error_code: 'DCS.4957', error_msg: 'This operation is not allowed when the task is in the current state (SUCCESS).' },
    ]);
    assertError(await call({ method: 'POST', url: `/v2/${PA}/migration-task/batch-stop`, payload: { migration_tasks: [] } }), 400, 'DCS.4062', /migration_tasks/);
  });

  test('delete: JSON body on DELETE, running tasks refused, deleted tasks leave list and show', async () => {
    const running = await seed();
    const finished = await seed();
    await h.store.transition(finished.id, ['MIGRATING'], 'FAILED', {}, Date.now());
    assertError(await call({ method: 'DELETE', url: `/v2/${PA}/migration-tasks/delete`, payload: { task_id_list: [finished.id, running.id] } }), 400, 'DCS.4957');
    assertError(await call({ method: 'DELETE', url: `/v2/${PA}/migration-tasks/delete`, payload: { task_id_list: ['nope'] } }), 400, 'DCS.4133');
    assertError(await call({ method: 'DELETE', url: `/v2/${PA}/migration-tasks/delete` }), 400, 'DCS.4004');
    const r = await call({ method: 'DELETE', url: `/v2/${PA}/migration-tasks/delete`, payload: { task_id_list: [finished.id] } });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { task_id_list: [finished.id] });
    const list = (await call({ method: 'GET', url: `/v2/${PA}/migration-tasks?limit=1000` })).json();
    assert.ok(!list.migration_tasks.some((t: { task_id: string }) => t.task_id === finished.id));
    assertError(await call({ method: 'GET', url: `/v2/${PA}/migration-task/${finished.id}` }), 400, 'DCS.4133');
    await h.store.transition(running.id, ['MIGRATING'], 'FAILED', {}, Date.now());
  });

  test('unknown task ids are 400 DCS.4133 on show, stats, logs and stop', async () => {
    for (const [method, suffix] of [['GET', ''], ['GET', '/stats'], ['GET', '/logs'], ['POST', '/stop'], ['POST', '/sync-stop']] as const) {
      assertError(await call({ method, url: `/v2/${PA}/migration-task/does-not-exist${suffix}` }), 400, 'DCS.4133', /Instance job is not found/);
    }
  });
});

describe('instances', () => {
  test('list and show come from the registry, with live status and no password', async () => {
    const r = await call({ method: 'GET', url: `/v2/${PA}/instances` });
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.equal(body.instance_num, 3);
    const a = body.instances.find((i: { instance_id: string }) => i.instance_id === 'inst-a');
    assert.equal(a.status, 'RUNNING');
    assert.equal(a.engine_version, '7.0.15');
    assert.equal(a.no_password_access, 'false');
    assert.equal(a.port, redis.port);
    assert.equal(body.instances.find((i: { instance_id: string }) => i.instance_id === 'inst-down').status, 'ERROR');
    assert.ok(!r.body.includes(PASSWORD));
    const one = await call({ method: 'GET', url: `/v2/${PA}/instances/inst-a2` });
    assert.equal(one.json().cache_mode, 'ha');
    assertError(await call({ method: 'GET', url: `/v2/${PA}/instances/nope` }), 404, 'DCS.3022', /does not exist/);
  });
});

describe('auth and isolation', () => {
  test('no token 1003, unknown token 1001, another project\'s token 1004', async () => {
    assertError(await call({ method: 'GET', url: `/v2/${PA}/migration-tasks`, token: null }), 401, 'DCS.1003');
    assertError(await call({ method: 'GET', url: `/v2/${PA}/migration-tasks`, token: 'not-a-token-at-all' }), 401, 'DCS.1001');
    assertError(await call({ method: 'GET', url: `/v2/${PA}/migration-tasks`, token: TB }), 401, 'DCS.1004');
    // Auth comes before body parsing: an unauthenticated bad body is still a 401.
    assertError(await call({ method: 'POST', url: `/v2/${PA}/migration-task`, token: null, payload: '{bad' }), 401, 'DCS.1003');
  });

  test('project B sees none of project A\'s tasks or instances and cannot touch them', async () => {
    const t = await seed();
    assertError(await call({ method: 'GET', url: `/v2/${PB}/migration-task/${t.id}`, token: TB }), 400, 'DCS.4133');
    assertError(await call({ method: 'POST', url: `/v2/${PB}/migration-task/${t.id}/stop`, token: TB }), 400, 'DCS.4133');
    const bs = (await call({ method: 'POST', url: `/v2/${PB}/migration-task/batch-stop`, token: TB, payload: { migration_tasks: [t.id] } })).json();
    assert.equal(bs.migration_tasks[0].result, 'failed');
    assertError(await call({ method: 'DELETE', url: `/v2/${PB}/migration-tasks/delete`, token: TB, payload: { task_id_list: [t.id] } }), 400, 'DCS.4133');
    const list = (await call({ method: 'GET', url: `/v2/${PB}/migration-tasks?limit=1000`, token: TB })).json();
    assert.ok(!list.migration_tasks.some((x: { task_id: string }) => x.task_id === t.id));
    const inst = (await call({ method: 'GET', url: `/v2/${PB}/instances`, token: TB })).json();
    assert.deepEqual(inst.instances.map((i: { instance_id: string }) => i.instance_id), ['inst-b']);
    assertError(await call({ method: 'GET', url: `/v2/${PB}/instances/inst-a`, token: TB }), 404, 'DCS.3022');
    assert.equal((await h.store.getTaskById(t.id))?.status, 'MIGRATING');
    await h.store.transition(t.id, ['MIGRATING'], 'FAILED', {}, Date.now());
  });
});

describe('routing, request ids, OpenAPI, metrics', () => {
  test('unknown route 404 DCS.4001, wrong method 405 DCS.5001, X-Request-Id everywhere', async () => {
    assertError(await call({ method: 'GET', url: `/v2/${PA}/no-such-thing` }), 404, 'DCS.4001');
    assertError(await call({ method: 'GET', url: '/nothing/here', token: null }), 404, 'DCS.4001');
    assertError(await call({ method: 'PUT', url: `/v2/${PA}/migration-tasks` }), 405, 'DCS.5001');
    const ok = await call({ method: 'GET', url: `/v2/${PA}/migration-tasks` });
    const ok2 = await call({ method: 'GET', url: `/v2/${PA}/migration-tasks` });
    assert.match(String(ok.headers['x-request-id']), /^[0-9a-f]{32}$/);
    assert.notEqual(ok.headers['x-request-id'], ok2.headers['x-request-id']);
  });

  test('GET with a Content-Type header and no body is fine', async () => {
    const r = await call({ method: 'GET', url: `/v2/${PA}/migration-tasks`, headers: { 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 200);
  });

  test('/openapi.json lists every operation with the schemas the routes validate with', async () => {
    const r = await app.inject({ method: 'GET', url: '/openapi.json' });
    const doc = r.json();
    assert.equal(doc.openapi, '3.0.3');
    const ops = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((p) => Object.values(p).map((o) => o.operationId)).sort();
    assert.deepEqual(ops, ['BatchStopMigrationTasks', 'CreateMigrationTask', 'DeleteMigrationTask', 'ListInstances', 'ListMigrationTask', 'ListMigrationTaskLogs', 'ShowInstance', 'ShowMigrationTask', 'ShowMigrationTaskStats', 'StopMigrationTask', 'StopMigrationTaskSync']);
    const create = doc.paths['/v2/{project_id}/migration-task'].post;
    const schema = create.requestBody.content['application/json'].schema;
    assert.equal(schema.properties.task_name.pattern, '^[A-Za-z][A-Za-z0-9_-]{3,63}$');
    assert.deepEqual(schema.required.sort(), ['migration_method', 'migration_type', 'target_instance', 'task_name']);
  });

  test('/metrics: tasks by status, keys and bytes imported, failures by code', async () => {
    const r = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /text\/plain/);
    assert.match(r.body, /ferry_tasks\{status="SUCCESS"\} [1-9]/);
    assert.match(r.body, /ferry_imported_keys_total [1-9]/);
    assert.match(r.body, /ferry_imported_bytes_total [1-9]/);
    assert.match(r.body, /ferry_task_errors_total\{code="FERRY\.4201"\} 1/); // the missing file
    assert.match(r.body, /ferry_http_responses_total\{route="\/v2\/:project_id\/migration-task",method="POST",status="200"\}/);
  });
});
