/*
 * CRC-64/Jones as Redis computes it (reflected, polynomial 0x95AC9329AC4BC9B5 in reflected form,
 * init 0, no final xor), for Ferry's RDB file checksum and RESTORE payload footers.
 *
 * Hand-written because no npm package implements this CRC variant natively: the CRC-64 packages are
 * pure JS (js-crc's custom models, crc64-ecma182.js) or native for other polynomials (ECMA-182,
 * NVMe in @aws-sdk/crc64-nvme-crt). Two engines:
 *  - x86-64 with PCLMULQDQ and SSE4.1 (checked at run time): Intel's "Fast CRC Computation for
 *    Generic Polynomials Using PCLMULQDQ Instruction", reflected: four 128-bit lanes folded 64 bytes
 *    a step, merged into one, 16-byte folds, then a 128 -> 64 bit Barrett reduction; the last < 16
 *    bytes by table. Constants and their derivation: scripts/crc64-constants.mjs (which also runs
 *    this algorithm on BigInts against a bitwise CRC).
 *  - anywhere else: slicing-by-8 tables (Redis's crcspeed technique).
 *
 * Calling convention, chosen by measurement (bench/crc64.bench.ts, docs/benchmarks.md): the CRC of
 * a 64-byte input takes a few nanoseconds here, a N-API call with arguments 20-30, so everything but
 * the buffer travels through a Float64Array the module creates, `state` = [lo, hi, start, end]
 * (the CRC as uint32 halves, the byte range); `update(buf)` reads it, writes the new lo/hi back and
 * returns nothing. Start and end as two more arguments cost ~9 ns a call more. `updateTable(buf)` is
 * the same with the table engine whatever the CPU (for tests and benches).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>

#include "crc64_constants.h"
#include "lzf.h"
#include "resp.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define FERRY_CRC64_PCLMUL 1
#include <immintrin.h>
#endif

/* Bumped when the JS-facing contract changes; src/rdb/crc64.ts ignores an addon of another ABI. */
#define FERRY_CRC64_ABI 1

static uint64_t table[8][256];

static void init_tables(void) {
  for (int n = 0; n < 256; n++) {
    uint64_t c = (uint64_t)n;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
    table[0][n] = c;
  }
  for (int n = 0; n < 256; n++) {
    uint64_t c = table[0][n];
    for (int t = 1; t < 8; t++) {
      c = table[0][c & 0xff] ^ (c >> 8);
      table[t][n] = c;
    }
  }
}

