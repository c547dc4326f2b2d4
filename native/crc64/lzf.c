/*
 * LZF decompression (liblzf's lzf_d.c format, as Redis stores compressed strings) for the import's
 * hot path: RESTORE payloads have their LZF strings inflated before they are sent (the target then
 * skips decompression, src/writer/inflate-payload.ts), and the MSET path reads compressed values.
 *
 * Why native: on the mixed bench file the WebAssembly engine (src/rdb/blobs/lzf.ts) was ~7% of the
 * import's CPU, a third of it copying input into its memory and output out of it; here the input
 * and output are the caller's Buffers, no copies. Errors are not described here: any failure returns
 * -1 and the caller runs its JS engine on the same bytes for the typed error (file, offset, reason),
 * so every engine fails with the same message.
 *
 * Format: control byte c. c < 32: a literal run of c+1 bytes follows. Otherwise a back-reference of
 * c>>5 (7: plus the next byte) + 2 bytes, distance ((c & 31) << 8) + next byte + 1 back from the
 * output position; source and destination may overlap (run-length style).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <node_api.h>

#include "lzf.h"

/* Bytes written to out (== out_len on success), or -1 when the input is not a valid LZF stream of
 * exactly out_len bytes' worth of instructions that fit in out. Never reads or writes out of bounds. */
int64_t ferry_lzf_inflate(const uint8_t *ip, size_t in_len, uint8_t *out, size_t out_len) {
  const uint8_t *const in_end = ip + in_len;
  uint8_t *op = out;
  uint8_t *const out_end = out + out_len;
  while (ip < in_end) {
    unsigned ctrl = *ip++;
    if (ctrl < 32) {
      size_t len = (size_t)ctrl + 1;
      if (len > (size_t)(in_end - ip) || len > (size_t)(out_end - op)) return -1;
      /* A fixed 32-byte copy (two vector moves) when both sides have the room, instead of a
       * variable-length memcpy call per run: random data is nearly all short literal runs. */
      if ((size_t)(in_end - ip) >= 32 && (size_t)(out_end - op) >= 32) memcpy(op, ip, 32);
      else memcpy(op, ip, len);
      op += len;
      ip += len;
    } else {
      size_t len = ctrl >> 5;
      if (len == 7) {
        if (ip >= in_end) return -1;
        len += *ip++;
      }
      if (ip >= in_end) return -1;
      size_t dist = ((size_t)(ctrl & 0x1f) << 8) + *ip++ + 1;
      len += 2;
      if (dist > (size_t)(op - out) || len > (size_t)(out_end - op)) return -1;
      const uint8_t *ref = op - dist;
      if (dist >= 8 && (size_t)(out_end - op) >= len + 8) {
        /* 8 bytes a step, over-copying up to 7 past the end (rewritten later or left unused): with
         * dist >= 8 every step reads only bytes written before it. */
        for (size_t i = 0; i < len; i += 8) memcpy(op + i, ref + i, 8);
        op += len;
      } else if (dist >= len) {
        memcpy(op, ref, len);
        op += len;
      } else {
        /* Overlapping: each byte may be one this copy just wrote. */
        for (size_t i = 0; i < len; i++) op[i] = ref[i];
        op += len;
      }
    }
  }
  return (int64_t)(op - out);
}

/* lzfInflate(input: Uint8Array, output: Uint8Array): number, bytes written or -1. As in crc64.c, no
 * element type is asked for (a chain of V8 type tests per call): lengths count elements, never more
 * than the bytes there are, so another typed array cannot make it read or write out of bounds. */
napi_value ferry_lzf_inflate_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  size_t n_in, n_out;
  void *in, *out;
  if (argc < 2 || napi_get_typedarray_info(env, argv[0], NULL, &n_in, &in, NULL, NULL) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], NULL, &n_out, &out, NULL, NULL) != napi_ok) {
    napi_throw_type_error(env, NULL, "lzfInflate(input: Uint8Array, output: Uint8Array)");
    return NULL;
  }
  int64_t r = ferry_lzf_inflate((const uint8_t *)in, n_in, (uint8_t *)out, n_out);
  if (napi_create_double(env, (double)r, &result) != napi_ok) return NULL;
  return result;
}
