/**
 * The HTTP app: Fastify with JSON-schema validation, one error handler, auth on every /v2 route,
 * X-Request-Id on every answer, /openapi.json built from the route schemas, /metrics. Routes live
 * one per file in routes/; this file only wires them.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { TaskService } from '../task/service.js';
import type { InstanceRegistry } from '../task/instances.js';
import type { TaskEngine } from '../task/engine.js';
import type { Authenticator, Principal } from './auth/authenticate.js';
import { errorAnswer, fromFrameworkError } from './error-body.js';
import type { Metrics } from './metrics.js';
import { registerTaskRoutes } from './routes/tasks.js';
import { registerInstanceRoutes } from './routes/instances.js';
import type { BackupService } from '../backup/service.js';
import { registerBackupRoutes } from './routes/backups.js';
import { registerBackupDownload } from './routes/backup-download.js';
import { registerRestoreRoutes } from './routes/restores.js';

export interface ApiDeps {
  service: TaskService;
  registry: InstanceRegistry;
  engine: Pick<TaskEngine, 'probeTarget'>;
  auth: Authenticator;
  metrics: Metrics;
  logger: Logger;
  /** Backup and restore records (issue #6); without it those routes are absent. */
  backups?: BackupService;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The body bytes exactly as received (null when the request had none). */
    rawBody: Buffer | null;
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The route needs a JSON body (an empty one is DCS.4004). */
    requiresBody?: boolean;
  }
}

/** AK/SK bodies are limited to 12 MB by the gateway; the same limit holds here. */
const BODY_LIMIT = 12 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the two packages' declarations only differ in generics.
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    genReqId: () => randomBytes(16).toString('hex'),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: true, useDefaults: true, allErrors: false } },
    return503OnClosing: true,
  });

  app.decorateRequest('rawBody', null);
  app.decorateRequest('principal', null);

  // Keep the raw bytes: AK/SK signatures hash the body exactly as sent. JSON is parsed after auth.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req: FastifyRequest, body: Buffer, done) => {
    req.rawBody = body;
    done(null, undefined);
  });

  // Route patterns by method, for telling 405 from 404.
  const patterns: { method: string; re: RegExp }[] = [];
  app.addHook('onRoute', (r) => {
    const re = new RegExp('^' + r.url.replace(/:[A-Za-z_]+/g, '[^/]+') + '/?$');
    for (const m of [r.method].flat()) patterns.push({ method: m, re });
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('X-Request-Id', req.id);
  });

  app.addHook('preValidation', async (req) => {
    const params = req.params as { project_id?: string } | undefined;
    if (params?.project_id !== undefined) {
      req.principal = deps.auth.authenticate({ method: req.method, url: req.url, headers: req.headers, rawBody: req.rawBody ?? EMPTY, projectId: params.project_id });
    }
    if (req.rawBody?.length) {
      try {
        req.body = JSON.parse(req.rawBody.toString('utf8'));
      } catch {
        throw new FerryError('REQUEST_BAD_JSON', 'The message body contains invalid characters or is not in JSON format.');
      }
    } else if (req.routeOptions.config.requiresBody) {
      throw new FerryError('REQUEST_EMPTY_BODY', 'Empty request body.');
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpAnswer(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode);
  });

  app.setErrorHandler(async (e, req, reply) => {
    const err = fromFrameworkError(e);
    const ans = errorAnswer(err, req.id);
    if (ans.status >= 500) req.log.error({ err: e, code: err.code }, 'request failed');
    else req.log.info({ code: err.code, error_code: ans.body.error_code }, 'request refused');
    return reply.status(ans.status).send(ans.body);
  });

  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0]!;
    const other = patterns.some((p) => p.method !== req.method && p.method !== 'HEAD' && p.re.test(path));
    const err = other
      ? new FerryError('METHOD_NOT_ALLOWED', 'This request method is not allowed.')
      : new FerryError('ROUTE_NOT_FOUND', 'The requested URL does not exist.');
    const ans = errorAnswer(err, req.id);
    return reply.status(ans.status).send(ans.body);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Ferry migration-task API (Huawei Cloud DCS v2 compatible)', version: '0.1.0' },
      components: {
        securitySchemes: {
          token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' },
          aksk: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'SDK-HMAC-SHA256 Access=AK, SignedHeaders=..., Signature=...' },
        },
      },
      security: [{ token: [] }, { aksk: [] }],
    },
  });

  registerTaskRoutes(app, deps);
  registerInstanceRoutes(app, deps);
  if (deps.backups) {
    registerBackupRoutes(app, deps.backups);
    registerRestoreRoutes(app, deps.backups);
    registerBackupDownload(app, deps.backups);
  }

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('Content-Type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  await app.ready();
  return app;
}
