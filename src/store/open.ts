/** Opens the store the configuration names (the only place that knows the adapters). */
import type { Config } from '../config/schema.js';
import type { TaskStore } from './contract.js';
import { PgTaskStore } from './postgres/store.js';
import { SqliteTaskStore } from './sqlite/store.js';

export async function openStore(cfg: Config['store']): Promise<TaskStore> {
  switch (cfg.kind) {
    case 'sqlite':
      return new SqliteTaskStore(cfg.path);
    case 'postgres':
      return PgTaskStore.open(cfg.url);
  }
}
