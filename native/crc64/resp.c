/*
 * RESP encoding of the import's two per-key commands, straight into the encoder's slab: the bulk
 * strings of an MSET batch from byte ranges of the input buffer (a string run), and a whole
 * `RESTORE key ttl payload [REPLACE] [ABSTTL]` with the payload's CRC-64 footer.
 *
 * Why native: the JS encoder (src/resp/encoder.ts, which these must match byte for byte, a unit test
 * holds them equal) spends most of a key's time outside the copying itself: a Buffer view per copied
 * range (~100 ns and a heap object each: the biggest share of a mixed import's allocation), a call
 * per argument, the CRC's call per piece. One call here does a whole RESTORE, or up to a batch of
 * MSET pairs, with memcpy and the CRC engine of crc64.c.
 *
 * Calling convention as in crc64.c: the buffers are arguments, numbers travel through `io`, a
 * Float64Array the module creates (RESP_IO_LEN doubles). Every range is checked against its buffer:
 * a bad one throws a RangeError, never reads or writes out of bounds.
 */
#include <string.h>
#include "resp.h"
#include "lzf.h"

/* Decimal digits of n at p; returns their count. */
static inline size_t put_uint(uint8_t *p, uint64_t n) {
  uint8_t tmp[24];
  size_t k = 0;
  do {
    tmp[k++] = (uint8_t)('0' + n % 10);
    n /= 10;
  } while (n);
  for (size_t i = 0; i < k; i++) p[i] = tmp[k - 1 - i];
  return k;
}

static inline size_t digits(uint64_t n) {
  size_t k = 1;
  while (n >= 10) {
    n /= 10;
    k++;
  }
  return k;
}

/* `<type><n>\r\n` at p; returns its length. */
static inline size_t put_header(uint8_t *p, uint8_t type, uint64_t n) {
  p[0] = type;
  size_t k = 1 + put_uint(p + 1, n);
  p[k++] = '\r';
  p[k++] = '\n';
  return k;
}

/* `$<n>\r\n<bytes>\r\n` at p; returns its length. */
static inline size_t put_bulk(uint8_t *p, const uint8_t *b, size_t n) {
  size_t k = put_header(p, '$', n);
  memcpy(p + k, b, n);
  k += n;
  p[k++] = '\r';
  p[k++] = '\n';
  return k;
}

static inline size_t bulk_len(size_t n) { return 1 + digits(n) + 2 + n + 2; }

/* A range [s, e) of a buffer of n bytes, given as doubles: whole numbers with 0 <= s <= e <= n. */
static inline int range_ok(double s, double e, size_t n) {
  return s >= 0 && s <= e && e <= (double)n && s == (double)(size_t)s && e == (double)(size_t)e;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, size_t *len, void **data) {
  napi_typedarray_type t;
  if (napi_get_typedarray_info(env, v, &t, len, data, NULL, NULL) != napi_ok || t != want) return 0;
  return 1;
}

/*
 * respPairs(dst: Uint8Array, src: Uint8Array, pos: Int32Array): io = [at, from, to] in, [at, next]
 * out. For each key i from `from` while i < `to`: the bulk strings of src[pos[5i], pos[5i+1]) and
 * src[pos[5i+2], pos[5i+3]) at dst[at...], stopping before a pair that does not fit. io[0] becomes
 * the position after the last pair written, io[1] the first key not written.
 */
