/* What the addon's files share: the per-instance data and the RESP encoders of resp.c. */
#ifndef FERRY_RESP_H
#define FERRY_RESP_H
#include <stddef.h>
#include <stdint.h>
#include <node_api.h>

typedef uint64_t (*crc_fn)(uint64_t, const uint8_t *, size_t);

/* Per-addon-instance data (one per Node environment: main thread, each worker). */
typedef struct {
  double *state; /* [lo, hi, start, end]: the CRC as uint32 halves, the byte range to add */
  napi_ref state_ref; /* keeps the ArrayBuffer behind `state` alive whatever JS does with exports */
  double *io; /* resp.c's arguments and results (RESP_IO_LEN doubles), like `state` */
  napi_ref io_ref;
  crc_fn fn;
} engine_t;

#define RESP_IO_LEN 16

napi_value ferry_resp_pairs_js(napi_env env, napi_callback_info info);
napi_value ferry_resp_restore_js(napi_env env, napi_callback_info info);
napi_value ferry_resp_restore_run_js(napi_env env, napi_callback_info info);
#endif
