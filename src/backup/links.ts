/**
 * Download links Ferry serves itself for backups in local buckets: HMAC-SHA256 over the project,
 * backup, file and expiry, with a key generated once per data dir (mode 0600). A link is checked in
 * constant time and refused once expired; nothing about it is stored.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';

export const DOWNLOAD_PATH = '/v2/backup-download';

export interface LinkFields {
  project: string;
  backup: string;
  file: string;
  /** Unix seconds. */
  expires: number;
}

export class LinkSigner {
  constructor(private readonly key: Buffer) {}

  /** The key kept in `<dataDir>/backup-links.key`, created on first use. */
  static forDataDir(dataDir: string): LinkSigner {
    const file = join(dataDir, 'backup-links.key');
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true });
      try {
        writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new FerryError('CONFIG_INVALID', `cannot create the download link key: ${(err as Error).message}`, { file }, { cause: err });
      }
    }
    const hex = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new FerryError('CONFIG_INVALID', 'the download link key is malformed; delete it to make a new one (old links stop working)', { file });
    return new LinkSigner(Buffer.from(hex, 'hex'));
  }

  private mac(f: LinkFields): Buffer {
    return createHmac('sha256', this.key).update(`${f.project}\n${f.backup}\n${f.file}\n${f.expires}`).digest();
  }

  /** `<base>/v2/backup-download/<backup>/<file>?project=..&expires=..&signature=..` */
  url(base: string, f: LinkFields): string {
    const q = new URLSearchParams({ project: f.project, expires: String(f.expires), signature: this.mac(f).toString('base64url') });
    return `${base.replace(/\/+$/, '')}${DOWNLOAD_PATH}/${encodeURIComponent(f.backup)}/${encodeURIComponent(f.file)}?${q}`;
  }

  /** Throws DOWNLOAD_LINK_INVALID unless the signature matches and the link has not expired. */
  verify(f: LinkFields, signature: string, nowMs: number): void {
    const got = Buffer.from(signature, 'base64url');
    const want = this.mac(f);
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new FerryError('DOWNLOAD_LINK_INVALID', 'the download link signature does not match (tampered or not issued by this Ferry)');
    if (!Number.isSafeInteger(f.expires) || f.expires * 1000 < nowMs) throw new FerryError('DOWNLOAD_LINK_INVALID', 'the download link has expired; ask for a new one');
  }
}
