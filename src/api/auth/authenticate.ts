/**
 * Who is calling and for which project: an X-Auth-Token bound to projects, or an AK/SK
 * SDK-HMAC-SHA256 signature (verified over the client's SignedHeaders and the raw body). Returns
 * the project the caller may act on, which is always the one in the path; anything else throws a
 * FerryError (DCS.1001-1004 for tokens, APIGW.0301 for signatures).
 */
import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import { FerryError } from '../../errors/ferry-error.js';
import { parseAuthorization, parseSdkDate, sign, signaturesEqual } from './sdk-hmac.js';

/** ±15 minutes, as the API gateway allows. */
export const CLOCK_SKEW_MS = 15 * 60 * 1000;
/** The gateway locks an AK for 5 minutes after 5 consecutive signature failures. */
export const AK_MAX_FAILURES = 5;
export const AK_LOCK_MS = 5 * 60 * 1000;

export interface AuthRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  projectId: string;
}

export interface Principal {
  projectId: string;
  kind: 'token' | 'aksk';
  /** For logs: the AK, or a token fingerprint (never the secret). */
  who: string;
}

export class Authenticator {
  private readonly tokens: { token: Buffer; projects: string[] }[] = [];
  private readonly keys = new Map<string, { sk: string; project: string; failures: number; lockedUntil: number }>();

  constructor(
    projects: Config['projects'],
    private readonly now: () => number = Date.now,
  ) {
    for (const p of projects) {
      for (const t of p.tokens) {
        const hit = this.tokens.find((x) => x.token.equals(Buffer.from(t)));
        if (hit) hit.projects.push(p.id);
        else this.tokens.push({ token: Buffer.from(t), projects: [p.id] });
      }
      for (const c of p.credentials) this.keys.set(c.ak, { sk: c.sk, project: p.id, failures: 0, lockedUntil: 0 });
    }
  }

  authenticate(req: AuthRequest): Principal {
    const authz = header(req.headers, 'authorization');
    if (authz) return this.signature(req, authz);
    const token = header(req.headers, 'x-auth-token');
    if (token) return this.token(req, token);
    throw new FerryError('AUTH_TOKEN_MISSING', 'No token in the request.');
  }

  private token(req: AuthRequest, token: string): Principal {
    const given = Buffer.from(token);
    // Compare against every token in constant time per comparison, so timing does not reveal prefixes.
    let found: { token: Buffer; projects: string[] } | undefined;
    for (const t of this.tokens) if (t.token.length === given.length && timingSafeEqual(t.token, given)) found = t;
    if (!found) throw new FerryError('AUTH_TOKEN_INVALID', 'Invalid token.');
    if (!found.projects.includes(req.projectId)) throw new FerryError('AUTH_PROJECT_MISMATCH', 'Project ID does not match the token.');
    return { projectId: req.projectId, kind: 'token', who: `token:${given.subarray(0, 4).toString('hex')}` };
  }

  private signature(req: AuthRequest, authz: string): Principal {
    const fail = (detail: string): never => {
      throw new FerryError('AUTH_SIGNATURE', `Incorrect IAM authentication information: ${detail}`);
    };
    const parsed = parseAuthorization(authz);
    if (!parsed) fail('unsupported authorization algorithm or malformed Authorization header (expected SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...)');
    const { ak, signedHeaders, signature } = parsed!;
    if (!signedHeaders.map((h) => h.toLowerCase()).includes('x-sdk-date')) fail('x-sdk-date must be a signed header');
    const date = header(req.headers, 'x-sdk-date');
    const t = date ? parseSdkDate(date) : null;
    if (t === null) fail('X-Sdk-Date missing or not in the form YYYYMMDDTHHMMSSZ');
    if (Math.abs(this.now() - t!) > CLOCK_SKEW_MS) fail(`request time ${date} is more than 15 minutes from server time`);
    const key = this.keys.get(ak);
    if (!key) fail('Get secretKey failed,ak:***,err:ak not exist');
    if (key!.lockedUntil > this.now()) fail('AK access failed to reach the limit,forbidden');
    const pid = header(req.headers, 'x-project-id');
    if (pid !== undefined && pid !== req.projectId) fail('X-Project-Id does not match the project in the path');
    const want = sign({ method: req.method, url: req.url, headers: req.headers, signedHeaders, body: req.rawBody }, key!.sk, date!);
    if (!signaturesEqual(want, signature)) {
      if (++key!.failures >= AK_MAX_FAILURES) {
        key!.failures = 0;
        key!.lockedUntil = this.now() + AK_LOCK_MS;
      }
      fail('verify aksk signature fail');
    }
    key!.failures = 0;
    if (key!.project !== req.projectId) throw new FerryError('AUTH_PROJECT_MISMATCH', 'Project ID does not match the token.');
    return { projectId: req.projectId, kind: 'aksk', who: `ak:${ak}` };
  }
}

function header(h: AuthRequest['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}
