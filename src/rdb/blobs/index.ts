/**
 * The RDB inner-structure decoders: pure functions over Buffers that turn the compact encodings
 * (LZF, ziplist, listpack, intset, zipmap) into their elements, or throw RDB_CORRUPT naming the
 * absolute offset. The streaming parser in src/rdb/ calls these; they never do I/O.
 */
export { type BlobContext } from './context.js';
export { lzfDecompress, LZF_MAX_EXPANSION } from './lzf.js';
export { ziplistEntries } from './ziplist.js';
export { listpackEntries, listpackValues, listpackResp } from './listpack.js';
export { intsetMembers } from './intset.js';
export { zipmapPairs } from './zipmap.js';
export { readRdbLengthAt, readRdbStringAt, type AtResult } from './rdb-string.js';