napi_value ferry_resp_pairs_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  engine_t *e = (engine_t *)data;
  size_t n_dst, n_src, n_pos;
  void *dst, *src, *pos;
  if (argc < 3 || !typed(env, argv[0], napi_uint8_array, &n_dst, &dst) || !typed(env, argv[1], napi_uint8_array, &n_src, &src) ||
      !typed(env, argv[2], napi_int32_array, &n_pos, &pos)) {
    napi_throw_type_error(env, NULL, "respPairs(dst: Uint8Array, src: Uint8Array, pos: Int32Array)");
    return NULL;
  }
  double *io = e->io;
  if (!range_ok(io[0], (double)n_dst, n_dst) || !range_ok(io[1], io[2], n_pos / 5)) {
    napi_throw_range_error(env, NULL, "respPairs: io[0] must be in dst, io[1] <= io[2] keys in pos");
    return NULL;
  }
  uint8_t *d = (uint8_t *)dst;
  const uint8_t *s = (const uint8_t *)src;
  const int32_t *p = (const int32_t *)pos;
  size_t at = (size_t)io[0];
  size_t i = (size_t)io[1], to = (size_t)io[2];
  for (; i < to; i++) {
    const int32_t *r = p + 5 * i;
    if (!range_ok(r[0], r[1], n_src) || !range_ok(r[2], r[3], n_src)) {
      io[0] = (double)at;
      io[1] = (double)i;
      napi_throw_range_error(env, NULL, "respPairs: a key or value range is outside src");
      return NULL;
    }
    size_t kn = (size_t)(r[1] - r[0]), vn = (size_t)(r[3] - r[2]);
    if (bulk_len(kn) + bulk_len(vn) > n_dst - at) break;
    at += put_bulk(d + at, s + r[0], kn);
    at += put_bulk(d + at, s + r[2], vn);
  }
  io[0] = (double)at;
  io[1] = (double)i;
  return NULL;
}

static const uint8_t RESTORE[] = "$7\r\nRESTORE\r\n";
static const uint8_t REPLACE[] = "$7\r\nREPLACE\r\n";
static const uint8_t ABSTTL[] = "$6\r\nABSTTL\r\n";

/* Length of `RESTORE key ttl payload [REPLACE] [ABSTTL]` with a key of kn bytes and a payload of pn. */
static inline size_t restore_len(size_t kn, uint64_t ttl, size_t pn, int replace, int abs) {
  return 4 + (sizeof RESTORE - 1) + bulk_len(kn) + bulk_len(digits(ttl)) + bulk_len(pn) + (replace ? sizeof REPLACE - 1 : 0) + (abs ? sizeof ABSTTL - 1 : 0);
}

/*
 * Writes the RESTORE at d (room checked by the caller: restore_len). The payload: the type byte,
 * pre[0, n_pre), then r[0, rn) copied (vn == rn), or with lzf the LZF data r[0, rn) inflated to
 * exactly vn bytes, then the version and the CRC-64. Returns the bytes written, -2 when the data does
 * not inflate to vn bytes.
 */
static int64_t put_restore(crc_fn crc_of, uint8_t *d, const uint8_t *k, size_t kn, uint64_t t, uint8_t type, unsigned version, const uint8_t *pre, size_t n_pre,
                           const uint8_t *r, size_t rn, int lzf, size_t vn, int replace, int abs) {
  size_t pn = 1 + n_pre + vn + 10;
  size_t w = put_header(d, '*', 4 + replace + abs);
  memcpy(d + w, RESTORE, sizeof RESTORE - 1);
  w += sizeof RESTORE - 1;
  w += put_bulk(d + w, k, kn);
  uint8_t tt[24];
  w += put_bulk(d + w, tt, put_uint(tt, t));
  w += put_header(d + w, '$', pn);
  uint8_t *payload = d + w;
  payload[0] = type;
  if (n_pre) memcpy(payload + 1, pre, n_pre);
  if (!lzf) memcpy(payload + 1 + n_pre, r, rn);
  else if (ferry_lzf_inflate(r, rn, payload + 1 + n_pre, vn) != (int64_t)vn) return -2;
  uint8_t *footer = payload + 1 + n_pre + vn;
  footer[0] = (uint8_t)(version & 0xff);
  footer[1] = (uint8_t)(version >> 8);
  uint64_t crc = crc_of(0, payload, pn - 8);
  for (int b = 0; b < 8; b++) footer[2 + b] = (uint8_t)(crc >> (8 * b));
  w += pn;
  d[w++] = '\r';
  d[w++] = '\n';
  if (replace) {
    memcpy(d + w, REPLACE, sizeof REPLACE - 1);
    w += sizeof REPLACE - 1;
  }
  if (abs) {
    memcpy(d + w, ABSTTL, sizeof ABSTTL - 1);
    w += sizeof ABSTTL - 1;
  }
  return (int64_t)w;
}

