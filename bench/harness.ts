/**
 * Benchmark harness: the context every `bench/*.bench.ts` gets, figures with their anchors, and the
 * child-process runner that measures a piece of work with its peak RSS.
 *
 * Why a child process: peak RSS (`ru_maxrss`) is per process and never goes down, so the only honest
 * figure for "memory of this work" is a fresh process doing only that work. The child reports its
 * own timing (module loading excluded) and `process.resourceUsage().maxRSS`; a no-op child measured
 * in the same run gives the Node + tsx baseline that every child figure includes.
 *
 * Run as a script (`node --import tsx bench/harness.ts child <module> <export> <json>`) it is that child.
 */
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dataset, restoreCommands, type Dataset, type DatasetName } from '../test/helpers/datasets.js';

/** One measured figure, printed as it comes and listed in the summary and the JSON results. */
export interface Figure {
  bench: string;
  /** What was measured, e.g. `parse mixed`. */
  name: string;
  value: number;
  unit: string;
  /** The anchor measured in the same run, and how the ratio is formed. */
  anchor?: { name: string; value: number; unit: string };
  /** >1 means better than the anchor; `ratioMeaning` says how it is computed. */
  ratio?: number;
  ratioMeaning?: string;
  /** The target the issue sets for the ratio, when there is one. */
  target?: number;
  /** Peak RSS of the process that did the measured work, in MB. */
  rssMB?: number;
  note?: string;
}

export interface ChildRun<T> {
  result: T;
  /** Peak RSS of the child, MB (includes the Node + tsx baseline). */
  maxRssMB: number;
  /** Wall time of the whole child, module loading included. */
  wallSeconds: number;
}

export interface BenchContext {
  log(msg: string): void;
  /** Records and prints a figure. */
  figure(f: Omit<Figure, 'bench'>): void;
  /** Records that a bench (or a part of it) did not run, and why. */
  skip(what: string, reason: string): void;
  /** Datasets this run covers, from the ones the bench offers (big-keys only with --big or --datasets). */
  datasets(offered: DatasetName[]): Promise<Dataset[]>;
  restoreCommands(ds: Dataset): Promise<string>;
  /** Runs `exportName(args)` from `modulePath` (relative to the repo root) in a fresh Node process. */
  inChild<T>(modulePath: string, exportName: string, args: unknown): Promise<ChildRun<T>>;
  /** Peak RSS of a child doing nothing: the baseline every child figure includes. */
  baselineRssMB(): Promise<number>;
  /**
   * Runs a measurement `--repeat` times (default 1) and keeps the fastest run: on a shared machine the
   * fastest run is the one least disturbed by other work. All runs are returned too (e.g. for max RSS).
   */
  best<T>(measure: () => Promise<T>, seconds: (t: T) => number): Promise<{ best: T; runs: T[] }>;
  /**
   * `best` for a figure and its anchor measured in turns (anchor, figure, anchor, figure...), so a
   * slow spell of the machine slows both sides of a round alike instead of one side's every run.
   * `minTurns` (default 1) raises the turns above `--repeat` for a figure that one turn cannot settle.
   */
  bestInTurns<A, B>(anchor: () => Promise<A>, secA: (a: A) => number, measure: () => Promise<B>, secB: (b: B) => number, minTurns?: number): Promise<{ bestA: A; runsA: A[]; bestB: B; runsB: B[] }>;
}

export interface BenchModule {
  name: string;
  run(ctx: BenchContext): Promise<void>;
}

export interface RunOptions {
  datasets: DatasetName[] | null;
  big: boolean;
  repeat: number;
  /** A bench running longer than this fails (the run goes on with the next one). */
  timeoutMin: number;
}

export interface Skip {
  bench: string;
  what: string;
  reason: string;
}

const HARNESS = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Measured once per run, on first request, and recorded as a figure of its own. */
let baseline: number | null = null;

export function makeContext(bench: string, opts: RunOptions, figures: Figure[], skips: Skip[]): BenchContext {
  const ctx: BenchContext = {
    log: (msg) => process.stderr.write(`  [${bench}] ${msg}\n`),
    figure(f) {
      const fig = { bench, ...f };
      figures.push(fig);
      process.stdout.write(`${formatFigure(fig)}\n`);
    },
    skip(what, reason) {
      skips.push({ bench, what, reason });
      process.stdout.write(`  SKIP ${what}: ${reason}\n`);
    },
    async datasets(offered) {
      const wanted = offered.filter((n) => (opts.datasets ? opts.datasets.includes(n) : n !== 'big-keys' || opts.big));
      const out: Dataset[] = [];
      for (const n of wanted) out.push(await dataset(n, ctx.log));
      return out;
    },
    restoreCommands: (ds) => restoreCommands(ds, ctx.log),
    inChild: (modulePath, exportName, args) => runChild(modulePath, exportName, args),
    async baselineRssMB() {
      if (baseline === null) {
        baseline = (await runChild<null>('bench/harness.ts', 'noop', null)).maxRssMB;
        ctx.figure({ name: 'child RSS baseline (node + tsx, no work)', value: baseline, unit: 'MB', note: 'included in every peak RSS below' });
      }
      return baseline;
    },
    async best(measure, seconds) {
      const runs = [];
      for (let i = 0; i < opts.repeat; i++) runs.push(await measure());
      const best = runs.reduce((a, b) => (seconds(b) < seconds(a) ? b : a));
      return { best, runs };
    },
    async bestInTurns(anchor, secA, measure, secB, minTurns = 1) {
      const runsA = [];
      const runsB = [];
      for (let i = 0; i < Math.max(opts.repeat, minTurns); i++) {
        runsA.push(await anchor());
        runsB.push(await measure());
      }
      return {
        bestA: runsA.reduce((a, b) => (secA(b) < secA(a) ? b : a)), runsA,
        bestB: runsB.reduce((a, b) => (secB(b) < secB(a) ? b : a)), runsB,
      };
    },
  };
  return ctx;
}

