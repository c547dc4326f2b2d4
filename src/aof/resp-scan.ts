/**
 * A push-style scan of an AOF's RESP part that checks what the reader would refuse (framing,
 * SELECT, MULTI/EXEC balance, refused commands, a truncated tail) without building anything: it
 * keeps a small state across chunks (at most 32 bytes of a command name and 16 of its first
 * argument), skips argument bytes without buffering them, and so runs in memory bounded by nothing
 * but the chunk it is handed. Its errors are the reader's (resp-command.ts, aof-rules.ts), with the
 * same codes, messages and offsets; test/unit/aof-reader.test.ts compares the two on every cut.
 */
import { FerryError } from '../errors/ferry-error.js';
import { DEFAULT_RESP_LIMITS, type RespLimits } from './resp-command.js';
import { refusedCommand } from './refused.js';
import { isDbNumber, badSelect, nestedMulti, unopened, refusedError, acceptsTruncated, endOfInput, truncatedError } from './aof-rules.js';

export interface RespScanOptions {
  truncated?: 'error' | 'load';
  isLast?: boolean;
  refused?: 'error' | 'skip';
  limits?: Partial<RespLimits>;
}

const STAR = 0x2a;
const DOLLAR = 0x24;
const HASH = 0x23;
const CR = 0x0d;
const LF = 0x0a;

// Where the scan is: between items, in an annotation, in a `*N`/`$N` line's digits or its LF, at
// the start of a `$N` line, in an argument's bytes, or at the CRLF after them (both bytes are read
// before they are judged, as the reader does).
const ITEM = 0;
const ANNOTATION = 1;
const DIGITS = 2;
const LINE_LF = 3;
const DATA = 4;
const CRLF_1 = 5;
const CRLF_2 = 6;
const ARG_LINE = 7;

/** The longest command name the reader looks up (longer ones match nothing). */
const NAME_MAX = 32;
/** Enough of the first argument to judge SELECT's db number (9 digits) and `SCRIPT LOAD`. */
const ARG1_MAX = 16;

export class RespScanner {
  private readonly lim: RespLimits;
  private readonly acceptTruncated: boolean;
  private state = ITEM;
  /** Absolute offset of the next byte to scan. */
  private offset: number;
  /** Absolute offset where the current item started (the reader's last commit). */
  private itemStart: number;
  private annotationLen = 0;
  // The `*N` / `$N` line being read.
  private lineIsCount = true;
  private lineStart = 0;
  private n = 0;
  private digits = 0;
  // The command being read.
  private argc = 0;
  private argIndex = 0;
  private dataLeft = 0;
  private crlfAt = 0;
  private crlfFirst = 0;
  private readonly name = Buffer.alloc(NAME_MAX);
  private nameLen = 0;
  private readonly arg1 = Buffer.alloc(ARG1_MAX);
  private arg1Len = 0;
  // The last command name seen and what it is, so a run of the same command decodes nothing.
  private readonly lastName = Buffer.alloc(NAME_MAX);
  private lastNameLen = -1;
  private lastLower = '';
  private lastMaybeRefused = false;
  private multiAt: number | null = null;

  constructor(
    private readonly file: string,
    startOffset: number,
    private readonly opts: RespScanOptions = {},
  ) {
    this.lim = { ...DEFAULT_RESP_LIMITS, ...opts.limits };
    this.acceptTruncated = acceptsTruncated(opts);
    this.offset = startOffset;
    this.itemStart = startOffset;
  }

  private corrupt(message: string, offset: number): FerryError {
    return new FerryError('AOF_CORRUPT', message, { file: this.file, offset });
  }

  private what(): string {
    return this.lineIsCount ? 'argument count' : 'argument length';
  }

  private startLine(isCount: boolean, at: number, byte: number): void {
    this.lineIsCount = isCount;
    this.lineStart = at;
    const prefix = isCount ? STAR : DOLLAR;
    if (byte !== prefix) {
      throw this.corrupt(`expected '${String.fromCharCode(prefix)}' (${this.what()}), found byte 0x${byte.toString(16).padStart(2, '0')}`, at);
    }
    this.n = 0;
    this.digits = 0;
    this.state = DIGITS;
  }

