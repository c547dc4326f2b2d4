/** Builds zip, tar, tar.gz and gz files for tests (yazl / tar-stream / zlib), plus byte patches for hostile forms. */
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import yazl from 'yazl';
import tar from 'tar-stream';

export interface BuildEntry {
  name: string;
  data: Buffer;
  /** Unix mode (e.g. 0o120777 for a symlink in zip). */
  mode?: number;
  /** tar only: entry type and link target. */
  type?: 'file' | 'symlink' | 'link' | 'directory';
  linkname?: string;
}

export async function zipBuffer(entries: BuildEntry[]): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const e of entries) z.addBuffer(e.data, e.name, { mode: e.mode ?? 0o100644, compress: true });
  z.end();
  const parts: Buffer[] = [];
  for await (const c of z.outputStream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function tarBuffer(entries: BuildEntry[]): Promise<Buffer> {
  const p = tar.pack();
  const done = (async () => {
    const parts: Buffer[] = [];
    for await (const c of p) parts.push(c as Buffer);
    return Buffer.concat(parts);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const type = e.type ?? 'file';
      const header = { name: e.name, type, linkname: e.linkname, size: type === 'file' ? e.data.length : 0, mode: 0o644 };
      p.entry(header, type === 'file' ? e.data : Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  }
  p.finalize();
  return done;
}

export async function tarGzBuffer(entries: BuildEntry[]): Promise<Buffer> {
  return gzipSync(await tarBuffer(entries));
}

/** Replaces every occurrence of `from` by `to` (same length) — to forge names yazl refuses to write. */
export function patchAll(buf: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('patch must keep the length');
  const out = Buffer.from(buf);
  const f = Buffer.from(from);
  for (let i = out.indexOf(f); i >= 0; i = out.indexOf(f, i + 1)) out.write(to, i, 'latin1');
  return out;
}

/** Sets bit 0 (encrypted) of the general purpose flags in every local and central header. */
export function markEncrypted(zip: Buffer): Buffer {
  const out = Buffer.from(zip);
  for (let i = 0; i + 4 <= out.length; i++) {
    const sig = out.readUInt32LE(i);
    if (sig === 0x04034b50) out.writeUInt16LE(out.readUInt16LE(i + 6) | 1, i + 6);
    else if (sig === 0x02014b50) out.writeUInt16LE(out.readUInt16LE(i + 8) | 1, i + 8);
  }
  return out;
}

export async function writeTo(path: string, data: Buffer): Promise<string> {
  await writeFile(path, data);
  return path;
}
