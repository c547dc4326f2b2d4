/** StopMigrationTaskSync: POST /v2/{project_id}/migration-task/{task_id}/sync-stop -> 200, empty body, once stopped. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { errorResponses, TaskParams } from '../schemas/common.js';

export function stopMigrationTaskSync(app: FastifyInstance, d: ApiDeps): void {
  app.post<{ Params: { project_id: string; task_id: string } }>(
    '/v2/:project_id/migration-task/:task_id/sync-stop',
    { schema: { operationId: 'StopMigrationTaskSync', tags: ['migration-task'], params: TaskParams, response: { ...errorResponses } } },
    async (req, reply) => {
      await d.service.syncStop(req.params.project_id, req.params.task_id);
      return reply.status(200).send();
    },
  );
}
