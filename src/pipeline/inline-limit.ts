/**
 * The parser's inline limit for imports (`parseRdb`'s `inlineLimit`): values up to this size are
 * handed to the writer whole and sent as one RESTORE of their raw bytes, bigger ones are streamed
 * and rewritten as commands.
 *
 * Why larger than the parser's default (4 MiB, which bounds `ferry inspect`): on the mixed bench
 * dataset the four keys between 4 and 12 MB (an 11.4 MB hash, a 9.9 MB list, a 4.7 MB zset...)
 * cost ~2.9 s of CPU as streamed rewrites; sent raw as RESTOREs they cost a copy (import CPU
 * 10.7 s -> 7.8 s). 32 MiB (which also takes the dataset's 30.7 MB string) measured 5.3 s of
 * CPU but 204-222 MB peak RSS (the parser's buffer briefly holds the value twice while joining
 * chunks). 16 MiB: 182-219 MB in single runs, 204 and 214 MB (max of 3) in bench/import.bench.ts,
 * against 199 MB at 4 MiB: about +10 MB, at or over the 200 MB target, which the parser's join
 * (ByteSource.append) would have to stop doubling to meet. A target whose proto-max-bulk-len is
 * smaller still gets a rewrite (the writer checks each payload).
 */
export const IMPORT_INLINE_LIMIT = 16 * 1024 * 1024;

/**
 * Largest string value (with its RDB length header) the parser hands an import as part of a string
 * run (RdbParseOptions.stringRuns) instead of an Entry: the writer's MSET limit, since runs go into
 * MSET batches. Measured on the mixed bench file (740k such strings of 1.1M keys): an Entry, two
 * Buffer views and the per-entry dispatch were ~40% of the allocation and a sixth of Ferry's CPU.
 */
export const IMPORT_STRING_RUN_MAX = 4096;
