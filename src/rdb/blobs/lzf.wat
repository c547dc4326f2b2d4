;; LZF decompression (liblzf's lzf_d.c, as Redis uses it), the hot loop of both LZF paths in Ferry:
;; blobs/lzf.ts (whole buffers) and values/lzf-stream.ts (big strings, inflated piecewise). The JS
;; loop copies byte by byte; here literals and back-references move 8 bytes a step (over-copying into
;; padding that is overwritten next), and an instruction is decoded both ways with `select` instead of
;; a branch on its kind (on text a third of instructions are literals, in no pattern a branch
;; predictor learns: the selects made it ~25% faster). 2.5-3.5x the JS engine: bench/lzf.bench.ts.
;;
;; Format: a control byte c. c < 32: a literal run of c+1 bytes follows. Otherwise a back-reference of
;; length (c >> 5) + 2 (c >> 5 == 7: add the next byte), distance ((c & 31) << 8) + next byte + 1 back
;; from the output position; source and destination may overlap (run-length style).
;;
;; Memory layout (fixed: nothing here is sized by a length read from a file; 34 pages, 2.1 MiB):
;;   [0x000000, 0x100000)  input block (IN_CAP = 1 MiB), copied in by the host; 64 KiB of padding
;;                         after it absorbs the over-reads (up to 33 bytes past an instruction start)
;;   [0x110000, 0x112000)  window: up to 8 KiB of earlier output (LZF reaches 8 KiB back)
;;   [0x112000, 0x212000)  output chunk (OUT_CAP = 1 MiB); an instruction starting before its end may
;;                         write 264 bytes more, plus up to 15 bytes of over-copy: padding to 0x220000
;;
;; inflate(inLen, outPos, outCap, hist, rawLeft) -> op + (status << 24)
;;   Decodes instructions from input [0, inLen), writing output from OUT_BASE + outPos; back-references
;;   may reach `hist` bytes before OUT_BASE (the host keeps earlier output there). Stops before an
;;   instruction when the input is used up or the output reaches OUT_BASE + outCap, or at the first
;;   instruction that cannot be done. Returns op, the output position (from OUT_BASE) after the last
;;   instruction done, plus the status times 2^24, and sets the exported global ip to the input
;;   position of the instruction it stopped at (inLen when all input was used). (Packed so a short
;;   input costs one call and no global reads: ip is inLen whenever status is 0 and op < outCap.)
;;   status 0: stopped normally (input used up, or the chunk is full)
;;          1: the instruction at ip is not wholly in the input (a truncation, or: copy in more)
;;          2: the instruction at ip would write past `rawLeft` more bytes (the declared length)
;;          3: the back-reference at ip points before the window (before the start of the output)
;;          4: bad arguments (a host bug): nothing was done
;;   For a back-reference that is both 2 and 3, 3 is reported; the host orders its own messages.
;; Every read stays inside the input block and its padding, every write inside the output region and
;; its padding, whatever the input holds. Compiled to lzf-wasm.generated.ts by scripts/build-lzf-wasm.mjs.
(module
  (memory (export "mem") 34)
  (global (export "in_cap") i32 (i32.const 0x100000))
  (global (export "out_base") i32 (i32.const 0x112000))
  (global (export "out_cap") i32 (i32.const 0x100000))
  (global (export "window") i32 (i32.const 0x2000))
  (global $ipOut (export "ip") (mut i32) (i32.const 0))

  (func (export "inflate")
    (param $inLen i32) (param $outPos i32) (param $outCap i32) (param $hist i32) (param $rawLeft i32)
    (result i32)
    (local $ip i32) (local $at i32) (local $op i32) (local $end i32) (local $lo i32) (local $room i32)
    (local $rawEnd i32) (local $c i32) (local $len i32) (local $ref i32) (local $stop i32)
    (local $status i32) (local $v i64)
    (local $isLit i32) (local $isLong i32) (local $l i32) (local $b1 i32) (local $adv i32)
    ;; Arguments (unsigned): inLen <= IN_CAP, outPos <= outCap <= OUT_CAP, hist <= WINDOW.
    (if (i32.or
          (i32.or (i32.gt_u (local.get $inLen) (i32.const 0x100000))
                  (i32.gt_u (local.get $outCap) (i32.const 0x100000)))
          (i32.or (i32.gt_u (local.get $outPos) (local.get $outCap))
                  (i32.gt_u (local.get $hist) (i32.const 0x2000))))
      (then (return (i32.const 0x4000000))))
    (local.set $op (i32.add (i32.const 0x112000) (local.get $outPos)))
    (local.set $end (i32.add (i32.const 0x112000) (local.get $outCap)))
    (local.set $lo (i32.sub (i32.const 0x112000) (local.get $hist)))
    ;; Writes (over-copy aside) end at rawEnd: the declared length, and never past OUT_CAP + 264.
    (local.set $room (i32.sub (i32.const 0x100108) (local.get $outPos)))
    (local.set $rawEnd
      (i32.add (local.get $op)
        (select (local.get $rawLeft) (local.get $room) (i32.lt_u (local.get $rawLeft) (local.get $room)))))
    (block $halt
      (loop $next
        (local.set $at (local.get $ip))
        (br_if $halt (i32.ge_u (local.get $ip) (local.get $inLen)))
        (br_if $halt (i32.ge_u (local.get $op) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $ip)))
        ;; Decode both readings of the instruction and select (no branch on its kind). Bytes ip+1 and
        ;; ip+2 may lie past inLen (padding): they only matter once the length check below passed.
        (local.set $isLit (i32.lt_u (local.get $c) (i32.const 32)))
        (local.set $l (i32.shr_u (local.get $c) (i32.const 5)))
        (local.set $isLong (i32.eq (local.get $l) (i32.const 7)))
        (local.set $b1 (i32.load8_u offset=1 (local.get $ip)))
        (local.set $ref
          (i32.sub (i32.sub (local.get $op) (i32.const 1))
            (i32.or (i32.shl (i32.and (local.get $c) (i32.const 31)) (i32.const 8))
              (select (i32.load8_u offset=2 (local.get $ip)) (local.get $b1) (local.get $isLong)))))
        (local.set $len
          (select
            (i32.add (local.get $c) (i32.const 1))
            (select (i32.add (local.get $b1) (i32.const 9)) (i32.add (local.get $l) (i32.const 2)) (local.get $isLong))
            (local.get $isLit)))
        (local.set $adv
          (select (i32.add (local.get $c) (i32.const 2)) (i32.add (local.get $isLong) (i32.const 2)) (local.get $isLit)))
        (local.set $ref (select (i32.add (local.get $ip) (i32.const 1)) (local.get $ref) (local.get $isLit)))
        (local.set $stop (i32.add (local.get $op) (local.get $len)))
        ;; One test for all three failures; the cold path sorts out which (in the documented order).
        (if (i32.or
              (i32.or (i32.gt_u (i32.add (local.get $ip) (local.get $adv)) (local.get $inLen))
                      (i32.gt_u (local.get $stop) (local.get $rawEnd)))
              (i32.and (i32.eqz (local.get $isLit)) (i32.lt_u (local.get $ref) (local.get $lo))))
          (then
            (if (i32.gt_u (i32.add (local.get $ip) (local.get $adv)) (local.get $inLen))
              (then (local.set $status (i32.const 1)) (br $halt)))
            (if (i32.and (i32.eqz (local.get $isLit)) (i32.lt_u (local.get $ref) (local.get $lo)))
              (then (local.set $status (i32.const 3)) (br $halt)))
            (local.set $status (i32.const 2))
            (br $halt)))
        (local.set $ip (i32.add (local.get $ip) (local.get $adv)))
        ;; Source at least 8 bytes behind (a literal's is in the input): 8-byte steps read only bytes
        ;; already final, so they give LZF's byte-by-byte result (over-copying up to 7 bytes past stop).
        (if (i32.or (local.get $isLit) (i32.ge_u (i32.sub (local.get $op) (local.get $ref)) (i32.const 8)))
          (then
            (i64.store (local.get $op) (i64.load (local.get $ref)))
            (i64.store offset=8 (local.get $op) (i64.load offset=8 (local.get $ref)))
            (if (i32.gt_u (local.get $len) (i32.const 16))
              (then
                (local.set $op (i32.add (local.get $op) (i32.const 16)))
                (local.set $ref (i32.add (local.get $ref) (i32.const 16)))
                (loop $copy8
                  (i64.store (local.get $op) (i64.load (local.get $ref)))
                  (local.set $op (i32.add (local.get $op) (i32.const 8)))
                  (local.set $ref (i32.add (local.get $ref) (i32.const 8)))
                  (br_if $copy8 (i32.lt_u (local.get $op) (local.get $stop))))))
            (local.set $op (local.get $stop))
            (br $next)))
        (if (i32.eq (i32.sub (local.get $op) (local.get $ref)) (i32.const 1))
          (then
            ;; Distance 1 (a run of one byte, the commonest long match): fill 8 at a time.
            (local.set $v
              (i64.mul (i64.extend_i32_u (i32.load8_u (local.get $ref))) (i64.const 0x0101010101010101)))
            (loop $fill
              (i64.store (local.get $op) (local.get $v))
              (local.set $op (i32.add (local.get $op) (i32.const 8)))
              (br_if $fill (i32.lt_u (local.get $op) (local.get $stop)))))
          (else
            ;; Distance 2..7: overlapping, byte by byte.
            (loop $bytes
              (i32.store8 (local.get $op) (i32.load8_u (local.get $ref)))
              (local.set $op (i32.add (local.get $op) (i32.const 1)))
              (local.set $ref (i32.add (local.get $ref) (i32.const 1)))
              (br_if $bytes (i32.lt_u (local.get $op) (local.get $stop))))))
        (local.set $op (local.get $stop))
        (br $next)))
    (global.set $ipOut (local.get $at))
    (i32.or (i32.sub (local.get $op) (i32.const 0x112000)) (i32.shl (local.get $status) (i32.const 24)))))
