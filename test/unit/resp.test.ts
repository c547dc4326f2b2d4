import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RespEncoder, Outbox, encodeCommand, BIG } from '../../src/resp/encoder.js';
import { RespDecoder, ReplyError, type Reply } from '../../src/resp/decoder.js';
import { isFerryError } from '../../src/errors/ferry-error.js';

function naive(args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

test('encoder: same bytes as the RESP definition, for text, numbers, binary and multi-part args', () => {
  const bin = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a]);
  assert.deepEqual(encodeCommand(['SET', 'k€y', bin]), naive(['SET', 'k€y', bin]));
  assert.deepEqual(encodeCommand(['PEXPIREAT', 'k', 1234567890123]), naive(['PEXPIREAT', 'k', '1234567890123']));
  assert.deepEqual(encodeCommand(['X', [Buffer.from('ab'), Buffer.from('cd')]]), naive(['X', 'abcd']));
  assert.deepEqual(encodeCommand([]), Buffer.from('*0\r\n'));
  assert.deepEqual(encodeCommand(['SET', 'e', '']), naive(['SET', 'e', '']));
});

test('encoder: a big value is its own chunk (not copied), small pieces share the slab', () => {
  const enc = new RespEncoder();
  const big = Buffer.alloc(BIG + 10, 7);
  const { parts, bytes } = enc.command(['RESTORE', 'k', '0', [Buffer.from([0]), big, Buffer.alloc(10)]]);
  assert.ok(parts.includes(big), 'the big Buffer itself is one of the parts');
  assert.equal(bytes, Buffer.concat(parts).length);
  assert.deepEqual(Buffer.concat(parts), naive(['RESTORE', 'k', '0', Buffer.concat([Buffer.from([0]), big, Buffer.alloc(10)])]));
});

test('outbox: adjacent slab views of consecutive commands merge into one write', () => {
  const enc = new RespEncoder();
  const out = new Outbox();
  const expect: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    const args = ['SET', `key:${i}`, `value:${i}`];
    out.push(enc.command(args).parts);
    expect.push(naive(args));
  }
  const chunks = out.take();
  assert.ok(chunks.length <= 2, `expected 1-2 writes, got ${chunks.length}`);
  assert.deepEqual(Buffer.concat(chunks), Buffer.concat(expect));
  assert.ok(out.empty);
});

test('outbox: survives slab rollover (many commands, still byte-exact)', () => {
  const enc = new RespEncoder();
  const out = new Outbox();
  const expect: Buffer[] = [];
  for (let i = 0; i < 20000; i++) {
    const args = ['HSET', `h${i}`, 'f', 'x'.repeat(i % 97)];
    out.push(enc.command(args).parts);
    expect.push(naive(args));
  }
  assert.deepEqual(Buffer.concat(out.take()), Buffer.concat(expect));
});

const STREAM = Buffer.concat([
  Buffer.from('+OK\r\n-ERR bad thing\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n*0\r\n'),
  Buffer.from('*3\r\n$1\r\na\r\n*2\r\n:1\r\n+x\r\n-BUSYKEY Target key name already exists.\r\n'),
  Buffer.from('$0\r\n\r\n+QUEUED\r\n'),
]);
const EXPECTED: Reply[] = [
  'OK', new ReplyError('ERR bad thing'), 42, -7, Buffer.from('hello'), null, null, [],
  [Buffer.from('a'), [1, 'x'], new ReplyError('BUSYKEY Target key name already exists.')],
  Buffer.alloc(0), 'QUEUED',
];

function decodeAll(chunks: Buffer[]): Reply[] {
  const out: Reply[] = [];
  const d = new RespDecoder((r) => out.push(r));
  for (const c of chunks) d.feed(c);
  return out;
}

test('decoder: whole input', () => {
  assert.deepEqual(decodeAll([STREAM]), EXPECTED);
});

test('decoder: byte by byte', () => {
  const chunks = [...STREAM].map((b) => Buffer.from([b]));
  assert.deepEqual(decodeAll(chunks), EXPECTED);
});

test('decoder: split at every boundary', () => {
  for (let i = 1; i < STREAM.length; i++) {
    assert.deepEqual(decodeAll([STREAM.subarray(0, i), STREAM.subarray(i)]), EXPECTED, `split at ${i}`);
  }
});

test('decoder: error replies carry their code', () => {
  const [e] = decodeAll([Buffer.from('-MOVED 3999 127.0.0.1:6381\r\n')]);
  assert.ok(e instanceof ReplyError);
  assert.equal(e.code, 'MOVED');
  assert.equal(e.message, 'MOVED 3999 127.0.0.1:6381');
});

test('decoder: a long bulk arriving in many chunks is assembled once', () => {
  const body = Buffer.alloc(300_000, 'z');
  const wire = Buffer.concat([Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n+OK\r\n')]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < wire.length; i += 4093) chunks.push(wire.subarray(i, i + 4093));
  const out = decodeAll(chunks);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], body);
  assert.equal(out[1], 'OK');
});

test('decoder: garbage is a typed TARGET_PROTOCOL error, not a crash', () => {
  for (const bad of ['?what\r\n', ':12x\r\n', '$abc\r\n', '$3\r\nabcXY', '+OK\rX']) {
    const d = new RespDecoder(() => {});
    assert.throws(() => d.feed(Buffer.from(bad)), (e: unknown) => isFerryError(e, 'TARGET_PROTOCOL'), bad);
  }
});

test('decoder: incomplete input waits, holding its bytes', () => {
  const out: Reply[] = [];
  const d = new RespDecoder((r) => out.push(r));
  d.feed(Buffer.from('*2\r\n$3\r\nfoo\r\n'));
  assert.equal(out.length, 0);
  assert.ok(d.buffered > 0);
  d.feed(Buffer.from(':1\r\n'));
  assert.deepEqual(out, [[Buffer.from('foo'), 1]]);
  assert.equal(d.buffered, 0);
});

test('span API: a command assembled argument by argument equals the plain encoding, big values included', () => {
  const enc = new RespEncoder();
  const big = Buffer.alloc(BIG + 3, 'b');
  const raw = Buffer.from('xxhello-worldyy');
  enc.beginSpan();
  enc.bulk(Buffer.from('MSET'), 0, 4);
  enc.bulk(Buffer.from('k1'), 0, 2);
  enc.bulk(raw, 2, 13);
  enc.bulk(Buffer.from('k2'), 0, 2);
  enc.bulk(big, 0, big.length);
  const body = enc.takeSpan();
  const parts = [...enc.arrayHeader(5), ...body];
  assert.ok(parts.includes(big) || parts.some((p) => p.buffer === big.buffer), 'big value not copied');
  assert.deepEqual(Buffer.concat(parts), naive(['MSET', 'k1', 'hello-world', 'k2', big]));
});
