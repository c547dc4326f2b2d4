/**
 * From blobs to ImportInputs, choosing by content: an RDB or AOF is one input; a manifest (bare, in a
 * directory, or inside an archive) is one multi-part AOF input; every RDB/AOF inside an archive is
 * its own input. Zips are listed and checked when opened, so a hostile one fails before any input
 * is handed to the import; a tar is listed and checked by its input's `check()`.
 *
 * Some inputs are read more than once, each pass counted in `bytesRead()` and in `size` (the bytes
 * all passes read, so progress ends at 100%): a plain `.gz` is first expanded whole through its
 * guard (a bomb or a broken stream fails before any record), and an AOF is first run through the
 * checking pass of aof/aof-check.ts (a truncated tail, dangling MULTI or refused command fails
 * before any record), unless truncation and refusals are both tolerated. These passes are the
 * input's `check()`, run at most once: `importRecords` runs the checks of all inputs before writing
 * anything, and `records()` runs it first when nobody did. The inputs of one archive are checked
 * together: checking (or reading) any of them checks them all.
 */
import { ByteSource } from '../io/byte-source.js';
import { FerryError } from '../errors/ferry-error.js';
import type { ImportInput, ImportRecord } from '../pipeline/types.js';
import { readAof, type AofNotice, type AofReadOptions } from '../aof/aof-reader.js';
import { checkAof, checkAofStream, checkedFile, checkWanted, CHECK_HEAD_BYTES } from '../aof/aof-check.js';
import { parseManifest, MAX_MANIFEST_BYTES, loadOrder, type Manifest } from '../aof/manifest.js';
import { checkMultipart, readMultipart, type MultipartOptions } from '../aof/multipart.js';
import { readHead, type Blob } from './blob.js';
import { sniff, SNIFF_BYTES, rdbHeader, isArchiveFormat, type ContentFormat } from './sniff.js';
// zip.js and tar.js (yauzl, tar-stream) are loaded only when an archive is met: ~10 MB of a plain
// RDB import's resident memory otherwise.
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
  /**
   * The records go to an import writer, which is done with each batch when it asks for the next
   * (RdbParseOptions.leased): big values may be buffered in reused memory.
   */
  leased?: boolean;
  /** Passed to the RDB parser (RdbParseOptions.stringRuns): the consumer handles string runs. */
  stringRuns?: number;
  /** Passed to the RDB parser (RdbParseOptions.keyRuns): the consumer handles key runs. */
  keyRuns?: boolean;
  /**
   * Checking passes before the first record (AOF framing, whole .gz expansion), so a bad file writes
   * nothing. Default true; false reads each file once, for readers that write nothing (inspect).
   */
  precheck?: boolean;
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

function aofOptions(o: ReadOptions, size: number | null): AofReadOptions {
  return { truncated: o.aofTruncated, refused: o.aofRefused, onNotice: o.onNotice, checksum: o.checksum, inlineLimit: o.inlineLimit, leased: o.leased, stringRuns: o.stringRuns, keyRuns: o.keyRuns, size };
}

/** How many times a file starting with `head` is read: twice when it gets the AOF checking pass. */
function passesOf(head: Buffer, o: ReadOptions): number {
  if (o.precheck === false) return 1;
  return checkedFile(head, { truncated: o.aofTruncated, refused: o.aofRefused }) ? 2 : 1;
}

function times(size: number | null, passes: number): number | null {
  return size === null ? null : size * passes;
}

/** The AOF checking pass over one file, opened by `open` for it. */
function checkOf(open: () => AsyncIterable<Buffer>, name: string, o: ReadOptions, size: number | null): Promise<void> {
  return checkAofStream(open(), name, aofOptions(o, size));
}

/** RDB or AOF records from one file, opened by `open` for this pass. */
async function* readOf(open: () => AsyncIterable<Buffer>, name: string, o: ReadOptions, size: number | null): AsyncGenerator<ImportRecord[]> {
  // An RDB and an AOF with an RDB preamble look alike until the RDB's end: the AOF reader reads
  // both (the RDB, then RESP commands if any follow), so one code path serves every form.
  const src = new ByteSource(open(), { name });
  try {
    yield* readAof(src, aofOptions(o, size));
  } finally {
    await src.close();
  }
}

/** `fn` run at most once: later calls share its promise (and its error). */
function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null;
  return () => (p ??= fn());
}

async function* afterCheck(check: () => Promise<void>, read: () => AsyncIterable<ImportRecord[]>): AsyncGenerator<ImportRecord[]> {
  await check();
  yield* read();
}

/**
 * An input whose checking passes (`check`, null when there are none) run at most once and before
 * its records: by `check()` (importRecords calls it on every input before writing anything), or
 * else when records are first pulled.
 */
