import { openLocalFile, readFileChunks } from './local-file.js';
import type { Blob } from './blob.js';

/** A local file as a Blob; a missing or unreadable file fails here with a typed error. */
export async function openLocalBlob(path: string, name = path): Promise<Blob> {
  // Sizes the file (a missing or unreadable one fails here); its stream opens nothing until read.
  const { size, stream } = await openLocalFile(path);
  await stream.return(undefined);
  return {
    name,
    size,
    async *stream(start = 0, end?: number): AsyncGenerator<Buffer> {
      yield* readFileChunks(path, start, end ?? size, name);
    },
  };
}
