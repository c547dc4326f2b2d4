/**
 * `<type><decimal n>\r\n` (a RESP array or bulk-string header) written byte by byte into `b` at `p`;
 * returns the position after it. For the few bytes of a header this is several times faster than
 * Buffer#write, which dominated a profile of 1M small keys. The caller guarantees 24 bytes of room.
 */
export function writeHeader(b: Buffer, p: number, type: number, n: number): number {
  b[p++] = type;
  if (n < 10) b[p++] = 48 + n;
  else if (n < 100) {
    b[p++] = 48 + ((n / 10) | 0);
    b[p++] = 48 + (n % 10);
  } else if (n < 1000) {
    b[p++] = 48 + ((n / 100) | 0);
    b[p++] = 48 + (((n / 10) | 0) % 10);
    b[p++] = 48 + (n % 10);
  } else {
    const s = String(n);
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
  }
  b[p++] = 13;
  b[p++] = 10;
  return p;
}

/**
 * `$<len>\r\n<s>\r\n`: an ASCII string (every char code < 128, the caller's check) as a bulk string,
 * written like writeHeader; returns the position after it. Room needed: s.length + 26 bytes.
 */
export function writeAsciiBulk(b: Buffer, p: number, s: string): number {
  p = writeHeader(b, p, 0x24, s.length);
  for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
  b[p++] = 13;
  b[p++] = 10;
  return p;
}

/** A bulk-string header (`$<n>\r\n`) as a Buffer of its own. */
export function bulkHeader(n: number): Buffer {
  const b = Buffer.allocUnsafe(24);
  return b.subarray(0, writeHeader(b, 0, 0x24, n));
}
