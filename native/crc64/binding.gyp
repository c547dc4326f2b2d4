# Ferry's native addon: CRC-64/Jones (crc64.c) and LZF decompression (lzf.c). Built by scripts/build-native.mjs from npm's install step;
# when it cannot be built or loaded, src/rdb/crc64.ts uses its WebAssembly and JS engines instead.
{
  "targets": [
    {
      "target_name": "ferry_crc64",
      "sources": ["crc64.c", "lzf.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-Wall", "-Wextra"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