/*
 * respRestore(dst: Uint8Array, key: Uint8Array, raw: Uint8Array, pre?: Uint8Array): io = [at, ks, ke,
 * rs, re, type, version, ttl, flags] in, io[0] out. Writes `RESTORE key ttl payload [REPLACE]
 * [ABSTTL]` at dst[at...]: key = key[ks, ke), ttl in decimal (a whole number >= 0), payload = the
 * type byte, all of `pre` when given (the length header of an inflated value), raw[rs, re), the
 * version (uint16 LE) and the CRC-64 of those (uint64 LE); REPLACE when flags & 1, ABSTTL when
 * flags & 2. With flags & 4, raw[rs, re) is LZF data that inflates to io[9] bytes, inflated straight
 * into the payload (an LZF string sent plain: src/writer/inflate-payload.ts says why). io[0] becomes
 * the position after the command; -1 when it does not fit, -2 when the LZF data does not inflate to
 * exactly io[9] bytes (nothing counts as written: the caller's JS path then reports the error).
 */
napi_value ferry_resp_restore_js(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  engine_t *e = (engine_t *)data;
  size_t n_dst, n_key, n_raw, n_pre = 0;
  void *dst, *key, *raw, *pre = NULL;
  napi_valuetype pre_type = napi_undefined;
  if (argc >= 4 && napi_typeof(env, argv[3], &pre_type) != napi_ok) return NULL;
  if (argc < 3 || !typed(env, argv[0], napi_uint8_array, &n_dst, &dst) || !typed(env, argv[1], napi_uint8_array, &n_key, &key) ||
      !typed(env, argv[2], napi_uint8_array, &n_raw, &raw) || (pre_type != napi_undefined && !typed(env, argv[3], napi_uint8_array, &n_pre, &pre))) {
    napi_throw_type_error(env, NULL, "respRestore(dst: Uint8Array, key: Uint8Array, raw: Uint8Array, pre?: Uint8Array)");
    return NULL;
  }
  double *io = e->io;
  double type = io[5], version = io[6], ttl = io[7], flags = io[8], inflated = io[9];
  if (!range_ok(io[0], (double)n_dst, n_dst) || !range_ok(io[1], io[2], n_key) || !range_ok(io[3], io[4], n_raw) ||
      !range_ok(type, 255, 255) || !range_ok(version, 65535, 65535) || !range_ok(ttl, 9007199254740992.0, 9007199254740992.0) ||
      !range_ok(flags, 7, 7) || ((int)flags & 4 && !range_ok(inflated, 4294967295.0, 4294967295.0))) {
    napi_throw_range_error(env, NULL, "respRestore: io holds a range outside its buffer or a value out of range");
    return NULL;
  }
  size_t at = (size_t)io[0];
  size_t kn = (size_t)io[2] - (size_t)io[1], rn = (size_t)io[4] - (size_t)io[3];
  const uint8_t *k = (const uint8_t *)key + (size_t)io[1];
  const uint8_t *r = (const uint8_t *)raw + (size_t)io[3];
  uint64_t t = (uint64_t)ttl;
  int replace = ((int)flags & 1) != 0, abs = ((int)flags & 2) != 0, lzf = ((int)flags & 4) != 0;
  size_t vn = lzf ? (size_t)inflated : rn; /* the value's length in the payload */
  size_t pn = 1 + n_pre + vn + 10;
  if (restore_len(kn, t, pn, replace, abs) > n_dst - at) {
    io[0] = -1;
    return NULL;
  }
  int64_t w = put_restore(e->fn, (uint8_t *)dst + at, k, kn, t, (uint8_t)type, (unsigned)version, (const uint8_t *)pre, n_pre, r, rn, lzf, vn, replace, abs);
  if (w < 0) {
    io[0] = -2;
    return NULL;
  }
  io[0] = (double)(at + w);
  return NULL;
}

/* A plain 6-, 14- or 32-bit RDB length at p[0, n): its value, its size in *used; -1 for anything else. */
static inline int64_t plain_len(const uint8_t *p, size_t n, size_t *used) {
  if (n == 0) return -1;
  uint8_t b = p[0];
  if ((b >> 6) == 0) {
    *used = 1;
    return b & 0x3f;
  }
  if ((b >> 6) == 1) {
    if (n < 2) return -1;
    *used = 2;
    return ((int64_t)(b & 0x3f) << 8) | p[1];
  }
  if (b == 0x80) {
    if (n < 5) return -1;
    *used = 5;
    return ((int64_t)p[1] << 24) | ((int64_t)p[2] << 16) | ((int64_t)p[3] << 8) | p[4];
  }
  return -1;
}

