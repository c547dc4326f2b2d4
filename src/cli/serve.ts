/** `ferry serve`: the DCS-compatible migration-task service (see docs/api.md, docs/configuration.md). */
import type { Command } from 'commander';
import { serveForever } from '../main.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the migration-task HTTP API (DCS v2 compatible) and the task runner')
    .option('-c, --config <file>', 'YAML or JSON configuration (default: ./ferry.yaml when present, else embedded defaults under ./data)')
    .action(async (o: { config?: string }) => {
      await serveForever(o.config ? { configPath: o.config } : {});
    });
}
