/**
 * The one entry point for backup inputs, used by `ferry import`, `ferry inspect` and the API:
 * `openInputs` turns local paths (file, AOF directory, archive), `s3://bucket/key` URLs and
 * `{bucket, key}` pairs into ImportInputs; `peekFormat` tells what an input holds for pre-checks.
 */
import { join } from 'node:path';
import { FerryError } from '../errors/ferry-error.js';
import { openLocalBlob } from './local-blob.js';
import { readHead } from './blob.js';
import { sniff, SNIFF_BYTES } from './sniff.js';
import { BucketResolver, locateLocal, parseS3Url, type InputSpec, type ResolveOptions, type Located } from './resolve.js';
import { inputsFromBlob, manifestInput, type ReadOptions, type SourceInput, type FormatInfo } from './inputs.js';

export type { InputSpec, SourceInput, FormatInfo };
export type { BucketConfig, LocalBucketConfig, S3BucketConfig } from './bucket-config.js';
export { parseBucketConfig } from './bucket-config.js';

export interface OpenInputsOptions extends ResolveOptions, ReadOptions {}

/** Opens every input `spec` names; throws a typed error before returning if any cannot be read. */
export async function openInputs(spec: InputSpec | InputSpec[], opts: OpenInputsOptions = {}): Promise<SourceInput[]> {
  const specs = Array.isArray(spec) ? spec : [spec];
  if (!specs.length) throw new FerryError('BAD_ARGUMENT', 'no input given', { field: 'files' });
  const buckets = new BucketResolver(opts);
  const out: SourceInput[] = [];
  for (const s of specs) {
    if (typeof s === 'string') {
      const url = parseS3Url(s);
      if (url) out.push(...(await inputsFromBlob(await buckets.open(url.bucket, url.key), opts)));
      else out.push(...(await localInputs(s, opts)));
    } else {
      out.push(...(await inputsFromBlob(await buckets.open(s.bucket, s.key, s.size), opts)));
    }
  }
  return out;
}

/** A local file, or a directory: a multi-part AOF dir (holding a manifest), or every backup file in it. */
async function localInputs(path: string, opts: OpenInputsOptions): Promise<SourceInput[]> {
  const loc = await locateLocal(path);
  if ('blob' in loc) return inputsFromBlob(loc, opts);
  const sibling = (file: string) => openLocalBlob(join(loc.dir, file));
  const manifests: Located[] = [];
  const others: Located[] = [];
  for (const f of loc.files) {
    const blob = await sibling(f);
    const format = sniff(await readHead(blob, SNIFF_BYTES));
    if (format === 'manifest') manifests.push({ blob, sibling });
    else if (format !== 'unknown') others.push({ blob, sibling });
  }
  if (manifests.length > 1) throw new FerryError('BAD_ARGUMENT', `more than one AOF manifest in ${path}: ${manifests.map((m) => m.blob.name).join(', ')}`, { file: path });
  if (manifests.length === 1) return [await manifestInput(manifests[0]!, 'dir', opts)];
  const out: SourceInput[] = [];
  for (const o of others) out.push(...(await inputsFromBlob(o, opts)));
  if (!out.length) throw new FerryError('FORMAT_UNKNOWN', 'the directory holds no RDB, AOF, AOF manifest or archive', { file: path });
  return out;
}

/** What an input holds (kind, container, RDB version) — known once it is open; reads nothing more. */
export function peekFormat(input: SourceInput): FormatInfo {
  return input.format;
}

/** Progress over several inputs: bytes read so far and the total when every size is known. */
export function totalProgress(inputs: SourceInput[]): { bytesRead: number; size: number | null } {
  let size: number | null = 0;
  let bytesRead = 0;
  for (const i of inputs) {
    bytesRead += i.bytesRead();
    size = size === null || i.size === null ? null : size + i.size;
  }
  return { bytesRead, size };
}
