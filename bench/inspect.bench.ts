/**
 * Issue #2: `ferry inspect` as users run it — the compiled CLI (./bin/ferry, after `npm install`) — on
 * every dataset, timed end to end (process start included) and with its own peak RSS (target: under
 * 150 MB whatever the file size), beside the start-up load of the same file in a fresh redis-server.
 * Ratio = server load seconds / inspect seconds.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serverLoad } from './anchors.js';
import type { BenchContext } from './harness.js';

export const name = 'inspect';

const FERRY = fileURLToPath(new URL('../bin/ferry', import.meta.url));

interface CliRun {
  seconds: number;
  maxRssMB: number;
  keys: number;
}

/** Runs `ferry inspect --json` under GNU time (for the child's own max RSS). */
function inspectCli(path: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', FERRY, 'inspect', '--json', '--no-progress', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      const m = /MAXRSS (\d+)/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`ferry inspect ${path} exited ${code}: ${err.slice(-500)}`));
      const report = JSON.parse(out.trim().split('\n').at(-1)!) as { keys: number };
      resolve({ seconds, maxRssMB: Number(m[1]) / 1024, keys: report.keys });
    });
  });
}

export async function run(ctx: BenchContext): Promise<void> {
  for (const ds of await ctx.datasets(['small-strings', 'mixed', 'big-keys'])) {
    const { best: load } = await ctx.best(() => serverLoad(ds.rdb), (l) => l.seconds);
    const { best, runs } = await ctx.best(() => inspectCli(ds.rdb), (r) => r.seconds);
    if (best.keys !== ds.keys) throw new Error(`inspect ${ds.name}: ${best.keys} keys, the dataset holds ${ds.keys}`);
    const rssMB = Math.max(...runs.map((r) => r.maxRssMB));
    ctx.figure({
      name: `ferry inspect ${ds.name}`,
      value: ds.bytes / 1e6 / best.seconds,
      unit: 'MB/s',
      anchor: { name: 'redis-server load', value: load.seconds, unit: 's' },
      ratio: load.seconds / best.seconds,
      ratioMeaning: 'server load s / inspect s (CLI start-up included)',
      rssMB,
      note: `${(ds.bytes / 1e6).toFixed(0)} MB, ${ds.keys} keys in ${best.seconds.toFixed(2)} s; peak RSS ${rssMB.toFixed(0)} MB (target < 150 MB)`,
    });
  }
}
