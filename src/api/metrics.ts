/**
 * Prometheus metrics (prom-client) on a registry of our own (never the global default, so two apps
 * in one test process do not collide): tasks by status (read from the store at scrape time), keys and
 * bytes imported, task failures by code, HTTP answers by route and status.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { TaskStore } from '../store/contract.js';
import type { TaskMetrics } from '../task/runner.js';

export interface Metrics extends TaskMetrics {
  registry: Registry;
  httpAnswer(route: string, method: string, status: number): void;
}

export function createMetrics(store: TaskStore, opts: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'ferry_' });
  new Gauge({
    name: 'ferry_tasks',
    help: 'Migration tasks by status (deleted tasks excluded)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await store.countByStatus();
      for (const s of ['MIGRATING', 'TERMINATING', 'TERMINATED', 'SUCCESS', 'FAILED']) this.set({ status: s }, counts[s] ?? 0);
    },
  });
  const keys = new Counter({ name: 'ferry_imported_keys_total', help: 'Keys (and AOF commands) written to targets', registers: [registry] });
  const bytes = new Counter({ name: 'ferry_imported_bytes_total', help: 'Backup input bytes read by imports', registers: [registry] });
  const finished = new Counter({ name: 'ferry_tasks_finished_total', help: 'Tasks that reached a final status', labelNames: ['status'], registers: [registry] });
  const errors = new Counter({ name: 'ferry_task_errors_total', help: 'Tasks that failed, by error code', labelNames: ['code'], registers: [registry] });
  const http = new Counter({ name: 'ferry_http_responses_total', help: 'API answers by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
  return {
    registry,
    progress(dk, db) {
      if (dk > 0) keys.inc(dk);
      if (db > 0) bytes.inc(db);
    },
    finished(status, code) {
      finished.inc({ status });
      if (status === 'FAILED') errors.inc({ code: code ?? 'unknown' });
    },
    httpAnswer(route, method, status) {
      http.inc({ route, method, status: String(status) });
    },
  };
}
