/**
 * Element-batch reading for value decoders. A decoder reads elements synchronously and commits
 * after each one; when the buffered bytes run out mid-element it rewinds to the last element,
 * hands over the batch so far, and waits for more input. The same decoders serve inline values
 * (a ByteSource over the value's bytes, already complete) and streamed big values (the file itself).
 */
import { SHORT, type ByteSource } from '../../io/byte-source.js';
import { FerryError } from '../../errors/ferry-error.js';

/** Elements per batch: big enough to amortize awaits, small enough to keep commands bounded. */
export const BATCH_ELEMENTS = 1024;
/** Bytes per batch: bounds memory held by one chunk of a big value. */
export const BATCH_BYTES = 1 << 20;

export interface DecodeContext {
  key: string;
  magic: 'REDIS' | 'VALKEY';
  rdbVersion: number;
  /** Chunks may be leased buffers, reused once the next chunk is asked for (Entry ChunkOptions). */
  leased?: boolean;
  /** Quicklist listpack nodes may come as RESP-encoded runs (Entry ChunkOptions.packedLists). */
  packedLists?: boolean;
}

/**
 * Called after a SHORT: rewinds to the last commit and waits until the missing bytes are buffered.
 * Asks for at least twice what was already buffered past the commit, so repeated retries of one
 * growing element stay linear. At end of input the element is truncated: a typed error.
 */
export async function needMore(src: ByteSource, ctx: DecodeContext, what: string): Promise<void> {
  const at = src.offset;
  const need = at - src.committedOffset + SHORT.need;
  src.rewind();
  const want = Math.max(src.available * 2, need, 64 * 1024);
  if (!(await src.fill(want)) && src.available < need) {
    throw new FerryError('RDB_TRUNCATED', `input ended inside ${what}: ${need} bytes needed, ${src.available} left`, {
      file: src.name,
      offset: at,
      key: ctx.key,
    });
  }
}

/**
 * Runs `step` (reads one element synchronously, returns its byte size) `count` times. Yields
 * whenever a batch is full or input must be awaited, so the caller can emit what it collected;
 * the caller must only keep elements whose step completed (it learns that from the step itself).
 */
export async function* readElements(src: ByteSource, count: number, step: () => number, ctx: DecodeContext, what: string): AsyncGenerator<void> {
  let done = 0;
  let bytes = 0;
  let inBatch = 0;
  src.commit();
  while (done < count) {
    try {
      bytes += step();
      src.commit();
      done++;
      inBatch++;
      if (inBatch >= BATCH_ELEMENTS || bytes >= BATCH_BYTES) {
        yield;
        inBatch = 0;
        bytes = 0;
      }
    } catch (err) {
      if (err !== SHORT) throw err;
      if (inBatch > 0) {
        const at = src.offset;
        const need = SHORT.need;
        yield;
        inBatch = 0;
        bytes = 0;
        // Restore SHORT's view of where we were so needMore sizes its wait right.
        src.pos = at - src.base;
        SHORT.need = need;
      }
      await needMore(src, ctx, what);
    }
  }
  if (inBatch > 0) yield;
}

/** Reads one structure synchronously, waiting for input as needed. */
export async function readOne<T>(src: ByteSource, read: () => T, ctx: DecodeContext, what: string): Promise<T> {
  src.commit();
  for (;;) {
    try {
      const v = read();
      src.commit();
      return v;
    } catch (err) {
      if (err !== SHORT) throw err;
      await needMore(src, ctx, what);
    }
  }
}
