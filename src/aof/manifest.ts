/**
 * The Redis 7 multi-part AOF manifest (`appendonly.aof.manifest`), read as aof.c's
 * aofLoadManifestFromFile does: one file per line as key/value pairs in any order (`file`, `seq`,
 * `type` required, unknown keys ignored), tokenised like sdssplitargs, `#` comment lines, names that
 * must be plain file names. Any deviation is AOF_CORRUPT naming the manifest and the line.
 */
import { FerryError } from '../errors/ferry-error.js';

export interface ManifestFile {
  file: string;
  seq: number;
  type: 'b' | 'i' | 'h';
}

export interface Manifest {
  base: ManifestFile | null;
  /** In load order (manifest order, strictly increasing seq). */
  incrs: ManifestFile[];
  history: ManifestFile[];
}

/** Redis' MANIFEST_MAX_LINE. */
const MAX_LINE = 1024;
/** A manifest is a few lines; anything bigger is not one. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

const HEX = /^[0-9a-fA-F]{2}$/;
const ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, b: 8, a: 7 };

/** sdssplitargs: whitespace-separated tokens, "double quoted" with escapes, 'single quoted'. Null when unbalanced. */
export function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && /\s/.test(line[i]!)) i++;
    if (i >= n) return out;
    const bytes: number[] = [];
    let inDq = false;
    let inSq = false;
    for (;;) {
      const c = line[i];
      if (inDq) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === 'x' && HEX.test(line.slice(i + 2, i + 4))) {
          bytes.push(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          i++;
          const e = line[i]!;
          bytes.push(ESCAPES[e] ?? e.charCodeAt(0));
        } else if (c === '"') {
          // The closing quote must be followed by a space or the end.
          if (i + 1 < n && !/\s/.test(line[i + 1]!)) return null;
          i++;
          break;
        } else {
          bytes.push(...Buffer.from(c, 'utf8'));
        }
      } else if (inSq) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === "'") {
          i++;
          bytes.push(0x27);
        } else if (c === "'") {
          if (i + 1 < n && !/\s/.test(line[i + 1]!)) return null;
          i++;
          break;
        } else {
          bytes.push(...Buffer.from(c, 'utf8'));
        }
      } else {
        if (c === undefined || /\s/.test(c)) break;
        if (c === '"') inDq = true;
        else if (c === "'") inSq = true;
        else bytes.push(...Buffer.from(c, 'utf8'));
      }
      i++;
    }
    out.push(Buffer.from(bytes).toString('utf8'));
  }
}

/** A name Redis accepts in a manifest: a plain file name, no directories. */
function isPlainFileName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\\') && !name.includes('\0');
}

export function parseManifest(text: string, name = 'manifest'): Manifest {
  const bad = (line: number, message: string): FerryError =>
    new FerryError('AOF_CORRUPT', `invalid AOF manifest: ${message}`, { file: name, field: `line ${line}` });
  const m: Manifest = { base: null, incrs: [], history: [] };
  const lines = text.split('\n');
  let lastIncrSeq = -1;
  let any = false;
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const line = raw.replace(/\r$/, '');
    if (line.length > MAX_LINE) throw bad(lineNo, `line longer than ${MAX_LINE} characters`);
    if (line.trim() === '' || line.startsWith('#')) return;
    const argv = splitArgs(line);
    if (!argv) throw bad(lineNo, 'unbalanced quotes');
    if (argv.length < 6 || argv.length % 2 !== 0) throw bad(lineNo, 'expected key/value pairs: file <name> seq <n> type <b|i|h>');
    let file: string | undefined;
    let seq: string | undefined;
    let type: string | undefined;
    for (let k = 0; k < argv.length; k += 2) {
      const key = argv[k]!;
      if (key === 'file') file = argv[k + 1];
      else if (key === 'seq') seq = argv[k + 1];
      else if (key === 'type') type = argv[k + 1];
    }
    if (file === undefined || seq === undefined || type === undefined) throw bad(lineNo, 'missing file, seq or type');
    if (!isPlainFileName(file)) throw bad(lineNo, `file name ${JSON.stringify(file)} is not a plain file name`);
    if (!/^[0-9]{1,15}$/.test(seq)) throw bad(lineNo, `bad seq ${JSON.stringify(seq)}`);
    if (type !== 'b' && type !== 'i' && type !== 'h') throw bad(lineNo, `unknown type ${JSON.stringify(type)}`);
    const entry: ManifestFile = { file, seq: Number(seq), type };
    any = true;
    if (type === 'b') {
      if (m.base) throw bad(lineNo, 'more than one base file');
      m.base = entry;
    } else if (type === 'i') {
      if (entry.seq <= lastIncrSeq) throw bad(lineNo, `incr seq ${entry.seq} does not increase`);
      lastIncrSeq = entry.seq;
      m.incrs.push(entry);
    } else {
      m.history.push(entry);
    }
  });
  if (!any || (!m.base && m.incrs.length === 0)) throw bad(1, 'no base or incr file');
  return m;
}

/** The files to load, in order: base, then incrs. */
export function loadOrder(m: Manifest): ManifestFile[] {
  return m.base ? [m.base, ...m.incrs] : [...m.incrs];
}

/** Cheap content test used to pick a manifest out of an archive or a bucket. */
export function looksLikeManifest(head: Buffer): boolean {
  const s = head.subarray(0, 256).toString('latin1');
  return /^(#[^\n]*\n)*\s*file\s/.test(s) && /\bseq\s/.test(s) && /\btype\s/.test(s);
}
