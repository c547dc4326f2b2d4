/**
 * `ferry worker`: a task worker without the HTTP API. With a PostgreSQL store (docs/scale-out.md) it
 * takes tasks created through any `ferry serve` sharing the database.
 */
import type { Command } from 'commander';
import { serveForever } from '../main.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('run a task worker only (no HTTP API): takes tasks from the shared store (see docs/scale-out.md)')
    .option('-c, --config <file>', 'YAML or JSON configuration (default: ./ferry.yaml when present, else embedded defaults under ./data)')
    .action(async (o: { config?: string }) => {
      await serveForever({ ...(o.config ? { configPath: o.config } : {}), noApi: true });
    });
}
