/**
 * TLS to Redis (`rediss://` targets and backup sources): the CA, client certificate and key files
 * read and checked once (CLI options or the configuration), the options every `tls.connect` gets,
 * and what a refused handshake means in words a Redis operator can act on.
 *
 * Certificates are verified by default against the given CA (`--tls-ca` replaces Node's default
 * store, like `redis-cli --cacert`), or Node's store. An IP address target is verified against the
 * certificate's IP SANs, a host name against its DNS names; `servername` names another one.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { FerryError } from '../errors/ferry-error.js';
import type { HostPort, TargetTls } from './target-spec.js';

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/** How each setting is named in errors: CLI options (`--tls-ca`) or configuration fields. */
export type TlsLabels = Record<'ca' | 'cert' | 'key' | 'servername', string>;

export const CLI_TLS_LABELS: TlsLabels = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key', servername: '--tls-servername' };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads and checks the files once: the CA file must hold PEM certificates, the client certificate a
 * PEM certificate that has not expired, the key an unencrypted private key matching it; a client
 * certificate needs its key and the other way round. Problems are BAD_ARGUMENT naming the setting.
 */
export function loadTargetTls(files: TlsFiles & { servername?: string; insecure?: boolean }, labels: TlsLabels): TargetTls {
  const bad = (k: keyof TlsLabels, msg: string): FerryError => new FerryError('BAD_ARGUMENT', `${labels[k]} ${msg}`, { field: labels[k].replace(/^-+/, '') });
  const read = (k: keyof TlsFiles): Buffer => {
    const path = files[k]!;
    try {
      return readFileSync(path);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw bad(k, `${path}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message}`);
    }
  };
  const certs = (k: 'ca' | 'cert', pem: Buffer): X509Certificate[] => {
    const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
    if (!blocks.length) throw bad(k, `${files[k]}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return blocks.map((b) => {
      try {
        return new X509Certificate(b);
      } catch (err) {
        throw bad(k, `${files[k]}: not a valid PEM certificate: ${(err as Error).message}`);
      }
    });
  };

  const out: TargetTls = {};
  if (files.ca !== undefined) {
    out.ca = read('ca');
    certs('ca', out.ca);
  }
  if (files.cert !== undefined && files.key === undefined) throw bad('cert', `needs ${labels.key} (the client certificate's private key)`);
  if (files.key !== undefined && files.cert === undefined) throw bad('key', `needs ${labels.cert} (the client certificate)`);
  if (files.cert !== undefined && files.key !== undefined) {
    const cert = read('cert');
    const leaf = certs('cert', cert)[0]!;
    if (Date.parse(leaf.validTo) < Date.now()) throw bad('cert', `${files.cert}: the certificate expired on ${leaf.validTo}`);
    const key = read('key');
    let keyObj: KeyObject;
    try {
      keyObj = createPrivateKey(key);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw bad('key', `${files.key}: ${e.code === 'ERR_MISSING_PASSPHRASE' ? 'the key is encrypted; give an unencrypted key' : `not a PEM private key: ${e.message}`}`);
    }
    if (!leaf.checkPrivateKey(keyObj)) throw bad('key', `${files.key}: does not match the certificate in ${files.cert}`);
    out.cert = cert;
    out.key = key;
  }
  if (files.servername !== undefined) {
    if (!files.servername || net.isIP(files.servername)) {
      throw bad('servername', `takes a DNS name, got ${JSON.stringify(files.servername)} (an IP address target is verified against the certificate's IP addresses as it is)`);
    }
    out.servername = files.servername;
  }
  if (files.insecure) out.insecure = true;
  return out;
}

/** Options for `tls.connect` to one node of the target. */
export function tlsConnectOptions(addr: HostPort, o: TargetTls = {}): ConnectionOptions {
  // SNI carries DNS names only; an IP address is still verified (Node checks it against IP SANs).
  const servername = o.servername ?? (net.isIP(addr.host) ? undefined : addr.host);
  return {
    host: addr.host,
    port: addr.port,
    ...(servername ? { servername } : {}),
    ...(o.ca ? { ca: o.ca } : {}),
    ...(o.cert && o.key ? { cert: o.cert, key: o.key } : {}),
    rejectUnauthorized: !o.insecure,
  };
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
/** Alerts a server sends when it wants a client certificate (it trusts) and got none. */
const CLIENT_CERT_REFUSED = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
]);
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_RECORD_LAYER_FAILURE']);

/** A TLS failure's message plus what to do about it; null when `err` is no TLS failure Ferry knows. */
export function explainTlsFailure(err: unknown): string | null {
  const e = err as (Error & { code?: string; reason?: string }) | null;
  const code = e?.code;
  if (!e || !code) return null;
  // OpenSSL errors carry the short reason ("tlsv13 alert certificate required") next to a long message.
  const msg = e.reason ?? e.message.split('\n')[0]!;
  if (UNTRUSTED.has(code)) {
    return `TLS certificate not trusted (${msg}): give the CA that signed it with --tls-ca FILE (tls_ca_file for an instance), or skip verification with --tls-insecure`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `TLS certificate does not name this host (${msg}): connect by a name or address it holds, or verify another name with --tls-servername NAME (tls_servername)`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `TLS certificate of the server: ${msg}`;
  if (CLIENT_CERT_REFUSED.has(code)) {
    return `the server refused the TLS session (${msg}): it wants a client certificate it trusts (tls-auth-clients); give one with --tls-cert FILE --tls-key FILE (tls_cert_file, tls_key_file)`;
  }
  if (NOT_TLS.has(code)) {
    return `the port does not speak TLS (${msg}): use redis://, or the server's tls-port; a cluster needs tls-cluster yes so its nodes announce their TLS ports`;
  }
  return null;
}

/**
 * A TLS 1.3 server refuses a client certificate only after the handshake looked complete: the
 * refusal arrives as the socket's error (or a bare reset) while the first command waits for its
 * reply. Turns that into TARGET_UNREACHABLE saying what to do; null when `cause` says otherwise.
 * `cause` is the socket's error (null: closed without one); `clientCert`: one was offered.
 */
export function tlsRefusal(addr: HostPort, cause: unknown, o: { what?: 'target' | 'source'; clientCert?: boolean } = {}): FerryError | null {
  const what = o.what ?? 'target';
  let why = explainTlsFailure(cause);
  const code = (cause as { code?: string } | null)?.code;
  if (!why && (cause === null || cause === undefined || code === 'ECONNRESET' || code === 'EPIPE')) {
    const how = cause instanceof Error ? cause.message : 'closed by peer';
    why = o.clientCert
      ? `the server closed the TLS session before answering (${how}): it may not trust the client certificate given with --tls-cert`
      : `the server closed the TLS session before answering (${how}): if it requires client certificates (tls-auth-clients yes, its default), give one with --tls-cert FILE --tls-key FILE (tls_cert_file, tls_key_file)`;
  }
  if (!why) return null;
  return new FerryError('TARGET_UNREACHABLE', `cannot connect to ${what === 'source' ? 'source ' : ''}${addr.host}:${addr.port}: ${why}`, { field: what }, { cause });
}
