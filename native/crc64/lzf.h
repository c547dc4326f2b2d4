/* LZF decompression for the addon (lzf.c). */
#ifndef FERRY_LZF_H
#define FERRY_LZF_H
#include <stddef.h>
#include <stdint.h>
#include <node_api.h>
int64_t ferry_lzf_inflate(const uint8_t *ip, size_t in_len, uint8_t *out, size_t out_len);
napi_value ferry_lzf_inflate_js(napi_env env, napi_callback_info info);
#endif
