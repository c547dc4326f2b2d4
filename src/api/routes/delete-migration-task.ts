/** DeleteMigrationTask: DELETE /v2/{project_id}/migration-tasks/delete with a JSON body {task_id_list}. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { errorResponses, ProjectParams } from '../schemas/common.js';
import { DeleteBody, DeleteResponse } from '../schemas/tasks.js';

export function deleteMigrationTask(app: FastifyInstance, d: ApiDeps): void {
  app.delete<{ Params: { project_id: string }; Body: { task_id_list: string[] } }>(
    '/v2/:project_id/migration-tasks/delete',
    {
      config: { requiresBody: true },
      schema: { operationId: 'DeleteMigrationTask', tags: ['migration-task'], params: ProjectParams, body: DeleteBody, response: { 200: DeleteResponse, ...errorResponses } },
    },
    async (req) => ({ task_id_list: await d.service.delete(req.params.project_id, req.body.task_id_list) }),
  );
}
