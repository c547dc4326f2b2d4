/**
 * The rules an AOF is held to once its RESP framing is read: SELECT's argument, MULTI/EXEC/DISCARD
 * balance, refused commands and the end of input. The reader (aof-reader.ts) and the checking pass
 * (aof-check.ts) both apply them through these functions, so the two raise the same errors with the
 * same codes, messages and offsets.
 */
import { FerryError } from '../errors/ferry-error.js';

/** An RDB aux field saying the RDB is an AOF's preamble (Redis 4..6) or a multi-part AOF's base (Redis 7+). */
export function isAofMarker(key: Buffer, value: Buffer): boolean {
  const k = key.toString('latin1');
  return (k === 'aof-preamble' || k === 'aof-base') && value.toString('latin1') === '1';
}

/** What SELECT's argument must look like to be a db number (as in the reader since the start). */
export function isDbNumber(arg: Buffer): boolean {
  if (arg.length < 1 || arg.length > 9) return false;
  for (let i = 0; i < arg.length; i++) if (arg[i]! < 0x30 || arg[i]! > 0x39) return false;
  return true;
}

export function badSelect(file: string, offset: number): FerryError {
  return new FerryError('AOF_CORRUPT', 'SELECT without a valid db number', { file, offset });
}

export function nestedMulti(file: string, offset: number, openAt: number): FerryError {
  return new FerryError('AOF_CORRUPT', `MULTI inside the MULTI opened at offset ${openAt}`, { file, offset });
}

export function unopened(command: 'EXEC' | 'DISCARD', file: string, offset: number): FerryError {
  return new FerryError('AOF_CORRUPT', `${command} without MULTI`, { file, offset });
}

export function refusedMessage(name: string): string {
  return `command ${name.toUpperCase()} is not replayed by an import`;
}

export function refusedError(name: string, file: string, offset: number): FerryError {
  return new FerryError('AOF_COMMAND_REFUSED', refusedMessage(name), { file, offset });
}

/** True when an incomplete tail may be dropped: `truncated: 'load'`, and only on the last file of a set. */
export function acceptsTruncated(opts: { truncated?: 'error' | 'load'; isLast?: boolean }): boolean {
  return opts.truncated === 'load' && opts.isLast !== false;
}

/**
 * How the input ended, or null when it ended cleanly: `tail` bytes after the last complete item,
 * `openAt` the offset of a MULTI still open (or null).
 */
export function endOfInput(tail: number, openAt: number | null, committedOffset: number): { offset: number; message: string } | null {
  if (tail === 0 && openAt === null) return null;
  return openAt !== null
    ? { offset: openAt, message: `the AOF ends inside the MULTI block opened at offset ${openAt}` }
    : { offset: committedOffset, message: `the AOF ends inside a command (${tail} bytes after the last complete command)` };
}

export function truncatedError(file: string, end: { offset: number; message: string }, isLast: boolean | undefined): FerryError {
  const hint = isLast === false ? ' (only the last file of a multi-part AOF may be truncated)' : '';
  return new FerryError('AOF_TRUNCATED', end.message + hint, { file, offset: end.offset });
}
