/**
 * One PostgreSQL pool per store, opened on the schema named in the URL, with the numbered migrations
 * applied first under an advisory lock (several processes may start at once: each step runs exactly
 * once, in its own transaction, and later starters find it done). Shared by the task and backup stores.
 */
import pg from 'pg';
import { FerryError } from '../../errors/ferry-error.js';
import { parsePgLocation } from './location.js';
import { PG_MIGRATIONS } from './migrations.js';

const INT8 = 20;
/** Millisecond timestamps, sizes and counts are BIGINT: read them as numbers (all stay below 2^53). */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

export interface PgPoolOptions {
  /** Connections in the pool (API requests, heartbeats and claims share them). */
  poolSize?: number;
}

export async function openPool(rawUrl: string, o: PgPoolOptions = {}): Promise<{ pool: pg.Pool; schema: string }> {
  const loc = parsePgLocation(rawUrl);
  const pool = new pg.Pool({
    connectionString: loc.url,
    max: o.poolSize ?? 10,
    types,
    // Every connection resolves table names in the configured schema only.
    options: `-c search_path=${loc.schema}`,
    connectionTimeoutMillis: 10_000,
  });
  // An idle connection dropped by the server must not crash the process: the next query reports it.
  pool.on('error', () => {});
  try {
    await migrate(pool, loc.schema);
  } catch (err) {
    await pool.end().catch(() => {});
    if (err instanceof FerryError) throw err;
    throw new FerryError('STORE_FAILED', `cannot open the PostgreSQL store: ${(err as Error).message}`, { field: 'store' }, { cause: err });
  }
  return { pool, schema: loc.schema };
}

async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const c = await pool.connect();
  const lock = `ferry-migrations:${schema}`;
  try {
    await c.query('SELECT pg_advisory_lock(hashtext($1))', [lock]);
    try {
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const done = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const known = Math.max(0, ...PG_MIGRATIONS.map((m) => m.version));
      const newest = Math.max(0, ...done);
      if (newest > known) throw new FerryError('STORE_FAILED', `the store was written by a newer Ferry (schema ${newest}, this version knows ${known})`);
      for (const m of PG_MIGRATIONS) {
        if (done.has(m.version)) continue;
        await c.query('BEGIN');
        try {
          await c.query(m.sql);
          await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock(hashtext($1))', [lock]);
    }
  } finally {
    c.release();
  }
}

/** Runs `fn` and turns driver errors into STORE_FAILED naming what was being done. */
export async function storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FerryError) throw err;
    throw new FerryError('STORE_FAILED', `store failed to ${what}: ${(err as Error).message}`, {}, { cause: err });
  }
}
