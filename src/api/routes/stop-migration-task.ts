/** StopMigrationTask: POST /v2/{project_id}/migration-task/{task_id}/stop -> detail, typically TERMINATING. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { taskDetail } from '../present.js';
import { errorResponses, TaskParams } from '../schemas/common.js';
import { TaskDetail } from '../schemas/tasks.js';

export function stopMigrationTask(app: FastifyInstance, d: ApiDeps): void {
  app.post<{ Params: { project_id: string; task_id: string } }>(
    '/v2/:project_id/migration-task/:task_id/stop',
    { schema: { operationId: 'StopMigrationTask', tags: ['migration-task'], params: TaskParams, response: { 200: TaskDetail, ...errorResponses } } },
    async (req) => taskDetail(await d.service.stop(req.params.project_id, req.params.task_id)),
  );
}
