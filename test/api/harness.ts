/**
 * Builds the real service in-process for contract tests (real store, runner, import engine, auth;
 * only the HTTP socket is skipped: requests go through fastify.inject). Logs are captured so tests
 * can check that no secret is ever written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import { Authenticator } from '../../src/api/auth/authenticate.js';
import { createMetrics } from '../../src/api/metrics.js';
import type { Config, InstanceConfig, BucketConfig } from '../../src/config/schema.js';
import { SqliteTaskStore } from '../../src/store/sqlite/store.js';
import { ImportEngine } from '../../src/task/import-engine.js';
import { InstanceRegistry } from '../../src/task/instances.js';
import { TaskRunner } from '../../src/task/runner.js';
import { TaskService } from '../../src/task/service.js';

export interface Harness {
  app: FastifyInstance;
  store: SqliteTaskStore;
  runner: TaskRunner;
  logs: () => string;
  close(): Promise<void>;
}

export async function startHarness(o: { projects: Config['projects']; instances: InstanceConfig[]; buckets: BucketConfig[]; leaseMs?: number }): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-api-'));
  let captured = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      captured += chunk.toString();
      cb();
    },
  });
  const logger = pino({ level: 'debug', redact: { paths: ['req.headers.authorization', 'req.headers["x-auth-token"]', '*.password', 'password'], censor: '***' } }, sink);
  const store = new SqliteTaskStore(join(dir, 'ferry.db'));
  const registry = new InstanceRegistry(o.instances);
  const engine = new ImportEngine({ dataRoot: dir });
  const metrics = createMetrics(store);
  const runner = new TaskRunner({ store, engine, registry, buckets: o.buckets, concurrency: 2, leaseMs: o.leaseMs ?? 30_000, maxAttempts: 3, onRestart: 'rerun', owner: 'test-runner', logger, metrics });
  const service = new TaskService({ store, registry, buckets: o.buckets, engine, runner, metrics });
  const app = await buildApp({ service, registry, engine, auth: new Authenticator(o.projects), metrics, logger });
  runner.start();
  return {
    app,
    store,
    runner,
    logs: () => captured,
    async close() {
      await app.close();
      await runner.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls a task until `done(status)` or the deadline; returns the last detail. */
export async function waitStatus(app: FastifyInstance, project: string, token: string, id: string, done: (s: string) => boolean, ms = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await app.inject({ method: 'GET', url: `/v2/${project}/migration-task/${id}`, headers: { 'x-auth-token': token } });
    const body = r.json() as Record<string, unknown>;
    if (done(String(body.status)) || Date.now() > deadline) return body;
    await new Promise((res) => setTimeout(res, 50));
  }
}
