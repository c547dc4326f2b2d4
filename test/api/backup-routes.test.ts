/**
 * Contract tests for the backup-record routes through fastify.inject against the real services and
 * real redis-servers: CopyInstance -> record fields of §1.8 (waiting -> backuping -> succeed), list
 * filters and paging, DCS codes (4086, 4087, 4098, 4025, 3022), delete (204, files gone), download
 * links (valid, tampered, expired), import from a backup record (digest equal, id echoed twice),
 * restore (FLUSHALL logged, digest back to the backup's), the 24-record cap, and recovery of records
 * left running by a dead process.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { startBackupHarness, type BackupHarness } from './backup-harness.js';
import { waitStatus } from './harness.js';
import { makeEveryTypeRdb, type RdbFixture } from '../helpers/make-rdb.js';
import { digest, startRedis, type RedisServer } from '../helpers/redis-server.js';

const P = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const T = 'token-project-backups-1';
const PW = 'src-pw-1';

let fx: RdbFixture;
let src: RedisServer;
let tgt: RedisServer;
let small: RedisServer;
let slow: RedisServer;
let h: BackupHarness;

before(async () => {
  fx = await makeEveryTypeRdb();
  src = await startRedis({ rdbFile: fx.path, password: PW, args: ['--repl-diskless-sync-delay', '0'] });
  tgt = await startRedis();
  small = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
  // A snapshot that takes seconds to produce (2 ms per key), so the source can be killed mid-way.
  slow = await startRedis({ args: ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--rdb-key-save-delay', '2000'] });
  const sc = slow.client();
  for (let i = 0; i < 2000; i++) await sc.set(`k${i}`, 'x'.repeat(1000));
  sc.disconnect();
  h = await startBackupHarness({
    projects: [{ id: P, tokens: [T], credentials: [] }],
    instances: [
      { id: 'src', project: P, name: 'source', type: 'master_standby', addrs: `127.0.0.1:${src.port}`, password: PW },
      { id: 'tgt', project: P, name: 'target', type: 'master_standby', addrs: `127.0.0.1:${tgt.port}` },
      { id: 'small', project: P, name: 'small', type: 'master_standby', addrs: `127.0.0.1:${small.port}` },
      { id: 'single', project: P, name: 'single', type: 'single', addrs: `127.0.0.1:${small.port}` },
      { id: 'down', project: P, name: 'down', type: 'master_standby', addrs: '127.0.0.1:1' },
      { id: 'slow', project: P, name: 'slow', type: 'master_standby', addrs: `127.0.0.1:${slow.port}` },
    ],
  });
});

after(async () => {
  await h?.close();
  await Promise.all([src?.stop(), tgt?.stop(), small?.stop()]);
  // stop() waits for an exit event, which a process killed by a signal already sent.
  if (slow && slow.proc.signalCode === null) await slow.stop();
  else if (slow) rmSync(slow.dir, { recursive: true, force: true });
  await fx?.cleanup();
});

function call(o: InjectOptions) {
  const headers: Record<string, string> = { 'x-auth-token': T, ...(o.headers as Record<string, string> | undefined) };
  if (o.payload !== undefined) headers['content-type'] = 'application/json';
  return h.app.inject({ ...o, headers });
}

const base = (inst: string) => `/v2/${P}/instances/${inst}`;

async function backup(inst: string, body: Record<string, unknown> = {}): Promise<string> {
  const r = await call({ method: 'POST', url: `${base(inst)}/backups`, payload: body });
  assert.equal(r.statusCode, 200, r.body);
  const id = (r.json() as { backup_id: string }).backup_id;
  assert.match(id, /^[0-9a-f-]{36}$/);
  return id;
}

async function record(inst: string, id: string): Promise<Record<string, unknown>> {
  const r = await call({ method: 'GET', url: `${base(inst)}/backups?limit=100` });
  assert.equal(r.statusCode, 200, r.body);
  const rec = (r.json() as { backup_record_response: Record<string, unknown>[] }).backup_record_response.find((x) => x.backup_id === id);
  assert.ok(rec, `record ${id} listed`);
  return rec;
}

async function finished(inst: string, id: string): Promise<Record<string, unknown>> {
  await h.backups.settled(id);
  return record(inst, id);
}

let srcBackup = '';
let srcDigest = '';

test('CopyInstance answers {backup_id} at once; the record ends succeed with the fields of §1.8', async () => {
  srcDigest = await digest(src.client());
  srcBackup = await backup('src', { remark: 'before the upgrade', backup_format: 'rdb' });
  const early = await record('src', srcBackup);
  assert.ok(['waiting', 'backuping', 'succeed'].includes(String(early.status)));
  const rec = await finished('src', srcBackup);
  assert.equal(rec.status, 'succeed', JSON.stringify(rec));
  for (const k of ['backup_id', 'backup_name', 'instance_id', 'period', 'size', 'backup_type', 'created_at', 'updated_at', 'execution_at', 'progress', 'error_code', 'remark', 'status', 'is_support_restore', 'backup_format']) {
    assert.ok(k in rec, `field ${k}`);
  }
  assert.match(String(rec.backup_name), /^backup_\d{14}$/);
  assert.equal(rec.instance_id, 'src');
  assert.equal(rec.backup_type, 'manual');
  assert.equal(rec.progress, '100.00');
  assert.equal(rec.is_support_restore, 'TRUE');
  assert.equal(rec.backup_format, 'rdb');
  assert.equal(rec.remark, 'before the upgrade');
  assert.equal(rec.error_code, '');
  assert.equal(typeof rec.size, 'number');
  assert.ok((rec.size as number) > 1000);
  const files = rec.files as { file_name: string; size: number }[];
  assert.equal(files.length, 1);
  assert.match(files[0]!.file_name, new RegExp(`^redis_127\\.0\\.0\\.1_${src.port}_all_\\d{14}\\.rdb$`));
  assert.equal(files[0]!.size, rec.size);
});

test('refusals: single-node 4086, remark > 128 4098, bad format 4062, unknown instance 3022, end before begin 4025', async () => {
  const cases: [InjectOptions, number, string][] = [
    [{ method: 'POST', url: `${base('single')}/backups`, payload: {} }, 400, 'DCS.4086'],
    [{ method: 'POST', url: `${base('src')}/backups`, payload: { remark: 'x'.repeat(129) } }, 400, 'DCS.4098'],
    [{ method: 'POST', url: `${base('src')}/backups`, payload: { backup_format: 'json' } }, 400, 'DCS.4062'],
    [{ method: 'POST', url: `${base('nope')}/backups`, payload: {} }, 404, 'DCS.3022'],
    [{ method: 'GET', url: `${base('src')}/backups?begin_time=20300101000000&end_time=20200101000000` }, 400, 'DCS.4025'],
    [{ method: 'GET', url: `${base('src')}/backups?begin_time=2030-01-01` }, 400, 'DCS.4062'],
    [{ method: 'POST', url: `${base('single')}/restores`, payload: { backup_id: srcBackup } }, 400, 'DCS.4086'],
    [{ method: 'POST', url: `${base('src')}/backups/${srcBackup}/links`, payload: { expiration: 299 } }, 400, 'DCS.4062'],
    [{ method: 'POST', url: `${base('src')}/backups/${srcBackup}/links`, payload: { expiration: 86401 } }, 400, 'DCS.4062'],
    [{ method: 'DELETE', url: `${base('src')}/backups/00000000-0000-0000-0000-000000000000` }, 404, 'FERRY.4401'],
  ];
  for (const [req, status, code] of cases) {
    const r = await call(req);
    assert.equal(r.statusCode, status, `${req.method} ${req.url}: ${r.body}`);
    assert.equal((r.json() as { error_code: string }).error_code, code, `${req.method} ${req.url}`);
  }
  const ok = await call({ method: 'POST', url: `${base('src')}/backups`, payload: { remark: 'é'.repeat(128) } });
  assert.equal(ok.statusCode, 200, '128 characters (not bytes) is allowed');
  await h.backups.settled((ok.json() as { backup_id: string }).backup_id);
});

test('list: time filters (yyyyMMddHHmmss and the doc misspellings), offset/limit, total_num', async () => {
  const all = (await call({ method: 'GET', url: `${base('src')}/backups` })).json() as { total_num: number; backup_record_response: { backup_id: string }[] };
  assert.equal(all.total_num, 2);
  assert.equal(all.backup_record_response[1]!.backup_id, srcBackup, 'newest first');
  const page = (await call({ method: 'GET', url: `${base('src')}/backups?offset=1&limit=1` })).json() as typeof all;
  assert.deepEqual(page.backup_record_response.map((r) => r.backup_id), [srcBackup]);
  assert.equal(page.total_num, 2);
  const future = (await call({ method: 'GET', url: `${base('src')}/backups?begin_time=20990101000000` })).json() as typeof all;
  assert.equal(future.total_num, 0);
  const past = (await call({ method: 'GET', url: `${base('src')}/backups?beginTime=20000101000000&end_Time=20990101000000` })).json() as typeof all;
  assert.equal(past.total_num, 2);
});

test('download links: the served file is the backup; a tampered or expired link is 403', async () => {
  const r = await call({ method: 'POST', url: `${base('src')}/backups/${srcBackup}/links`, payload: { expiration: 300 } });
  assert.equal(r.statusCode, 200, r.body);
  const body = r.json() as { file_path: string; bucket_name: string; links: { file_name: string; link: string }[] };
  assert.equal(body.bucket_name, 'backups');
  assert.equal(body.file_path, `src/${srcBackup}/`);
  assert.equal(body.links.length, 1);
  const url = new URL(body.links[0]!.link);
  const got = await h.app.inject({ method: 'GET', url: url.pathname + url.search });
  assert.equal(got.statusCode, 200);
  const onDisk = readFileSync(join(h.bucket.path, body.file_path, body.links[0]!.file_name));
  assert.ok(got.rawPayload.equals(onDisk));
  assert.equal(got.rawPayload.subarray(0, 5).toString(), 'REDIS');

  const tampered = new URL(url);
  tampered.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
  const t = await h.app.inject({ method: 'GET', url: tampered.pathname + tampered.search });
  assert.equal(t.statusCode, 403);
  assert.equal((t.json() as { error_code: string }).error_code, 'FERRY.4402');

  const otherFile = url.pathname.replace(/[^/]+$/, 'other.rdb') + url.search;
  assert.equal((await h.app.inject({ method: 'GET', url: otherFile })).statusCode, 403);

  const expired = new URL(h.signer.url('http://x', { project: P, backup: srcBackup, file: body.links[0]!.file_name, expires: Math.floor(Date.now() / 1000) - 1 }));
  const e = await h.app.inject({ method: 'GET', url: expired.pathname + expired.search });
  assert.equal(e.statusCode, 403);
  assert.match((e.json() as { error_msg: string }).error_msg, /expired/);

  assert.equal((await h.app.inject({ method: 'GET', url: url.pathname })).statusCode, 403, 'no signature');
});

test('import from a backup record: target digest equals the source, id echoed in both places', async () => {
  const r = await call({
    method: 'POST',
    url: `/v2/${P}/migration-task`,
    payload: { task_name: 'from-backup', migration_type: 'backupfile_import', migration_method: 'full_amount_migration', backup_files: { file_source: 'backup_record', backup_id: srcBackup }, target_instance: { id: 'tgt' } },
  });
  assert.equal(r.statusCode, 200, r.body);
  const id = (r.json() as { id: string }).id;
  const detail = await waitStatus(h.app, P, T, id, (s) => s === 'SUCCESS' || s === 'FAILED', 60_000);
  assert.equal(detail.status, 'SUCCESS', JSON.stringify(detail));
  const bf = detail.backup_files as { file_source: string; backup_id: string; backup_record: { backup_id: string } };
  assert.equal(bf.file_source, 'backup_record');
  assert.equal(bf.backup_id, srcBackup);
  assert.equal(bf.backup_record.backup_id, srcBackup);
  assert.equal(await digest(tgt.client()), srcDigest);
});

test('import and restore refuse a record that did not succeed (DCS.4087); a failed record carries its error code', async () => {
  const failedId = await backup('down');
  const rec = await finished('down', failedId);
  assert.equal(rec.status, 'failed');
  assert.equal(rec.error_code, 'dcs.08.0001');
  assert.match(String(rec.error_message), /^TARGET_UNREACHABLE: /);
  assert.equal(rec.is_support_restore, 'FALSE');
  const imp = await call({
    method: 'POST',
    url: `/v2/${P}/migration-task`,
    payload: { task_name: 'from-failed', migration_type: 'backupfile_import', migration_method: 'full_amount_migration', backup_files: { file_source: 'backup_record', backup_id: failedId }, target_instance: { id: 'tgt' } },
  });
  assert.equal(imp.statusCode, 400);
  assert.equal((imp.json() as { error_code: string }).error_code, 'DCS.4087');
  const res = await call({ method: 'POST', url: `${base('down')}/restores`, payload: { backup_id: failedId } });
  assert.equal(res.statusCode, 400);
  assert.equal((res.json() as { error_code: string }).error_code, 'DCS.4087');
  const links = await call({ method: 'POST', url: `${base('down')}/backups/${failedId}/links`, payload: { expiration: 600 } });
  assert.equal((links.json() as { error_code: string }).error_code, 'DCS.4087');
});

test('restore empties the instance first (logged), then brings back the backup; listed with its status', async () => {
  const c = src.client();
  await c.set('written-after-backup', 'gone after restore');
  await c.del('str:0');
  assert.notEqual(await digest(c), srcDigest);
  const r = await call({ method: 'POST', url: `${base('src')}/restores`, payload: { backup_id: srcBackup, remark: 'roll back' } });
  assert.equal(r.statusCode, 200, r.body);
  const restoreId = (r.json() as { restore_id: string }).restore_id;
  await h.backups.settled(restoreId);
  assert.equal(await digest(c), srcDigest);
  const list = (await call({ method: 'GET', url: `${base('src')}/restores` })).json() as { total_num: number; restore_record_response: Record<string, unknown>[] };
  assert.equal(list.total_num, 1);
  const rr = list.restore_record_response[0]!;
  assert.equal(rr.restore_id, restoreId);
  assert.equal(rr.status, 'succeed', JSON.stringify(rr));
  assert.equal(rr.backup_id, srcBackup);
  assert.equal(rr.restore_remark, 'roll back');
  assert.equal(rr.backup_remark, 'before the upgrade');
  assert.equal(rr.progress, '100.00');
  assert.match((rr.restore_log as string[])[0]!, /FLUSHALL on every master/);
});

test('aof format: one .aof file; imported into a fresh target it gives the source digest', async () => {
  const id = await backup('src', { backup_format: 'aof' });
  const rec = await finished('src', id);
  assert.equal(rec.status, 'succeed', JSON.stringify(rec));
  assert.equal(rec.backup_format, 'aof');
  assert.match((rec.files as { file_name: string }[])[0]!.file_name, /\.aof$/);
  await tgt.client().flushall();
  const r = await call({
    method: 'POST',
    url: `/v2/${P}/migration-task`,
    payload: { task_name: 'from-aof-backup', migration_type: 'backupfile_import', migration_method: 'full_amount_migration', backup_files: { file_source: 'backup_record', backup_id: id }, target_instance: { id: 'tgt' } },
  });
  const detail = await waitStatus(h.app, P, T, (r.json() as { id: string }).id, (s) => s === 'SUCCESS' || s === 'FAILED', 60_000);
  assert.equal(detail.status, 'SUCCESS', JSON.stringify(detail));
  assert.equal(await digest(tgt.client()), srcDigest);
});

test('DELETE answers 204 and removes the files; the record is no longer listed', async () => {
  const rec = await record('src', srcBackup);
  const file = join(h.bucket.path, 'src', srcBackup, (rec.files as { file_name: string }[])[0]!.file_name);
  assert.ok(existsSync(file));
  const r = await call({ method: 'DELETE', url: `${base('src')}/backups/${srcBackup}` });
  assert.equal(r.statusCode, 204);
  assert.equal(r.body, '');
  assert.ok(!existsSync(file));
  assert.ok(!existsSync(join(h.bucket.path, 'src', srcBackup)), 'the record folder is gone too');
  const list = (await call({ method: 'GET', url: `${base('src')}/backups?limit=100` })).json() as { backup_record_response: { backup_id: string }[] };
  assert.ok(!list.backup_record_response.some((x) => x.backup_id === srcBackup));
  assert.equal((await call({ method: 'DELETE', url: `${base('src')}/backups/${srcBackup}` })).statusCode, 404);
});

test('at most 24 records per instance: the 25th evicts the oldest and its files', async () => {
  await small.client().set('k', 'v');
  const ids: string[] = [];
  for (let i = 0; i < 25; i++) {
    ids.push(await backup('small'));
    await h.backups.settled(ids.at(-1)!);
  }
  const list = (await call({ method: 'GET', url: `${base('small')}/backups?limit=100` })).json() as { total_num: number; backup_record_response: { backup_id: string; status: string }[] };
  assert.equal(list.total_num, 24);
  assert.ok(!list.backup_record_response.some((r) => r.backup_id === ids[0]));
  assert.ok(list.backup_record_response.every((r) => r.status === 'succeed'));
  assert.ok(!existsSync(join(h.bucket.path, 'small', ids[0]!)), 'evicted record folder removed');
});

test('a record left backuping by a dead process is failed with a reason at the next start', async () => {
  const now = Date.now();
  const rec = await h.backupStore.createBackup({ id: 'ghost-1', project_id: P, instance_id: 'tgt', name: 'backup_x', format: 'rdb', remark: '', bucket: 'backups', prefix: 'tgt/ghost-1/', owner: `${(await import('node:os')).hostname()}:999999:dead` }, now);
  await h.backupStore.transitionBackup(rec.id, ['waiting'], 'backuping', { files: [{ file_name: 'tgt/ghost-1/x.rdb', size: 0, node: 'n', slots: '' }] }, now);
  // Another host: alive while its heartbeat is fresh, gone once it is older than STALE_MS.
  const fresh = await h.backupStore.createBackup({ id: 'far-fresh', project_id: P, instance_id: 'small', name: 'backup_y', format: 'rdb', remark: '', bucket: 'backups', prefix: 'small/far-fresh/', owner: 'other-host:1:abc' }, now);
  const stale = await h.backupStore.createBackup({ id: 'far-stale', project_id: P, instance_id: 'single', name: 'backup_z', format: 'rdb', remark: '', bucket: 'backups', prefix: 'single/far-stale/', owner: 'other-host:2:abc' }, now - 10 * 60_000);
  const n = await h.reopen().recover();
  assert.equal(n, 2);
  assert.equal((await h.backupStore.getBackup(P, 'small', fresh.id))?.status, 'waiting');
  assert.equal((await h.backupStore.getBackup(P, 'single', stale.id))?.status, 'failed');
  await h.backupStore.transitionBackup(fresh.id, ['waiting'], 'failed', { owner: null }, now);
  const after = await record('tgt', 'ghost-1');
  assert.equal(after.status, 'failed');
  assert.equal(after.error_code, 'dcs.08.0001');
  assert.match(String(after.error_message), /^TASK_INTERRUPTED: .*stopped before it finished/);
});

test('a source killed mid-backup leaves the record failed with an error code and no file', async () => {
  const id = await backup('slow');
  const deadline = Date.now() + 10_000;
  while ((await record('slow', id)).status !== 'backuping' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 700));
  slow.proc.kill('SIGKILL');
  const rec = await finished('slow', id);
  assert.equal(rec.status, 'failed', JSON.stringify(rec));
  assert.equal(rec.error_code, 'dcs.08.0001');
  assert.match(String(rec.error_message), /^(REPLICATION_LOST|RDB_TRUNCATED): /);
  assert.equal(rec.is_support_restore, 'FALSE');
  assert.deepEqual(rec.files, []);
  const folder = join(h.bucket.path, 'slow', id);
  assert.ok(!existsSync(folder), `no file, finished or partial: ${existsSync(folder) ? readdirSync(folder).join(', ') : ''}`);
});

test('allow_single_node_backup: true lets a single-node instance be backed up', async () => {
  const { InstanceRegistry } = await import('../../src/task/instances.js');
  const { BackupService } = await import('../../src/backup/service.js');
  const { BackupBucket } = await import('../../src/backup/sink.js');
  const registry = new InstanceRegistry([{ id: 'single', project: P, name: 'single', type: 'single', addrs: `127.0.0.1:${small.port}` }]);
  const svc = new BackupService({ store: h.backupStore, registry, bucket: new BackupBucket(h.bucket), signer: h.signer, dataRoot: h.dir, allowSingleNode: true });
  const rec = await svc.create(P, 'single', {});
  await svc.settled(rec.id);
  assert.equal((await svc.get(P, 'single', rec.id)).status, 'succeed');
  await svc.close();
});

test('one running backup per instance (DCS.4096), enforced by the store; a running record cannot be deleted', async () => {
  const now = Date.now();
  const owner = `${(await import('node:os')).hostname()}:${process.pid}:live`;
  const first = await h.backupStore.createBackup({ id: 'run-1', project_id: P, instance_id: 'tgt', name: 'backup_a', format: 'rdb', remark: '', bucket: 'backups', prefix: 'tgt/run-1/', owner }, now);
  await assert.rejects(
    h.backupStore.createBackup({ id: 'run-2', project_id: P, instance_id: 'tgt', name: 'backup_b', format: 'rdb', remark: '', bucket: 'backups', prefix: 'tgt/run-2/', owner }, now),
    (e: unknown) => (e as { code?: string }).code === 'INSTANCE_BACKUPING',
  );
  const api = await call({ method: 'POST', url: `${base('tgt')}/backups`, payload: {} });
  assert.equal(api.statusCode, 400);
  assert.equal((api.json() as { error_code: string }).error_code, 'DCS.4096');
  const del = await call({ method: 'DELETE', url: `${base('tgt')}/backups/${first.id}` });
  assert.equal((del.json() as { error_code: string }).error_code, 'DCS.4096');
  // Conditional transitions: only from the named states.
  assert.equal(await h.backupStore.transitionBackup(first.id, ['backuping'], 'succeed', {}, now), null);
  assert.ok(await h.backupStore.transitionBackup(first.id, ['waiting'], 'failed', { owner: null }, now));
  assert.equal((await call({ method: 'DELETE', url: `${base('tgt')}/backups/${first.id}` })).statusCode, 204);
});
