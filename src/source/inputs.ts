/**
 * From blobs to ImportInputs, choosing by content: an RDB or AOF is one input; a manifest (bare, in a
 * directory, or inside an archive) is one multi-part AOF input; every RDB/AOF inside an archive is
 * its own input. Archives are listed and checked when opened, so a hostile one fails before any
 * input is handed to the import.
 */
import { ByteSource } from '../io/byte-source.js';
import { FerryError } from '../errors/ferry-error.js';
import type { ImportInput, ImportRecord } from '../pipeline/types.js';
import { readAof, type AofNotice } from '../aof/aof-reader.js';
import { parseManifest, MAX_MANIFEST_BYTES, loadOrder, type Manifest } from '../aof/manifest.js';
import { readMultipart } from '../aof/multipart.js';
import { readHead, type Blob } from './blob.js';
import { sniff, SNIFF_BYTES, rdbHeader, isArchiveFormat, type ContentFormat } from './sniff.js';
import { readZip } from './archive/zip.js';
import { readTar, firstTarEntryHead } from './archive/tar.js';
import { gunzipBlob } from './archive/gunzip.js';
import { splitEntryPath } from './archive/entry-path.js';
import { DEFAULT_ARCHIVE_LIMITS, ExpansionGuard, type ArchiveLimits } from './archive/limits.js';
import type { Archive } from './archive/types.js';
import type { Located } from './resolve.js';

export interface ReadOptions {
  archiveLimits?: Partial<ArchiveLimits>;
  /** AOF: an incomplete tail is an error (default) or dropped and reported (`aof-load-truncated`). */
  aofTruncated?: 'error' | 'load';
  /** AOF: refused commands fail (default) or are dropped and reported. */
  aofRefused?: 'error' | 'skip';
  onNotice?: (n: AofNotice) => void;
  checksum?: 'verify' | 'ignore';
  inlineLimit?: number;
}

export interface FormatInfo {
  kind: 'rdb' | 'aof' | 'aof-multipart';
  container: 'file' | 'dir' | 'zip' | 'tar' | 'tar.gz' | 'gz';
  /** RDB magic and version of the file, AOF preamble or multi-part base, when there is one. */
  rdb: { magic: 'REDIS' | 'VALKEY'; version: number } | null;
}

export interface SourceInput extends ImportInput {
  format: FormatInfo;
}

function limitsOf(o: ReadOptions): ArchiveLimits {
  return { ...DEFAULT_ARCHIVE_LIMITS, ...o.archiveLimits };
}

/** RDB or AOF records from one byte stream. */
async function* recordsOf(stream: AsyncIterable<Buffer>, name: string, o: ReadOptions, size: number | null): AsyncGenerator<ImportRecord[]> {
  // An RDB and an AOF with an RDB preamble look alike until the RDB's end: the AOF reader reads
  // both (the RDB, then RESP commands if any follow), so one code path serves every form.
  const src = new ByteSource(stream, { name });
  yield* readAof(src, { truncated: o.aofTruncated, refused: o.aofRefused, onNotice: o.onNotice, checksum: o.checksum, inlineLimit: o.inlineLimit, size });
}

function unknownFormat(name: string, format: ContentFormat): FerryError {
  if (format === 'other-compression') return new FerryError('FORMAT_UNKNOWN', 'compressed with bzip2, xz or zstd, which Ferry does not read (use .gz, .zip or .tar.gz)', { file: name });
  if (format === 'manifest') return new FerryError('FORMAT_UNKNOWN', 'an AOF manifest alone: give the directory or archive holding it and its files', { file: name });
  return new FerryError('FORMAT_UNKNOWN', 'neither an RDB, an AOF, nor a supported archive', { file: name });
}

/** A counter shared by an input's streams. */
function meterOf(): { n: number; add: (k: number) => void } {
  const m = { n: 0, add: (k: number) => void (m.n += k) };
  return m;
}

async function* countedStream(s: AsyncIterable<Buffer>, add: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const c of s) {
    add(c.length);
    yield c;
  }
}

function plainInput(blob: Blob, format: 'rdb' | 'aof', head: Buffer, o: ReadOptions): SourceInput {
  const m = meterOf();
  return {
    name: blob.name,
    size: blob.size,
    format: { kind: format, container: 'file', rdb: rdbHeader(head) },
    records: () => recordsOf(countedStream(blob.stream(), m.add), blob.name, o, blob.size),
    bytesRead: () => m.n,
  };
}

