/**
 * Loads a Redis 7 multi-part AOF: the base (RDB or AOF) then the incr files in manifest order, each
 * from its own stream. Only the last file may end truncated (as Redis' "AOF_TRUNCATED && !last_file").
 * Unless truncation and refused commands are both tolerated, every file is first run through the
 * checking pass (aof-check.ts, `checkMultipart`), each opened once more afterwards: a set the reader
 * would stop on anywhere fails before any of its records is yielded. A caller that ran
 * `checkMultipart` itself (with the other inputs of an import) reads with `precheck: false`.
 */
import { ByteSource } from '../io/byte-source.js';
import { FerryError } from '../errors/ferry-error.js';
import type { ImportRecord } from '../pipeline/types.js';
import { readAof, type AofReadOptions } from './aof-reader.js';
import { checkAofStream, checkWanted } from './aof-check.js';
import { loadOrder, type Manifest, type ManifestFile } from './manifest.js';

/** Opens one file the manifest names (a sibling in a directory, an archive entry, an object). */
export type PartOpener = (file: string) => Promise<AsyncIterable<Buffer>>;

export interface MultipartOptions extends AofReadOptions {
  /** Called with each chunk's length as it is read (progress). */
  onBytes?: (n: number) => void;
  /** Shown in errors for parts: `<prefix>/<file>`. */
  namePrefix?: string;
  /** readMultipart: false when the checking pass already ran (`checkMultipart`) or is not wanted. Default true. */
  precheck?: boolean;
  /**
   * checkMultipart: files already known to pass their checking pass under these options (an archive's
   * listing pass checked them on the way); they are not opened again for it.
   */
  checked?: (file: string, isLast: boolean) => boolean;
}

function filesOf(manifest: Manifest, opts: MultipartOptions): ManifestFile[] {
  const files = loadOrder(manifest);
  if (files.length === 0) throw new FerryError('AOF_CORRUPT', 'the AOF manifest names no base or incr file', { file: opts.namePrefix });
  return files;
}

function nameOf(file: string, opts: MultipartOptions): string {
  return opts.namePrefix ? `${opts.namePrefix}/${file}` : file;
}

/** The checking pass over every file of the set, in load order; throws what reading it would throw. */
export async function checkMultipart(manifest: Manifest, open: PartOpener, opts: MultipartOptions = {}): Promise<void> {
  const files = filesOf(manifest, opts);
  if (!checkWanted(opts)) return;
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const isLast = i === files.length - 1;
    if (opts.checked?.(f.file, isLast)) continue;
    await checkAofStream(await open(f.file), nameOf(f.file, opts), { ...opts, isLast }, opts.onBytes);
  }
}

export async function* readMultipart(manifest: Manifest, open: PartOpener, opts: MultipartOptions = {}): AsyncGenerator<ImportRecord[]> {
  const files = filesOf(manifest, opts);
  if (opts.precheck !== false) await checkMultipart(manifest, open, opts);
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const src = new ByteSource(await open(f.file), { name: nameOf(f.file, opts), onBytes: opts.onBytes });
    try {
      yield* readAof(src, { ...opts, isLast: i === files.length - 1 });
    } finally {
      await src.close();
    }
  }
}
