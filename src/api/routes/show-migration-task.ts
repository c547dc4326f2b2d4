/** ShowMigrationTask: GET /v2/{project_id}/migration-task/{task_id} */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { taskDetail } from '../present.js';
import { errorResponses, TaskParams } from '../schemas/common.js';
import { TaskDetail } from '../schemas/tasks.js';

export function showMigrationTask(app: FastifyInstance, d: ApiDeps): void {
  app.get<{ Params: { project_id: string; task_id: string } }>(
    '/v2/:project_id/migration-task/:task_id',
    { schema: { operationId: 'ShowMigrationTask', tags: ['migration-task'], params: TaskParams, response: { 200: TaskDetail, ...errorResponses } } },
    async (req) => taskDetail(await d.service.get(req.params.project_id, req.params.task_id)),
  );
}
