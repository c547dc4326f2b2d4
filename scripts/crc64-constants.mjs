#!/usr/bin/env node
// Computes the PCLMULQDQ folding and Barrett constants of CRC-64/Jones (Redis's CRC-64: reflected,
// polynomial 0xAD93D23594C935A9, written reflected as 0x95AC9329AC4BC9B5, init 0, no final xor) and
// writes them to native/crc64/crc64_constants.h. Before writing, it runs the very algorithm of
// native/crc64/crc64.c on BigInts (4x128-bit folding, 4 -> 1 lanes, 128-bit folding, Barrett
// reduction, table tail) and compares it with a bit-at-a-time CRC on many lengths, so a wrong
// constant or a wrong derivation fails here, not in the addon. `--check` fails when the header on
// disk differs from what this script produces (run by test/unit/crc64.test.ts).
//
// The method is Intel's "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction"
// (Gopal et al., 2009), reflected variant. Notation: P is the degree-64 polynomial; a polynomial A of
// degree < n is held bit-reversed in n bits, rev_n(A) (coefficient of x^i at bit n-1-i): that is how a
// reflected CRC sees its input when 16 bytes are loaded little-endian into a 128-bit register (the
// first message bit, the highest power, lands in bit 0). Carry-less multiplication of two 64-bit
// reversed values gives the 127-bit reversed product, one bit short of 128:
//     clmul(rev_64(A), rev_64(B)) = rev_127(A*B) = rev_128(A*B*x)
// so every multiplicative constant below carries one power of x less than the algebra wants.
//
//  fold by D bits (a 128-bit lane A = A_H*x^64 + A_L moved D bits further down the message):
//     A*x^D = A_H*x^(D+64) + A_L*x^D  ==  clmul(lo64, rev_64(x^(D+63) mod P)) ^ clmul(hi64, rev_64(x^(D-1) mod P))
//     (lo64 of the register holds rev_64(A_H), hi64 holds rev_64(A_L)); D = 512 in the 4-lane loop,
//     384/256/128 to merge the lanes, 128 for single 16-byte blocks.
//  128 -> 64: the CRC of a 128-bit remainder R is R*x^64 mod P; T = R_H*(x^128 mod P) + R_L*x^64 has
//     the same remainder and degree < 128:  rev_128(T) = clmul(lo64, rev_64(x^127 mod P)) ^ (reg >> 64).
//  Barrett (T of degree < 128, mu = floor(x^128 / P) = x^64 + mu_L, P = x^64 + P_L):
//     q = T_H + floor(T_H*mu_L / x^64)   ->  rev_64(q) = t_lo ^ (lo64(clmul(t_lo, rev_64(mu_L))) << 1)
//     T mod P = T_L + (q*P_L mod x^64)   ->  crc = t_hi ^ (clmul(rev_64(q), rev_64(P_L)) >> 63)
import { readFileSync, writeFileSync } from 'node:fs';

const OUT = new URL('../native/crc64/crc64_constants.h', import.meta.url);
const M64 = (1n << 64n) - 1n;
const P_REFLECTED = 0x95ac9329ac4bc9b5n;

function rev(v, n) {
  let r = 0n;
  for (let i = 0n; i < n; i++) if ((v >> i) & 1n) r |= 1n << (n - 1n - i);
  return r;
}

/** P in normal (MSB-first) form, with its x^64 term. */
const P = (1n << 64n) | rev(P_REFLECTED, 64n);

function degree(a) {
  return a === 0n ? -1 : a.toString(2).length - 1;
}

function polyMod(a, m) {
  const dm = degree(m);
  for (let d = degree(a); d >= dm; d = degree(a)) a ^= m << BigInt(d - dm);
  return a;
}

function polyDiv(a, m) {
  const dm = degree(m);
  let q = 0n;
  for (let d = degree(a); d >= dm; d = degree(a)) {
    q |= 1n << BigInt(d - dm);
    a ^= m << BigInt(d - dm);
  }
  return q;
}

function clmul(a, b) {
  let r = 0n;
  for (let i = 0n; b >> i; i++) if ((b >> i) & 1n) r ^= a << i;
  return r;
}

/** rev_64(x^e mod P): the form every multiplicative constant takes. */
const xPowModRev = (e) => rev(polyMod(1n << BigInt(e), P), 64n);
/** The constant pair folding a 128-bit lane D bits down: [for the low qword, for the high qword]. */
const foldPair = (d) => [xPowModRev(d + 63), xPowModRev(d - 1)];

const mu = polyDiv(1n << 128n, P);
if (degree(mu) !== 64) throw new Error('floor(x^128 / P) must have degree 64');

export const constants = {
  fold512: foldPair(512),
  fold384: foldPair(384),
  fold256: foldPair(256),
  fold128: foldPair(128),
  /** rev_64(x^127 mod P): folds the high qword of the last lane onto the low one, 128 -> T. */
  reduce128: xPowModRev(127),
  /** rev_64(floor(x^128 / P) - x^64). */
  barrettMu: rev(mu & M64, 64n),
  /** rev_64(P - x^64): the reflected polynomial itself. */
  barrettPoly: rev(P & M64, 64n),
};
if (constants.barrettPoly !== P_REFLECTED) throw new Error('reflected polynomial round trip failed');

