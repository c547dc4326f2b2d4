/** Opens the store the configuration names (the only place that knows the adapters). */
import type { Config } from '../config/schema.js';
import type { TaskStore } from './contract.js';
import { SqliteTaskStore } from './sqlite/store.js';

export function openStore(cfg: Config['store']): TaskStore {
  switch (cfg.kind) {
    case 'sqlite':
      return new SqliteTaskStore(cfg.path);
  }
}
