/** `ferry inspect FILE [--json]`: what is in a backup, fast and in bounded memory. */
import type { Command } from 'commander';
import { openInputs, type SourceInput } from '../source/index.js';
import { FerryError } from '../errors/ferry-error.js';
import { RdbReportBuilder, type RdbReport } from '../inspect/rdb-report.js';
import type { RdbRecord } from '../entry/entry.js';
import { startProgress } from './progress.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Report what an RDB backup holds: version, AUX fields, keys per database and type, expiries, biggest keys')
    .argument('<file>', 'the backup: RDB or AOF file, AOF directory, .zip/.tar.gz/.gz archive, or s3://bucket/key')
    .option('--json', 'print one JSON object on stdout')
    .option('--now <ms|iso>', 'reference time for "already expired" (unix ms or ISO date; default: now)')
    .option('--ignore-checksum', 'report a CRC-64 mismatch instead of failing')
    .option('--no-progress', 'no progress output on stderr')
    .option('--config <file>', 'configuration file naming buckets for s3://bucket/key')
    .option('--deep', 'decode and check every value (slower): finds corruption inside listpacks, ziplists, LZF')
    .action(async (file: string, o: { json?: boolean; now?: string; ignoreChecksum?: boolean; progress: boolean; config?: string; deep?: boolean }) => {
      const now = parseNow(o.now);
      // The configuration only matters for bucket sources; loading it (schema, YAML) is skipped otherwise.
      const needsConfig = o.config !== undefined || /^(s3|obs):\/\//.test(file);
      const config = needsConfig ? (await import('../config/load.js')).loadConfig({ configPath: o.config }) : { buckets: [], dataDir: undefined };
      const notices: string[] = [];
      // Every input form goes through openInputs; an archive or directory may hold several inputs.
      const inputs = await openInputs(file, {
        buckets: config.buckets,
        dataRoot: config.dataDir,
        checksum: o.ignoreChecksum ? 'ignore' : 'verify',
        // Inspect writes nothing, so the checking passes an import needs would only read files twice.
        precheck: false,
        onNotice: (n) => notices.push(`${n.message} (offset ${n.offset})`),
      });
      for (const input of inputs) {
        const size = input.size ?? 0;
        const progress = startProgress('inspect', size, { enabled: o.progress && size > 32 * 1024 * 1024 });
        let report: InputReport;
        try {
          report = await inspectInput(input, now, o.deep === true, (n) => progress.add(n));
        } finally {
          progress.stop();
        }
        report.notices = notices.splice(0);
        process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatReport(report));
      }
    });
}

/** The RDB report of an input, plus AOF command counts when it holds commands. */
type InputReport = RdbReport & { input: { kind: string; container: string }; aof?: { commands: number; transactions: number }; notices?: string[] };

async function inspectInput(input: SourceInput, now: number, deep: boolean, onBytes: (n: number) => void): Promise<InputReport> {
  const builder = new RdbReportBuilder(input.name, now);
  let commands = 0;
  let transactions = 0;
  let seen = 0;
  for await (const batch of input.records()) {
    const rdb: RdbRecord[] = [];
    for (const r of batch) {
      if (r.kind === 'command') commands++;
      else if (r.kind === 'transaction') {
        transactions++;
        commands += r.commands.length;
      } else {
        // Streamed (big) values are always read through; --deep decodes the inline ones too.
        if (deep && r.kind === 'entry') for await (const _ of r.entry.chunks());
        rdb.push(r);
      }
    }
    if (rdb.length) builder.add(rdb);
    onBytes(input.bytesRead() - seen);
    seen = input.bytesRead();
  }
  const f = input.format;
  const report: InputReport = { ...builder.finish(), input: { kind: f.kind, container: f.container } };
  if (f.kind !== 'rdb' || commands > 0) report.aof = { commands, transactions };
  return report;
}

function parseNow(v: string | undefined): number {
  if (v === undefined) return Date.now();
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new FerryError('BAD_ARGUMENT', `--now takes unix milliseconds or an ISO date, not ${JSON.stringify(v)}`, { field: '--now' });
  return n;
}

function formatReport(r: InputReport): string {
  const lines: string[] = [];
  const n = (x: number) => x.toLocaleString('en-US');
  lines.push(`file          ${r.file}`);
  lines.push(`input         ${r.input.kind} in ${r.input.container}`);
  if (r.rdbVersion !== null) lines.push(`format        ${r.magic} RDB version ${r.rdbVersion}, ${n(r.bytes)} bytes, checksum ${r.checksum}`);
  if (r.aof) lines.push(`aof           ${n(r.aof.commands)} commands (${n(r.aof.transactions)} MULTI/EXEC blocks)`);
  for (const [k, v] of Object.entries(r.aux)) lines.push(`aux           ${k} = ${v}`);
  for (const n of r.notices ?? []) lines.push(`notice        ${n}`);
  lines.push(`keys          ${n(r.keys)} (${n(r.expires)} with a TTL, ${n(r.expiredKeys)} already expired)`);
  if (r.emptyKeysSkipped) lines.push(`empty keys    ${n(r.emptyKeysSkipped)} skipped (Redis refuses empty collections)`);
  for (const [db, d] of Object.entries(r.databases)) lines.push(`  db ${db.padEnd(9)} ${n(d.keys)} keys, ${n(d.expires)} with a TTL, ${n(d.expired)} expired`);
  lines.push('types');
  for (const [t, c] of Object.entries(r.types)) if (c) lines.push(`  ${t.padEnd(12)}${n(c)}`);
  lines.push('encodings');
  for (const [t, c] of Object.entries(r.encodings).sort((a, b) => b[1] - a[1])) lines.push(`  ${t.padEnd(24)}${n(c)}`);
  if (r.functions.length) lines.push(`functions     ${r.functions.join(', ')}`);
  if (r.luaScripts) lines.push(`lua scripts   ${r.luaScripts} (AUX lua)`);
  if (Object.keys(r.modules).length) lines.push(`modules       ${Object.entries(r.modules).map(([m, c]) => `${m} (${c} keys)`).join(', ')}`);
  if (r.moduleAux.length) lines.push(`module aux    ${r.moduleAux.join(', ')}`);
  if (r.biggestKeys.length) {
    lines.push(`biggest keys (serialized bytes)`);
    for (const k of r.biggestKeys) lines.push(`  ${n(k.bytes).padStart(14)}  db${k.db} ${k.type}/${k.encoding}  ${k.key}`);
  }
  return lines.join('\n') + '\n';
}
