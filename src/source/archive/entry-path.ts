import { FerryError } from '../../errors/ferry-error.js';

/**
 * Refuses entry names that could escape an extraction directory or hide what they are: absolute
 * paths, drive letters, `..` segments, backslashes, NUL. Ferry never extracts to disk, but a
 * backup holding such names was not made by a backup tool, so the whole archive is refused.
 */
export function checkEntryPath(name: string, archive: string): void {
  const bad = (why: string): FerryError => new FerryError('ARCHIVE_HOSTILE', `archive entry ${JSON.stringify(name)} ${why}`, { file: archive, field: name });
  if (name.includes('\0')) throw bad('contains a NUL byte');
  if (name.includes('\\')) throw bad('contains a backslash');
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) throw bad('is an absolute path');
  if (name.split('/').some((p) => p === '..')) throw bad('leaves the archive (..)');
}

/** The entry's base name and its directory inside the archive (for manifest siblings). */
export function splitEntryPath(name: string): { dir: string; base: string } {
  const clean = name.replace(/^(\.\/)+/, '');
  const i = clean.lastIndexOf('/');
  return i < 0 ? { dir: '', base: clean } : { dir: clean.slice(0, i), base: clean.slice(i + 1) };
}
