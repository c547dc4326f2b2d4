/**
 * Ferry as a replica against real redis-server processes: the snapshot it receives (disk-based `$len`
 * and diskless `$EOF:` forms, with and without a password, an ACL user) is a file that gives the
 * source's DEBUG DIGEST when loaded (rdb) or imported (aof); writes during the backup do not break
 * it; a source killed mid-snapshot fails with a typed error and leaves no file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupNode } from '../../src/backup/snapshot.js';
import { LocalFileSink } from '../../src/backup/sink.js';
import { eofPayload } from '../../src/backup/replica-sync.js';
import { FerryError } from '../../src/errors/ferry-error.js';
import { importRecords } from '../../src/pipeline/import.js';
import { openInputs } from '../../src/source/index.js';
import { makeEveryTypeRdb, type RdbFixture } from '../helpers/make-rdb.js';
import { digest, startRedis, type RedisServer } from '../helpers/redis-server.js';

let fx: RdbFixture;
let work: string;

before(async () => {
  fx = await makeEveryTypeRdb();
  work = mkdtempSync(join(tmpdir(), 'ferry-backup-'));
});
after(async () => {
  await fx.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const FAST = ['--repl-diskless-sync-delay', '0'];

async function source(opts: { password?: string; diskless: boolean; args?: string[] }): Promise<RedisServer> {
  return startRedis({ rdbFile: fx.path, ...(opts.password ? { password: opts.password } : {}), args: ['--repl-diskless-sync', opts.diskless ? 'yes' : 'no', ...FAST, ...(opts.args ?? [])] });
}

/** Loads an RDB natively in a fresh server and returns its digest. */
async function loadedDigest(rdb: string): Promise<string> {
  const t = await startRedis({ rdbFile: rdb });
  try {
    return await digest(t.client());
  } finally {
    await t.stop();
  }
}

for (const diskless of [false, true]) {
  for (const password of [undefined, 's3cret pass']) {
    test(`rdb backup (${diskless ? 'diskless $EOF' : 'disk $len'}, ${password ? 'password' : 'no password'}) loads to the source's digest`, async () => {
      const src = await source({ diskless, ...(password ? { password } : {}) });
      try {
        const want = await digest(src.client());
        const out = join(work, `b-${diskless}-${!!password}.rdb`);
        const r = await backupNode({ addr: { host: src.host, port: src.port }, auth: password ? { password } : {}, sink: new LocalFileSink(out), format: 'rdb' });
        assert.equal(r.form, diskless ? 'eof' : 'length');
        assert.ok(r.keys > 50, `keys ${r.keys}`);
        assert.equal(r.size, r.received);
        assert.match(r.replId ?? '', /^[0-9a-f]{40}$/);
        assert.equal(await loadedDigest(out), want);
        assert.ok(!existsSync(out + '.part'));
      } finally {
        await src.stop();
      }
    });
  }
}

test('aof backup imports into a fresh target with the same digest (RESTORE commands)', async () => {
  const src = await source({ diskless: true });
  const tgt = await startRedis();
  try {
    const want = await digest(src.client());
    const out = join(work, 'b.aof');
    const r = await backupNode({ addr: { host: src.host, port: src.port }, auth: {}, sink: new LocalFileSink(out), format: 'aof' });
    assert.ok(r.size > 0);
    const inputs = await openInputs(out);
    await importRecords(inputs, { target: tgt.url });
    assert.equal(await digest(tgt.client()), want);
  } finally {
    await src.stop();
    await tgt.stop();
  }
});

