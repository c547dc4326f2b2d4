/**
 * Process entry for `ferry serve` and `ferry worker`: load the configuration, build the dependencies,
 * start the runner and (unless worker-only) the API, stop gracefully on SIGINT/SIGTERM. No logic of
 * its own: everything is passed in. With a PostgreSQL store several of these share the work.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.js';
import { openBackups } from './backup/open.js';
import { FerryError } from './errors/ferry-error.js';
import { Authenticator } from './api/auth/authenticate.js';
import { createMetrics } from './api/metrics.js';
import { applyEmbeddedDefaults, type Bootstrap } from './config/embedded-defaults.js';
import { loadConfig, type LoadOptions } from './config/load.js';
import type { Config } from './config/schema.js';
import { openStore } from './store/open.js';
import { redactPgUrl } from './store/postgres/location.js';
import type { TaskStore } from './store/contract.js';
import { ImportEngine } from './task/import-engine.js';
import { InstanceRegistry } from './task/instances.js';
import { TaskRunner } from './task/runner.js';
import { TaskService } from './task/service.js';

export interface Server {
  app: FastifyInstance;
  config: Config;
  store: TaskStore;
  runner: TaskRunner;
  /** "http://host:port" actually bound (port 0 in the config picks a free one); null for a worker only. */
  url: string | null;
  /** This process's lease owner id (`host:pid:random`). */
  owner: string;
  close(): Promise<void>;
}

export interface StartOptions extends LoadOptions {
  /** Where the one-time credentials banner goes (stderr by default). */
  print?: (text: string) => void;
  logger?: Logger;
  /** Run the task worker only (`ferry worker`, `ferry serve --no-api`): no HTTP listener. */
  noApi?: boolean;
}

export async function startServer(opts: StartOptions = {}): Promise<Server> {
  let config = loadConfig(opts);
  let generated: Bootstrap | null = null;
  let localRedis = false;
  if (!config.origin.file) ({ config, generated, localRedis } = await applyEmbeddedDefaults(config));

  const logger =
    opts.logger ??
    pino({
      level: config.logLevel,
      base: { service: 'ferry' },
      // Secrets never reach a log line, whatever logs them.
      redact: { paths: ['req.headers.authorization', 'req.headers["x-auth-token"]', '*.password', 'password', '*.sk', '*.secret_key', 'token'], censor: '***' },
    });

  const store = await openStore(config.store);
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const registry = new InstanceRegistry(config.instances);
  const engine = new ImportEngine({ dataRoot: config.dataDir, ...(opts.env ? { env: opts.env } : {}) });
  const metrics = createMetrics(store, { processMetrics: true });
  const runner = new TaskRunner({
    store,
    engine,
    registry,
    buckets: config.buckets,
    concurrency: config.tasks.concurrency,
    leaseMs: config.tasks.leaseMs,
    maxAttempts: config.tasks.maxAttempts,
    onRestart: config.tasks.onRestart,
    owner,
    logger: logger.child({ component: 'runner' }),
    metrics,
    pollMs: config.tasks.pollMs,
    workerMaxInflightBytes: config.tasks.workerMaxInflightBytes,
  });
  const service = new TaskService({ store, registry, buckets: config.buckets, engine, runner, metrics });
  const auth = new Authenticator(config.projects);
  // Backups are taken by the process that answers the API (a worker only runs import tasks).
  const backups = opts.noApi ? null : await openBackups(config, registry, logger, opts.env);
  const app = await buildApp({ service, registry, engine, auth, metrics, logger, ...(backups ? { backups: backups.service } : {}) });

  try {
    if (!opts.noApi) await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await app.close();
    await backups?.close();
    await store.close();
    throw new FerryError('CONFIG_INVALID', `cannot listen on ${config.listen.host}:${config.listen.port}: ${(err as Error).message}`, { field: 'listen' }, { cause: err });
  }
  runner.start();
  const addr = opts.noApi ? null : app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.listen.port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = opts.noApi ? null : `http://${host}:${port}`;

  if (generated) {
    // stderr, so stdout stays pure JSON log lines for log shippers.
    (opts.print ?? ((t: string) => process.stderr.write(t)))(
      [
        'Ferry generated credentials (shown once; kept in ' + config.dataDir + '/bootstrap.json):',
        `  project_id:   ${generated.project_id}`,
        `  X-Auth-Token: ${generated.token}`,
        `  AK / SK:      ${generated.ak} / ${generated.sk}`,
        `  buckets:      ${config.buckets.map((b) => b.name).join(', ')} (folders under ${config.dataDir}/buckets)`,
        `  instance:     ${localRedis ? `${generated.local_instance_id} = 127.0.0.1:6379` : 'none (no Redis answered on 127.0.0.1:6379)'}`,
        '',
      ].join('\n'),
    );
  }
  const storeName = config.store.kind === 'sqlite' ? config.store.path : redactPgUrl(config.store.url);
  if (opts.noApi) logger.info({ owner, config: config.origin.file ?? 'embedded defaults', store: storeName, concurrency: config.tasks.concurrency }, 'ferry worker started');
  else logger.info({ url, owner, config: config.origin.file ?? 'embedded defaults', store: storeName, projects: config.projects.length, instances: config.instances.length, buckets: config.buckets.length }, 'ferry serve listening');

  let closing: Promise<void> | null = null;
  return {
    app,
    config,
    store,
    runner,
    url,
    owner,
    close() {
      closing ??= (async () => {
        await app.close();
        await backups?.close();
        await runner.close();
        await store.close();
      })();
      return closing;
    },
  };
}

/** Runs until SIGINT/SIGTERM, then shuts down gracefully (a second signal exits at once). */
export async function serveForever(opts: StartOptions = {}): Promise<void> {
  const server = await startServer(opts);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      server.app.log.info({ signal: sig }, 'shutting down');
      process.once(sig, () => process.exit(130));
      server.close().then(resolve, (err: unknown) => {
        server.app.log.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