/** The no-op child used for the RSS baseline. */
export async function noop(): Promise<null> {
  return null;
}

interface ChildMessage {
  ok: boolean;
  result?: unknown;
  error?: string;
  maxRssKB: number;
}

async function runChild<T>(modulePath: string, exportName: string, args: unknown): Promise<ChildRun<T>> {
  const t0 = performance.now();
  const child = fork(HARNESS, ['child', modulePath, exportName, JSON.stringify(args)], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let msg: ChildMessage | null = null;
  child.on('message', (m: ChildMessage) => (msg = m));
  const [code] = (await new Promise((resolve, reject) => {
    child.once('error', reject);
    // 'close' comes after the IPC channel and stdio are done: the result message is in by then.
    child.once('close', (...a) => resolve(a));
  })) as [number | null, string | null];
  const m = msg as ChildMessage | null;
  if (!m) throw new Error(`bench child ${modulePath}#${exportName} exited (${code}) without a result`);
  if (!m.ok) throw new Error(`bench child ${modulePath}#${exportName} failed: ${m.error}`);
  return { result: m.result as T, maxRssMB: m.maxRssKB / 1024, wallSeconds: (performance.now() - t0) / 1000 };
}

/** Child side: import the module, run the export, send the result and peak RSS back, exit. */
async function childMain(modulePath: string, exportName: string, argsJson: string): Promise<void> {
  const send = (m: ChildMessage): Promise<void> => new Promise((r) => process.send!(m, () => r()));
  try {
    const mod = (await import(pathToFileURL(`${ROOT}/${modulePath}`).href)) as Record<string, unknown>;
    const fn = mod[exportName];
    if (typeof fn !== 'function') throw new Error(`${modulePath} has no export ${exportName}`);
    const result: unknown = await (fn as (a: unknown) => Promise<unknown>)(JSON.parse(argsJson));
    await send({ ok: true, result, maxRssKB: process.resourceUsage().maxRSS });
  } catch (err) {
    const e = err as Error & { code?: string };
    await send({ ok: false, error: `${e.code ? `${e.code}: ` : ''}${e.stack ?? e.message}`, maxRssKB: process.resourceUsage().maxRSS });
  }
  process.disconnect();
}

// ------------------------------------------------------------------------------------------------
// Formatting

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

export function formatFigure(f: Figure): string {
  let s = `  ${f.name.padEnd(38)} ${fmt(f.value).padStart(9)} ${f.unit.padEnd(7)}`;
  if (f.anchor) s += `  anchor ${f.anchor.name} ${fmt(f.anchor.value)} ${f.anchor.unit}`;
  if (f.ratio !== undefined) {
    s += `  ratio ${f.ratio.toFixed(2)}x`;
    if (f.target !== undefined) s += f.ratio >= f.target ? ` (target >= ${f.target}: met)` : ` (target >= ${f.target}: NOT met)`;
  }
  if (f.rssMB !== undefined) s += `  peak RSS ${f.rssMB.toFixed(0)} MB`;
  if (f.note) s += `  (${f.note})`;
  return s;
}

export function summaryTable(figures: Figure[]): string {
  const rows = figures.map((f) => [
    f.bench, f.name, `${fmt(f.value)} ${f.unit}`,
    f.anchor ? `${f.anchor.name}: ${fmt(f.anchor.value)} ${f.anchor.unit}` : '',
    f.ratio !== undefined ? `${f.ratio.toFixed(2)}x${f.target !== undefined ? (f.ratio >= f.target ? ' ok' : ' BELOW') : ''}` : '',
    f.rssMB !== undefined ? `${f.rssMB.toFixed(0)} MB` : '',
  ]);
  const head = ['bench', 'figure', 'value', 'anchor (same run)', 'ratio', 'peak RSS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

// Not a top-level await: the child may import this very module (the no-op baseline), which must be
// able to finish evaluating first.
if (process.argv[1] === HARNESS && process.argv[2] === 'child') {
  void childMain(process.argv[3]!, process.argv[4]!, process.argv[5]!);
}
