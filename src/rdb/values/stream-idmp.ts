/**
 * The IDMP (idempotent producer) block that RDB 13 appends to type-26 streams (Redis 8.6).
 * Layout as read by the HDT3213/rdb decoder (the formats reference points there; no local server
 * writes RDB 13, so this is not verified against a real file): len duration, len max-entries,
 * len n, n x (str iid, 16-byte stream id), len iids-added, len iids-duplicates.
 * Ferry carries this state only through RESTORE to RDB-13 targets; the rewrite path cannot
 * recreate it and reports it as a lost feature.
 */
import type { ByteSource } from '../../io/byte-source.js';
import { readLengthBig, readLength, skipString, type ReadLimits } from '../primitives.js';

export interface IdmpInfo {
  duration: bigint;
  maxEntries: bigint;
  entries: number;
  iidsAdded: bigint;
  iidsDuplicates: bigint;
}

export function readIdmp(src: ByteSource, limits: ReadLimits): IdmpInfo {
  const duration = readLengthBig(src);
  const maxEntries = readLengthBig(src);
  const n = readLength(src);
  for (let i = 0; i < n; i++) {
    skipString(src, limits);
    src.skip(16);
  }
  const iidsAdded = readLengthBig(src);
  const iidsDuplicates = readLengthBig(src);
  return { duration, maxEntries, entries: n, iidsAdded, iidsDuplicates };
}
