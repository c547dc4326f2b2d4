/**
 * The real Huawei Cloud Node SDK core (@huaweicloud/huaweicloud-sdk-core from npm: ClientBuilder,
 * BasicCredentials, AKSKSigner, axios) driving a listening `ferry serve` the way DcsClient does:
 * create, list, show, stats, logs, stop and delete a task, and a refused wrong key. The Go signer's
 * style (body ending in a newline, host not signed) is simulated over real HTTP too.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ClientBuilder } from '@huaweicloud/huaweicloud-sdk-core/ClientBuilder.js';
import { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient.js';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials.js';
import { startServer, type Server } from '../../src/main.js';
import { formatSdkDate, sign } from '../../src/api/auth/sdk-hmac.js';
import { startRedis, CORPUS, digest, type RedisServer } from '../helpers/redis-server.js';

const PROJECT = '0123456789abcdef0123456789abcdef';
const AK = 'FERRYTESTAK000000001';
const SK = 'ferry-test-secret-key-0001';

let dir: string;
let redis: RedisServer;
let server: Server;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-sdk-'));
  redis = await startRedis();
  const cfg = join(dir, 'ferry.yaml');
  writeFileSync(
    cfg,
    JSON.stringify({
      listen: '127.0.0.1:0',
      data_dir: join(dir, 'data'),
      projects: [{ id: PROJECT, credentials: [{ ak: AK, sk: SK }] }, { id: 'other-project', credentials: [{ ak: 'OTHERAK', sk: 'other-sk' }] }],
      instances: [{ id: 'target-1', project: PROJECT, name: 'sdk-target', type: 'single', addrs: `127.0.0.1:${redis.port}` }],
      buckets: [{ name: 'corpus', path: `${CORPUS}/generated` }],
    }),
  );
  server = await startServer({ configPath: cfg, env: {}, cwd: dir, logger: pino({ level: 'silent' }) });
});

after(async () => {
  await server?.close();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function client(ak = AK, sk = SK): HcClient {
  const cred = new BasicCredentials().withAk(ak).withSk(sk).withProjectId(PROJECT);
  return new ClientBuilder<HcClient>((hc: HcClient) => hc).withCredential(cred).withEndpoint(server.url!).build();
}

interface Res {
  httpStatusCode: number;
  [k: string]: unknown;
}

function send(hc: HcClient, method: string, url: string, data?: Record<string, unknown>, queryParams: Record<string, unknown> = {}): Promise<Res> {
  return hc.sendRequest<Res>({ method, url, contentType: 'application/json;charset=UTF-8', pathParams: {}, queryParams, headers: {}, ...(data ? { data } : {}) });
}

test('the Node SDK creates, lists, shows, reads stats and logs, stops and deletes tasks', async () => {
  const hc = client();
  const created = await send(hc, 'POST', '/v2/{project_id}/migration-task', {
    task_name: 'sdk-import',
    migration_type: 'backupfile_import',
    migration_method: 'full_amount_migration',
    backup_files: { file_source: 'self_build_obs', bucket_name: 'corpus', files: [{ file_name: 'redis-7.0.rdb' }] },
    target_instance: { id: 'target-1' },
  });
  assert.equal(created.httpStatusCode, 200);
  assert.equal(created.status, 'MIGRATING');
  const id = String(created.id);

  let detail: Res;
  const deadline = Date.now() + 20_000;
  do {
    detail = await send(hc, 'GET', `/v2/{project_id}/migration-task/${id}`);
    if (detail.status !== 'MIGRATING') break;
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  assert.equal(detail.status, 'SUCCESS', JSON.stringify(detail));
  const ref = await startRedis({ rdbFile: `${CORPUS}/generated/redis-7.0.rdb` });
  try {
    assert.equal(await digest(redis.client()), await digest(ref.client()));
  } finally {
    await ref.stop();
  }

  const list = await send(hc, 'GET', '/v2/{project_id}/migration-tasks', undefined, { offset: 0, limit: 10, name: 'sdk-import' });
  assert.equal(list.count, 1);
  assert.equal((list.migration_tasks as { task_id: string }[])[0]!.task_id, id);

  const stats = await send(hc, 'GET', `/v2/{project_id}/migration-task/${id}/stats`);
  assert.equal(stats.full_migration_progress, '100.00');
  const logs = await send(hc, 'GET', `/v2/{project_id}/migration-task/${id}/logs`, undefined, { offset: 0, limit: 5, log_level: 'INFO' });
  assert.ok(Number(logs.log_num) >= 2);

  // Stopping a finished task is refused the DCS way; the SDK surfaces error_code and the request id.
  await assert.rejects(send(hc, 'POST', `/v2/{project_id}/migration-task/${id}/stop`), (err: { errorCode?: string; httpStatusCode?: number; requestId?: string }) => {
    assert.equal(err.errorCode, 'DCS.4957');
    assert.equal(err.httpStatusCode, 400);
    assert.match(String(err.requestId), /^[0-9a-f]{32}$/);
    return true;
  });

  const del = await send(hc, 'DELETE', '/v2/{project_id}/migration-tasks/delete', { task_id_list: [id] });
  assert.deepEqual(del.task_id_list, [id]);
  const after = await send(hc, 'GET', '/v2/{project_id}/migration-tasks');
  assert.equal(after.count, 0);
});

test('the Node SDK stops a task (seeded in the store so it is still running) and batch-stops', async () => {
  const hc = client();
  const mk = (id: string) =>
    server.store.createTask(
      { id, project_id: PROJECT, name: id, description: '', migration_type: 'backupfile_import', migration_method: 'full_amount_migration', spec: { file_source: 'self_build_obs', bucket_name: 'corpus', files: [{ file_name: 'x.rdb' }], backup_id: null, target: { id: `t-${id}`, name: 'x', addrs: '127.0.0.1:1', db: null, proxy_multi_db: null } } },
      Date.now(),
    );
  await mk('sdk-stop-1');
  await mk('sdk-stop-2');
  const stopped = await send(hc, 'POST', '/v2/{project_id}/migration-task/sdk-stop-1/stop');
  assert.equal(stopped.status, 'TERMINATING');
  const batch = await send(hc, 'POST', '/v2/{project_id}/migration-task/batch-stop', { migration_tasks: ['sdk-stop-2'] });
  assert.deepEqual(batch.migration_tasks, [{ result: 'success', task_id: 'sdk-stop-2' }]);
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && (await server.store.getTaskById('sdk-stop-2'))?.status !== 'TERMINATED') await new Promise((r) => setTimeout(r, 20));
  assert.equal((await server.store.getTaskById('sdk-stop-1'))?.status, 'TERMINATED');
  assert.equal((await server.store.getTaskById('sdk-stop-2'))?.status, 'TERMINATED');
});

test('a wrong SK or another project\'s key is refused (APIGW.0301 / DCS.1004)', async () => {
  await assert.rejects(send(client(AK, 'wrong-secret'), 'GET', '/v2/{project_id}/migration-tasks'), (err: { errorCode?: string; httpStatusCode?: number }) => {
    assert.equal(err.httpStatusCode, 401);
    assert.equal(err.errorCode, 'APIGW.0301');
    return true;
  });
  await assert.rejects(send(client('OTHERAK', 'other-sk'), 'GET', '/v2/{project_id}/migration-tasks'), (err: { errorCode?: string }) => {
    assert.equal(err.errorCode, 'DCS.1004');
    return true;
  });
});

test('Go-style signing over real HTTP: body ending in a newline, host not signed', async () => {
  const url = `/v2/${PROJECT}/migration-tasks/delete`;
  const body = Buffer.from(JSON.stringify({ task_id_list: ['does-not-exist'] }) + '\n');
  const date = formatSdkDate(Date.now());
  const headers: Record<string, string> = { 'content-type': 'application/json;charset=UTF-8', 'user-agent': 'huaweicloud-usdk-go/3.0', 'x-project-id': PROJECT, 'x-sdk-date': date };
  const signedHeaders = ['user-agent', 'x-project-id', 'x-sdk-date'];
  const sig = sign({ method: 'DELETE', url, headers, signedHeaders, body }, SK, date);
  const r = await fetch(server.url + url, { method: 'DELETE', headers: { ...headers, authorization: `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}` }, body });
  // Authenticated, parsed, and refused for the right reason: the task does not exist.
  assert.equal(r.status, 400);
  assert.equal(((await r.json()) as { error_code: string }).error_code, 'DCS.4133');
  assert.match(String(r.headers.get('x-request-id')), /^[0-9a-f]{32}$/);
});
