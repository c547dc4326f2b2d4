/**
 * `ferry import SOURCE... --target URL`: the import engine from the command line. Progress goes to
 * stderr (a bar on a TTY, JSON lines otherwise); with --json the last stdout line is the summary.
 * Exit code 0 only on full success; 1 when the import finished with keys not written (--on-error
 * skip); FerryErrors are reported by main.ts (exit 2).
 */
import type { Command } from 'commander';
import { FerryError } from '../errors/ferry-error.js';
import { openInputs } from '../source/index.js';
import { importRecords, parseDbMap } from '../pipeline/import.js';
import type { ConflictPolicy, ImportMode, ImportProgress, ImportSummary, OnErrorPolicy } from '../pipeline/types.js';
import { IMPORT_INLINE_LIMIT, IMPORT_STRING_RUN_MAX } from '../pipeline/inline-limit.js';
import { parseTargetUrl } from '../writer/target-spec.js';
import { addTlsOptions, withCliTls } from './tls-options.js';
import { isLocalTarget, lowerOwnPriority, YIELD_NICE } from './cpu-yield.js';

interface ImportCliOptions {
  target: string;
  mode: string;
  conflict: string;
  onError: string;
  dbMap?: string;
  targetDb?: string;
  acceptLoss?: boolean;
  keepLzf?: boolean;
  json?: boolean;
  aofTruncated: string;
  aofRefused: string;
  config?: string;
  yieldCpu: boolean;
  loadingTimeout: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('import')
    .description('import Redis backups (RDB, AOF, archives, s3:// objects) into a live Redis or Redis Cluster')
    .argument('<source...>', 'backup files, AOF directories, archives or s3://bucket/key URLs, imported in order')
    .requiredOption('-t, --target <url>', 'redis://[user:password@]host:port[/db] or rediss://... (TLS)')
    .option('--mode <mode>', 'auto (choose per key), restore (RESTORE only), rewrite (ordinary commands only)', 'auto')
    .option('--conflict <policy>', 'key already on the target: replace, skip (keep it) or fail', 'replace')
    .option('--on-error <policy>', 'target refuses a key: stop, or skip (count and list it)', 'stop')
    .option('--db-map <map>', 'source db to target db, e.g. 1:0,5:0')
    .option('--target-db <n>', 'write every source db into this target db')
    .option('--accept-loss', 'drop what the target cannot represent (field TTLs, module values...) and count it')
    .option('--keep-lzf', 'send RESTORE payloads LZF-compressed as in the file (fewer bytes on the wire; by default they are inflated, which the target restores ~9% faster)')
    .option('--json', 'print the summary as one JSON line on stdout')
    .option('--loading-timeout <seconds>', 'how long to wait for a target still loading its dataset (it refuses writes until then)', '600')
    .option('--no-yield-cpu', `keep Ferry's CPU priority when the target is on this host (by default Ferry then runs at nice ${YIELD_NICE}, so the target's one command thread never waits for a core behind Ferry's threads)`)
    .option('--aof-truncated <policy>', 'AOF ending inside a command or MULTI: error, or load (drop the tail and report it, like aof-load-truncated)', 'error')
    .option('--aof-refused <policy>', 'AOF commands an import must not replay (FLUSHALL, CONFIG...): error, or skip (report each)', 'error')
    .option('--config <file>', 'configuration file naming buckets for s3://bucket/key (default: FERRY_CONFIG or ./ferry.yaml; AWS_* env otherwise)');
  addTlsOptions(cmd).action(async (sources: string[], o: ImportCliOptions, c: Command) => {
    const summary = await runImport(sources, o, c);
    process.exitCode = summary.errors > 0 ? 1 : 0;
  });
}

