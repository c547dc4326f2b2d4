/**
 * Gzip streams (plain `.gz`, and the outside of `.tar.gz`), decompressed with zlib as they flow and
 * metered by an ExpansionGuard, so a gzip bomb stops at the limit instead of after expanding.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FerryError } from '../../errors/ferry-error.js';
import type { Blob } from '../blob.js';
import { ExpansionGuard } from './limits.js';

/** The blob as a Node stream, counting compressed bytes into the guard and `onCompressed`. */
export function compressedInput(blob: Blob, guard: ExpansionGuard | null, onCompressed?: (n: number) => void): Readable {
  return Readable.from(
    (async function* () {
      for await (const c of blob.stream()) {
        guard?.addCompressed(c.length);
        onCompressed?.(c.length);
        yield c;
      }
    })(),
  );
}

/** A pass-through that feeds the guard and fails the pipeline past its limits. */
export function meter(guard: ExpansionGuard): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
      const over = guard.addExpanded(chunk.length);
      if (over) cb(over);
      else cb(null, chunk);
    },
  });
}

/** What zlib's error codes mean for a backup (by code, never by message text). */
const ZLIB_MEANING: Record<string, string> = {
  Z_BUF_ERROR: 'the compressed stream ends early (truncated)',
  Z_DATA_ERROR: 'the compressed data, its checksum/length trailer, or bytes after it are damaged',
};

export function archiveError(name: string, what: string, err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const meaning = typeof code === 'string' && ZLIB_MEANING[code] ? ` (${ZLIB_MEANING[code]})` : '';
  return new FerryError('ARCHIVE_CORRUPT', `cannot read ${what}: ${msg}${meaning}`, { file: name }, { cause: err });
}

/** The expanded bytes of a gzip blob. */
export async function* gunzipBlob(blob: Blob, guard: ExpansionGuard, onCompressed?: (n: number) => void): AsyncGenerator<Buffer> {
  const input = compressedInput(blob, guard, onCompressed);
  const gunzip = createGunzip();
  const m = meter(guard);
  input.on('error', (err) => gunzip.destroy(err));
  gunzip.on('error', (err) => m.destroy(err));
  input.pipe(gunzip).pipe(m);
  try {
    for await (const chunk of m) yield chunk as Buffer;
  } catch (err) {
    throw archiveError(blob.name, 'gzip', err);
  } finally {
    input.destroy();
    gunzip.destroy();
    m.destroy();
  }
}
