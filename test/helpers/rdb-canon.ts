/**
 * Runs the RDB parser over a byte stream and renders everything it produced (records and decoded
 * values) as comparable text lines, so different chunkings and inline limits can be compared exactly.
 */
import { ByteSource } from '../../src/io/byte-source.js';
import { parseRdb, type RdbParseOptions } from '../../src/rdb/parser.js';
import type { ValueChunk, Entry } from '../../src/entry/entry.js';
import { keyRunEntry, runEntry } from '../../src/rdb/rdb-entry.js';

export function hex(b: Buffer): string {
  return b.toString('hex');
}

/** Merges a value's chunks into one canonical text (batch boundaries do not matter). */
export async function canonValue(e: Entry): Promise<string> {
  const parts: string[] = [];
  let str: Buffer[] = [];
  for await (const c of e.chunks()) parts.push(...chunkLines(c, str));
  if (str.length) parts.push(`string ${hex(Buffer.concat(str))}`);
  return parts.join('\n');
  function chunkLines(c: ValueChunk, acc: Buffer[]): string[] {
    switch (c.t) {
      case 'string':
        acc.push(c.data);
        return [];
      case 'list':
        return c.items.map((i) => `item ${hex(i)}`);
      case 'set':
        return c.members.map((m) => `member ${hex(m)}`);
      case 'zset':
        return c.members.map((m, i) => `zmember ${hex(m)} ${c.scores[i]}`);
      case 'hash':
        return c.fields.map((f, i) => `field ${hex(f)} ${hex(c.values[i]!)} ${c.expireAts?.[i] ?? ''}`);
      case 'stream-entries':
        return c.ids.map((id, i) => `xentry ${id.ms}-${id.seq} ${c.fields[i]!.map(hex).join(',')}`);
      case 'stream-meta':
        return [`xmeta ${JSON.stringify(c.meta, (_k, v) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? hex(v) : v && v.type === 'Buffer' ? hex(Buffer.from(v.data)) : v))}`];
      case 'module':
        return [`module ${hex(c.data)}`];
    }
  }
}

export interface CanonOptions extends RdbParseOptions {
  /** Include raw value bytes (only comparable between runs with the same inline limit). */
  raw?: boolean;
  /**
   * Drop keys whose value decodes to nothing. The parser skips empty collections it can see are
   * empty from their headers; a streamed value's emptiness shows only once it is read.
   */
  dropEmpty?: boolean;
}

export async function canonRdb(input: AsyncIterable<Buffer> | Buffer, opts: CanonOptions = {}): Promise<string[]> {
  const src = new ByteSource(input, { name: opts.name ?? 'test.rdb' });
  const out: string[] = [];
  const entryLines = async (e: Entry): Promise<void> => {
    const value = await canonValue(e);
    if (opts.dropEmpty && value === '') return;
    out.push(`key db=${e.db} ${hex(e.key)} ${e.type} t${e.typeByte} exp=${e.expireAt} idle=${e.idle} freq=${e.freq} at=${e.offset}` + (opts.raw ? ` raw=${e.raw ? hex(e.raw) : 'streamed'}` : ''));
    out.push(value);
  };
  for await (const batch of parseRdb(src, opts)) {
    for (const r of batch) {
      switch (r.kind) {
        case 'entry':
          await entryLines(r.entry);
          break;
        case 'strings':
          // A string run renders as the entries it stands for (stringRuns changes the form, not the content).
          for (let i = r.from; i < r.to; i++) await entryLines(runEntry(r, i));
          break;
        case 'keys':
          // So does a key run (keyRuns).
          for (let i = r.from; i < r.to; i++) await entryLines(keyRunEntry(r, i));
          break;
        case 'aux':
          out.push(`aux ${r.key.toString('latin1')}=${r.key.toString('latin1') === 'ctime' ? '' : hex(r.value)}`);
          break;
        case 'function':
          out.push(`function ${hex(r.code)}`);
          break;
        case 'module-aux':
          out.push(`module-aux ${r.moduleName} ${r.when} ${hex(r.raw)}`);
          break;
        case 'resizedb':
          out.push(`resizedb ${r.db} ${r.size} ${r.expires}`);
          break;
        case 'header':
          out.push(`header ${r.magic} ${r.version}`);
          break;
        case 'end':
          out.push(`end ${r.bytes} ${r.checksum} ${r.checksumOk}` + (opts.dropEmpty ? '' : ` ${r.emptyKeysSkipped}`));
          break;
      }
    }
  }
  return out;
}

/** Feeds `buf` as chunks cut at the given sizes (cycled), with an await between chunks. */
export async function* chunked(buf: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let i = 0;
  let k = 0;
  while (i < buf.length) {
    const n = sizes[k++ % sizes.length]!;
    yield buf.subarray(i, i + n);
    i += n;
    await null;
  }
}

/** Feeds `buf` as two chunks split at `at`. */
export async function* splitAt(buf: Buffer, at: number): AsyncGenerator<Buffer> {
  if (at > 0) yield buf.subarray(0, at);
  await null;
  if (at < buf.length) yield buf.subarray(at);
}