async function runImport(sources: string[], o: ImportCliOptions, cmd: Command): Promise<ImportSummary> {
  const targetDb = o.targetDb === undefined ? undefined : Number(o.targetDb);
  if (targetDb !== undefined && (!Number.isInteger(targetDb) || targetDb < 0)) {
    throw new FerryError('BAD_ARGUMENT', `--target-db must be a non-negative integer, got ${o.targetDb}`, { field: 'target-db' });
  }
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (o.aofTruncated !== 'error' && o.aofTruncated !== 'load') throw new FerryError('BAD_ARGUMENT', `--aof-truncated takes error or load, not ${o.aofTruncated}`, { field: 'aof-truncated' });
  if (o.aofRefused !== 'error' && o.aofRefused !== 'skip') throw new FerryError('BAD_ARGUMENT', `--aof-refused takes error or skip, not ${o.aofRefused}`, { field: 'aof-refused' });
  // The configuration only names buckets: it is loaded (schema, YAML: ~0.1 s of start-up) only when a
  // source is in a bucket or a file is given, as `ferry inspect` does.
  const needsConfig = o.config !== undefined || sources.some((s) => /^(s3|obs):\/\//.test(s));
  const config = needsConfig ? (await import('../config/load.js')).loadConfig({ configPath: o.config }) : { buckets: [], dataDir: undefined };
  const progress = await progressReporter();
  const loadingTimeout = Number(o.loadingTimeout);
  if (!(loadingTimeout > 0)) throw new FerryError('BAD_ARGUMENT', `--loading-timeout takes a number of seconds above 0, not ${o.loadingTimeout}`, { field: 'loading-timeout' });
  const target = { ...withCliTls(parseTargetUrl(o.target), cmd, (m) => progress.log('warn', 'TLS_INSECURE', m)), loadingTimeoutMs: loadingTimeout * 1000 };
  if (o.yieldCpu && (await isLocalTarget(target.addrs))) {
    progress.log('info', 'CPU_YIELD', `target on this host: Ferry runs at nice ${YIELD_NICE} (${lowerOwnPriority()} threads lowered) so the target never waits for a core behind it; --no-yield-cpu keeps the priority`);
  }
  const inputs = await openInputs(sources, {
    signal: abort.signal,
    inlineLimit: IMPORT_INLINE_LIMIT,
    leased: true,
    stringRuns: IMPORT_STRING_RUN_MAX,
    keyRuns: true,
    buckets: config.buckets,
    dataRoot: config.dataDir,
    aofTruncated: o.aofTruncated,
    aofRefused: o.aofRefused,
    onNotice: (n) => progress.log('warn', n.kind === 'truncated' ? 'AOF_TRUNCATED' : n.kind === 'refused' ? 'AOF_COMMAND_REFUSED' : 'RDB_TRAILING_BYTES', `${n.file} offset ${n.offset}: ${n.message}`),
  });
  try {
    const summary = await importRecords(inputs, {
      target,
      mode: o.mode as ImportMode,
      conflict: o.conflict as ConflictPolicy,
      onError: o.onError as OnErrorPolicy,
      ...(o.dbMap ? { dbMap: parseDbMap(o.dbMap) } : {}),
      ...(targetDb !== undefined ? { targetDb } : {}),
      acceptLoss: o.acceptLoss ?? false,
      keepLzf: o.keepLzf ?? false,
      signal: abort.signal,
      onProgress: progress.update,
      log: (level, code, message) => progress.log(level, code, message),
    });
    progress.stop();
    report(summary, o.json ?? false);
    return summary;
  } catch (err) {
    progress.stop();
    if (o.json && err instanceof FerryError) {
      process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message }, ...(err.context.summary as object | undefined) })}\n`);
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function report(s: ImportSummary, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return;
  }
  const lost = Object.entries(s.lost).map(([k, v]) => `${k}=${v}`).join(', ');
  process.stdout.write(
    `imported ${s.keys} keys (${(s.bytes / 1e6).toFixed(1)} MB read) in ${s.seconds.toFixed(2)} s; ` +
      `skipped ${s.skippedExpired} expired, ${s.skippedExisting} existing; ${s.errors} errors` +
      (lost ? `; dropped under --accept-loss: ${lost}` : '') + '\n',
  );
  for (const e of s.errorList) process.stdout.write(`  error ${e.code}: ${e.message}\n`);
}

/** A bar on a TTY (cli-progress, loaded only then), JSON lines otherwise. */
async function progressReporter(): Promise<{ update: (p: ImportProgress) => void; log: (level: string, code: string, message: string) => void; stop: () => void }> {
  if (process.stderr.isTTY) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: '{bar} {percentage}% | {mb}/{totalMb} MB | {keys} keys | {rate} keys/s | ETA {eta_formatted}', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const total = p.totalBytes ?? Math.max(p.bytesRead, 1);
        const payload = { mb: (p.bytesRead / 1e6).toFixed(1), totalMb: p.totalBytes === null ? '?' : (p.totalBytes / 1e6).toFixed(1), keys: p.keys, rate: Math.round(p.keysPerSecond) };
        if (!started) {
          bar.start(total, p.bytesRead, payload);
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(p.bytesRead, payload);
        }
      },
      log(level, code, message) {
        if (level === 'debug' || level === 'info') return;
        process.stderr.write(`\n${level} ${code}: ${message}\n`);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  return {
    update(p) {
      process.stderr.write(`${JSON.stringify({ progress: { ...p, seconds: Number(p.seconds.toFixed(3)) } })}\n`);
    },
    log(level, code, message) {
      process.stderr.write(`${JSON.stringify({ level, code, message })}\n`);
    },
    stop() {},
  };
}
