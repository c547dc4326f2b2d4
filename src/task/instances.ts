/** The instance registry: configured Redis targets, each bound to one project. */
import type { InstanceConfig } from '../config/schema.js';
import { FerryError } from '../errors/ferry-error.js';

export class InstanceRegistry {
  constructor(private readonly instances: readonly InstanceConfig[]) {}

  list(projectId: string): InstanceConfig[] {
    return this.instances.filter((i) => i.project === projectId);
  }

  /** Any project's instance by id (ids are unique across the configuration), for worker-side limits. */
  byId(id: string): InstanceConfig | undefined {
    return this.instances.find((i) => i.id === id);
  }

  /** The instance, only if it belongs to the project (another project's id is "not found"). */
  get(projectId: string, id: string): InstanceConfig {
    const inst = this.instances.find((i) => i.id === id && i.project === projectId);
    if (!inst) throw new FerryError('INSTANCE_NOT_FOUND', 'This DCS instance does not exist.');
    return inst;
  }
}
