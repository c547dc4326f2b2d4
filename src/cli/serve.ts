/** `ferry serve`: the DCS-compatible migration-task service (see docs/api.md, docs/configuration.md, docs/scale-out.md). */
import type { Command } from 'commander';
import { serveForever } from '../main.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the migration-task HTTP API (DCS v2 compatible) and the task worker')
    .option('-c, --config <file>', 'YAML or JSON configuration (default: ./ferry.yaml when present, else embedded defaults under ./data)')
    .option('--no-api', 'run the task worker only, without the HTTP API (same as `ferry worker`)')
    .action(async (o: { config?: string; api: boolean }) => {
      await serveForever({ ...(o.config ? { configPath: o.config } : {}), noApi: !o.api });
    });
}
