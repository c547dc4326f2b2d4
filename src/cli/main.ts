/**
 * `ferry` command-line entry: builds the commander program from one file per command and runs it.
 * Each command module exports `register(program)`; no command logic lives here.
 */
import { Command } from 'commander';
import { FerryError } from '../errors/ferry-error.js';

type Registrar = { register(program: Command): void };

/**
 * Command modules, loaded on demand: each pulls in what its command needs (the HTTP server, the AWS
 * SDK, SQLite...), and loading all of them costs seconds and tens of MB that `ferry inspect` should
 * not pay. Only the command being run is loaded; `--help` and unknown words load them all.
 */
const COMMANDS: Record<string, () => Promise<Registrar>> = {
  inspect: () => import('./inspect.js'),
  import: () => import('./import.js'),
  serve: () => import('./serve.js'),
  worker: () => import('./worker.js'),
  backup: () => import('./backup.js'),
};

const program = new Command();
program.name('ferry').description('Import Redis backups (RDB, AOF, archives, buckets) into live Redis').version('0.1.0');
program.showHelpAfterError();

const wanted = process.argv[2];
const load = wanted !== undefined && wanted in COMMANDS ? [COMMANDS[wanted]!] : Object.values(COMMANDS);
for (const m of await Promise.all(load.map((l) => l()))) m.register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof FerryError) {
    process.stderr.write(`ferry: ${err.code}: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`ferry: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  }
});
