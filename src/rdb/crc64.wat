;; CRC-64/Jones (Redis), slicing-by-8 over 64-bit words: the hot loop of RDB checksums and RESTORE
;; payloads. JavaScript has no 64-bit integer arithmetic short of BigInt, so the JS version needs two
;; 32-bit halves and 16 table lookups per 8 bytes; here it is 8 lookups and native i64 xors/shifts.
;; Memory layout: [0, 16384) eight 256-entry i64 tables (written by the host), [65536, 131072) the
;; input block the host copies in. Compiled to src/rdb/crc64-wasm.generated.ts by scripts/build-crc64-wasm.mjs.
(module
  (memory (export "mem") 2)
  (func (export "update") (param $ptr i32) (param $len i32) (param $crc i64) (result i64)
    (local $end i32) (local $end8 i32) (local $c i64)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $end8 (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const -8))))
    (local.set $c (local.get $crc))
    (block $done8
      (loop $words
        (br_if $done8 (i32.ge_u (local.get $ptr) (local.get $end8)))
        (local.set $c (i64.xor (local.get $c) (i64.load (local.get $ptr))))
        (local.set $c
          (i64.xor
            (i64.xor
              (i64.xor
                (i64.load offset=14336 (i32.shl (i32.wrap_i64 (i64.and (local.get $c) (i64.const 255))) (i32.const 3)))
                (i64.load offset=12288 (i32.shl (i32.wrap_i64 (i64.and (i64.shr_u (local.get $c) (i64.const 8)) (i64.const 255))) (i32.const 3))))
              (i64.xor
                (i64.load offset=10240 (i32.shl (i32.wrap_i64 (i64.and (i64.shr_u (local.get $c) (i64.const 16)) (i64.const 255))) (i32.const 3)))
                (i64.load offset=8192 (i32.shl (i32.wrap_i64 (i64.and (i64.shr_u (local.get $c) (i64.const 24)) (i64.const 255))) (i32.const 3)))))
            (i64.xor
              (i64.xor
                (i64.load offset=6144 (i32.shl (i32.wrap_i64 (i64.and (i64.shr_u (local.get $c) (i64.const 32)) (i64.const 255))) (i32.const 3)))
                (i64.load offset=4096 (i32.shl (i32.wrap_i64 (i64.and (i64.shr_u (local.get $c) (i64.const 40)) (i64.const 255))) (i32.const 3))))
              (i64.xor
                (i64.load offset=2048 (i32.shl (i32.wrap_i64 (i64.and (i64.shr_u (local.get $c) (i64.const 48)) (i64.const 255))) (i32.const 3)))
                (i64.load (i32.shl (i32.wrap_i64 (i64.shr_u (local.get $c) (i64.const 56))) (i32.const 3)))))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 8)))
        (br $words)))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $c
          (i64.xor
            (i64.load (i32.shl (i32.wrap_i64 (i64.and (i64.xor (local.get $c) (i64.load8_u (local.get $ptr))) (i64.const 255))) (i32.const 3)))
            (i64.shr_u (local.get $c) (i64.const 8))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $bytes)))
    (local.get $c)))
