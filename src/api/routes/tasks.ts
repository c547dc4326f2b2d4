/** Registers every migration-task operation (one file each). */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { batchStopMigrationTasks } from './batch-stop-migration-tasks.js';
import { createMigrationTask } from './create-migration-task.js';
import { deleteMigrationTask } from './delete-migration-task.js';
import { listMigrationTask } from './list-migration-task.js';
import { listMigrationTaskLogs } from './list-migration-task-logs.js';
import { showMigrationTask } from './show-migration-task.js';
import { showMigrationTaskStats } from './show-migration-task-stats.js';
import { stopMigrationTask } from './stop-migration-task.js';
import { stopMigrationTaskSync } from './stop-migration-task-sync.js';

export function registerTaskRoutes(app: FastifyInstance, d: ApiDeps): void {
  createMigrationTask(app, d);
  listMigrationTask(app, d);
  showMigrationTask(app, d);
  stopMigrationTask(app, d);
  stopMigrationTaskSync(app, d);
  batchStopMigrationTasks(app, d);
  deleteMigrationTask(app, d);
  showMigrationTaskStats(app, d);
  listMigrationTaskLogs(app, d);
}