/* The RDB length header of n (< 2^32) at p; returns its size (rdbSaveLen). */
static inline size_t put_rdb_len(uint8_t *p, size_t n) {
  if (n < 64) {
    p[0] = (uint8_t)n;
    return 1;
  }
  if (n < 16384) {
    p[0] = (uint8_t)(0x40 | (n >> 8));
    p[1] = (uint8_t)(n & 0xff);
    return 2;
  }
  p[0] = 0x80;
  p[1] = (uint8_t)(n >> 24);
  p[2] = (uint8_t)(n >> 16);
  p[3] = (uint8_t)(n >> 8);
  p[4] = (uint8_t)n;
  return 5;
}

/* Types whose whole value is one RDB string (inflate-payload.ts ONE_BLOB). */
static inline int one_blob(unsigned t) { return t == 0 || (t >= 9 && t <= 13) || t == 16 || t == 17 || t == 20; }

/* Stream types (inflate-payload.ts STREAM). */
static inline int stream_type(unsigned t) { return t == 15 || t == 19 || t == 21 || t == 26; }

/*
 * Whether a value made of nodes has them all plain, as inflate-payload.ts inflateNodes reads them: a
 * quicklist (type 14: one string a node; 18: a container length and one string), whose last node
 * ends the value, or a stream (a master ID string and a listpack string a node, then lengths, IDs
 * and groups, which are not read). Plain: every such string has a plain length, none is LZF. Anything
 * else (an LZF node, which the JS path inflates, or a form this does not read) is left to the JS path.
 */
static int nodes_plain(const uint8_t *v, size_t n, unsigned type) {
  size_t used, p;
  int stream = stream_type(type);
  int64_t count = plain_len(v, n, &used);
  if (count < 0) return 0;
  p = used;
  for (int64_t i = 0; i < count; i++) {
    if (type == 18) {
      if (plain_len(v + p, n - p, &used) < 0) return 0;
      p += used;
    }
    for (int k = 0; k < (stream ? 2 : 1); k++) {
      int64_t len = plain_len(v + p, n - p, &used);
      if (len < 0 || (uint64_t)len > n - p - used) return 0;
      p += used + (size_t)len;
    }
  }
  return stream || p == n;
}

/*
 * respRestoreRun(dst: Uint8Array, src: Uint8Array, pos: Int32Array, exp: Float64Array, vers: Uint8Array)
 * writes the RESTOREs of a key run (src/entry/entry.ts KeyRun: six numbers a key in pos, the expiry in
 * exp, -1 for none) back to back at dst[at...], as the writer's per-key path would (restore.ts,
 * inflate-payload.ts; a unit test holds them equal). io in: [at, from, to, now, flags, protoMax,
 * budget, inflateMax]; flags 1: REPLACE, 2: a value that is one LZF string is sent inflated (up to
 * inflateMax bytes, when its payload then fits protoMax). Per key: expired (0 <= exp <= now) is
 * skipped and counted; vers[type] is the footer version, 0 for a type the target cannot take; a
 * payload above protoMax, a quicklist or stream with LZF nodes or an LZF value that does not inflate are
 * declined (the JS path handles them, and names errors). Stops before a key once `budget` bytes are
 * written. io out: [at, next, status, written, expired, need]; status 0: `to` reached; 1: key `next`
 * needs `need` bytes, more than dst has left; 2: key `next` declined; 3: budget reached.
 */
