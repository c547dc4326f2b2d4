/**
 * `ferry backup --source redis://... --out FILE|s3://bucket/key [--format rdb|aof]`: Ferry acts as a
 * replica of the source and streams its snapshot into a file or an S3 object, checking it with the
 * RDB reader on the way; nothing is left under the output name unless the whole snapshot arrived and
 * parsed. A cluster source writes one file per master: --out is then a folder (or an s3:// prefix)
 * and the files are named like DCS names shard files.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { shardFileName, shardsOf } from '../backup/jobs.js';
import { BackupBucket, LocalFileSink, type BackupSink } from '../backup/sink.js';
import { backupNode, replicaAuth, type BackupFormat } from '../backup/snapshot.js';
import { loadConfig } from '../config/load.js';
import { FerryError } from '../errors/ferry-error.js';
import type { BucketConfig } from '../source/bucket-config.js';
import { parseS3Url } from '../source/resolve.js';
import { parseTargetUrl } from '../writer/target-spec.js';
import { addTlsOptions, withCliTls } from './tls-options.js';

interface BackupCliOptions {
  source: string;
  out: string;
  format: string;
  json?: boolean;
  config?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('backup')
    .description('back up a live Redis (standalone or cluster) by replication into a file or an s3:// object')
    .requiredOption('-s, --source <url>', 'redis://[user:password@]host:port or rediss://... (TLS); the user needs PSYNC/SYNC rights')
    .requiredOption('-o, --out <file>', 'output file, or s3://bucket/key; for a cluster a folder or s3://bucket/prefix/ (one file per master)')
    .option('-f, --format <format>', 'rdb (the snapshot as is) or aof (RESTORE commands)', 'rdb')
    .option('--json', 'print the result as one JSON line on stdout')
    .option('--config <file>', 'configuration file naming buckets for s3:// outputs (default: FERRY_CONFIG or ./ferry.yaml; AWS_* env otherwise)');
  addTlsOptions(cmd).action(async (o: BackupCliOptions, c: Command) => {
    await runBackupCli(o, c);
  });
}

function s3Bucket(name: string, configPath: string | undefined): BucketConfig {
  const cfg = loadConfig(configPath ? { configPath } : {});
  const found = cfg.buckets.find((b) => b.name === name);
  if (found) return found;
  const env = process.env;
  if (env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3 || env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE) return { name };
  throw new FerryError('BAD_ARGUMENT', `bucket ${name} is not configured (no buckets entry in the configuration, no AWS_* environment)`, { field: 'out' });
}

async function runBackupCli(o: BackupCliOptions, cmd: Command): Promise<void> {
  if (o.format !== 'rdb' && o.format !== 'aof') throw new FerryError('BAD_ARGUMENT', `--format takes rdb or aof, not ${o.format}`, { field: 'format' });
  const format = o.format as BackupFormat;
  const spec = withCliTls(parseTargetUrl(o.source), cmd, (m) => process.stderr.write(`ferry backup: warning: ${m}\n`));
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const s3 = parseS3Url(o.out);
  const bucket = s3 ? new BackupBucket(s3Bucket(s3.bucket, o.config)) : null;
  try {
    const shards = await shardsOf({ ...spec, connectTimeoutMs: spec.connectTimeoutMs ?? 5000 });
    const now = Date.now();
    const outs = shards.map((s) => {
      if (shards.length === 1) return s3 ? s3.key : o.out;
      const name = shardFileName(s, now, format);
      return s3 ? `${s3.key.replace(/\/?$/, '/')}${name}` : join(o.out, name);
    });
    const results = [];
    for (let i = 0; i < shards.length; i++) {
      const s = shards[i]!;
      const sink: BackupSink = bucket ? bucket.sink(outs[i]!) : new LocalFileSink(outs[i]!);
      const started = Date.now();
      const r = await backupNode({
        addr: s.addr,
        auth: replicaAuth(spec),
        sink,
        format,
        signal: abort.signal,
      });
      const where = bucket ? `s3://${bucket.name}/${outs[i]}` : outs[i]!;
      results.push({ node: `${s.addr.host}:${s.addr.port}`, slots: s.slots, out: where, bytes: r.size, snapshot_bytes: r.received, keys: r.keys, form: r.form, rdb_version: r.rdbVersion, seconds: r.seconds });
      if (!o.json) process.stderr.write(`ferry backup: ${s.addr.host}:${s.addr.port}${s.slots ? ` (slots ${s.slots})` : ''} -> ${where}: ${r.keys} keys, ${r.size} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
    if (o.json) process.stdout.write(JSON.stringify({ format, files: results }) + '\n');
  } finally {
    bucket?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
