/**
 * `ferry` command-line entry: builds the commander program from one file per command and runs it.
 * Each command module exports `register(program)`; no command logic lives here.
 */
import { Command } from 'commander';
import { FerryError } from '../errors/ferry-error.js';
import { register as registerInspect } from './inspect.js';
import { register as registerServe } from './serve.js';
import { register as registerImport } from './import.js';
import { register as registerWorker } from './worker.js';
import { register as registerBackup } from './backup.js';

const program = new Command();
program.name('ferry').description('Import Redis backups (RDB, AOF, archives, buckets) into live Redis').version('0.1.0');
program.showHelpAfterError();

registerInspect(program);
registerServe(program);
registerImport(program);
registerWorker(program);
registerBackup(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof FerryError) {
    process.stderr.write(`ferry: ${err.code}: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`ferry: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  }
});
