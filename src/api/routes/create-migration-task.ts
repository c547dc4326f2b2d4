/** CreateMigrationTask: POST /v2/{project_id}/migration-task (backup import only). */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { errorResponses, ProjectParams } from '../schemas/common.js';
import { CreateTaskBody, CreateTaskResponse, type CreateTaskBodyT } from '../schemas/tasks.js';

export function createMigrationTask(app: FastifyInstance, d: ApiDeps): void {
  app.post<{ Params: { project_id: string }; Body: CreateTaskBodyT }>(
    '/v2/:project_id/migration-task',
    {
      config: { requiresBody: true },
      schema: { operationId: 'CreateMigrationTask', tags: ['migration-task'], params: ProjectParams, body: CreateTaskBody, response: { 200: CreateTaskResponse, ...errorResponses } },
    },
    async (req) => {
      const bf = req.body.backup_files;
      if (bf?.file_source === 'backup_record' && bf.backup_id && d.backups) {
        // A backup record is imported as the bucket files it holds (all shards); the task echoes the id.
        const src = await d.backups.importSource(req.params.project_id, bf.backup_id);
        const body = { ...req.body, backup_files: { file_source: 'self_build_obs', bucket_name: src.bucket_name, files: src.files } };
        const t = await d.service.create(req.params.project_id, body, { backup_id: bf.backup_id });
        return { id: t.id, name: t.name, status: t.status, error: t.error_message ?? '' };
      }
      const t = await d.service.create(req.params.project_id, req.body);
      return { id: t.id, name: t.name, status: t.status, error: t.error_message ?? '' };
    },
  );
}