static inline uint64_t load64le(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

static uint64_t crc64_table(uint64_t crc, const uint8_t *p, size_t len) {
  while (len >= 8) {
    crc ^= load64le(p);
    crc = table[7][crc & 0xff] ^ table[6][(crc >> 8) & 0xff] ^ table[5][(crc >> 16) & 0xff] ^
          table[4][(crc >> 24) & 0xff] ^ table[3][(crc >> 32) & 0xff] ^ table[2][(crc >> 40) & 0xff] ^
          table[1][(crc >> 48) & 0xff] ^ table[0][crc >> 56];
    p += 8;
    len -= 8;
  }
  while (len--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

#ifdef FERRY_CRC64_PCLMUL
#define PCLMUL_TARGET __attribute__((target("pclmul,sse4.1")))

/* The lane moved k bits down the message: low qword times k.lo, high qword times k.hi. */
PCLMUL_TARGET static inline __m128i fold(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

PCLMUL_TARGET static inline __m128i load128(const uint8_t *p) {
  return _mm_loadu_si128((const __m128i *)p);
}

PCLMUL_TARGET static uint64_t crc64_pclmul(uint64_t crc, const uint8_t *p, size_t len) {
  if (len < 16) return crc64_table(crc, p, len);
  const __m128i k128 = _mm_set_epi64x((long long)CRC64_K_FOLD128_HI, (long long)CRC64_K_FOLD128_LO);
  __m128i x;
  if (len >= 64) {
    const __m128i k512 = _mm_set_epi64x((long long)CRC64_K_FOLD512_HI, (long long)CRC64_K_FOLD512_LO);
    __m128i x0 = _mm_xor_si128(load128(p), _mm_cvtsi64_si128((long long)crc));
    __m128i x1 = load128(p + 16);
    __m128i x2 = load128(p + 32);
    __m128i x3 = load128(p + 48);
    p += 64;
    len -= 64;
    while (len >= 64) {
      x0 = _mm_xor_si128(fold(x0, k512), load128(p));
      x1 = _mm_xor_si128(fold(x1, k512), load128(p + 16));
      x2 = _mm_xor_si128(fold(x2, k512), load128(p + 32));
      x3 = _mm_xor_si128(fold(x3, k512), load128(p + 48));
      p += 64;
      len -= 64;
    }
    const __m128i k384 = _mm_set_epi64x((long long)CRC64_K_FOLD384_HI, (long long)CRC64_K_FOLD384_LO);
    const __m128i k256 = _mm_set_epi64x((long long)CRC64_K_FOLD256_HI, (long long)CRC64_K_FOLD256_LO);
    x = _mm_xor_si128(_mm_xor_si128(fold(x0, k384), fold(x1, k256)), _mm_xor_si128(fold(x2, k128), x3));
  } else {
    x = _mm_xor_si128(load128(p), _mm_cvtsi64_si128((long long)crc));
    p += 16;
    len -= 16;
  }
  while (len >= 16) {
    x = _mm_xor_si128(fold(x, k128), load128(p));
    p += 16;
    len -= 16;
  }
  /* 128 -> T (degree < 128, same remainder as x * x^64), then Barrett (see the constants script). */
  const __m128i kr = _mm_set_epi64x((long long)CRC64_BARRETT_MU, (long long)CRC64_K_REDUCE128);
  __m128i t = _mm_xor_si128(_mm_clmulepi64_si128(x, kr, 0x00), _mm_srli_si128(x, 8));
  uint64_t t_lo = (uint64_t)_mm_cvtsi128_si64(t);
  uint64_t t_hi = (uint64_t)_mm_extract_epi64(t, 1);
  uint64_t c1 = (uint64_t)_mm_cvtsi128_si64(_mm_clmulepi64_si128(t, kr, 0x10));
  uint64_t q = t_lo ^ (c1 << 1);
  __m128i c2 = _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)q), _mm_cvtsi64_si128((long long)CRC64_BARRETT_POLY), 0x00);
  uint64_t c2_lo = (uint64_t)_mm_cvtsi128_si64(c2);
  uint64_t c2_hi = (uint64_t)_mm_extract_epi64(c2, 1);
  crc = t_hi ^ ((c2_hi << 1) | (c2_lo >> 63));
  return len ? crc64_table(crc, p, len) : crc;
}
#endif


static crc_fn best_engine(const char **name) {
#ifdef FERRY_CRC64_PCLMUL
  __builtin_cpu_init();
  if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")) {
    *name = "pclmul";
    return crc64_pclmul;
  }
#endif
  *name = "table";
  return crc64_table;
}


/* The JS side stores uint32 values; anything else (UB to convert) reads as 0. */
static inline uint32_t to_u32(double d) {
  return d >= 0 && d < 4294967296.0 ? (uint32_t)d : 0;
}

static napi_value do_update(napi_env env, napi_callback_info info, crc_fn fixed) {
  size_t argc = 1;
  napi_value buf;
  void *data;
  if (napi_get_cb_info(env, info, &argc, &buf, NULL, &data) != napi_ok) return NULL;
  engine_t *e = (engine_t *)data;
  size_t length;
  void *bytes;
  /* No element type asked for (that check costs a chain of V8 type tests per call): `length` counts
   * elements, never more than the bytes there are, so a wrong typed array cannot read out of bounds. */
  if (argc < 1 || napi_get_typedarray_info(env, buf, NULL, &length, &bytes, NULL, NULL) != napi_ok) {
    napi_throw_type_error(env, NULL, "crc64 update(buf: Uint8Array): not a typed array");
    return NULL;
  }
  double *s = e->state;
  double start = s[2], end = s[3];
  if (!(start >= 0 && start <= end && end <= (double)length)) {
    napi_throw_range_error(env, NULL, "crc64 update: state[2..3] must satisfy 0 <= start <= end <= buf.length");
    return NULL;
  }
  uint64_t crc = ((uint64_t)to_u32(s[1]) << 32) | to_u32(s[0]);
  crc = (fixed ? fixed : e->fn)(crc, (const uint8_t *)bytes + (size_t)start, (size_t)end - (size_t)start);
  s[0] = (double)(uint32_t)crc;
  s[1] = (double)(uint32_t)(crc >> 32);
  return NULL;
}

static napi_value update(napi_env env, napi_callback_info info) {
  return do_update(env, info, NULL);
}