test('an ACL user with replication rights can back up; a wrong password is TARGET_AUTH', async () => {
  const src = await source({ diskless: false });
  try {
    const c = src.client();
    await c.call('ACL', 'SETUSER', 'backup', 'on', '>bk-pass', '+psync', '+replconf', '+ping', '+sync');
    const out = join(work, 'acl.rdb');
    const r = await backupNode({ addr: { host: src.host, port: src.port }, auth: { username: 'backup', password: 'bk-pass' }, sink: new LocalFileSink(out), format: 'rdb' });
    assert.ok(r.keys > 0);
    await assert.rejects(
      backupNode({ addr: { host: src.host, port: src.port }, auth: { username: 'backup', password: 'nope' }, sink: new LocalFileSink(join(work, 'bad.rdb')), format: 'rdb' }),
      (e: unknown) => e instanceof FerryError && e.code === 'TARGET_AUTH',
    );
    assert.ok(!existsSync(join(work, 'bad.rdb')));
  } finally {
    await src.stop();
  }
});

test('writes continuing on the source during the backup do not break it', async () => {
  const src = await source({ diskless: true, args: ['--repl-diskless-sync-delay', '1'] });
  try {
    const c = src.client();
    let stop = false;
    let writes = 0;
    const writer = (async () => {
      for (let i = 0; !stop && i < 200_000; i++) {
        await c.set(`live:${i % 5000}`, `v${i}`);
        writes++;
      }
    })();
    const out = join(work, 'live.rdb');
    const r = await backupNode({ addr: { host: src.host, port: src.port }, auth: {}, sink: new LocalFileSink(out), format: 'rdb' });
    stop = true;
    await writer;
    assert.ok(writes > 0);
    assert.ok(r.keys > 0);
    // The file is a complete, loadable snapshot of some moment during the writes.
    const t = await startRedis({ rdbFile: out });
    try {
      assert.ok((await t.client().dbsize()) > 0);
    } finally {
      await t.stop();
    }
  } finally {
    await src.stop();
  }
});

test('a source killed mid-snapshot fails REPLICATION_LOST and leaves no file', async () => {
  // Big values and a slow disk-less transfer (rdb-key-save-delay) give time to kill it mid-way.
  const src = await startRedis({ args: ['--repl-diskless-sync', 'yes', ...FAST, '--rdb-key-save-delay', '2000'] });
  try {
    const c = src.client();
    for (let i = 0; i < 2000; i++) await c.set(`k${i}`, 'x'.repeat(1000));
    c.disconnect();
    const out = join(work, 'killed.rdb');
    const p = backupNode({ addr: { host: src.host, port: src.port }, auth: {}, sink: new LocalFileSink(out), format: 'rdb', onProgress: () => undefined });
    setTimeout(() => src.proc.kill('SIGKILL'), 1500);
    await assert.rejects(p, (e: unknown) => e instanceof FerryError && (e.code === 'REPLICATION_LOST' || e.code === 'RDB_TRUNCATED'), 'typed error');
    assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('killed')), []);
  } finally {
    // RedisServer.stop() waits for an exit event when exitCode is null, which stays null after a
    // kill by signal: clean up by hand once the process is gone.
    if (src.proc.signalCode === null) await src.stop();
    else rmSync(src.dir, { recursive: true, force: true });
  }
});

test('the $EOF mark is found across every chunk split, and nothing after it is taken', async () => {
  const mark = Buffer.from('0123456789abcdef0123456789abcdef01234567');
  const body = Buffer.from('REDIS0010' + 'payload-bytes-'.repeat(7) + '0123456789abcdef0123456789abcdef0123456'); // a near-mark inside
  const wire = Buffer.concat([body, mark, Buffer.from('*1\r\n$4\r\nPING\r\n')]);
  for (let size = 1; size <= wire.length; size++) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < wire.length; i += size) chunks.push(wire.subarray(i, i + size));
    let k = 0;
    const rd = { chunk: async () => chunks[k++] ?? null, lost: () => new FerryError('REPLICATION_LOST', 'gone') };
    const got: Buffer[] = [];
    for await (const c of eofPayload(rd, mark)) got.push(Buffer.from(c));
    assert.deepEqual(Buffer.concat(got), body, `chunk size ${size}`);
  }
  const rd = { chunk: async () => null, lost: () => new FerryError('REPLICATION_LOST', 'gone') };
  await assert.rejects(async () => {
    for await (const _ of eofPayload(rd, mark));
  }, /gone/);
});

