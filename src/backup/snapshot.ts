/**
 * One node's snapshot into one backup file: the replication payload is teed into the destination
 * (format rdb) while the same bytes run through the RDB parser, so a broken snapshot fails the backup
 * before anything is published. With format aof the parsed records are written as commands instead
 * (aof-emitter.ts). The file is published (`sink.commit()`) only after the parser read the RDB's end
 * and its CRC; any failure aborts the sink, leaving no file under the final name.
 */
import { ByteSource } from '../io/byte-source.js';
import { FerryError, asFerryError } from '../errors/ferry-error.js';
import { parseRdb } from '../rdb/parser.js';
import type { HostPort, TargetSpec } from '../writer/target-spec.js';
import { AofEmitter } from './aof-emitter.js';
import { openReplicaSync } from './replica-sync.js';
import type { BackupSink } from './sink.js';

export type BackupFormat = 'rdb' | 'aof';

export interface SnapshotProgress {
  /** Snapshot bytes received from the source so far. */
  received: number;
  /** Announced snapshot size (disk-based sync), else null. */
  total: number | null;
  keys: number;
}

export interface SnapshotOptions {
  addr: HostPort;
  auth: Pick<TargetSpec, 'password' | 'username' | 'tls' | 'tlsOptions' | 'connectTimeoutMs'>;
  sink: BackupSink;
  format: BackupFormat;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
  onProgress?: (p: SnapshotProgress) => void;
}

export interface SnapshotResult {
  /** Bytes of the published file. */
  size: number;
  /** Snapshot (RDB) bytes received. */
  received: number;
  keys: number;
  form: 'length' | 'eof';
  rdbVersion: number | null;
  replId: string | null;
  replOffset: number | null;
  seconds: number;
}

/** The replica-connection part of a target spec (credentials, TLS, connect timeout). */
export function replicaAuth(spec: TargetSpec): SnapshotOptions['auth'] {
  return {
    ...(spec.password !== undefined ? { password: spec.password } : {}),
    ...(spec.username !== undefined ? { username: spec.username } : {}),
    ...(spec.tls ? { tls: true } : {}),
    ...(spec.tls && spec.tlsOptions ? { tlsOptions: spec.tlsOptions } : {}),
    ...(spec.connectTimeoutMs !== undefined ? { connectTimeoutMs: spec.connectTimeoutMs } : {}),
  };
}

export async function backupNode(o: SnapshotOptions): Promise<SnapshotResult> {
  const started = performance.now();
  const where = `${o.addr.host}:${o.addr.port}`;
  const sess = await openReplicaSync({ addr: o.addr, auth: o.auth, ...(o.signal ? { signal: o.signal } : {}), ...(o.idleTimeoutMs ? { idleTimeoutMs: o.idleTimeoutMs } : {}) });
  let received = 0;
  let keys = 0;
  let rdbVersion: number | null = null;
  const progress = (): void => o.onProgress?.({ received, total: sess.size, keys });
  try {
    const payload = sess.payload();
    const sink = o.sink;
    const tee = async function* (): AsyncGenerator<Buffer> {
      let lastReport = 0;
      for await (const c of payload) {
        received += c.length;
        if (o.format === 'rdb') await sink.write(c);
        if (received - lastReport >= 1 << 20) {
          lastReport = received;
          progress();
        }
        yield c;
      }
    };
    const src = new ByteSource(tee(), { name: `snapshot of ${where}` });
    const aof = o.format === 'aof' ? new AofEmitter((b) => sink.write(b)) : null;
    let ended = false;
    for await (const batch of parseRdb(src, { name: `snapshot of ${where}` })) {
      for (const r of batch) {
        if (r.kind === 'header') rdbVersion = r.version;
        else if (r.kind === 'end') ended = true;
        else if (r.kind === 'entry') {
          keys++;
          if (!aof && r.entry.raw === null) for await (const _ of r.entry.chunks()); // streamed: read past it
        }
        if (aof) await aof.record(r);
      }
    }
    if (!ended) throw new FerryError('RDB_TRUNCATED', `snapshot of ${where} ended without the RDB end marker`);
    // The payload must be exactly one RDB: read (and, for rdb, write) whatever the parser did not need.
    let extra = src.available;
    while (await src.fill(src.available + 1)) extra = src.available;
    if (extra > 0) throw new FerryError('RDB_CORRUPT', `snapshot of ${where} has ${extra} bytes after the RDB end`, { offset: received - extra });
    progress();
    const size = await o.sink.commit();
    return { size, received, keys, form: sess.form, rdbVersion, replId: sess.replId, replOffset: sess.replOffset, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    await o.sink.abort();
    throw asFerryError(err);
  } finally {
    sess.close();
  }
}