function checkedInput(input: Omit<SourceInput, 'check' | 'records'>, check: (() => Promise<void>) | null, read: () => AsyncIterable<ImportRecord[]>): SourceInput {
  if (!check) return { ...input, records: read };
  const run = once(check);
  return { ...input, check: run, records: () => afterCheck(run, read) };
}

/** Inputs checked together (the backups of one archive): checking or reading any of them first checks them all, in order. */
function checkedTogether(inputs: SourceInput[]): SourceInput[] {
  if (!inputs.some((i) => i.check)) return inputs;
  const all = once(async () => {
    for (const i of inputs) await i.check?.();
  });
  return inputs.map((i) => ({ ...i, check: all, records: () => afterCheck(all, () => i.records()) }));
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
  const passes = passesOf(head, o);
  const open = (): AsyncIterable<Buffer> => countedStream(blob.stream(), m.add);
  return checkedInput(
    { name: blob.name, size: times(blob.size, passes), format: { kind: format, container: 'file', rdb: rdbHeader(head) }, bytesRead: () => m.n },
    passes > 1 ? () => checkOf(open, blob.name, o, blob.size) : null,
    () => readOf(open, blob.name, o, blob.size),
  );
}

/**
 * A multi-part AOF whose files are opened by `open` (siblings on disk or in a bucket, or archive
 * entries). `sizes` are what one pass over each file (in load order) reads; `baseHead` is the base's
 * first bytes (CHECK_HEAD_BYTES of them) when the manifest names a base. `checked` names the files
 * an archive's listing already checked (their checking pass is not run again).
 */
export function multipartInput(
  name: string,
  manifest: Manifest,
  open: (file: string, count: (n: number) => void) => Promise<AsyncIterable<Buffer>>,
  sizes: (number | null)[],
  container: FormatInfo['container'],
  baseHead: Buffer | null,
  o: ReadOptions,
  checked?: MultipartOptions['checked'],
): SourceInput {
  const m = meterOf();
  // With a checking pass every file is read twice, but for a plain RDB base (one not marked as an AOF
  // base), of which the check reads only the first chunk (left out here: progress may pass the size by it).
  const check = o.precheck !== false && checkWanted({ truncated: o.aofTruncated, refused: o.aofRefused });
  const passes = sizes.map((_, i) => (!check ? 1 : i === 0 && baseHead ? passesOf(baseHead, o) : 2));
  const size = sizes.every((s) => s !== null) ? sizes.reduce<number>((a, s, i) => a + s! * passes[i]!, 0) : null;
  const opts: MultipartOptions = {
    namePrefix: name,
    truncated: o.aofTruncated,
    refused: o.aofRefused,
    onNotice: o.onNotice,
    checksum: o.checksum,
    inlineLimit: o.inlineLimit,
    leased: o.leased,
    stringRuns: o.stringRuns,
    keyRuns: o.keyRuns,
    ...(checked ? { checked } : {}),
  };
  const opener = (file: string): Promise<AsyncIterable<Buffer>> => open(file, m.add);
  return checkedInput(
    { name, size, format: { kind: 'aof-multipart', container, rdb: baseHead ? rdbHeader(baseHead) : null }, bytesRead: () => m.n },
    check ? () => checkMultipart(manifest, opener, opts) : null,
    () => readMultipart(manifest, opener, { ...opts, precheck: false }),
  );
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
  const sizes = loadOrder(manifest).map((f) => parts.get(f.file)!.size);
  const first = loadOrder(manifest)[0]!;
  const baseHead = manifest.base ? await readHead(parts.get(first.file)!, CHECK_HEAD_BYTES) : null;
  return multipartInput(loc.blob.name, manifest, async (file, count) => countedStream(parts.get(file)!.stream(), count), sizes, container, baseHead, o);
}

/**
 * Inputs held in one archive: one per multi-part set, one per other RDB/AOF entry, checked together.
 * Entries the listing checked already (tar) get no checking pass of their own.
 */
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
    // A zip entry's pass reads its compressed bytes; a tar entry's pass reads the tar up to it (counted as the whole tar).
    const sizes = files.map((f) => (archive.kind === 'zip' ? (f.compressedSize ?? 0) : blob.size));
    const base = manifest.base ? files[0]!.head : null;
    // The listing checked each file as a whole file, as if last: for a file before the last that
    // holds only when a cut tail is an error anyway.
    const checked = (file: string, isLast: boolean): boolean => byPath.get(pathOf(file))?.checked === true && (isLast || o.aofTruncated !== 'load');
    out.push(multipartInput(`${blob.name}!${dir || e.path}`, manifest, async (file, count) => archive.open(byPath.get(pathOf(file))!.path, count), sizes, archive.kind, base, o, checked));
  }
  for (const e of archive.entries) {
    if (used.has(e.path) || (e.format !== 'rdb' && e.format !== 'aof')) continue;
    if (e.format === 'aof' && e.size === 0) continue;
    const m = meterOf();
    const name = `${blob.name}!${e.path}`;
    const format = e.format;
    const passes = passesOf(e.head, o);
    const open = (): AsyncIterable<Buffer> => archive.open(e.path, m.add);
    out.push(
      checkedInput(
        { name, size: times(archive.kind === 'zip' ? e.compressedSize : blob.size, passes), format: { kind: format, container: archive.kind, rdb: rdbHeader(e.head) }, bytesRead: () => m.n },
        passes > 1 && e.checked !== true ? () => checkOf(open, name, o, e.size) : null,
        () => readOf(open, name, o, e.size),
      ),
    );
  }
  if (!out.length) throw new FerryError('FORMAT_UNKNOWN', `the ${archive.kind} archive holds no RDB, AOF or AOF manifest`, { file: blob.name });
  return checkedTogether(out);
}

