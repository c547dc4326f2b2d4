/**
 * Zip archives through yauzl over random access: the central directory is read with small ranged
 * reads (a ranged GET on S3, a positioned read on disk), so a zip is never buffered whole. Entries
 * are listed and checked (paths, links, encryption, declared sizes, nesting by content) before any
 * is imported; entry bytes are then inflated here from the raw compressed range, counted against
 * the declared size so a lying header cannot expand further than it claimed.
 */
import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import yauzl from 'yauzl';
import { FerryError } from '../../errors/ferry-error.js';
import type { Blob } from '../blob.js';
import { sniff, SNIFF_BYTES, isArchiveFormat } from '../sniff.js';
import { MAX_MANIFEST_BYTES } from '../../aof/manifest.js';
import { checkEntryPath } from './entry-path.js';
import { ExpansionGuard, type ArchiveLimits } from './limits.js';
import type { Archive, ArchiveEntry } from './types.js';

class BlobReader extends yauzl.RandomAccessReader {
  /** Receives the length of every range read (progress); swapped per stream by `open`. */
  onBytes: ((n: number) => void) | null = null;
  constructor(private readonly blob: Blob) {
    super();
  }
  override _readStreamForRange(start: number, end: number): Readable {
    const count = (n: number): void => this.onBytes?.(n);
    const blob = this.blob;
    return Readable.from(
      (async function* () {
        for await (const c of blob.stream(start, end)) {
          count(c.length);
          yield c;
        }
      })(),
    );
  }
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

function corrupt(name: string, err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  return new FerryError('ARCHIVE_CORRUPT', `cannot read zip: ${err instanceof Error ? err.message : String(err)}`, { file: name }, { cause: err });
}

function openZip(reader: BlobReader, size: number, name: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromRandomAccessReader(
      reader,
      size,
      { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true, strictFileNames: false },
      (err, zip) => (err || !zip ? reject(corrupt(name, err)) : resolve(zip)),
    );
  });
}

function entryName(e: yauzl.Entry): string {
  const raw = e.fileName as unknown as Buffer;
  // Bit 11: the name is UTF-8; otherwise CP437, of which latin1 is the printable-ASCII-safe subset.
  return raw.toString(e.generalPurposeBitFlag & 0x800 ? 'utf8' : 'latin1');
}

function rawStream(zip: yauzl.ZipFile, e: yauzl.Entry, name: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(e, { decompress: false }, (err, s) => (err || !s ? reject(corrupt(name, err)) : resolve(s)));
  });
}

/** Expanded bytes of one entry; stops with ARCHIVE_HOSTILE past its declared size or the guard's limits. */
async function* entryBytes(zip: yauzl.ZipFile, e: yauzl.Entry, archive: string, guard: ExpansionGuard, count?: () => void): AsyncGenerator<Buffer> {
  const raw = await rawStream(zip, e, archive);
  // Progress counts the entry's compressed bytes only (not its local header), so it ends at compressedSize.
  count?.();
  const path = entryName(e);
  raw.on('data', (c: Buffer) => guard.addCompressed(c.length));
  let out: AsyncIterable<Buffer> = raw;
  let inflate: ReturnType<typeof createInflateRaw> | null = null;
  if (e.compressionMethod === 8) {
    inflate = createInflateRaw();
    raw.on('error', (err) => inflate!.destroy(err));
    raw.pipe(inflate);
    out = inflate;
  }
  let total = 0;
  try {
    for await (const chunk of out) {
      total += chunk.length;
      if (total > e.uncompressedSize) {
        throw new FerryError('ARCHIVE_HOSTILE', `zip entry ${JSON.stringify(path)} expands past its declared ${e.uncompressedSize} bytes`, { file: archive, field: path });
      }
      const over = guard.addExpanded(chunk.length);
      if (over) throw over;
      yield chunk;
    }
  } catch (err) {
    throw corrupt(archive, err);
  } finally {
    raw.destroy();
    inflate?.destroy();
  }
  if (total !== e.uncompressedSize) {
    throw new FerryError('ARCHIVE_CORRUPT', `zip entry ${JSON.stringify(path)} has ${total} bytes, its header says ${e.uncompressedSize}`, { file: archive, field: path });
  }
}

