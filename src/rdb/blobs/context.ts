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
  /** Absolute offset of the blob's first byte in the input (for an inflated blob: of its LZF string). */
  offset?: number;
  /** The key whose value the blob holds. */
  key?: string;
  /**
   * True when the blob was LZF-decompressed: positions inside it are not input positions, so errors
   * carry `offset` as given (where the compressed string starts) and name the position in the message.
   */
  inflated?: boolean;
}

/**
 * The error for a bad byte at `pos` inside the blob. Returned, not thrown, so call sites read
 * `throw corrupt(...)` and the type checker sees the branch end.
 */
export function corrupt(ctx: BlobContext, pos: number, message: string): FerryError {
  if (ctx.inflated) {
    return new FerryError('RDB_CORRUPT', `${message} (byte ${pos} of the blob after LZF decompression)`, {
      file: ctx.file,
      offset: ctx.offset,
      key: ctx.key,
      blobPos: pos,
    });
  }
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