napi_value ferry_resp_restore_run_js(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  engine_t *e = (engine_t *)data;
  size_t n_dst, n_src, n_pos, n_exp, n_vers;
  void *dst, *src, *pos, *exp, *vers;
  if (argc < 5 || !typed(env, argv[0], napi_uint8_array, &n_dst, &dst) || !typed(env, argv[1], napi_uint8_array, &n_src, &src) ||
      !typed(env, argv[2], napi_int32_array, &n_pos, &pos) || !typed(env, argv[3], napi_float64_array, &n_exp, &exp) ||
      !typed(env, argv[4], napi_uint8_array, &n_vers, &vers) || n_vers < 256) {
    napi_throw_type_error(env, NULL, "respRestoreRun(dst: Uint8Array, src: Uint8Array, pos: Int32Array, exp: Float64Array, vers: Uint8Array(256))");
    return NULL;
  }
  double *io = e->io;
  size_t keys = n_pos / 6 < n_exp ? n_pos / 6 : n_exp;
  if (!range_ok(io[0], (double)n_dst, n_dst) || !range_ok(io[1], io[2], keys) || !range_ok(io[4], 3, 3) || !range_ok(io[5], 9007199254740992.0, 9007199254740992.0) ||
      !range_ok(io[6], 9007199254740992.0, 9007199254740992.0) || !range_ok(io[7], 4294967295.0, 4294967295.0)) {
    napi_throw_range_error(env, NULL, "respRestoreRun: io[0] must be in dst, io[1] <= io[2] keys in pos and exp, io[4..7] in range");
    return NULL;
  }
  uint8_t *d = (uint8_t *)dst;
  const uint8_t *s = (const uint8_t *)src;
  const int32_t *p = (const int32_t *)pos;
  const double *x = (const double *)exp;
  const uint8_t *ver = (const uint8_t *)vers;
  size_t at = (size_t)io[0], at0 = at, i = (size_t)io[1], to = (size_t)io[2];
  double now = io[3];
  int replace = ((int)io[4] & 1) != 0, inflate = ((int)io[4] & 2) != 0;
  size_t proto_max = (size_t)io[5], budget = (size_t)io[6], inflate_max = (size_t)io[7];
  double written = 0, expired = 0;
  int status = 0;
  for (; i < to; i++) {
    const int32_t *r = p + 6 * i;
    if (!range_ok(r[0], r[1], n_src) || !range_ok(r[2], r[3], n_src) || r[5] < 0 || r[5] > 255 || !(x[i] == -1 || (x[i] >= 0 && x[i] <= 9007199254740992.0))) {
      io[0] = (double)at;
      io[1] = (double)i;
      napi_throw_range_error(env, NULL, "respRestoreRun: a key or value range is outside src, or a type or expiry out of range");
      return NULL;
    }
    if (x[i] >= 0 && x[i] <= now) {
      expired++;
      continue;
    }
    if (at - at0 >= budget) {
      status = 3;
      break;
    }
    unsigned type = (unsigned)r[5], version = ver[type];
    const uint8_t *k = s + r[0], *v = s + r[2];
    size_t kn = (size_t)(r[1] - r[0]), rn = (size_t)(r[3] - r[2]);
    if (version == 0 || 1 + rn + 10 > proto_max) {
      status = 2;
      break;
    }
    /* The value as the payload carries it: as is, or one LZF string inflated behind a new header. */
    int lzf = 0;
    size_t vn = rn, n_pre = 0, cs = 0;
    uint8_t pre[5];
    if (inflate && rn > 0 && v[0] == 0xc3 && one_blob(type)) {
      size_t u1, u2;
      int64_t clen = plain_len(v + 1, rn - 1, &u1);
      int64_t len = clen < 0 ? -1 : plain_len(v + 1 + u1, rn - 1 - u1, &u2);
      if (len < 0 || 1 + u1 + u2 + (size_t)clen != rn) {
        status = 2;
        break;
      }
      cs = 1 + u1 + u2;
      n_pre = put_rdb_len(pre, (size_t)len);
      if ((size_t)len <= inflate_max && n_pre + (size_t)len + 11 <= proto_max) {
        lzf = 1;
        vn = (size_t)len;
      } else {
        n_pre = 0;
      }
    } else if (inflate && (type == 14 || type == 18 || stream_type(type)) && !nodes_plain(v, rn, type)) {
      status = 2;
      break;
    }
    uint64_t ttl = x[i] < 0 ? 0 : (uint64_t)x[i];
    int abs = x[i] >= 0;
    size_t need = restore_len(kn, ttl, 1 + n_pre + vn + 10, replace, abs);
    if (need > n_dst - at) {
      status = 1;
      io[5] = (double)need;
      break;
    }
    int64_t w = put_restore(e->fn, d + at, k, kn, ttl, (uint8_t)type, version, pre, n_pre, lzf ? v + cs : v, lzf ? rn - cs : rn, lzf, vn, replace, abs);
    if (w < 0) {
      status = 2;
      break;
    }
    at += (size_t)w;
    written++;
  }
  io[0] = (double)at;
  io[1] = (double)i;
  io[2] = (double)status;
  io[3] = written;
  io[4] = expired;
  return NULL;
}
