/**
 * The machine's PostgreSQL (127.0.0.1:5432, trust auth) for tests: every store a test opens lives in
 * a fresh schema named after the run, and `dropAll()` removes them, so parallel runs never collide.
 * FERRY_TEST_PG overrides the server URL.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.FERRY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface PgSchemas {
  /** A store URL in a new schema (created by the store on open). */
  url(): string;
  /** Drops every schema handed out. */
  dropAll(): Promise<void>;
}

export function pgSchemas(label: string): PgSchemas {
  const made: string[] = [];
  const run = `${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  return {
    url() {
      const schema = `ferry_t_${run}_${made.length}`;
      made.push(schema);
      const u = new URL(PG_URL);
      u.searchParams.set('schema', schema);
      return u.toString();
    },
    async dropAll() {
      if (!made.length) return;
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        for (const s of made.splice(0)) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
