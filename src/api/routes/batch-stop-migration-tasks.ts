/** BatchStopMigrationTasks: POST /v2/{project_id}/migration-task/batch-stop; per-task result, answered before tasks reach TERMINATED. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { errorResponses, ProjectParams } from '../schemas/common.js';
import { BatchStopBody, BatchStopResponse } from '../schemas/tasks.js';

export function batchStopMigrationTasks(app: FastifyInstance, d: ApiDeps): void {
  app.post<{ Params: { project_id: string }; Body: { migration_tasks: string[] } }>(
    '/v2/:project_id/migration-task/batch-stop',
    {
      config: { requiresBody: true },
      schema: { operationId: 'BatchStopMigrationTasks', tags: ['migration-task'], params: ProjectParams, body: BatchStopBody, response: { 200: BatchStopResponse, ...errorResponses } },
    },
    async (req) => ({ migration_tasks: await d.service.batchStop(req.params.project_id, req.body.migration_tasks) }),
  );
}
