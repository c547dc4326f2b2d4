/** Instance registry views (a subset of DCS ShowInstance / ListInstances fields; never a password). */
import { Type } from '@sinclair/typebox';

const Str = Type.String();

export const InstanceOut = Type.Object({
  instance_id: Str,
  name: Str,
  engine: Str,
  engine_version: Str,
  status: Str,
  cache_mode: Str,
  ip: Str,
  port: Type.Integer(),
  addrs: Str,
  no_password_access: Str,
  enable_ssl: Type.Boolean(),
  project_id: Str,
});

export const InstanceList = Type.Object({ instance_num: Type.Integer(), instances: Type.Array(InstanceOut) });
