/**
 * ByteSource: small fills (collect chunks, concatenate once) and big fills (chunks copied into one
 * buffer as they arrive) must give the same bytes, offsets and released ranges, whatever the chunking.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ByteSource, SHORT } from '../../src/io/byte-source.js';

async function* chunked(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let off = 0;
  let i = 0;
  while (off < data.length) {
    const n = sizes[i++ % sizes.length]!;
    // Copies, as a file stream hands out fresh buffers.
    yield Buffer.from(data.subarray(off, off + n));
    off += n;
  }
}

/** Reads `data` as records of the given lengths, committing after each, and checks every byte. */
async function readAll(data: Buffer, sizes: number[], records: number[]): Promise<void> {
  const released: Buffer[] = [];
  const src = new ByteSource(chunked(data, sizes), { name: 'mem', onRelease: (b, s, e) => released.push(Buffer.from(b.subarray(s, e))) });
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
