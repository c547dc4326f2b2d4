/**
 * Writes a task's log entries (the DCS ListMigrationTaskLogs feed). Engine levels fold onto DCS's
 * two (warn -> INFO, debug dropped), and one run writes at most MAX_PER_RUN entries so a file with
 * a million bad keys cannot flood the store; the last entry says how many were left out.
 */
import type { TaskStore } from '../store/contract.js';
import type { LogLevel } from '../pipeline/types.js';

const MAX_PER_RUN = 1000;

export class TaskLogWriter {
  private written = 0;
  private dropped = 0;

  constructor(
    private readonly store: TaskStore,
    private readonly taskId: string,
    private readonly now: () => number,
  ) {}

  info(code: string, message: string, keyword: string[] = []): void {
    this.write('INFO', code, message, keyword);
  }

  error(code: string, message: string, keyword: string[] = []): void {
    this.write('ERROR', code, message, keyword);
  }

  /** The engine's `log` hook. */
  fromEngine(level: LogLevel, code: string, message: string): void {
    if (level === 'debug') return;
    if (this.written >= MAX_PER_RUN) {
      this.dropped++;
      return;
    }
    this.write(level === 'error' ? 'ERROR' : 'INFO', code, message, []);
  }

  /** Always written (even past the cap): final lines matter most. */
  final(level: 'INFO' | 'ERROR', code: string, message: string): void {
    if (this.dropped) this.store.appendLog({ task_id: this.taskId, created_at: this.now(), level: 'INFO', code: 'LOGS_TRUNCATED', message: `${this.dropped} more log entries were left out`, keyword: [] });
    this.dropped = 0;
    this.store.appendLog({ task_id: this.taskId, created_at: this.now(), level, code, message, keyword: [] });
  }

  private write(level: 'INFO' | 'ERROR', code: string, message: string, keyword: string[]): void {
    this.written++;
    this.store.appendLog({ task_id: this.taskId, created_at: this.now(), level, code, message, keyword });
  }
}
