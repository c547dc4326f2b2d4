/** ListInstances / ShowInstance over the registry: GET /v2/{project_id}/instances[/{instance_id}]. */
import type { FastifyInstance } from 'fastify';
import type { InstanceConfig } from '../../config/schema.js';
import { targetFromInstance } from '../../writer/target-spec.js';
import type { TargetInfo } from '../../writer/probe.js';
import type { ApiDeps } from '../app.js';
import { instanceOut } from '../present.js';
import { errorResponses, InstanceParams, ProjectParams } from '../schemas/common.js';
import { InstanceList, InstanceOut } from '../schemas/instances.js';

const PROBE_PARALLEL = 16;

/** Status and version come from a short live probe; an instance that does not answer reads ERROR. */
async function probe(d: ApiDeps, i: InstanceConfig): Promise<TargetInfo | null> {
  try {
    return await d.engine.probeTarget({ ...targetFromInstance(i), connectTimeoutMs: 1000 });
  } catch {
    return null;
  }
}

export function registerInstanceRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.get<{ Params: { project_id: string } }>(
    '/v2/:project_id/instances',
    { schema: { operationId: 'ListInstances', tags: ['instance'], params: ProjectParams, response: { 200: InstanceList, ...errorResponses } } },
    async (req) => {
      const list = d.registry.list(req.params.project_id);
      // Probe a bounded number at a time: a registry of hundreds must not open hundreds of sockets at once.
      const infos: (TargetInfo | null)[] = new Array(list.length).fill(null);
      let next = 0;
      const worker = async () => {
        while (next < list.length) {
          const k = next++;
          infos[k] = await probe(d, list[k]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PROBE_PARALLEL, list.length) }, worker));
      const out = list.map((i, k) => instanceOut(i, infos[k]!));
      return { instance_num: out.length, instances: out };
    },
  );
  app.get<{ Params: { project_id: string; instance_id: string } }>(
    '/v2/:project_id/instances/:instance_id',
    { schema: { operationId: 'ShowInstance', tags: ['instance'], params: InstanceParams, response: { 200: InstanceOut, ...errorResponses } } },
    async (req) => {
      const i = d.registry.get(req.params.project_id, req.params.instance_id);
      return instanceOut(i, await probe(d, i));
    },
  );
}
