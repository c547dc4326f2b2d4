/**
 * A readable object of known or unknown size: a local file or an object in a bucket. Archives and
 * parsers only ever see this, so every backend gets zip random access and resumable streaming alike.
 */
export interface Blob {
  /** Display name (path, `s3://bucket/key`, `bucket/key`); used in errors and progress. */
  readonly name: string;
  /** Size in bytes when known. */
  readonly size: number | null;
  /** Bytes [start, end) (end defaults to the end of the object), as a stream of chunks. */
  stream(start?: number, end?: number): AsyncIterable<Buffer>;
}

/** Wraps a stream so every chunk's length is passed to `count` as it flows (progress in input bytes). */
export async function* counted(stream: AsyncIterable<Buffer>, count: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    count(chunk.length);
    yield chunk;
  }
}

/** Reads at most `n` bytes from the start of a blob (content sniffing), without reading further. */
export async function readHead(blob: Blob, n: number): Promise<Buffer> {
  const end = blob.size === null ? undefined : Math.min(n, blob.size);
  if (end === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  let have = 0;
  for await (const chunk of blob.stream(0, end)) {
    parts.push(chunk);
    have += chunk.length;
    if (have >= n) break;
  }
  return Buffer.concat(parts).subarray(0, n);
}
