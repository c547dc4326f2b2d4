/**
 * The checking pass run over an AOF before it is read for real, so an AOF the reader would stop on
 * (a truncated tail, a dangling MULTI, a refused command, broken RESP) fails before anything from it
 * is written. It yields nothing and builds no records: the RESP part goes through RespScanner
 * (resp-scan.ts), and an RDB preamble is walked by the RDB parser with its records dropped (values
 * nobody reads are skipped, not decoded), which is how the pass finds where the RESP part starts.
 *
 * An RDB that does not say in its first bytes that it is an AOF preamble or base (the `aof-preamble`
 * or `aof-base` aux field Redis writes among the first ones) is taken for a plain RDB and not
 * checked here: walking it would double the cost of every RDB import to look for a RESP tail that
 * plain RDBs do not have.
 */
import { ByteSource } from '../io/byte-source.js';
import { parseRdb } from '../rdb/parser.js';
import { readString } from '../rdb/primitives.js';
import { startsWithRdbMagic, type AofReadOptions } from './aof-reader.js';
import { isAofMarker } from './aof-rules.js';
import { RespScanner } from './resp-scan.js';

/** Bytes of a file's start that decide whether it is checked (the same as the sources sniff). */
export const CHECK_HEAD_BYTES = 512;

const AUX = 0xfa;

/** True when an RDB's first bytes hold the aux field marking it an AOF preamble or base. */
export function declaresAofPreamble(head: Buffer): boolean {
  if (!startsWithRdbMagic(head) || head.length < 9) return false;
  const src = new ByteSource(head.subarray(0, CHECK_HEAD_BYTES));
  src.skip(9);
  try {
    while (src.available > 0 && src.u8() === AUX) {
      if (isAofMarker(readString(src), readString(src))) return true;
    }
  } catch {
    // The aux fields run past the head, or are not what Redis writes: not declared here.
  }
  return false;
}

/** Whether these options need a checking pass at all: they do unless truncation and refusals are both tolerated. */
export function checkWanted(opts: Pick<AofReadOptions, 'truncated' | 'refused'>): boolean {
  return opts.truncated !== 'load' || opts.refused !== 'skip';
}

/**
 * Whether a file starting with `head` (at least its first CHECK_HEAD_BYTES, or all of it) gets a
 * checking pass under these options: the pass then reads it once more (progress counts both).
 */
export function checkedFile(head: Buffer, opts: Pick<AofReadOptions, 'truncated' | 'refused'>): boolean {
  if (!checkWanted(opts)) return false;
  return !startsWithRdbMagic(head) || declaresAofPreamble(head);
}

/**
 * Reads `src` to its end (or, for a plain RDB, only its head) and throws what `readAof` with the same
 * options would throw for it, at the same offset; returns when the reader would read it whole.
 * Notices (accepted truncation, skipped commands, trailing bytes) are left to the reader's pass.
 */
export async function checkAof(src: ByteSource, opts: AofReadOptions = {}): Promise<void> {
  if (!checkWanted(opts)) return;
  await src.fill(CHECK_HEAD_BYTES);
  if (src.offset === 0 && startsWithRdbMagic(src.buf.subarray(src.pos, src.pos + 9))) {
    if (!declaresAofPreamble(src.buf.subarray(src.pos))) return;
    // As readAof: the RDB, then RESP commands if any follow (trailing non-RESP bytes are ignored
    // when the RDB does not call itself an AOF base).
    let aofBase = false;
    for await (const batch of parseRdb(src, { name: src.name, checksum: opts.checksum, inlineLimit: opts.inlineLimit, size: opts.size })) {
      for (const r of batch) if (r.kind === 'aux' && isAofMarker(r.key, r.value)) aofBase = true;
    }
    src.commit();
    if (!aofBase && (await src.fill(1)) && src.buf[src.pos] !== 0x2a /* '*' */) return;
  }
  const scan = new RespScanner(src.name, src.offset, opts);
  for (;;) {
    if (src.available > 0) {
      scan.push(src.bytes(src.available));
      src.commit();
    }
    if (!(await src.more())) break;
  }
  scan.finish();
}

/**
 * `checkAof` over a stream of its own, closed when the check ends (a plain RDB is left after its
 * head, and a failed check stops where it failed).
 */
export async function checkAofStream(stream: AsyncIterable<Buffer>, name: string, opts: AofReadOptions = {}, onBytes?: (n: number) => void): Promise<void> {
  const it = stream[Symbol.asyncIterator]();
  try {
    await checkAof(new ByteSource({ [Symbol.asyncIterator]: () => it }, { name, onBytes }), opts);
  } finally {
    await it.return?.();
  }
}