/** A multi-part AOF whose files are opened by `open` (siblings on disk or in a bucket, or archive entries). */
export function multipartInput(
  name: string,
  manifest: Manifest,
  open: (file: string, count: (n: number) => void) => Promise<AsyncIterable<Buffer>>,
  size: number | null,
  container: FormatInfo['container'],
  baseHead: Buffer | null,
  o: ReadOptions,
): SourceInput {
  const m = meterOf();
  return {
    name,
    size,
    format: { kind: 'aof-multipart', container, rdb: baseHead ? rdbHeader(baseHead) : null },
    records: () =>
      readMultipart(manifest, (file) => open(file, m.add), {
        namePrefix: name,
        truncated: o.aofTruncated,
        refused: o.aofRefused,
        onNotice: o.onNotice,
        checksum: o.checksum,
        inlineLimit: o.inlineLimit,
      }),
    bytesRead: () => m.n,
  };
}

async function readManifestBlob(blob: Blob): Promise<Manifest> {
  if (blob.size !== null && blob.size > MAX_MANIFEST_BYTES) throw new FerryError('AOF_CORRUPT', `manifest larger than ${MAX_MANIFEST_BYTES} bytes`, { file: blob.name });
  return parseManifest((await readHead(blob, MAX_MANIFEST_BYTES)).toString('utf8'), blob.name);
}

/** A manifest file with its sibling files (a directory on disk, a prefix in a bucket). */
export async function manifestInput(loc: Located, container: FormatInfo['container'], o: ReadOptions): Promise<SourceInput> {
  const manifest = await readManifestBlob(loc.blob);
  const parts = new Map<string, Blob>();
  for (const f of loadOrder(manifest)) parts.set(f.file, await loc.sibling(f.file));
  const sizes = [...parts.values()].map((b) => b.size);
  const size = sizes.every((s) => s !== null) ? sizes.reduce((a, b) => a! + b!, 0) : null;
  const first = loadOrder(manifest)[0]!;
  const baseHead = manifest.base ? await readHead(parts.get(first.file)!, 9) : null;
  return multipartInput(loc.blob.name, manifest, async (file, count) => countedStream(parts.get(file)!.stream(), count), size, container, baseHead, o);
}

/** Inputs held in one archive: one per multi-part set, one per other RDB/AOF entry. */
function archiveInputs(blob: Blob, archive: Archive, o: ReadOptions): SourceInput[] {
  const out: SourceInput[] = [];
  const used = new Set<string>();
  const byPath = new Map(archive.entries.map((e) => [e.path.replace(/^(\.\/)+/, ''), e]));
  for (const e of archive.entries) {
    if (e.format !== 'manifest') continue;
    const manifest = parseManifest(e.manifestText ?? '', `${blob.name}!${e.path}`);
    const { dir } = splitEntryPath(e.path);
    const pathOf = (file: string): string => (dir ? `${dir}/${file}` : file);
    for (const f of loadOrder(manifest)) {
      const entry = byPath.get(pathOf(f.file));
      if (!entry) throw new FerryError('AOF_CORRUPT', `the manifest names ${f.file}, which is not in the archive`, { file: `${blob.name}!${e.path}` });
      used.add(entry.path);
    }
    used.add(e.path);
    const files = loadOrder(manifest).map((f) => byPath.get(pathOf(f.file))!);
    const size = archive.kind === 'zip' ? files.reduce((a, f) => a + (f.compressedSize ?? 0), 0) : blob.size === null ? null : blob.size * files.length;
    const base = manifest.base ? files[0]!.head : null;
    out.push(multipartInput(`${blob.name}!${dir || e.path}`, manifest, async (file, count) => archive.open(byPath.get(pathOf(file))!.path, count), size, archive.kind, base, o));
  }
  for (const e of archive.entries) {
    if (used.has(e.path) || (e.format !== 'rdb' && e.format !== 'aof')) continue;
    if (e.format === 'aof' && e.size === 0) continue;
    const m = meterOf();
    const name = `${blob.name}!${e.path}`;
    const format = e.format;
    out.push({
      name,
      size: archive.kind === 'zip' ? e.compressedSize : blob.size,
      format: { kind: format, container: archive.kind, rdb: rdbHeader(e.head) },
      records: () => recordsOf(archive.open(e.path, m.add), name, o, e.size),
      bytesRead: () => m.n,
    });
  }
  if (!out.length) throw new FerryError('FORMAT_UNKNOWN', `the ${archive.kind} archive holds no RDB, AOF or AOF manifest`, { file: blob.name });
  return out;
}