/** The options the tar listing runs the AOF check with, or undefined when no checking pass is wanted. */
function listingCheck(o: ReadOptions): AofReadOptions | undefined {
  if (o.precheck === false || !checkWanted({ truncated: o.aofTruncated, refused: o.aofRefused })) return undefined;
  return { truncated: o.aofTruncated, refused: o.aofRefused, checksum: o.checksum, inlineLimit: o.inlineLimit };
}

/**
 * A tar or tar.gz as one input. Opening it reads only the first entry's head (cheap pre-checks: no
 * archive is read whole before a task starts); its `check()` lists and checks the whole archive,
 * running the AOF check over every backup in it on the way (a hostile archive or a bad backup in it
 * fails before any record is yielded, so nothing is written); then records are read from each
 * RDB/AOF/multi-part set in it in turn. Progress counts compressed bytes over all passes, so the
 * size is not known in advance.
 */
async function tarInput(blob: Blob, gz: boolean, limits: ArchiveLimits, o: ReadOptions): Promise<SourceInput> {
  const container = gz ? 'tar.gz' : 'tar';
  const { readTar, firstTarEntryHead } = await import('./archive/tar.js');
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
  return checkedInput(
    { name: blob.name, size: null, format: { kind, container, rdb: rdbHeader(first.head) }, bytesRead: () => m.n + inner.reduce((a, i) => a + i.bytesRead(), 0) },
    async () => {
      inner = archiveInputs(blob, await readTar(blob, gz, limits, m.add, listingCheck(o)), o);
      // Whatever the listing could not vouch for (an entry that failed it, a part before the last
      // with a cut tail allowed) is checked by its own pass; the inputs check one another.
      await inner[0]!.check?.();
    },
    async function* () {
      for (const i of inner) yield* i.records();
    },
  );
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

/**
 * A plain `.gz` holding an RDB or AOF. Its check (`check()`, or pulling records when nobody called
 * it) expands the whole stream once through its ExpansionGuard, output dropped as it flows (a bomb
 * past the limits, a truncated stream, a bad CRC or length trailer, or garbage after it fails here,
 * typed and naming the file, before any record); an AOF is checked (aof/aof-check.ts) on the way
 * through the same pass. The records come
 * from a second pass. Both passes count compressed bytes, so `size` is twice the file's.
 */
function gzInput(blob: Blob, inner: 'rdb' | 'aof', innerHead: Buffer, limits: ArchiveLimits, o: ReadOptions): SourceInput {
  const m = meterOf();
  const expand = (): AsyncGenerator<Buffer> => gunzipBlob(blob, new ExpansionGuard(limits, blob.name), m.add);
  const precheck = o.precheck !== false;
  return checkedInput(
    { name: blob.name, size: times(blob.size, precheck ? 2 : 1), format: { kind: inner, container: 'gz', rdb: rdbHeader(innerHead) }, bytesRead: () => m.n },
    !precheck
      ? null
      : async () => {
          const stream = expand();
          try {
            const src = new ByteSource(stream, { name: blob.name });
            await checkAof(src, aofOptions(o, null));
            // Whatever the check did not need (all of a plain RDB but its head) is expanded and dropped.
            while (await src.more()) {
              src.skip(src.available);
              src.commit();
            }
          } finally {
            await stream.return(undefined);
          }
        },
    () => readOf(expand, blob.name, o, null),
  );
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
      return archiveInputs(blob, await (await import('./archive/zip.js')).readZip(blob, limits), o);
    case 'tar':
      return [await tarInput(blob, false, limits, o)];
    case 'gzip': {
      const innerHead = await gunzipHead(blob, limits);
      const inner = sniff(innerHead);
      if (inner === 'tar') return [await tarInput(blob, true, limits, o)];
      if (isArchiveFormat(inner)) throw new FerryError('ARCHIVE_HOSTILE', `gzip holds another archive (${inner}); nested archives are refused`, { file: blob.name });
      if (inner !== 'rdb' && inner !== 'aof') throw unknownFormat(blob.name, inner);
      return [gzInput(blob, inner, innerHead, limits, o)];
    }
    default:
      throw unknownFormat(blob.name, format);
  }
}
