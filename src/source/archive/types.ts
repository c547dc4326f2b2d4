import type { ContentFormat } from '../sniff.js';

/** One file inside an archive, as listed (and sniffed) before anything is imported. */
export interface ArchiveEntry {
  /** Path inside the archive. */
  path: string;
  /** Expanded size in bytes. */
  size: number;
  /** Compressed size when the format gives one per entry (zip), else null. */
  compressedSize: number | null;
  /** What the entry holds, from its first bytes. */
  format: ContentFormat;
  /** First bytes (for RDB version checks). */
  head: Buffer;
  /** The manifest's text, for manifest entries. */
  manifestText?: string;
  /**
   * Set when the listing ran the AOF checking pass over the entry (tar, given the reading options):
   * true when it passed as a whole file (or needs none: a plain RDB), false when it failed.
   */
  checked?: boolean;
}

export interface Archive {
  kind: 'zip' | 'tar' | 'tar.gz';
  entries: ArchiveEntry[];
  /**
   * Streams one entry's expanded bytes; `onCompressed` is told how many archive bytes were read
   * (progress counts compressed bytes for archives).
   */
  open(path: string, onCompressed?: (n: number) => void): AsyncIterable<Buffer>;
}
