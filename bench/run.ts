/**
 * `npm run bench [-- [filter...] [--datasets a,b] [--big] [--repeat N]]`
 *
 * Runs every bench/*.bench.ts (or those whose file or `name` contains a filter), one after another,
 * prints each figure with its anchor and ratio, then a summary table, and writes everything to
 * `.tmp/bench-results.json`. Datasets are generated on first use and cached (test/helpers/datasets.ts);
 * the big-key dataset is only used with `--big` or when `--datasets` names it. `--repeat N` measures
 * everything N times and keeps the fastest run of each (anchors included; the import bench's speed
 * targets take at least 3 turns whatever N is). `--timeout-min M` (default 60)
 * fails a bench that takes longer, so a stuck bench cannot hang the run.
 */
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { makeContext, summaryTable, type BenchModule, type Figure, type RunOptions, type Skip } from './harness.js';
import { DATASET_NAMES, DATASET_VERSION, type DatasetName } from '../test/helpers/datasets.js';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = fileURLToPath(new URL('../.tmp/bench-results.json', import.meta.url));

function parseArgs(argv: string[]): { filters: string[]; opts: RunOptions } {
  const filters: string[] = [];
  const opts: RunOptions = { datasets: null, big: false, repeat: 1, timeoutMin: 60 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--big') opts.big = true;
    else if (a === '--repeat') {
      opts.repeat = Number(argv[++i]);
      if (!Number.isInteger(opts.repeat) || opts.repeat < 1 || opts.repeat > 20) throw new Error('--repeat takes a whole number from 1 to 20');
    }
    else if (a === '--timeout-min') {
      opts.timeoutMin = Number(argv[++i]);
      if (!(opts.timeoutMin > 0)) throw new Error('--timeout-min takes a positive number of minutes');
    } else if (a === '--datasets') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const n of names) if (!DATASET_NAMES.includes(n as DatasetName)) throw new Error(`unknown dataset ${n} (have ${DATASET_NAMES.join(', ')})`);
      opts.datasets = names as DatasetName[];
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else filters.push(a);
  }
  return { filters, opts };
}

async function main(): Promise<void> {
  const { filters, opts } = parseArgs(process.argv.slice(2));
  // Benches that run the CLI as users do (./bin/ferry loads dist/) must measure the current code.
  const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit', cwd: fileURLToPath(new URL('..', import.meta.url)) });
  if (build.status !== 0) throw new Error('tsc failed: the benches need a current dist/');
  const files = readdirSync(BENCH_DIR).filter((f) => f.endsWith('.bench.ts')).sort();
  const figures: Figure[] = [];
  const skips: Skip[] = [];
  const failures: { bench: string; error: string }[] = [];
  const started = new Date();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(BENCH_DIR, file)).href)) as BenchModule;
    if (filters.length && !filters.some((f) => file.includes(f) || mod.name.includes(f))) continue;
    process.stdout.write(`\n== ${mod.name} (${file})\n`);
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${opts.timeoutMin} min`)), opts.timeoutMin * 60_000);
      });
      await Promise.race([mod.run(makeContext(mod.name, opts, figures, skips)), limit]);
    } catch (err) {
      const e = err as Error;
      failures.push({ bench: mod.name, error: e.stack ?? e.message });
      process.stdout.write(`  FAILED: ${e.stack ?? e.message}\n`);
    } finally {
      clearTimeout(timer);
    }
    process.stdout.write(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  process.stdout.write(`\n== summary (run started ${started.toISOString()})\n${summaryTable(figures)}\n`);
  for (const s of skips) process.stdout.write(`skipped: ${s.bench} ${s.what}: ${s.reason}\n`);
  for (const f of failures) process.stdout.write(`failed: ${f.bench}: ${f.error.split('\n')[0]}\n`);

  await mkdir(join(RESULTS, '..'), { recursive: true });
  await writeFile(RESULTS, JSON.stringify({
    started: started.toISOString(), finished: new Date().toISOString(), datasetVersion: DATASET_VERSION, options: opts,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGB: Math.round(totalmem() / 2 ** 30), node: process.version, redis: redisVersion() },
    figures, skips, failures,
  }, null, 2));
  process.stdout.write(`results written to ${RESULTS}\n`);
  if (failures.length) process.exitCode = 1;
  // A bench that timed out may still hold handles (servers, sockets): end the run rather than hang.
  if (failures.some((f) => f.error.includes('timed out after'))) process.exit(1);
}

function redisVersion(): string {
  try {
    return execFileSync('redis-server', ['--version']).toString().trim();
  } catch {
    return 'unknown';
  }
}

await main();
