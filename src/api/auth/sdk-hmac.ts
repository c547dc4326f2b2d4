/**
 * Huawei Cloud "SDK-HMAC-SHA256" request signing, as the official SDKs compute it (Go, Node,
 * Python), written here because no published library verifies it server-side. Pure functions: the
 * verifier rebuilds the canonical request from what arrived (the client's SignedHeaders, the raw body
 * bytes) and compares signatures in constant time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'SDK-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SignInput {
  method: string;
  /** Path plus optional query, as on the request line. */
  url: string;
  /** Header name (any case) -> value. */
  headers: Record<string, string | string[] | undefined>;
  signedHeaders: string[];
  body: Buffer;
}

/** RFC 3986 unreserved characters kept, everything else %XX (upper hex) over UTF-8. */
export function sdkEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function canonicalUri(path: string): string {
  const out = path.split('/').map((seg) => sdkEscape(safeDecode(seg))).join('/');
  return out.endsWith('/') ? out : out + '/';
}

export function canonicalQuery(query: string): string {
  if (!query) return '';
  const params = new Map<string, string[]>();
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    // '+' is a space in form-encoded queries; the signers escape a space as %20.
    const name = safeDecode((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    const value = eq < 0 ? '' : safeDecode(part.slice(eq + 1).replace(/\+/g, ' '));
    const list = params.get(name) ?? [];
    list.push(value);
    params.set(name, list);
  }
  const enc = [...params.keys()].map((k) => [sdkEscape(k), params.get(k)!] as const);
  enc.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const parts: string[] = [];
  for (const [k, values] of enc) {
    for (const v of values.map(sdkEscape).sort()) parts.push(`${k}=${v}`);
  }
  return parts.join('&');
}

function headerValue(headers: SignInput['headers'], name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(',') : v;
  }
  return undefined;
}

export function canonicalRequest(inp: SignInput): string {
  const q = inp.url.indexOf('?');
  const path = q < 0 ? inp.url : inp.url.slice(0, q);
  const query = q < 0 ? '' : inp.url.slice(q + 1);
  const names = inp.signedHeaders.map((h) => h.toLowerCase());
  const headerBlock = names.map((n) => `${n}:${(headerValue(inp.headers, n) ?? '').trim()}\n`).join('');
  const contentSha = headerValue(inp.headers, 'x-sdk-content-sha256');
  const payloadHash = contentSha ?? createHash('sha256').update(inp.body).digest('hex');
  return [inp.method.toUpperCase(), canonicalUri(path), canonicalQuery(query), headerBlock, names.join(';'), payloadHash].join('\n');
}

export function stringToSign(canonical: string, sdkDate: string): string {
  return `${ALGORITHM}\n${sdkDate}\n${createHash('sha256').update(canonical).digest('hex')}`;
}

export function sign(inp: SignInput, sk: string, sdkDate: string): string {
  return createHmac('sha256', Buffer.from(sk, 'utf8')).update(stringToSign(canonicalRequest(inp), sdkDate)).digest('hex');
}

export interface ParsedAuthorization {
  ak: string;
  signedHeaders: string[];
  signature: string;
}

/** `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`; null when it is not that shape. */
export function parseAuthorization(value: string): ParsedAuthorization | null {
  const m = /^SDK-HMAC-SHA256\s+(.*)$/.exec(value.trim());
  if (!m) return null;
  const fields = new Map<string, string>();
  for (const part of m[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const ak = fields.get('Access');
  const sh = fields.get('SignedHeaders');
  const sig = fields.get('Signature');
  if (!ak || !sh || !sig || !/^[0-9a-f]{64}$/i.test(sig)) return null;
  return { ak, signedHeaders: sh.split(';').filter(Boolean), signature: sig.toLowerCase() };
}

/** `YYYYMMDDTHHMMSSZ` -> ms since epoch, or null. */
export function parseSdkDate(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return null;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(t) ? null : t;
}

export function formatSdkDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
