import { createReadStream } from 'node:fs';
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
    stream(start = 0, end?: number): AsyncIterable<Buffer> {
      const last = (end ?? size) - 1;
      if (last < start) return (async function* () {})();
      return createReadStream(path, { start, end: last, highWaterMark: FILE_CHUNK });
    },
  };
}
