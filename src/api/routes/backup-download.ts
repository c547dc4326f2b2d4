/**
 * GET /v2/backup-download/{backup_id}/{file}?project&expires&signature: the download links of
 * ListBackupFileLinks for local buckets. No token or AK/SK: the HMAC-signed, expiring URL is the
 * credential (as a pre-signed OBS URL is); a bad or expired link is 403 before any file is touched.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { BackupService } from '../../backup/service.js';
import { DOWNLOAD_PATH } from '../../backup/links.js';
import { FerryError } from '../../errors/ferry-error.js';
import { ErrorBody } from '../schemas/common.js';

export function registerBackupDownload(app: FastifyInstance, b: BackupService): void {
  app.get<{ Params: { backup_id: string; file_name: string }; Querystring: { project?: string; expires?: string; signature?: string } }>(
    `${DOWNLOAD_PATH}/:backup_id/:file_name`,
    {
      schema: {
        operationId: 'DownloadBackupFile',
        tags: ['backup'],
        params: Type.Object({ backup_id: Type.String({ minLength: 1, maxLength: 128 }), file_name: Type.String({ minLength: 1, maxLength: 1024 }) }),
        querystring: Type.Object({ project: Type.Optional(Type.String()), expires: Type.Optional(Type.String()), signature: Type.Optional(Type.String()) }),
        response: { 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { project, expires, signature } = req.query;
      if (!project || !expires || !signature || !/^\d{1,12}$/.test(expires)) throw new FerryError('DOWNLOAD_LINK_INVALID', 'the download link lacks project, expires or signature');
      const f = await b.download({ project, backup: req.params.backup_id, file: req.params.file_name, expires: Number(expires), signature });
      reply.header('Content-Type', 'application/octet-stream');
      reply.header('Content-Length', String(f.size));
      reply.header('Content-Disposition', `attachment; filename="${f.name.replace(/["\\\r\n]/g, '_')}"`);
      return reply.send(f.stream);
    },
  );
}
