/**
 * Where a PostgreSQL store lives: the connection URL as libpq/`pg` read it, plus Ferry's own
 * `schema` query parameter (default "public"), taken out before the URL reaches the driver so several
 * Ferry deployments (or test runs) can share one database in separate schemas.
 */
import { FerryError } from '../../errors/ferry-error.js';

export interface PgLocation {
  /** The URL without the `schema` parameter. */
  url: string;
  schema: string;
}

export function parsePgLocation(raw: string): PgLocation {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new FerryError('CONFIG_INVALID', 'store: not a valid postgres:// URL', { field: 'store' });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new FerryError('CONFIG_INVALID', 'store: a PostgreSQL store URL starts with postgres://', { field: 'store' });
  const schema = u.searchParams.get('schema') ?? 'public';
  // Lowercase only: the name is used unquoted in search_path, where PostgreSQL folds case.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new FerryError('CONFIG_INVALID', `store: schema ${JSON.stringify(schema)} must be a plain identifier (lowercase letters, digits, _)`, { field: 'store' });
  }
  u.searchParams.delete('schema');
  return { url: u.toString(), schema };
}

/** The URL with the password hidden, for log lines. */
export function redactPgUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable)';
  }
}
