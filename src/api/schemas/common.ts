/** Path parameters and the error body shared by every route. */
import { Type } from '@sinclair/typebox';

export const ProjectParams = Type.Object({ project_id: Type.String({ minLength: 1, maxLength: 64 }) });
export const TaskParams = Type.Object({ project_id: Type.String({ minLength: 1, maxLength: 64 }), task_id: Type.String({ minLength: 1, maxLength: 64 }) });
export const InstanceParams = Type.Object({ project_id: Type.String({ minLength: 1, maxLength: 64 }), instance_id: Type.String({ minLength: 1, maxLength: 128 }) });

export const ErrorBody = Type.Object(
  {
    error_code: Type.String({ examples: ['DCS.4133'] }),
    error_msg: Type.String(),
    error_ext_msg: Type.Union([Type.String(), Type.Null()]),
    request_id: Type.Optional(Type.String()),
  },
  { description: 'DCS v2 error body; APIGW.* errors add request_id.' },
);

/** Error responses every route may give (for the OpenAPI document). */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  404: ErrorBody,
  500: ErrorBody,
};

export const Pagination = {
  offset: Type.Integer({ minimum: 0, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
};
