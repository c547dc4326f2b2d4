/**
 * ByteSource: small fills (collect chunks, concatenate once) and big fills (chunks copied into one
 * buffer as they arrive) must give the same bytes, offsets and released ranges, whatever the chunking.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ByteSource, SHORT, HEADROOM } from '../../src/io/byte-source.js';
import { readFileChunks } from '../../src/source/local-file.js';
import { mkdtempSync, writeFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function* chunked(data: Buffer, sizes: number[], room = 0): AsyncGenerator<Buffer> {
  let off = 0;
  let i = 0;
  while (off < data.length) {
    const n = Math.min(sizes[i++ % sizes.length]!, data.length - off);
    // Copies, as a file stream hands out fresh buffers; with `room`, free bytes in front (HEADROOM).
    const mem = Buffer.alloc(room + n, 0xee);
    data.copy(mem, room, off, off + n);
    const chunk = mem.subarray(room, room + n);
    if (room) HEADROOM.set(chunk, room);
    yield chunk;
    off += n;
  }
}

/** Reads `data` as records of the given lengths, committing after each, and checks every byte. */
async function readAll(data: Buffer, sizes: number[], records: number[], room = 0, stream?: AsyncIterable<Buffer>): Promise<void> {
  const released: Buffer[] = [];
  const src = new ByteSource(stream ?? chunked(data, sizes, room), { name: 'mem', onRelease: (b, s, e) => released.push(Buffer.from(b.subarray(s, e))) });
  let off = 0;
  let r = 0;
  while (off < data.length) {
    const n = Math.min(records[r++ % records.length]!, data.length - off);
    for (;;) {
      try {
        const got = src.bytes(n);
        assert.equal(src.offset, off + n);
        assert.ok(got.equals(data.subarray(off, off + n)), `record at ${off} (${n} bytes)`);
        src.commit();
        break;
      } catch (err) {
        if (err !== SHORT) throw err;
        src.rewind();
        assert.ok(await src.fill(n), `fill(${n}) at ${off}`);
      }
    }
    off += n;
  }
  assert.equal(await src.more(), false);
  src.releaseToPos();
  assert.ok(Buffer.concat(released).equals(data), 'released ranges cover the input once, in order');
}

test('big and small fills give identical bytes, offsets and released ranges', async () => {
  const data = randomBytes(9 * 1024 * 1024 + 12345);
  const records = [3, 5 * 1024 * 1024, 17, 70_000, 2 * 1024 * 1024 + 1, 1];
  for (const sizes of [[256 * 1024], [1], [65_536, 7], [300 * 1024, 1024 * 1024, 13], [5 * 1024 * 1024]]) {
    // Byte-sized chunks only on a smaller input (9 M awaits would take long).
    const d = sizes[0] === 1 ? data.subarray(0, 3 * 1024 * 1024 + 77) : data;
    await readAll(d, sizes, records);
  }
});

test('a big fill that meets the end of the stream reports false and keeps what it got', async () => {
  const data = randomBytes(2 * 1024 * 1024);
  const src = new ByteSource(chunked(data, [256 * 1024]), { name: 'mem' });
  src.bytes(0);
  assert.equal(await src.fill(3 * 1024 * 1024), false);
  assert.equal(src.available, data.length);
  assert.ok(src.bytes(data.length).equals(data));
});

test('chunks with room in front: the kept tail goes there, same bytes and released ranges (and too little room falls back)', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 999);
  // Records that straddle chunk boundaries by less and by more than the room.
  for (const records of [[3, 70_000, 17, 1], [100_000, 5], [1, 2, 3, 300_000]]) {
    for (const room of [16, 65_536]) await readAll(data, [262_144, 100_003], records, room);
  }
});

test('readFileChunks: a file read with headroom chunks parses exactly, whole and by ranges', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bs-'));
  try {
    const data = randomBytes(2 * 1024 * 1024 + 12_345);
    const path = join(dir, 'f.bin');
    writeFileSync(path, data);
    await readAll(data, [], [3, 70_000, 17, 300_001, 1], 0, readFileChunks(path, 0, data.length));
    const part = data.subarray(1000, 1_500_000);
    await readAll(part, [], [5, 99_999], 0, readFileChunks(path, 1000, 1_500_000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readFileChunks with reads in flight: a stop leaves no stray rejection, a file that shrinks ends early with a prefix of its bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bs-'));
  const stray: unknown[] = [];
  const onStray = (e: unknown): void => {
    stray.push(e);
  };
  process.on('unhandledRejection', onStray);
  try {
    const data = randomBytes(4 * 1024 * 1024 + 777);
    const path = join(dir, 'f.bin');
    writeFileSync(path, data);
    // Stopped after one chunk, with the reads ahead of it still running.
    const gen = readFileChunks(path, 0, data.length);
    const first = await gen.next();
    assert.ok(!first.done && data.subarray(0, first.value.length).equals(first.value));
    await gen.return(undefined);
    // Shrunk to 300 KB after the first chunk: what follows is the file's bytes, in order, until it ends.
    const gen2 = readFileChunks(path, 0, data.length);
    const got: Buffer[] = [];
    const one = await gen2.next();
    assert.ok(!one.done);
    got.push(Buffer.from(one.value));
    truncateSync(path, 300 * 1024);
    for await (const c of gen2) got.push(Buffer.from(c));
    const all = Buffer.concat(got);
    assert.ok(all.length < data.length, `ended early: ${all.length} of ${data.length} bytes`);
    assert.ok(all.equals(data.subarray(0, all.length)), 'a prefix of the file');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(stray, []);
  } finally {
    process.off('unhandledRejection', onStray);
    rmSync(dir, { recursive: true, force: true });
  }
});
