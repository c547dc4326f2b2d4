# Ferry's native addon: CRC-64/Jones (crc64.c), LZF decompression (lzf.c) and the import's per-key RESP encoding (resp.c). Built by scripts/build-native.mjs from npm's install step;
# when it cannot be built or loaded, src/rdb/crc64.ts uses its WebAssembly and JS engines instead.
{
  "targets": [
    {
      "target_name": "ferry_crc64",
      "sources": ["crc64.c", "lzf.c", "resp.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-Wall", "-Wextra"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
