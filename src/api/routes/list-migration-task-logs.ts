/** ListMigrationTaskLogs: GET /v2/{project_id}/migration-task/{task_id}/logs?offset&limit&log_level */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { logItem } from '../present.js';
import { errorResponses, TaskParams } from '../schemas/common.js';
import { LogsQuery, LogsResponse } from '../schemas/tasks.js';

export function listMigrationTaskLogs(app: FastifyInstance, d: ApiDeps): void {
  app.get<{ Params: { project_id: string; task_id: string }; Querystring: { offset: number; limit: number; log_level?: 'INFO' | 'ERROR' } }>(
    '/v2/:project_id/migration-task/:task_id/logs',
    { schema: { operationId: 'ListMigrationTaskLogs', tags: ['migration-task'], params: TaskParams, querystring: LogsQuery, response: { 200: LogsResponse, ...errorResponses } } },
    async (req) => {
      const { offset, limit, log_level } = req.query;
      const r = await d.service.logs(req.params.project_id, req.params.task_id, { offset, limit, ...(log_level ? { level: log_level } : {}) });
      return { log_num: r.count, migration_logs: r.logs.map(logItem) };
    },
  );
}
