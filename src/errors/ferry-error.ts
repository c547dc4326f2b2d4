import { CATALOGUE, type ErrorCode, type ErrorSpec } from './catalogue.js';

/** Where in the input or request a failure was found; every part optional. */
export interface ErrorContext {
  file?: string;
  offset?: number;
  key?: string;
  field?: string;
  expected?: string;
  [extra: string]: unknown;
}

/**
 * The single error type Ferry raises on purpose. `code` is stable and looked up in the catalogue;
 * the message is for humans and already names the file/offset/key/field where known.
 */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(withContext(message, context), options);
    this.name = 'FerryError';
    this.code = code;
    this.context = context;
  }

  get spec(): ErrorSpec {
    return CATALOGUE[this.code];
  }

  get retryable(): boolean {
    return CATALOGUE[this.code].retryable;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.context };
  }
}

function withContext(message: string, ctx: ErrorContext): string {
  const where: string[] = [];
  if (ctx.file !== undefined) where.push(`file ${ctx.file}`);
  if (ctx.offset !== undefined) where.push(`offset ${ctx.offset}`);
  if (ctx.key !== undefined) where.push(`key ${JSON.stringify(ctx.key)}`);
  if (ctx.field !== undefined) where.push(`field ${ctx.field}`);
  return where.length ? `${message} (${where.join(', ')})` : message;
}

/** Wraps anything thrown into a FerryError, keeping FerryErrors as they are. */
export function asFerryError(err: unknown, fallback: ErrorCode = 'INTERNAL'): FerryError {
  if (err instanceof FerryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FerryError(fallback, message, {}, { cause: err });
}

export function isFerryError(err: unknown, code?: ErrorCode): err is FerryError {
  return err instanceof FerryError && (code === undefined || err.code === code);
}
