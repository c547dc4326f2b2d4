/**
 * The one place an error becomes an HTTP answer. Status and error_code come from the catalogue
 * (src/errors/catalogue.ts); Fastify's own errors (validation, body parsing, size) are first turned
 * into FerryErrors. DCS errors use {error_code, error_msg, error_ext_msg}; gateway (APIGW.*) errors
 * use the gateway's shape with request_id.
 */
import { FerryError, asFerryError } from '../errors/ferry-error.js';

export interface ErrorAnswer {
  status: number;
  body: { error_code: string; error_msg: string; error_ext_msg: string | null; request_id?: string };
}

export function errorAnswer(err: FerryError, requestId: string): ErrorAnswer {
  const spec = err.spec;
  if (spec.dcs.startsWith('APIGW.')) {
    return { status: spec.http, body: { error_code: spec.dcs, error_msg: err.message, error_ext_msg: null, request_id: requestId } };
  }
  if (err.code === 'BAD_ARGUMENT' && err.context.field) {
    // DCS's own wording names the parameter; the detail of what is wrong goes to error_ext_msg.
    const leaf = err.context.field.split('.').pop()!.replace(/\[\d+\]$/, '');
    return { status: spec.http, body: { error_code: spec.dcs, error_msg: `Invalid ${leaf} parameter in the request.`, error_ext_msg: err.message } };
  }
  return { status: spec.http, body: { error_code: spec.dcs, error_msg: err.message, error_ext_msg: null } };
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  validation?: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }[];
  validationContext?: string;
  message: string;
}

/** Fastify/ajv errors -> FerryError; anything else unknown is INTERNAL. */
export function fromFrameworkError(e: unknown): FerryError {
  if (e instanceof FerryError) return e;
  const err = e as FastifyLikeError;
  if (err && Array.isArray(err.validation) && err.validation.length) {
    const v = err.validation[0]!;
    const path = v.instancePath.replace(/^\//, '').split('/').filter(Boolean);
    const missing = v.params.missingProperty;
    if (typeof missing === 'string') path.push(missing.replace(/^\./, ''));
    const field = path.map((p, i) => (/^\d+$/.test(p) && i > 0 ? `[${p}]` : (i ? '.' : '') + p)).join('') || (err.validationContext ?? 'body');
    return new FerryError('BAD_ARGUMENT', `${field} ${v.message ?? 'is invalid'}`, { field });
  }
  switch (err?.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new FerryError('REQUEST_EMPTY_BODY', 'Empty request body.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new FerryError('REQUEST_BAD_JSON', 'The message body contains invalid characters or is not in JSON format.');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new FerryError('REQUEST_TOO_LARGE', 'Request entity too large.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new FerryError('REQUEST_BAD_JSON', 'The message body contains invalid characters or is not in JSON format (send Content-Type: application/json).');
  }
  return asFerryError(e);
}
