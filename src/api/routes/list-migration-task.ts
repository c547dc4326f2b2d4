/** ListMigrationTask: GET /v2/{project_id}/migration-tasks?offset&limit&name */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { taskListItem } from '../present.js';
import { errorResponses, ProjectParams } from '../schemas/common.js';
import { ListQuery, ListResponse } from '../schemas/tasks.js';

export function listMigrationTask(app: FastifyInstance, d: ApiDeps): void {
  app.get<{ Params: { project_id: string }; Querystring: { offset: number; limit: number; name?: string } }>(
    '/v2/:project_id/migration-tasks',
    { schema: { operationId: 'ListMigrationTask', tags: ['migration-task'], params: ProjectParams, querystring: ListQuery, response: { 200: ListResponse, ...errorResponses } } },
    async (req) => {
      const { offset, limit, name } = req.query;
      const r = await d.service.list(req.params.project_id, { offset, limit, ...(name ? { name } : {}) });
      return { count: r.count, migration_tasks: r.tasks.map(taskListItem) };
    },
  );
}
