/**
 * RDB records -> an AOF command stream (backup_format "aof").
 *
 * Each key becomes `RESTORE key <abs-ms|0> <payload> REPLACE [ABSTTL] [IDLETIME|FREQ]`, with the
 * payload built from the raw value bytes the snapshot holds. Why RESTORE and not plain commands: it
 * is the one command that carries every type exactly as the server stored it (stream consumer
 * groups, pending entries, last-id, entries-added, LFU/LRU, the encoding), it is what Redis itself
 * propagates, and both redis-server (loading an AOF) and Ferry's AOF reader replay it. A value too big
 * to hold inline (the parser streams it) is written as plain commands (writer/rewrite.ts: DEL, then
 * RPUSH/SADD/ZADD/HSET/XADD... batches, PEXPIREAT), so no big key is ever held whole here either.
 * Keys already expired when the snapshot is read are left out, as a loading server would drop them.
 */
import type { Entry, RdbRecord } from '../entry/entry.js';
import { FerryError } from '../errors/ferry-error.js';
import { RespEncoder, type Arg } from '../resp/encoder.js';
import { footerVersion, restoreArgs } from '../writer/restore.js';
import { rewriteEntry } from '../writer/rewrite.js';

export class AofEmitter {
  private readonly enc = new RespEncoder();
  private db = -1;
  keys = 0;
  skippedExpired = 0;

  constructor(private readonly write: (b: Buffer) => Promise<void>, private readonly now: () => number = Date.now) {}

  private async cmd(args: readonly Arg[]): Promise<void> {
    // The encoder's pieces are views into a reused slab: copy them into one buffer before the next command.
    const { parts } = this.enc.command(args);
    await this.write(Buffer.concat(parts));
  }

  async record(r: RdbRecord): Promise<void> {
    if (r.kind === 'function') {
      await this.cmd(['FUNCTION', 'LOAD', 'REPLACE', r.code]);
      return;
    }
    if (r.kind === 'aux' && r.key.toString('latin1') === 'lua') {
      await this.cmd(['SCRIPT', 'LOAD', r.value]);
      return;
    }
    if (r.kind === 'entry') await this.entry(r.entry);
  }

  private async entry(e: Entry): Promise<void> {
    const now = this.now();
    if (e.expireAt !== null && e.expireAt <= now) {
      this.skippedExpired++;
      if (e.raw === null) for await (const _ of e.chunks()); // a streamed value must still be read past
      return;
    }
    if (e.db !== this.db) {
      await this.cmd(['SELECT', e.db]);
      this.db = e.db;
    }
    this.keys++;
    if (e.raw !== null) {
      const v = footerVersion(e);
      if (v === null) throw new FerryError('RDB_UNKNOWN_TYPE', `key type ${e.typeByte} has no RESTORE form`, { key: e.key.toString(), offset: e.offset });
      await this.cmd(restoreArgs(e, v, { replace: true, absTtl: true, now }));
      return;
    }
    for await (const args of rewriteEntry(e, { now, del: true, hashFieldTtl: true, streamMeta7: true, acceptLoss: false, lose: () => undefined })) {
      await this.cmd(args);
    }
  }
}