  /** Scans one chunk. Throws the reader's error as soon as the bytes so far decide it. */
  push(buf: Buffer): void {
    const end = buf.length;
    const base = this.offset;
    let p = 0;
    while (p < end) {
      switch (this.state) {
        case ITEM: {
          this.itemStart = base + p;
          const b = buf[p]!;
          if (b === HASH) {
            this.annotationLen = 0;
            this.state = ANNOTATION;
            break; // the '#' counts toward the annotation's length
          }
          this.startLine(true, base + p, b);
          p++;
          break;
        }
        case ANNOTATION: {
          const lf = buf.indexOf(LF, p);
          const upTo = lf < 0 ? end : lf;
          this.annotationLen += upTo - p;
          if (this.annotationLen > this.lim.maxAnnotation) throw this.corrupt(`annotation line longer than ${this.lim.maxAnnotation} bytes`, this.itemStart);
          if (lf < 0) {
            p = end;
          } else {
            p = lf + 1;
            this.state = ITEM;
          }
          break;
        }
        case DIGITS: {
          let c = buf[p]!;
          if (c >= 0x30 && c <= 0x39) {
            const max = this.lineIsCount ? this.lim.maxArgs : this.lim.maxArgBytes;
            let n = this.n;
            do {
              n = n * 10 + (c - 0x30);
              this.digits++;
              if (n > max) throw this.corrupt(`${this.what()} above the limit of ${max}`, this.lineStart);
              c = buf[++p]!;
            } while (p < end && c >= 0x30 && c <= 0x39);
            this.n = n;
            break;
          }
          if (c === CR && this.digits > 0) {
            this.state = LINE_LF;
            p++;
            break;
          }
          throw this.corrupt(`bad ${this.what()} line`, this.lineStart);
        }
        case LINE_LF: {
          if (buf[p] !== LF) throw this.corrupt(`bad ${this.what()} line`, this.lineStart);
          p++;
          if (this.lineIsCount) {
            if (this.n === 0) throw this.corrupt('command with zero arguments', base + p);
            this.argc = this.n;
            this.argIndex = 0;
            this.state = ARG_LINE;
          } else {
            this.dataLeft = this.n;
            if (this.argIndex === 0) this.nameLen = this.n;
            else if (this.argIndex === 1) this.arg1Len = this.n;
            this.state = DATA;
          }
          break;
        }
        case ARG_LINE: {
          this.startLine(false, base + p, buf[p]!);
          p++;
          break;
        }
        case DATA: {
          const take = Math.min(this.dataLeft, end - p);
          if (take > 0) {
            // Byte loops, not Buffer#copy: these pieces are a few bytes, and a native call per
            // command name was a third of this scan's time.
            if (this.argIndex === 0) {
              if (this.nameLen <= NAME_MAX) {
                const dst = this.name;
                for (let i = 0, d = this.nameLen - this.dataLeft; i < take; i++) dst[d + i] = buf[p + i]!;
              }
            } else if (this.argIndex === 1) {
              const done = this.arg1Len - this.dataLeft;
              if (done < ARG1_MAX) {
                const dst = this.arg1;
                const n = Math.min(take, ARG1_MAX - done);
                for (let i = 0; i < n; i++) dst[done + i] = buf[p + i]!;
              }
            }
            this.dataLeft -= take;
            p += take;
          }
          if (this.dataLeft === 0) this.state = CRLF_1;
          break;
        }
        case CRLF_1: {
          this.crlfAt = base + p;
          this.crlfFirst = buf[p]!;
          this.state = CRLF_2;
          p++;
          break;
        }
        case CRLF_2: {
          const second = buf[p]!;
          p++;
          if (this.crlfFirst !== CR || second !== LF) throw this.corrupt('argument not followed by CRLF', this.crlfAt);
          this.argIndex++;
          if (this.argIndex < this.argc) {
            this.state = ARG_LINE;
          } else {
            this.state = ITEM;
            this.command(this.itemStart);
          }
          break;
        }
      }
    }
    this.offset = base + end;
  }

  /** A whole command was framed: the checks the reader's `handle` makes. */
  private command(offset: number): void {
    const name = this.commandName();
    switch (name) {
      case 'select':
        if (this.argc !== 2 || this.arg1Len > ARG1_MAX || !isDbNumber(this.arg1.subarray(0, this.arg1Len))) throw badSelect(this.file, offset);
        return;
      case 'multi':
        if (this.multiAt !== null) throw nestedMulti(this.file, offset, this.multiAt);
        this.multiAt = offset;
        return;
      case 'exec':
      case 'discard':
        if (this.multiAt === null) throw unopened(name === 'exec' ? 'EXEC' : 'DISCARD', this.file, offset);
        this.multiAt = null;
        return;
    }
    if (!this.lastMaybeRefused || this.opts.refused === 'skip') return;
    const argv = [this.name.subarray(0, this.nameLen)];
    if (this.argc > 1) argv.push(this.arg1.subarray(0, Math.min(this.arg1Len, ARG1_MAX)));
    const refused = refusedCommand(name, argv);
    if (refused !== null) throw refusedError(refused, this.file, offset);
  }

  /** The command's lower-case name as the reader computes it ('' past 32 bytes), reusing the last one. */
  private commandName(): string {
    const len = this.nameLen;
    if (len > NAME_MAX) {
      this.lastNameLen = -1;
      this.lastMaybeRefused = false;
      return '';
    }
    if (len === this.lastNameLen) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (this.name[i] !== this.lastName[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastLower;
    }
    this.name.copy(this.lastName, 0, 0, len);
    this.lastNameLen = len;
    this.lastLower = this.name.toString('latin1', 0, len).toLowerCase();
    this.lastMaybeRefused = refusedCommand(this.lastLower, []) !== null;
    return this.lastLower;
  }

  /** The input ended: a truncated tail or open MULTI is the reader's AOF_TRUNCATED unless accepted. */
  finish(): void {
    const tail = this.state === ITEM ? 0 : this.offset - this.itemStart;
    const end = endOfInput(tail, this.multiAt, this.itemStart);
    if (end && !this.acceptTruncated) throw truncatedError(this.file, end, this.opts.isLast);
  }
}
