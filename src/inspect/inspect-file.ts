/** Inspects one RDB byte stream: drives the parser and the report builder. */
import { ByteSource } from '../io/byte-source.js';
import { parseRdb } from '../rdb/parser.js';
import { RdbReportBuilder, type RdbReport } from './rdb-report.js';

export interface InspectOptions {
  name: string;
  size: number | null;
  now: number;
  checksum: 'verify' | 'ignore';
  onBytes?: (n: number) => void;
}

export async function inspectRdbStream(stream: AsyncIterable<Buffer>, opts: InspectOptions): Promise<RdbReport> {
  const src = new ByteSource(stream, { name: opts.name, onBytes: opts.onBytes });
  const builder = new RdbReportBuilder(opts.name, opts.now);
  for await (const batch of parseRdb(src, { name: opts.name, size: opts.size, checksum: opts.checksum })) builder.add(batch);
  return builder.finish();
}
