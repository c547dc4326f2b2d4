/**
 * The parser's leased mode (RdbParseOptions.leased, what an import uses): big values are buffered in
 * reused memory. A consumer that is done with each batch when it asks for the next must see exactly
 * what the plain parser gives, and the keys it keeps must stay intact after the buffers are reused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ByteSource } from '../../src/io/byte-source.js';
import { parseRdb } from '../../src/rdb/parser.js';
import { len, rdb, str } from '../helpers/rdb-builder.js';
import { seededRandom } from '../helpers/make-rdb.js';

const MiB = 1 << 20;

/** An RDB with small strings around values of 1-3.5 MiB (big fills), a list and 6 MiB strings (streamed). */
function fixture(seed: number): Buffer {
  const rnd = seededRandom(seed);
  const bytes = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4096) b.fill((rnd() * 256) | 0, i, Math.min(n, i + 4096));
    return b;
  };
  const body: Buffer[] = [];
  let k = 0;
  const small = (n: number): void => {
    for (let i = 0; i < n; i++) body.push(Buffer.from([0]), str(`s:${seed}:${k++}`), str(bytes(5 + ((rnd() * 60) | 0))));
  };
  small(3000);
  for (const size of [1.2 * MiB, 3.5 * MiB, 2 * MiB]) {
    body.push(Buffer.from([0]), str(`big:${seed}:${k++}`), str(bytes(size | 0)));
    small(500);
  }
  const items: Buffer[] = [];
  for (let i = 0; i < 20_000; i++) items.push(str(bytes(20 + (i % 90))));
  body.push(Buffer.from([1]), str(`list:${seed}`), len(items.length), ...items);
  small(500);
  body.push(Buffer.from([0]), str(`huge:${seed}`), str(bytes(6 * MiB)));
  small(2000);
  body.push(Buffer.from([0]), str(`huge2:${seed}`), str(bytes(6 * MiB + 12345)));
  small(100);
  return rdb('REDIS0009', [Buffer.from([0xfe, 0]), ...body]);
}

async function* pieces(b: Buffer, size: number): AsyncGenerator<Buffer> {
  // Copies, as a file reader would give: nothing shares memory with the fixture.
  for (let i = 0; i < b.length; i += size) yield Buffer.from(b.subarray(i, i + size));
}

const h = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

/** What a consumer sees, taken as it consumes each record (raw bytes and streamed chunks hashed then). */
async function consume(file: Buffer, leased: boolean, chunk: number, kept: Buffer[]): Promise<string[]> {
  const out: string[] = [];
  const src = new ByteSource(pieces(file, chunk), { name: 'f' });
  for await (const batch of parseRdb(src, { inlineLimit: 4 * MiB, leased })) {
    for (const r of batch) {
      if (r.kind !== 'entry') continue;
      const e = r.entry;
      kept.push(e.key);
      if (e.raw !== null) {
        out.push(`${e.key.toString()} inline ${h(e.raw)}`);
        continue;
      }
      const hash = createHash('sha1');
      for await (const c of e.chunks({ leased })) {
        if (c.t === 'string') hash.update(c.data);
        else if (c.t === 'list') for (const it of c.items) hash.update(it);
      }
      out.push(`${e.key.toString()} streamed ${hash.digest('hex')}`);
    }
  }
  return out;
}

for (const chunk of [64 * 1024, 256 * 1024 + 7, 1_500_000]) {
  test(`leased mode gives the plain parse's records; kept keys survive buffer reuse (input chunks of ${chunk} bytes)`, async () => {
    const files = [fixture(1), fixture(2), fixture(3)];
    const plain: { lines: string[]; keys: string[] }[] = [];
    for (const file of files) {
      const kept: Buffer[] = [];
      const lines = await consume(file, false, chunk, kept);
      assert.ok(lines.some((l) => l.startsWith('big:') && l.includes(' inline ')), 'big values are inline (big fills ran)');
      assert.ok(lines.some((l) => l.startsWith('huge:') && l.includes(' streamed ')), 'a value above the limit streams');
      plain.push({ lines, keys: kept.map((k) => k.toString()) });
    }
    // One after another, as a server's imports do: later parses reuse the buffers earlier ones retired.
    const keptLeased: Buffer[][] = [];
    for (const [i, file] of files.entries()) {
      const kept: Buffer[] = [];
      assert.deepEqual(await consume(file, true, chunk, kept), plain[i]!.lines);
      keptLeased.push(kept);
    }
    // Read now, after every buffer was retired and reused by the parses that followed.
    for (const [i, kept] of keptLeased.entries()) assert.deepEqual(kept.map((k) => k.toString()), plain[i]!.keys);
  });
}
