/**
 * A real S3-protocol server for tests: s3rver on loopback, behind an HTTP proxy that
 *  - verifies SigV4 signatures (s3rver accepts any V4 signature; a real store refuses a wrong secret
 *    key with 403 SignatureDoesNotMatch, and so does this proxy),
 *  - injects faults on object GETs: 503 answers, connections cut after N body bytes (what a reset
 *    in the middle of a body looks like to the client), and bodies that stall (an idle socket).
 * `stop()` closes both and removes the store's directory.
 */
import { createServer, request, type Server } from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { S3Client, PutObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import type { IncomingMessage } from 'node:http';
import type { S3BucketConfig } from '../../src/source/bucket-config.js';
import { freePort } from './free-port.js';

const require = createRequire(import.meta.url);

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;
const S3rver = require('s3rver') as S3rverCtor;

export const ACCESS_KEY = 'S3RVER';
export const SECRET_KEY = 'S3RVER';

/** Faults applied to GET requests for objects, consumed as they fire. */
export interface Faults {
  /** Answer this many object GETs with 503 SlowDown. */
  status503: number;
  /** Cut this many object GET responses after `cutAfter` body bytes. */
  cuts: number;
  cutAfter: number;
  /** Stall this many object GET responses after `cutAfter` body bytes: the connection stays open, silent. */
  stalls: number;
  /** Object GETs seen by the proxy (including faulted ones). */
  gets: number;
  /** Range headers of the object GETs seen. */
  ranges: string[];
}

export interface S3TestServer {
  /** Endpoint of the fault proxy (what clients use). */
  endpoint: string;
  /** Endpoint of s3rver itself, bypassing faults. */
  directEndpoint: string;
  faults: Faults;
  bucket(name: string, over?: Partial<S3BucketConfig>): S3BucketConfig;
  createBucket(name: string): Promise<void>;
  /** Stores an object: bytes, or `{ path }` to stream a (big) local file. */
  put(bucket: string, key: string, body: Buffer | string | { path: string }): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3(): Promise<S3TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-s3-'));
  const port = await freePort();
  const s3 = new S3rver({ address: '127.0.0.1', port, silent: true, directory: dir, resetOnClose: true });
  await s3.run();
  const faults: Faults = { status503: 0, cuts: 0, cutAfter: 0, stalls: 0, gets: 0, ranges: [] };
  const proxy = createServer(async (req, res) => {
    if (!(await signatureOk(req))) {
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(req.method === 'HEAD' ? undefined : '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>');
      return;
    }
    const isObjectGet = req.method === 'GET' && /^\/[^/?]+\/[^?]+/.test(req.url ?? '');
    if (isObjectGet) {
      faults.gets++;
      faults.ranges.push(String(req.headers.range ?? ''));
      if (faults.status503 > 0) {
        faults.status503--;
        req.resume();
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>');
        return;
      }
    }
    const cut = isObjectGet && faults.cuts > 0;
    const stall = isObjectGet && !cut && faults.stalls > 0;
    const up = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      let sent = 0;
      ur.on('data', (chunk: Buffer) => {
        if (cut && faults.cuts > 0 && sent + chunk.length >= faults.cutAfter) {
          faults.cuts--;
          res.write(chunk.subarray(0, Math.max(0, faults.cutAfter - sent)));
          ur.destroy();
          // Give the partial bytes a moment to leave, then reset the connection.
          setImmediate(() => res.socket?.destroy());
          return;
        }
        if (stall && faults.stalls > 0 && sent + chunk.length >= faults.cutAfter) {
          faults.stalls--;
          res.write(chunk.subarray(0, Math.max(0, faults.cutAfter - sent)));
          ur.destroy();
          // Say nothing more; the client must notice the idle socket and resume elsewhere.
          return;
        }
        sent += chunk.length;
        res.write(chunk);
      });
      ur.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const proxyPort = await freePort();
  await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${proxyPort}`;
  const directEndpoint = `http://127.0.0.1:${port}`;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const admin = new S3Client({
    endpoint: directEndpoint, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    // s3rver predates aws-chunked uploads (checksum trailers): it would store the chunk framing.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    directEndpoint,
    faults,
    bucket: (name, over = {}) => ({ name, endpoint, region: 'us-east-1', access_key: ACCESS_KEY, secret_key: SECRET_KEY, path_style: true, ...over }),
    async createBucket(name) {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    async put(bucket, key, body) {
      if (typeof body === 'object' && !Buffer.isBuffer(body)) {
        const size = (await stat(body.path)).size;
        await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(body.path), ContentLength: size }));
        return;
      }
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async stop() {
      admin.destroy();
      await closeServer(proxy);
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Re-signs the request with the one known secret and compares (header-signed SigV4 requests only). */
async function signatureOk(req: IncomingMessage): Promise<boolean> {
  const auth = String(req.headers.authorization ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(auth);
  if (!m) return false;
  const [, accessKeyId, region, service, signedHeaders, signature] = m;
  if (accessKeyId !== ACCESS_KEY) return false;
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!d) return false;
  const signingDate = new Date(Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!));
  const headers: Record<string, string> = {};
  for (const h of signedHeaders!.split(';')) headers[h] = String(req.headers[h] ?? '');
  const url = new URL(req.url ?? '/', 'http://x');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const host = headers.host ?? '';
  const signer = new SignatureV4({
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    region: region!, service: service!, sha256: Hash.bind(null, 'sha256'), uriEscapePath: false, applyChecksum: false,
  });
  const signed = await signer.sign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: host.split(':')[0]!, port: Number(host.split(':')[1]) || undefined, path: decodeURIComponent(url.pathname), query, headers },
    { signingDate },
  );
  const again = /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization ?? signed.headers.Authorization ?? ''));
  return again?.[1] === signature;
}

async function closeServer(s: Server): Promise<void> {
  s.closeAllConnections();
  await new Promise<void>((r) => s.close(() => r()));
}