// ---------------------------------------------------------------------------------------------
// The algorithm of crc64.c, on BigInts, checked against a bitwise CRC.

const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = BigInt(n);
  for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ P_REFLECTED : c >> 1n;
  return c;
});

function crcBitwise(crc, bytes) {
  for (const b of bytes) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ P_REFLECTED : crc >> 1n;
  }
  return crc;
}

function crcTable(crc, bytes) {
  for (const b of bytes) crc = TABLE[Number((crc ^ BigInt(b)) & 0xffn)] ^ (crc >> 8n);
  return crc;
}

const load128 = (bytes, at) => {
  let v = 0n;
  for (let i = 15; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
  return v;
};

function fold(reg, [kLo, kHi]) {
  return clmul(reg & M64, kLo) ^ clmul(reg >> 64n, kHi);
}

function crcFolding(crc, bytes) {
  const len = bytes.length;
  if (len < 16) return crcTable(crc, bytes);
  let p = 0;
  let x;
  if (len >= 64) {
    const lanes = [0, 1, 2, 3].map((i) => load128(bytes, 16 * i));
    lanes[0] ^= crc;
    p = 64;
    for (; len - p >= 64; p += 64) for (let i = 0; i < 4; i++) lanes[i] = fold(lanes[i], constants.fold512) ^ load128(bytes, p + 16 * i);
    x = fold(lanes[0], constants.fold384) ^ fold(lanes[1], constants.fold256) ^ fold(lanes[2], constants.fold128) ^ lanes[3];
  } else {
    x = load128(bytes, 0) ^ crc;
    p = 16;
  }
  for (; len - p >= 16; p += 16) x = fold(x, constants.fold128) ^ load128(bytes, p);
  const t = clmul(x & M64, constants.reduce128) ^ (x >> 64n);
  const tLo = t & M64;
  const tHi = t >> 64n;
  const q = tLo ^ ((clmul(tLo, constants.barrettMu) << 1n) & M64);
  const r = tHi ^ ((clmul(q, constants.barrettPoly) >> 63n) & M64);
  return crcTable(r, bytes.subarray(p));
}

function selfCheck() {
  const check = crcBitwise(0n, Buffer.from('123456789'));
  if (check !== 0xe9c6d914c4b8d9can) throw new Error(`bitwise check value ${check.toString(16)}`);
  let seed = 0x2545f491;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
  const data = Buffer.from(Array.from({ length: 700 }, rnd));
  const inits = [0n, 0xffffffffffffffffn, 0x0123456789abcdefn];
  for (let n = 0; n <= data.length; n += n < 200 ? 1 : 37) {
    for (const init of inits) {
      const want = crcBitwise(init, data.subarray(0, n));
      const got = crcFolding(init, data.subarray(0, n));
      if (got !== want) throw new Error(`folding CRC differs from the bitwise CRC at length ${n}, init ${init.toString(16)}`);
    }
  }
}

const hex = (v) => `0x${v.toString(16).padStart(16, '0')}ULL`;

export function header() {
  const pair = (name, [lo, hi], what) => `/* ${what} */\n#define CRC64_K_${name}_LO ${hex(lo)}\n#define CRC64_K_${name}_HI ${hex(hi)}\n`;
  return [
    '/* Generated by scripts/crc64-constants.mjs: do not edit. CRC-64/Jones (Redis), reflected.',
    ' * Each fold pair multiplies the low qword (_LO) and the high qword (_HI) of a 128-bit lane. */',
    '#ifndef FERRY_CRC64_CONSTANTS_H',
    '#define FERRY_CRC64_CONSTANTS_H',
    '',
    `#define CRC64_POLY_REFLECTED ${hex(P_REFLECTED)}`,
    '',
    pair('FOLD512', constants.fold512, 'fold by 4x128 bits: rev64(x^575 mod P), rev64(x^511 mod P)'),
    pair('FOLD384', constants.fold384, 'lane 0 onto lane 3: rev64(x^447 mod P), rev64(x^383 mod P)'),
    pair('FOLD256', constants.fold256, 'lane 1 onto lane 3: rev64(x^319 mod P), rev64(x^255 mod P)'),
    pair('FOLD128', constants.fold128, 'by 128 bits: rev64(x^191 mod P), rev64(x^127 mod P)'),
    `/* 128 -> 64: rev64(x^127 mod P) */\n#define CRC64_K_REDUCE128 ${hex(constants.reduce128)}\n`,
    `/* Barrett: rev64(floor(x^128 / P) - x^64), rev64(P - x^64) */`,
    `#define CRC64_BARRETT_MU ${hex(constants.barrettMu)}`,
    `#define CRC64_BARRETT_POLY ${hex(constants.barrettPoly)}`,
    '',
    '#endif',
    '',
  ].join('\n');
}

if (process.argv[1] && new URL(`file://${process.argv[1]}`).pathname === new URL(import.meta.url).pathname) {
  selfCheck();
  const text = header();
  if (process.argv.includes('--check')) {
    if (readFileSync(OUT, 'utf8') !== text) {
      console.error('native/crc64/crc64_constants.h is stale: run node scripts/crc64-constants.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(OUT, text);
    console.log(`wrote ${OUT.pathname} (folding CRC checked against the bitwise CRC)`);
  }
}
