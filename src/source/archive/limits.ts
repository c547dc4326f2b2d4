/**
 * Safety limits for archives (zip bombs, oversized archives) and the guard that enforces them on
 * bytes as they flow, so a bomb is stopped as soon as it passes a limit, never after expanding.
 */
import { FerryError } from '../../errors/ferry-error.js';

export interface ArchiveLimits {
  /** Most entries an archive may list. */
  maxEntries: number;
  /** Most bytes all entries may expand to, together. */
  maxTotalBytes: number;
  /** Highest expanded/compressed ratio, checked once more than `ratioFloorBytes` came out. */
  maxRatio: number;
  ratioFloorBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 10_000,
  maxTotalBytes: 256 * 1024 ** 3,
  // Deflate tops out near 1032:1; Redis data (RDB is LZF-packed already) rarely passes 20:1.
  maxRatio: 200,
  ratioFloorBytes: 64 * 1024 * 1024,
};

/** Counts compressed bytes in and expanded bytes out, throwing ARCHIVE_HOSTILE past a limit. */
export class ExpansionGuard {
  compressed = 0;
  expanded = 0;
  constructor(
    private readonly limits: ArchiveLimits,
    private readonly name: string,
  ) {}

  addCompressed(n: number): void {
    this.compressed += n;
  }

  /** Returns the error to raise, or null; callers destroy their streams with it. */
  addExpanded(n: number): FerryError | null {
    this.expanded += n;
    if (this.expanded > this.limits.maxTotalBytes) {
      return new FerryError('ARCHIVE_HOSTILE', `archive expands past the limit of ${this.limits.maxTotalBytes} bytes`, { file: this.name });
    }
    if (this.expanded > this.limits.ratioFloorBytes && this.expanded > this.limits.maxRatio * Math.max(1, this.compressed)) {
      return new FerryError(
        'ARCHIVE_HOSTILE',
        `archive expands more than ${this.limits.maxRatio}:1 (${this.expanded} bytes out of ${this.compressed}); refusing a likely zip bomb`,
        { file: this.name },
      );
    }
    return null;
  }
}