test('a master without PSYNC (-ERR unknown command) is served by SYNC; keep-alive newlines before the payload are skipped', async () => {
  // A pre-2.8 master, played by a socket server speaking exactly its wire protocol with a real RDB.
  const rdb = readFileSync(fx.path);
  const seen: string[] = [];
  const server = createServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buf);
        if (!m) return;
        const parts: string[] = [];
        let rest = buf.slice(m[0].length);
        for (let i = 0; i < Number(m[1]); i++) {
          const b = /^\$(\d+)\r\n/.exec(rest);
          if (!b || rest.length < b[0].length + Number(b[1]) + 2) return;
          parts.push(rest.slice(b[0].length, b[0].length + Number(b[1])));
          rest = rest.slice(b[0].length + Number(b[1]) + 2);
        }
        buf = rest;
        seen.push(parts.join(' '));
        const cmd = parts[0]!.toUpperCase();
        if (cmd === 'REPLCONF') sock.write('-ERR unknown command \'REPLCONF\'\r\n');
        else if (cmd === 'PSYNC') sock.write("-ERR unknown command 'PSYNC'\r\n");
        else if (cmd === 'SYNC') {
          sock.write('\n\n\n');
          sock.write(`$${rdb.length}\r\n`);
          for (let i = 0; i < rdb.length; i += 777) sock.write(rdb.subarray(i, i + 777));
          sock.write('*1\r\n$4\r\nPING\r\n'); // the replication stream: must not end up in the file
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (server.address() as { port: number }).port;
    const out = join(work, 'sync.rdb');
    const r = await backupNode({ addr: { host: '127.0.0.1', port }, auth: {}, sink: new LocalFileSink(out), format: 'rdb' });
    assert.deepEqual(seen.map((c) => c.split(' ')[0]), ['REPLCONF', 'REPLCONF', 'PSYNC', 'SYNC']);
    assert.equal(r.replId, null);
    assert.equal(r.form, 'length');
    assert.ok(readFileSync(out).equals(rdb));
  } finally {
    server.close();
  }
});

test('a master that goes silent fails REPLICATION_TIMEOUT after the idle time; a slow destination does not', async () => {
  const rdb = readFileSync(fx.path);
  // Sends +FULLRESYNC and the header, half the payload, then nothing (a hung master).
  const server = createServer((sock) => {
    sock.on('data', (d) => {
      const s = d.toString('latin1');
      if (s.includes('PSYNC')) {
        sock.write('+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n');
        sock.write(`$${rdb.length}\r\n`);
        sock.write(rdb.subarray(0, rdb.length >> 1));
      } else if (s.includes('REPLCONF')) sock.write('+OK\r\n'.repeat((s.match(/REPLCONF/g) ?? []).length));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (server.address() as { port: number }).port;
    const out = join(work, 'silent.rdb');
    await assert.rejects(
      backupNode({ addr: { host: '127.0.0.1', port }, auth: {}, sink: new LocalFileSink(out), format: 'rdb', idleTimeoutMs: 300 }),
      (e: unknown) => e instanceof FerryError && e.code === 'REPLICATION_TIMEOUT',
    );
    assert.ok(!existsSync(out) && !existsSync(out + '.part'));
  } finally {
    server.close();
  }
  // A destination slower than the idle time (each write takes 400 ms) is backpressure, not silence.
  const src = await source({ diskless: false });
  try {
    const inner = new LocalFileSink(join(work, 'slow-dest.rdb'));
    let writes = 0;
    const slowSink = {
      get name() { return inner.name; },
      get bytes() { return inner.bytes; },
      write: async (b: Buffer) => {
        if (writes++ < 2) await new Promise((r) => setTimeout(r, 400));
        return inner.write(b);
      },
      commit: () => inner.commit(),
      abort: () => inner.abort(),
    };
    const r = await backupNode({ addr: { host: src.host, port: src.port }, auth: {}, sink: slowSink, format: 'rdb', idleTimeoutMs: 300 });
    assert.ok(r.keys > 0);
  } finally {
    await src.stop();
  }
});
