/**
 * Several bulk-string arguments already encoded as RESP (`$<len>\r\n<bytes>\r\n` each), as pieces:
 * what a listpack's elements become when a writer asks for them that way (blobs/listpack.ts
 * `listpackResp`), so a big list's elements need no Buffer and no argument slot each. The encoder
 * counts `count` arguments for it and writes the pieces as they are.
 */
export class RespArgs {
  constructor(
    readonly parts: Buffer[],
    /** Arguments the pieces hold. */
    readonly count: number,
    /** Their encoded length. */
    readonly bytes: number,
  ) {}
}
