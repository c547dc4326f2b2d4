/**
 * Leased buffers (io/buffer-lease.ts) and the pooled RESP encoder: a slab or chunk is reused only
 * after its producer retired it and every pin was released, never twice at once, and the bytes of
 * a pinned command stay intact while the encoder moves on to other slabs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lease, LeasePool, leaseOf, releasePins, retire, unpin } from '../../src/io/buffer-lease.js';
import { RespEncoder, encodeCommand } from '../../src/resp/encoder.js';

test('a lease returns to its pool only when retired and unpinned, and only once', () => {
  const pool = new LeasePool(1024, 4);
  const a = pool.take();
  assert.equal(leaseOf(a.buf.subarray(10, 20)), a, 'any view finds its lease');
  a.pins = 2;
  retire(a);
  assert.equal(pool.idle, 0, 'pinned: not reusable');
  unpin(a);
  assert.equal(pool.idle, 0);
  unpin(a);
  assert.equal(pool.idle, 1, 'last pin released after retirement');
  retire(a);
  pool.put(a);
  assert.equal(pool.idle, 1, 'a second retire or put does not list it twice');
  const b = pool.take();
  assert.equal(b, a);
  assert.equal(pool.take() === a, false, 'taken once only');
});

test('an unretired lease stays with its producer whatever the pins do', () => {
  const pool = new LeasePool(64, 4);
  const a = pool.take();
  a.pins = 1;
  unpin(a);
  assert.equal(pool.idle, 0);
  retire(a);
  assert.equal(pool.idle, 1);
});

test('the pool keeps at most its cap; a lease of no pool is left to the GC', () => {
  const pool = new LeasePool(64, 2);
  const ls = [pool.take(), pool.take(), pool.take()];
  for (const l of ls) retire(l);
  assert.equal(pool.idle, 2);
  const lone = new Lease(Buffer.alloc(8), null);
  lone.pins = 1;
  retire(lone);
  unpin(lone); // no pool: nothing to return to, no throw
});

/** Encodes `n` commands of `size`-byte values; returns each command's bytes (copied) and pins. */
function encodeMany(enc: RespEncoder, n: number, size: number, tag: string) {
  const out: { bytes: Buffer; parts: Buffer[]; pins: ReturnType<RespEncoder['takePins']> }[] = [];
  for (let i = 0; i < n; i++) {
    const args = ['SET', `${tag}:${i}`, Buffer.alloc(size, (i % 250) + 1)];
    const { parts } = enc.command(args);
    out.push({ bytes: Buffer.concat(parts), parts, pins: enc.takePins() });
    assert.deepEqual(out[i]!.bytes, encodeCommand(args));
  }
  return out;
}

test('pooled encoder: a pinned slab is never rewritten; once released it is reused', () => {
  const enc = new RespEncoder(true);
  // ~1 MiB of commands: the encoder crosses several 256 KiB slabs.
  const first = encodeMany(enc, 400, 2500, 'a');
  const slabs = new Set(first.map((c) => c.parts[0]!.buffer));
  assert.ok(slabs.size >= 4, `${slabs.size} slabs`);
  // Keep the first 100 commands pinned, release the rest.
  for (const c of first.slice(100)) releasePins(c.pins);
  const second = encodeMany(enc, 800, 2500, 'b');
  // Pinned bytes are untouched although the encoder went through many more slabs.
  for (const c of first.slice(0, 100)) assert.deepEqual(Buffer.concat(c.parts), c.bytes);
  // Released slabs were reused (the same memory), pinned ones were not.
  const pinned = new Set(first.slice(0, 100).map((c) => c.parts[0]!.buffer));
  const reused = second.filter((c) => slabs.has(c.parts[0]!.buffer));
  assert.ok(reused.length > 0, 'some released slab came back');
  for (const c of reused) assert.equal(pinned.has(c.parts[0]!.buffer), false, 'a pinned slab was handed out again');
  for (const c of first.slice(0, 100)) releasePins(c.pins);
  for (const c of second) releasePins(c.pins);
});

test('pooled encoder pins a leased big value it references, and only that', () => {
  const pool = new LeasePool(64 * 1024, 2);
  const chunk = pool.take();
  chunk.buf.fill(7);
  const enc = new RespEncoder(true);
  enc.command(['APPEND', 'k', chunk.buf.subarray(0, 40_000)]);
  const pins = enc.takePins();
  assert.ok(Array.isArray(pins) && pins.includes(chunk), 'the chunk is among the pins');
  retire(chunk);
  assert.equal(pool.idle, 0, 'the command still needs it');
  releasePins(pins);
  assert.equal(pool.idle, 1);
  // A plain big Buffer is referenced but has no lease to pin.
  enc.command(['SET', 'k', Buffer.alloc(40_000)]);
  const p2 = enc.takePins();
  assert.ok(!Array.isArray(p2), 'only the slab');
  releasePins(p2);
});

test('an unpooled encoder takes no pins', () => {
  const enc = new RespEncoder();
  enc.command(['SET', 'k', 'v']);
  assert.equal(enc.takePins(), null);
});