export async function readZip(blob: Blob, limits: ArchiveLimits): Promise<Archive> {
  const name = blob.name;
  if (blob.size === null) throw new FerryError('ARCHIVE_CORRUPT', 'a zip needs a known size (random access)', { file: name });
  const reader = new BlobReader(blob);
  const zip = await openZip(reader, blob.size, name);
  const listed: yauzl.Entry[] = [];
  let declared = 0;
  await new Promise<void>((resolve, reject) => {
    zip.on('error', (err) => reject(corrupt(name, err)));
    zip.on('end', () => resolve());
    zip.on('entry', (e: yauzl.Entry) => {
      try {
        const path = entryName(e);
        checkEntryPath(path, name);
        const mode = (e.externalFileAttributes >>> 16) & S_IFMT;
        const isDir = path.endsWith('/') || mode === S_IFDIR;
        if (mode === S_IFLNK) throw new FerryError('ARCHIVE_HOSTILE', `zip entry ${JSON.stringify(path)} is a symbolic link`, { file: name, field: path });
        if (mode !== 0 && mode !== S_IFREG && !isDir) throw new FerryError('ARCHIVE_HOSTILE', `zip entry ${JSON.stringify(path)} is not a regular file`, { file: name, field: path });
        if (e.generalPurposeBitFlag & 0x1) throw new FerryError('ARCHIVE_HOSTILE', `zip entry ${JSON.stringify(path)} is encrypted`, { file: name, field: path });
        if (!isDir) {
          if (e.compressionMethod !== 0 && e.compressionMethod !== 8) {
            throw new FerryError('ARCHIVE_CORRUPT', `zip entry ${JSON.stringify(path)} uses compression method ${e.compressionMethod} (only stored and deflate are read)`, { file: name, field: path });
          }
          declared += e.uncompressedSize;
          if (declared > limits.maxTotalBytes) throw new FerryError('ARCHIVE_HOSTILE', `zip declares more than the limit of ${limits.maxTotalBytes} bytes`, { file: name });
          if (e.uncompressedSize > limits.ratioFloorBytes && e.uncompressedSize > limits.maxRatio * Math.max(1, e.compressedSize)) {
            throw new FerryError('ARCHIVE_HOSTILE', `zip entry ${JSON.stringify(path)} expands more than ${limits.maxRatio}:1; refusing a likely zip bomb`, { file: name, field: path });
          }
          listed.push(e);
          if (listed.length > limits.maxEntries) throw new FerryError('ARCHIVE_HOSTILE', `zip has more than ${limits.maxEntries} entries`, { file: name });
        }
        zip.readEntry();
      } catch (err) {
        reject(err);
      }
    });
    zip.readEntry();
  });

  // Sniff every entry before anything is imported: nested archives are refused up front.
  const sniffGuard = new ExpansionGuard(limits, name);
  const entries: ArchiveEntry[] = [];
  const byPath = new Map<string, yauzl.Entry>();
  for (const e of listed) {
    const path = entryName(e);
    const parts: Buffer[] = [];
    let have = 0;
    const want = Math.min(e.uncompressedSize, MAX_MANIFEST_BYTES);
    for await (const chunk of entryBytes(zip, e, name, sniffGuard)) {
      parts.push(chunk);
      have += chunk.length;
      // Enough to sniff; a manifest is read whole (it is small and needed before any import).
      if (have >= SNIFF_BYTES && (have >= want || sniff(Buffer.concat(parts).subarray(0, SNIFF_BYTES)) !== 'manifest')) break;
    }
    const head = Buffer.concat(parts);
    const format = sniff(head.subarray(0, SNIFF_BYTES));
    if (isArchiveFormat(format)) throw new FerryError('ARCHIVE_HOSTILE', `zip entry ${JSON.stringify(path)} is itself an archive (${format}); nested archives are refused`, { file: name, field: path });
    const entry: ArchiveEntry = { path, size: e.uncompressedSize, compressedSize: e.compressedSize, format, head: head.subarray(0, SNIFF_BYTES) };
    if (format === 'manifest') {
      if (e.uncompressedSize > MAX_MANIFEST_BYTES) throw new FerryError('AOF_CORRUPT', `manifest ${path} is larger than ${MAX_MANIFEST_BYTES} bytes`, { file: name, field: path });
      entry.manifestText = head.toString('utf8');
    }
    entries.push(entry);
    byPath.set(path, e);
  }

  return {
    kind: 'zip',
    entries,
    async *open(path: string, onCompressed?: (n: number) => void): AsyncGenerator<Buffer> {
      const e = byPath.get(path);
      if (!e) throw new FerryError('SOURCE_NOT_FOUND', `no entry ${path} in the zip`, { file: name, field: path });
      // One zip's inputs are read one after another: the reader reports to the entry being read.
      reader.onBytes = null;
      yield* entryBytes(zip, e, name, new ExpansionGuard(limits, name), () => (reader.onBytes = onCompressed ?? null));
    },
  };
}
