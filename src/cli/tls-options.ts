/**
 * The TLS options of the commands that connect to Redis (`ferry import --target`, `ferry backup
 * --source`): --tls-ca, --tls-cert, --tls-key, --tls-servername, --tls-insecure, each also read from
 * a FERRY_TLS_* environment variable. The files are read and checked once, before any connection.
 */
import { Option, type Command } from 'commander';
import { FerryError } from '../errors/ferry-error.js';
import type { TargetSpec } from '../writer/target-spec.js';
import { CLI_TLS_LABELS, loadTargetTls } from '../writer/tls.js';

export interface TlsCliOptions {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServername?: string;
  tlsInsecure?: boolean;
}

export function addTlsOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--tls-ca <file>', 'PEM CA certificate(s) to verify a rediss:// server with, instead of the system store').env('FERRY_TLS_CA'))
    .addOption(new Option('--tls-cert <file>', 'PEM client certificate, for servers with tls-auth-clients (needs --tls-key)').env('FERRY_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', "PEM private key of --tls-cert (unencrypted)").env('FERRY_TLS_KEY'))
    .addOption(new Option('--tls-servername <name>', 'name to send (SNI) and verify in the certificate, instead of the URL host').env('FERRY_TLS_SERVERNAME'))
    .addOption(new Option('--tls-insecure', 'do not verify the server certificate (env FERRY_TLS_INSECURE=1)'));
}

/**
 * The spec with its TLS settings, the files read now. On a redis:// URL a TLS option given on the
 * command line is refused (BAD_ARGUMENT); FERRY_TLS_* variables are ambient and ignored there.
 * `warn` is told when verification is off.
 */
export function withCliTls(spec: TargetSpec, cmd: Command, warn: (message: string) => void, env: NodeJS.ProcessEnv = process.env): TargetSpec {
  const o = cmd.opts<TlsCliOptions>();
  if (!spec.tls) {
    const given = (['tlsCa', 'tlsCert', 'tlsKey', 'tlsServername', 'tlsInsecure'] as const).find((k) => o[k] !== undefined && cmd.getOptionValueSource(k) === 'cli');
    if (given) {
      const name = `--${given.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new FerryError('BAD_ARGUMENT', `${name} is for TLS connections: use a rediss:// URL`, { field: name.slice(2) });
    }
    return spec;
  }
  const insecure = o.tlsInsecure === true || envFlag(env.FERRY_TLS_INSECURE);
  const tlsOptions = loadTargetTls({ ca: o.tlsCa, cert: o.tlsCert, key: o.tlsKey, servername: o.tlsServername, insecure }, CLI_TLS_LABELS);
  if (insecure) warn("--tls-insecure: the server's TLS certificate is NOT verified; anyone on the path can read and change the data");
  return { ...spec, tlsOptions };
}

function envFlag(v: string | undefined): boolean {
  if (v === undefined || v === '') return false;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new FerryError('BAD_ARGUMENT', `FERRY_TLS_INSECURE takes 1/true/yes or 0/false/no, not ${JSON.stringify(v)}`, { field: 'tls-insecure' });
}
