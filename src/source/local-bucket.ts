/**
 * The local bucket backend: a bucket is a directory, an object key is a relative path inside it.
 * Keys are checked so no key can name a file outside its bucket.
 */
import { stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import { openLocalBlob } from './local-blob.js';
import type { Blob } from './blob.js';

/** Resolves `key` inside `dir`; keys with `..`, absolute paths or NUL are refused. */
export function keyPath(dir: string, bucket: string, key: string): string {
  const parts = key.split('/');
  if (key === '' || key.startsWith('/') || key.includes('\0') || key.includes('\\') || parts.some((p) => p === '..' || p === '.')) {
    throw new FerryError('BAD_ARGUMENT', `object key ${JSON.stringify(key)} is not a plain relative key`, { field: 'file_name', bucket, object: key });
  }
  const root = resolve(dir);
  const full = resolve(join(root, key));
  if (!full.startsWith(root + sep)) throw new FerryError('BAD_ARGUMENT', `object key ${JSON.stringify(key)} leaves the bucket`, { field: 'file_name' });
  return full;
}

export async function openLocalBucketObject(dir: string, bucket: string, key: string): Promise<Blob> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error('not a directory');
  } catch {
    throw new FerryError('SOURCE_NOT_FOUND', `bucket ${bucket} does not exist (no directory ${dir})`, { bucket, object: key });
  }
  const path = keyPath(dir, bucket, key);
  try {
    return await openLocalBlob(path, `${bucket}/${key}`);
  } catch (err) {
    if (err instanceof FerryError && err.code === 'SOURCE_NOT_FOUND') {
      throw new FerryError('SOURCE_NOT_FOUND', `object ${key} not found in bucket ${bucket}`, { bucket, object: key });
    }
    throw err;
  }
}
