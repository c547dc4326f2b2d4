/**
 * Backup records of an instance: CopyInstance (POST .../backups), ListBackupRecords (GET),
 * DeleteBackupFile (DELETE .../backups/{id}, 204) and ListBackupFileLinks (POST .../links).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BackupService } from '../../backup/service.js';
import { FerryError } from '../../errors/ferry-error.js';
import type { BackupRecord, TimeQuery } from '../../store/backup-contract.js';
import { iso } from '../present.js';
import { BackupListResponse, BackupParams, CreateBackupBody, CreateBackupResponse, LinksBody, LinksResponse, TimeListQuery } from '../schemas/backups.js';
import { errorResponses, InstanceParams } from '../schemas/common.js';

type Inst = { project_id: string; instance_id: string };
type Bk = Inst & { backup_id: string };
export type TimeListQueryT = { offset: number; limit: number; begin_time?: string; end_time?: string; beginTime?: string; begin_Time?: string; end_Time?: string };

function fromDcsTime(s: string, field: string): number {
  const ms = Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14));
  if (Number.isNaN(ms) || new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) !== s) throw new FerryError('BAD_ARGUMENT', `${field} must be a yyyyMMddHHmmss UTC time`, { field });
  return ms;
}

/** begin_time / end_time (and the reference's misspellings) -> a store query; end before begin is DCS.4025. */
export function timeQuery(q: TimeListQueryT): TimeQuery {
  const out: TimeQuery = { offset: q.offset, limit: q.limit };
  const b = q.begin_time ?? q.beginTime ?? q.begin_Time;
  const e = q.end_time ?? q.end_Time;
  if (b !== undefined) out.begin = fromDcsTime(b, 'begin_time');
  if (e !== undefined) out.end = fromDcsTime(e, 'end_time') + 999;
  if (out.begin !== undefined && out.end !== undefined && out.end < out.begin) throw new FerryError('TIME_RANGE_INVALID', 'The end time must be after the start time.');
  return out;
}

export function backupOut(r: BackupRecord) {
  return {
    backup_id: r.id,
    backup_name: r.name,
    instance_id: r.instance_id,
    period: '',
    size: r.size,
    backup_type: r.backup_type,
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
    execution_at: iso(r.execution_at) ?? '',
    progress: r.progress.toFixed(2),
    error_code: r.error_code ?? '',
    error_message: r.error_message ?? '',
    remark: r.remark,
    status: r.status,
    is_support_restore: r.status === 'succeed' ? 'TRUE' : 'FALSE',
    backup_format: r.format,
    files: r.files.map((f) => ({ file_name: f.file_name.slice(r.prefix.length), size: f.size, node: f.node, slots: f.slots })),
  };
}

/** Where links point: the address the caller reached Ferry at. */
function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? `${req.hostname}`}`;
}

export function registerBackupRoutes(app: FastifyInstance, b: BackupService): void {
  const tags = ['backup'];
  app.post<{ Params: Inst; Body: { remark?: string; backup_format?: string } }>(
    '/v2/:project_id/instances/:instance_id/backups',
    { schema: { operationId: 'CopyInstance', tags, params: InstanceParams, body: CreateBackupBody, response: { 200: CreateBackupResponse, ...errorResponses } } },
    async (req) => {
      const r = await b.create(req.params.project_id, req.params.instance_id, req.body ?? {});
      return { backup_id: r.id };
    },
  );
  app.get<{ Params: Inst; Querystring: TimeListQueryT }>(
    '/v2/:project_id/instances/:instance_id/backups',
    { schema: { operationId: 'ListBackupRecords', tags, params: InstanceParams, querystring: TimeListQuery, response: { 200: BackupListResponse, ...errorResponses } } },
    async (req) => {
      const r = await b.list(req.params.project_id, req.params.instance_id, timeQuery(req.query));
      return { total_num: r.count, backup_record_response: r.records.map(backupOut) };
    },
  );
  app.delete<{ Params: Bk }>(
    '/v2/:project_id/instances/:instance_id/backups/:backup_id',
    { schema: { operationId: 'DeleteBackupFile', tags, params: BackupParams, response: { ...errorResponses } } },
    async (req, reply) => {
      await b.delete(req.params.project_id, req.params.instance_id, req.params.backup_id);
      return reply.status(204).send();
    },
  );
  app.post<{ Params: Bk; Body: { expiration: number } }>(
    '/v2/:project_id/instances/:instance_id/backups/:backup_id/links',
    { config: { requiresBody: true }, schema: { operationId: 'ListBackupFileLinks', tags, params: BackupParams, body: LinksBody, response: { 200: LinksResponse, ...errorResponses } } },
    async (req) => b.links(req.params.project_id, req.params.instance_id, req.params.backup_id, req.body.expiration, baseUrl(req)),
  );
}