/* The slicing-by-8 engine whatever the CPU, so tests cover the fallback on every machine. */
static napi_value update_table(napi_env env, napi_callback_info info) {
  return do_update(env, info, crc64_table);
}

static void free_engine(napi_env env, void *data, void *hint) {
  (void)hint;
  engine_t *e = (engine_t *)data;
  if (e->state_ref != NULL) napi_delete_reference(env, e->state_ref);
  if (e->io_ref != NULL) napi_delete_reference(env, e->io_ref);
  free(e);
}

#if defined(__GNUC__) || defined(__clang__)
/* Tables built once per process when the library is loaded (the loader serialises this). */
__attribute__((constructor)) static void load_tables(void) { init_tables(); }
#define TABLES_AT_LOAD 1
#endif

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
#ifndef TABLES_AT_LOAD
  static int tables_ready = 0;
  if (!tables_ready) {
    init_tables();
    tables_ready = 1;
  }
#endif
  engine_t *e = (engine_t *)malloc(sizeof(engine_t));
  if (e == NULL) return NULL;
  const char *name;
  e->fn = best_engine(&name);

  napi_value ab, state, fn_update, fn_table, fn_lzf, fn_pairs, fn_restore, fn_restore_run, abi, engine;
  void *ab_data;
  if (napi_create_arraybuffer(env, 4 * sizeof(double), &ab_data, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, 4, ab, 0, &state) != napi_ok) {
    free(e);
    return NULL;
  }
  e->state = (double *)ab_data;
  e->state[0] = e->state[1] = e->state[2] = e->state[3] = 0;
  e->state_ref = NULL;
  e->io_ref = NULL;
  napi_value io_ab, io;
  void *io_data;
  if (napi_create_reference(env, ab, 1, &e->state_ref) != napi_ok ||
      napi_create_arraybuffer(env, RESP_IO_LEN * sizeof(double), &io_data, &io_ab) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, RESP_IO_LEN, io_ab, 0, &io) != napi_ok ||
      napi_create_reference(env, io_ab, 1, &e->io_ref) != napi_ok || napi_set_instance_data(env, e, free_engine, NULL) != napi_ok) {
    if (e->state_ref != NULL) napi_delete_reference(env, e->state_ref);
    if (e->io_ref != NULL) napi_delete_reference(env, e->io_ref);
    free(e);
    return NULL;
  }
  e->io = (double *)io_data;
  memset(e->io, 0, RESP_IO_LEN * sizeof(double));
  if (napi_create_function(env, "update", NAPI_AUTO_LENGTH, update, e, &fn_update) != napi_ok ||
      napi_create_function(env, "updateTable", NAPI_AUTO_LENGTH, update_table, e, &fn_table) != napi_ok ||
      napi_create_function(env, "lzfInflate", NAPI_AUTO_LENGTH, ferry_lzf_inflate_js, NULL, &fn_lzf) != napi_ok ||
      napi_create_function(env, "respPairs", NAPI_AUTO_LENGTH, ferry_resp_pairs_js, e, &fn_pairs) != napi_ok ||
      napi_create_function(env, "respRestore", NAPI_AUTO_LENGTH, ferry_resp_restore_js, e, &fn_restore) != napi_ok ||
      napi_create_function(env, "respRestoreRun", NAPI_AUTO_LENGTH, ferry_resp_restore_run_js, e, &fn_restore_run) != napi_ok ||
      napi_create_uint32(env, FERRY_CRC64_ABI, &abi) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &engine) != napi_ok ||
      napi_set_named_property(env, exports, "update", fn_update) != napi_ok ||
      napi_set_named_property(env, exports, "updateTable", fn_table) != napi_ok ||
      napi_set_named_property(env, exports, "lzfInflate", fn_lzf) != napi_ok ||
      napi_set_named_property(env, exports, "respPairs", fn_pairs) != napi_ok ||
      napi_set_named_property(env, exports, "respRestore", fn_restore) != napi_ok ||
      napi_set_named_property(env, exports, "respRestoreRun", fn_restore_run) != napi_ok ||
      napi_set_named_property(env, exports, "io", io) != napi_ok ||
      napi_set_named_property(env, exports, "state", state) != napi_ok ||
      napi_set_named_property(env, exports, "abi", abi) != napi_ok ||
      napi_set_named_property(env, exports, "engine", engine) != napi_ok) {
    return NULL;
  }
  return exports;
}
