/** `ferry inspect FILE [--json]`: what is in a backup, fast and in bounded memory. */
import type { Command } from 'commander';
import { openLocalFile } from '../source/local-file.js';
import { inspectRdbStream } from '../inspect/inspect-file.js';
import { FerryError } from '../errors/ferry-error.js';
import type { RdbReport } from '../inspect/rdb-report.js';
import { startProgress } from './progress.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Report what an RDB backup holds: version, AUX fields, keys per database and type, expiries, biggest keys')
    .argument('<file>', 'the backup file')
    .option('--json', 'print one JSON object on stdout')
    .option('--now <ms|iso>', 'reference time for "already expired" (unix ms or ISO date; default: now)')
    .option('--ignore-checksum', 'report a CRC-64 mismatch instead of failing')
    .option('--no-progress', 'no progress output on stderr')
    .action(async (file: string, o: { json?: boolean; now?: string; ignoreChecksum?: boolean; progress: boolean }) => {
      const now = parseNow(o.now);
      const { size, stream } = await openLocalFile(file);
      const progress = startProgress('inspect', size, { enabled: o.progress && size > 32 * 1024 * 1024 });
      let report: RdbReport;
      try {
        report = await inspectRdbStream(stream, { name: file, size, now, checksum: o.ignoreChecksum ? 'ignore' : 'verify', onBytes: (n) => progress.add(n) });
      } finally {
        progress.stop();
      }
      process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatReport(report));
    });
}

function parseNow(v: string | undefined): number {
  if (v === undefined) return Date.now();
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new FerryError('BAD_ARGUMENT', `--now takes unix milliseconds or an ISO date, not ${JSON.stringify(v)}`, { field: '--now' });
  return n;
}

function formatReport(r: RdbReport): string {
  const lines: string[] = [];
  const n = (x: number) => x.toLocaleString('en-US');
  lines.push(`file          ${r.file}`);
  lines.push(`format        ${r.magic} RDB version ${r.rdbVersion}, ${n(r.bytes)} bytes, checksum ${r.checksum}`);
  for (const [k, v] of Object.entries(r.aux)) lines.push(`aux           ${k} = ${v}`);
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
