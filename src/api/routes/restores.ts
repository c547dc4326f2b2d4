/** RestoreInstance (POST .../restores) and ListRestoreRecords (GET .../restores). */
import type { FastifyInstance } from 'fastify';
import type { BackupService } from '../../backup/service.js';
import type { BackupRecord } from '../../store/backup-contract.js';
import { iso } from '../present.js';
import { RestoreBody, RestoreListResponse, RestoreResponse, TimeListQuery } from '../schemas/backups.js';
import { errorResponses, InstanceParams } from '../schemas/common.js';
import { timeQuery, type TimeListQueryT } from './backups.js';

type Inst = { project_id: string; instance_id: string };

export function registerRestoreRoutes(app: FastifyInstance, b: BackupService): void {
  const tags = ['backup'];
  app.post<{ Params: Inst; Body: { backup_id: string; remark?: string } }>(
    '/v2/:project_id/instances/:instance_id/restores',
    { config: { requiresBody: true }, schema: { operationId: 'RestoreInstance', tags, params: InstanceParams, body: RestoreBody, response: { 200: RestoreResponse, ...errorResponses } } },
    async (req) => {
      const r = await b.restore(req.params.project_id, req.params.instance_id, req.body);
      return { restore_id: r.id };
    },
  );
  app.get<{ Params: Inst; Querystring: TimeListQueryT }>(
    '/v2/:project_id/instances/:instance_id/restores',
    { schema: { operationId: 'ListRestoreRecords', tags, params: InstanceParams, querystring: TimeListQuery, response: { 200: RestoreListResponse, ...errorResponses } } },
    async (req) => {
      const { project_id, instance_id } = req.params;
      const r = await b.listRestores(project_id, instance_id, timeQuery(req.query));
      const backups = new Map<string, BackupRecord | null>();
      for (const x of r.records) if (!backups.has(x.backup_id)) backups.set(x.backup_id, await b.get(project_id, instance_id, x.backup_id).catch(() => null));
      return {
        total_num: r.count,
        restore_record_response: r.records.map((x) => {
          const bk = backups.get(x.backup_id) ?? null;
          return {
            restore_id: x.id,
            backup_id: x.backup_id,
            backup_name: bk?.name ?? '',
            backup_remark: bk?.remark ?? '',
            restore_remark: x.remark,
            created_at: iso(x.created_at)!,
            updated_at: iso(x.updated_at)!,
            progress: x.progress.toFixed(2),
            status: x.status,
            error_code: x.error_code ?? '',
            error_message: x.error_message ?? '',
            restore_log: x.log,
          };
        }),
      };
    },
  );
}
