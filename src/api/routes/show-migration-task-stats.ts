/** ShowMigrationTaskStats: GET /v2/{project_id}/migration-task/{task_id}/stats */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { taskStats } from '../present.js';
import { errorResponses, TaskParams } from '../schemas/common.js';
import { StatsResponse } from '../schemas/tasks.js';

export function showMigrationTaskStats(app: FastifyInstance, d: ApiDeps): void {
  app.get<{ Params: { project_id: string; task_id: string } }>(
    '/v2/:project_id/migration-task/:task_id/stats',
    { schema: { operationId: 'ShowMigrationTaskStats', tags: ['migration-task'], params: TaskParams, response: { 200: StatsResponse, ...errorResponses } } },
    async (req) => taskStats(await d.service.get(req.params.project_id, req.params.task_id)),
  );
}
