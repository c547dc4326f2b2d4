import { createReadStream } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { openLocalFile, FILE_CHUNK } from './local-file.js';
import type { Blob } from './blob.js';

/** A local file as a Blob; a missing or unreadable file fails here with a typed error. */
export async function openLocalBlob(path: string, name = path): Promise<Blob> {
  const { size, stream } = await openLocalFile(path);
  // openLocalFile opened a stream we do not need yet; close it so no descriptor leaks.
  (stream as unknown as { destroy(): void }).destroy();
  return {
    name,
    size,
    async *stream(start = 0, end?: number): AsyncGenerator<Buffer> {
      const last = (end ?? size) - 1;
      if (last < start) return;
      const s = createReadStream(path, { start, end: last, highWaterMark: FILE_CHUNK });
      try {
        for await (const chunk of s) yield chunk as Buffer;
      } catch (err) {
        throw new FerryError('SOURCE_IO', `reading ${path} failed: ${(err as Error).message}`, { file: name }, { cause: err });
      } finally {
        s.destroy();
      }
    },
  };
}