/**
 * A tar or tar.gz as one input. Opening it reads only the first entry's head (cheap pre-checks: no
 * archive is read whole before a task starts); pulling records first lists and checks the whole
 * archive (a hostile one fails before any record is yielded, so nothing is written), then reads each
 * RDB/AOF/multi-part set in it in turn. Progress counts compressed bytes over all passes, so the
 * size is not known in advance.
 */
async function tarInput(blob: Blob, gz: boolean, limits: ArchiveLimits, o: ReadOptions): Promise<SourceInput> {
  const container = gz ? 'tar.gz' : 'tar';
  const first = await firstTarEntryHead(blob, gz, limits);
  // Nothing recognisable in it: the full listing says why (a hostile entry, or no backup at all).
  if (!first) return archiveInputs(blob, await readTar(blob, gz, limits), o)[0]!;
  const firstFormat = sniff(first.head);
  if (isArchiveFormat(firstFormat)) {
    throw new FerryError('ARCHIVE_HOSTILE', `${container} entry ${JSON.stringify(first.path)} is itself an archive (${firstFormat}); nested archives are refused`, { file: blob.name, field: first.path });
  }
  const kind: FormatInfo['kind'] = firstFormat === 'manifest' ? 'aof-multipart' : firstFormat === 'aof' ? 'aof' : 'rdb';
  const m = meterOf();
  let inner: SourceInput[] = [];
  return {
    name: blob.name,
    size: null,
    format: { kind, container, rdb: rdbHeader(first.head) },
    async *records() {
      const archive = await readTar(blob, gz, limits, m.add);
      inner = archiveInputs(blob, archive, o);
      for (const i of inner) yield* i.records();
    },
    bytesRead: () => m.n + inner.reduce((a, i) => a + i.bytesRead(), 0),
  };
}

/** The first bytes of a gzip blob's expanded content. */
async function gunzipHead(blob: Blob, limits: ArchiveLimits): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  for await (const c of gunzipBlob(blob, new ExpansionGuard(limits, blob.name))) {
    parts.push(c);
    have += c.length;
    if (have >= SNIFF_BYTES) break;
  }
  return Buffer.concat(parts).subarray(0, SNIFF_BYTES);
}

/** Inputs from one located blob, by its content. */
export async function inputsFromBlob(loc: Located, o: ReadOptions): Promise<SourceInput[]> {
  const blob = loc.blob;
  const limits = limitsOf(o);
  const head = await readHead(blob, SNIFF_BYTES);
  const format = sniff(head);
  switch (format) {
    case 'rdb':
    case 'aof':
      return [plainInput(blob, format, head, o)];
    case 'manifest':
      return [await manifestInput(loc, 'file', o)];
    case 'zip':
      return archiveInputs(blob, await readZip(blob, limits), o);
    case 'tar':
      return [await tarInput(blob, false, limits, o)];
    case 'gzip': {
      const innerHead = await gunzipHead(blob, limits);
      const inner = sniff(innerHead);
      if (inner === 'tar') return [await tarInput(blob, true, limits, o)];
      if (isArchiveFormat(inner)) throw new FerryError('ARCHIVE_HOSTILE', `gzip holds another archive (${inner}); nested archives are refused`, { file: blob.name });
      if (inner !== 'rdb' && inner !== 'aof') throw unknownFormat(blob.name, inner);
      const m = meterOf();
      return [
        {
          name: blob.name,
          size: blob.size,
          format: { kind: inner, container: 'gz', rdb: rdbHeader(innerHead) },
          records: () => recordsOf(gunzipBlob(blob, new ExpansionGuard(limits, blob.name), m.add), blob.name, o, null),
          bytesRead: () => m.n,
        },
      ];
    }
    default:
      throw unknownFormat(blob.name, format);
  }
}
