/**
 * Where a blob sits in its input, and the one way the blob decoders fail. Every decoder in this
 * folder is a pure function over a Buffer; when the bytes are wrong it throws RDB_CORRUPT with the
 * absolute offset of the offending byte (ctx.offset + position inside the blob) and a message that
 * says what was expected there.
 */
import { FerryError } from '../../errors/ferry-error.js';

export interface BlobContext {
  /** File (or other input) name, for the error message. */
  file?: string;
  /** Absolute offset of the blob's first byte in the input. */
  offset?: number;
  /** The key whose value the blob holds. */
  key?: string;
}

/**
 * The error for a bad byte at `pos` inside the blob. Returned, not thrown, so call sites read
 * `throw corrupt(...)` and the type checker sees the branch end.
 */
export function corrupt(ctx: BlobContext, pos: number, message: string): FerryError {
  return new FerryError('RDB_CORRUPT', message, {
    file: ctx.file,
    offset: ctx.offset === undefined ? undefined : ctx.offset + pos,
    key: ctx.key,
    blobPos: pos,
  });
}

/** A byte as two upper-case hex digits, for messages. */
export function hex(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}
