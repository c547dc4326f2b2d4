/**
 * Tar and tar.gz archives through tar-stream. A tar can only be read front to back, so it is read
 * more than once: a listing pass checks every entry (paths, links, device files, sizes, nesting by
 * content, expansion limits) and reads the manifest before anything is imported (a hostile archive
 * writes nothing), then each imported entry is streamed by a pass that skips to it. Opening an
 * input reads only the first entry's head (`firstTarEntryHead`); the listing runs when the input is
 * checked (before anything of the import is written). Given AOF reading options, the listing also
 * runs the AOF checking pass (aof/aof-check.ts) over every RDB/AOF entry as it streams past, so the
 * entries need no pass of their own to be checked.
 */
import { type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { FerryError } from '../../errors/ferry-error.js';
import type { Blob } from '../blob.js';
import { sniff, SNIFF_BYTES, isArchiveFormat } from '../sniff.js';
import { MAX_MANIFEST_BYTES } from '../../aof/manifest.js';
import { checkAofStream, checkedFile } from '../../aof/aof-check.js';
import type { AofReadOptions } from '../../aof/aof-reader.js';
import { checkEntryPath } from './entry-path.js';
import { ExpansionGuard, type ArchiveLimits } from './limits.js';
import { compressedInput, meter, archiveError } from './gunzip.js';
import type { Archive, ArchiveEntry } from './types.js';

interface TarItem {
  header: tar.Header;
  body: Readable;
}

async function* walk(blob: Blob, gz: boolean, guard: ExpansionGuard, onCompressed?: (n: number) => void): AsyncGenerator<TarItem> {
  const input = compressedInput(blob, guard, onCompressed);
  const extract = tar.extract();
  const streams: NodeJS.ReadWriteStream[] = [];
  let last: Readable = input;
  if (gz) {
    const gunzip = createGunzip();
    const m = meter(guard);
    streams.push(gunzip, m);
    last.on('error', (err) => gunzip.destroy(err));
    gunzip.on('error', (err) => m.destroy(err));
    last = last.pipe(gunzip).pipe(m);
  }
  last.on('error', (err) => extract.destroy(err));
  last.pipe(extract);
  try {
    for await (const entry of extract) {
      yield { header: entry.header, body: entry as unknown as Readable };
    }
  } catch (err) {
    throw archiveError(blob.name, gz ? 'tar.gz' : 'tar', err);
  } finally {
    input.destroy();
    for (const s of streams) (s as unknown as Readable).destroy();
    extract.destroy();
  }
}

async function drain(body: Readable): Promise<void> {
  for await (const _ of body) {
    /* skip the entry's bytes */
  }
}

/**
 * One entry's bytes pulled by hand (tar-stream moves on only after a whole entry, so every entry is
 * drained to its end), with the AOF check run over them as they stream past.
 */
class EntryBody {
  private readonly it: AsyncIterator<Buffer>;
  private done = false;
  constructor(body: Readable) {
    this.it = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  async next(): Promise<Buffer | null> {
    if (this.done) return null;
    const r = await this.it.next();
    if (r.done) this.done = true;
    return r.done ? null : r.value;
  }

  async drain(): Promise<void> {
    while (await this.next()) {
      /* skip the rest of the entry */
    }
  }

  /**
   * Runs the AOF check over `head` (the bytes already pulled) and the rest of the entry: true when it
   * passes. An error of the tar itself (damaged, a bomb past the limits) is thrown; a check that
   * fails (for whatever reason) only returns false, the entry's own pass reporting it later.
   */
  async passesCheck(head: Buffer[], file: string, opts: AofReadOptions): Promise<boolean> {
    let streamError: { err: unknown } | null = null;
    const self = this;
    const bytes = (async function* (): AsyncGenerator<Buffer> {
      yield* head;
      for (;;) {
        let c: Buffer | null;
        try {
          c = await self.next();
        } catch (err) {
          streamError = { err };
          throw err;
        }
        if (!c) return;
        yield c;
      }
    })();
    try {
      await checkAofStream(bytes, file, opts);
      return true;
    } catch (err) {
      if (streamError) throw (streamError as { err: unknown }).err;
      return false;
    }
  }
}

/**
 * The first regular file's first bytes, reading no further: what the archive holds at a glance
 * (the API's pre-check), without the full listing pass.
 */
export async function firstTarEntryHead(blob: Blob, gz: boolean, limits: ArchiveLimits): Promise<{ path: string; head: Buffer } | null> {
  try {
    for await (const { header, body } of walk(blob, gz, new ExpansionGuard(limits, blob.name))) {
      if ((header.type ?? 'file') !== 'file' && header.type !== 'contiguous-file') {
        await drain(body);
        continue;
      }
      const parts: Buffer[] = [];
      let have = 0;
      for await (const chunk of body) {
        if (have >= SNIFF_BYTES) continue; // drain the rest: tar-stream moves on only after a whole entry
        parts.push(chunk as Buffer);
        have += (chunk as Buffer).length;
      }
      const head = Buffer.concat(parts).subarray(0, SNIFF_BYTES);
      // READMEs and the like do not say what the archive holds: look at the next entry.
      if (sniff(head) !== 'unknown') return { path: header.name, head };
    }
    return null;
  } catch (err) {
    throw archiveError(blob.name, gz ? 'tar.gz' : 'tar', err);
  }
}

/**
 * Lists and checks a tar (see the top of this file). With `check`, every RDB/AOF entry is also run
 * through the AOF checking pass with those options, as a whole file (`isLast`), during the listing;
 * each is marked `checked` true or false. A failed entry's error is not kept: its own pass then
 * reports it, named, offset and judged (`isLast`) as it would be without the listing's help.
 */
export async function readTar(blob: Blob, gz: boolean, limits: ArchiveLimits, onCompressed?: (n: number) => void, check?: AofReadOptions): Promise<Archive> {
  try {
    return await listTar(blob, gz, limits, onCompressed, check);
  } catch (err) {
    // Stream errors surface where entry bodies are read too, not only in walk(): map them all.
    throw archiveError(blob.name, gz ? 'tar.gz' : 'tar', err);
  }
}

async function listTar(blob: Blob, gz: boolean, limits: ArchiveLimits, onCompressed?: (n: number) => void, check?: AofReadOptions): Promise<Archive> {
  const name = blob.name;
  const entries: ArchiveEntry[] = [];
  const seen = new Set<string>();
  let declared = 0;
  for await (const { header, body } of walk(blob, gz, new ExpansionGuard(limits, name), onCompressed)) {
    const path = header.name;
    checkEntryPath(path, name);
    const type = header.type ?? 'file';
    if (type === 'directory') {
      await drain(body);
      continue;
    }
    if (type === 'symlink' || type === 'link') {
      throw new FerryError('ARCHIVE_HOSTILE', `tar entry ${JSON.stringify(path)} is a ${type === 'link' ? 'hard' : 'symbolic'} link`, { file: name, field: path });
    }
    if (type !== 'file' && type !== 'contiguous-file') {
      throw new FerryError('ARCHIVE_HOSTILE', `tar entry ${JSON.stringify(path)} is a ${type}, not a regular file`, { file: name, field: path });
    }
    if (seen.has(path)) throw new FerryError('ARCHIVE_HOSTILE', `tar entry ${JSON.stringify(path)} appears twice`, { file: name, field: path });
    seen.add(path);
    if (seen.size > limits.maxEntries) throw new FerryError('ARCHIVE_HOSTILE', `tar has more than ${limits.maxEntries} entries`, { file: name });
    const size = header.size ?? 0;
    declared += size;
    if (declared > limits.maxTotalBytes) throw new FerryError('ARCHIVE_HOSTILE', `tar holds more than the limit of ${limits.maxTotalBytes} bytes`, { file: name });

    const body$ = new EntryBody(body);
    const parts: Buffer[] = [];
    let have = 0;
    const pull = async (upTo: number): Promise<void> => {
      while (have < upTo) {
        const c = await body$.next();
        if (!c) return;
        parts.push(c);
        have += c.length;
      }
    };
    await pull(SNIFF_BYTES);
    const format = sniff(Buffer.concat(parts).subarray(0, SNIFF_BYTES));
    if (isArchiveFormat(format)) {
      throw new FerryError('ARCHIVE_HOSTILE', `tar entry ${JSON.stringify(path)} is itself an archive (${format}); nested archives are refused`, { file: name, field: path });
    }
    let checked: boolean | undefined;
    if (format === 'manifest') {
      // A manifest is kept whole (it is small and needed before any import).
      await pull(MAX_MANIFEST_BYTES);
    } else if (check && (format === 'rdb' || format === 'aof' || size === 0)) {
      const head = Buffer.concat(parts).subarray(0, SNIFF_BYTES);
      checked = !checkedFile(head, check) || (await body$.passesCheck(parts, `${name}!${path}`, { ...check, size }));
    }
    await body$.drain();
    const head = Buffer.concat(parts);
    const entry: ArchiveEntry = { path, size, compressedSize: null, format, head: head.subarray(0, SNIFF_BYTES) };
    if (checked !== undefined) entry.checked = checked;
    if (format === 'manifest') {
      if (size > MAX_MANIFEST_BYTES) throw new FerryError('AOF_CORRUPT', `manifest ${path} is larger than ${MAX_MANIFEST_BYTES} bytes`, { file: name, field: path });
      entry.manifestText = head.toString('utf8');
    }
    entries.push(entry);
  }

  return {
    kind: gz ? 'tar.gz' : 'tar',
    entries,
    async *open(path: string, onCompressed?: (n: number) => void): AsyncGenerator<Buffer> {
      for await (const { header, body } of walk(blob, gz, new ExpansionGuard(limits, name), onCompressed)) {
        try {
          if (header.name !== path) {
            await drain(body);
            continue;
          }
          for await (const chunk of body) yield chunk as Buffer;
        } catch (err) {
          throw archiveError(name, gz ? 'tar.gz' : 'tar', err);
        }
        return;
      }
      throw new FerryError('ARCHIVE_CORRUPT', `tar entry ${path} vanished between two reads`, { file: name, field: path });
    },
  };
}
