/**
 * Writes a task's log entries (the DCS ListMigrationTaskLogs feed). Engine levels fold onto DCS's
 * two (warn -> INFO, debug dropped), and one run writes at most MAX_PER_RUN entries so a file with
 * a million bad keys cannot flood the store; the last entry says how many were left out. Writes are
 * chained one after another (a pooled store could otherwise reorder them); `flush()` waits for them.
 */
import type { TaskStore } from '../store/contract.js';
import type { LogLevel } from '../pipeline/types.js';

const MAX_PER_RUN = 1000;

export class TaskLogWriter {
  private written = 0;
  private dropped = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: TaskStore,
    private readonly taskId: string,
    private readonly now: () => number,
    /** A log line that could not be stored (the store is down): reported, never thrown into the import. */
    private readonly onError: (err: unknown) => void = () => {},
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

  /** Always written (even past the cap): final lines matter most. Resolves once everything is stored. */
  final(level: 'INFO' | 'ERROR', code: string, message: string): Promise<void> {
    if (this.dropped) this.append('INFO', 'LOGS_TRUNCATED', `${this.dropped} more log entries were left out`, []);
    this.dropped = 0;
    this.append(level, code, message, []);
    return this.flush();
  }

  flush(): Promise<void> {
    return this.chain;
  }

  private write(level: 'INFO' | 'ERROR', code: string, message: string, keyword: string[]): void {
    this.written++;
    this.append(level, code, message, keyword);
  }

  private append(level: 'INFO' | 'ERROR', code: string, message: string, keyword: string[]): void {
    const entry = { task_id: this.taskId, created_at: this.now(), level, code, message, keyword };
    this.chain = this.chain.then(() => this.store.appendLog(entry)).catch(this.onError);
  }
}
