/**
 * Runs tasks like BullMQ's worker: a bounded number at once, each claimed with a lease that a
 * heartbeat renews, each with its own AbortController. Every status change is conditional in the
 * store, so a stop racing an ending import resolves to exactly one final state. A sweeper picks up
 * tasks whose runner died (lease expired): TERMINATING ones become TERMINATED, MIGRATING ones are
 * re-run from the start (imports are idempotent) or marked FAILED once attempts run out.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { BucketConfig } from '../config/schema.js';
import { asFerryError, FerryError } from '../errors/ferry-error.js';
import type { ImportProgress, ImportSummary } from '../pipeline/types.js';
import type { TaskProgress, TaskRecord, TaskStore } from '../store/contract.js';
import { targetFromInstance } from '../writer/target-spec.js';
import type { ImportPlan, TaskEngine } from './engine.js';
import type { InstanceRegistry } from './instances.js';
import { TaskLogWriter } from './task-log.js';

/** How often running progress is written to the store (stats read it from there). */
const PROGRESS_SAVE_MS = 1000;

export interface TaskMetrics {
  progress(deltaKeys: number, deltaBytes: number): void;
  finished(status: 'SUCCESS' | 'FAILED' | 'TERMINATED', errorCode: string | null): void;
}

export interface RunnerOptions {
  store: TaskStore;
  engine: TaskEngine;
  registry: InstanceRegistry;
  buckets: readonly BucketConfig[];
  concurrency: number;
  leaseMs: number;
  maxAttempts: number;
  onRestart: 'rerun' | 'fail';
  /** Identifies this process in leases: `host:pid:random` (dead local owners are detected by pid). */
  owner: string;
  logger: Logger;
  metrics?: TaskMetrics;
  now?: () => number;
}

interface Running {
  controller: AbortController;
  /** Why the controller fired: a user stop, or this process shutting down. */
  reason: 'stop' | 'shutdown' | null;
  done: Promise<void>;
}

export class TaskRunner {
  private readonly running = new Map<string, Running>();
  private readonly queue: string[] = [];
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: RunnerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Recovers what a previous process left, then keeps sweeping for expired leases. */
  start(): void {
    this.sweep();
    this.sweeper = setInterval(() => this.sweep(), Math.max(500, Math.floor(this.o.leaseMs / 2)));
    this.sweeper.unref();
  }

  enqueue(id: string): void {
    if (this.closed || this.running.has(id) || this.queue.includes(id)) return;
    this.queue.push(id);
    this.pump();
  }

  isRunningHere(id: string): boolean {
    return this.running.has(id);
  }

  /** After the store moved the task to TERMINATING: abort it here, or finish the stop if nobody runs it. */
  stop(id: string): void {
    const r = this.running.get(id);
    if (r) {
      r.reason = 'stop';
      r.controller.abort(new FerryError('ABORTED', 'the task was stopped on request'));
      return;
    }
    const qi = this.queue.indexOf(id);
    if (qi >= 0) this.queue.splice(qi, 1);
    const t = this.o.store.getTaskById(id);
    if (t && t.status === 'TERMINATING' && (t.owner === null || (t.lease_until ?? 0) < this.now() || t.owner === this.o.owner)) {
      this.finishStop(t.id, null);
    }
  }

  /** Resolves when the task is no longer running in this process (bounded by the caller). */
  async settled(id: string): Promise<void> {
    await this.running.get(id)?.done;
  }

  /**
   * Graceful shutdown: stop taking work, abort running imports and release their leases so the next
   * start re-runs them (a shutdown is not a user stop, so they stay MIGRATING).
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.queue.length = 0;
    for (const r of this.running.values()) {
      if (!r.reason) r.reason = 'shutdown';
      r.controller.abort(new FerryError('ABORTED', 'the service is shutting down'));
    }
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private sweep(): void {
    if (this.closed) return;
    let orphans: TaskRecord[];
    try {
      this.expireDeadLocalOwners();
      orphans = this.o.store.orphans(this.now());
    } catch (err) {
      this.o.logger.error({ err }, 'task sweeper could not read the store');
      return;
    }
    for (const t of orphans) {
      if (this.running.has(t.id) || this.queue.includes(t.id)) continue;
      if (t.status === 'TERMINATING') {
        this.finishStop(t.id, null);
        continue;
      }
      if (t.owner !== null) {
        // A runner held it and is gone: the process died mid-import.
        const log = new TaskLogWriter(this.o.store, t.id, this.now);
        if (this.o.onRestart === 'fail' || t.attempt >= this.o.maxAttempts) {
          const why =
            this.o.onRestart === 'fail'
              ? 'the service stopped while the task was running (tasks.on_restart is "fail"); data written so far was kept'
              : `the service stopped while the task was running, and ${t.attempt} runs were started (tasks.max_attempts); data written so far was kept`;
          const err = new FerryError('TASK_INTERRUPTED', why);
          const done = this.o.store.transition(t.id, ['MIGRATING'], 'FAILED', { error_code: err.spec.dcs, error_message: err.message, owner: null, lease_until: null, finished_at: this.now() }, this.now());
          if (done) {
            log.final('ERROR', err.spec.dcs, err.message);
            this.o.metrics?.finished('FAILED', err.spec.dcs);
          }
          continue;
        }
        log.info('MIGRATION_RESUMED', `the service stopped while the task was running; re-running the import from the start (run ${t.attempt + 1} of at most ${this.o.maxAttempts})`);
      }
      this.enqueue(t.id);
    }
  }

  /**
   * A runner on this host whose process is gone (kill -9, OOM) cannot renew its lease, but waiting
   * for the lease to lapse would leave its tasks MIGRATING for that long after a restart: expire
   * those leases now. Owners on other hosts are left to their lease.
   */
  private expireDeadLocalOwners(): void {
    for (const t of this.o.store.orphans(Number.MAX_SAFE_INTEGER)) {
      if (!t.owner || t.owner === this.o.owner || (t.lease_until ?? 0) < this.now()) continue;
      const [host, pid] = t.owner.split(':');
      if (host !== hostname() || !pid || !/^\d+$/.test(pid)) continue;
      // Our own pid under another owner string is an earlier incarnation (a container's pid 1).
      if (Number(pid) !== process.pid && processAlive(Number(pid))) continue;
      this.o.store.transition(t.id, [t.status], t.status, { lease_until: 0 }, this.now());
    }
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.o.concurrency && this.queue.length) {
      const id = this.queue.shift()!;
      const task = this.o.store.claim(id, this.o.owner, this.now() + this.o.leaseMs, this.now());
      if (!task) continue; // stopped, deleted, or held by a live runner
      const r: Running = { controller: new AbortController(), reason: null, done: Promise.resolve() };
      this.running.set(id, r);
      r.done = this.execute(task, r)
        .catch((err: unknown) => this.o.logger.error({ err, task_id: id }, 'task runner failed'))
        .finally(() => {
          this.running.delete(id);
          this.pump();
        });
    }
  }

  private async execute(task: TaskRecord, r: Running): Promise<void> {
    const log = new TaskLogWriter(this.o.store, task.id, this.now);
    let progress: TaskProgress | null = task.progress;
    let lastKeys = 0;
    let lastBytes = 0;
    let lastSaved = 0;
    const heartbeat = setInterval(() => {
      let held = false;
      try {
        held = this.o.store.heartbeat(task.id, this.o.owner, this.now() + this.o.leaseMs, progress, this.now());
      } catch (err) {
        this.o.logger.warn({ err, task_id: task.id }, 'heartbeat failed');
        return;
      }
      if (!held && !r.controller.signal.aborted) {
        const cur = this.o.store.getTaskById(task.id);
        r.reason = cur?.status === 'TERMINATING' ? 'stop' : 'shutdown';
        r.controller.abort(new FerryError('ABORTED', 'the task is no longer held by this runner'));
      }
    }, Math.max(200, Math.floor(this.o.leaseMs / 3)));
    heartbeat.unref();

    try {
      const plan = this.plan(task);
      log.info('MIGRATION_START', `importing ${plan.files.length} file(s) from bucket ${plan.bucket.name} into instance ${task.spec.target.name} (${task.spec.target.addrs}), run ${task.attempt}`, plan.files);
      this.o.logger.info({ task_id: task.id, attempt: task.attempt }, 'task started');
      const summary = await this.o.engine.run(plan, {
        signal: r.controller.signal,
        onProgress: (p) => {
          progress = toProgress(p, progress);
          // Stats readers see progress within a second, whatever the lease length.
          if (this.now() - lastSaved >= PROGRESS_SAVE_MS) {
            lastSaved = this.now();
            try {
              this.o.store.heartbeat(task.id, this.o.owner, this.now() + this.o.leaseMs, progress, this.now());
            } catch (err) {
              this.o.logger.warn({ err, task_id: task.id }, 'saving progress failed');
            }
          }
          this.o.metrics?.progress(progress.keys - lastKeys, progress.bytes_read - lastBytes);
          lastKeys = progress.keys;
          lastBytes = progress.bytes_read;
        },
        log: (level, code, message) => log.fromEngine(level, code, message),
      });
      clearInterval(heartbeat);
      const final = fromSummary(summary, progress);
      this.o.metrics?.progress(final.keys - lastKeys, final.bytes_read - lastBytes);
      if (r.reason === 'stop' || r.controller.signal.aborted) {
        this.settleAborted(task.id, r, final, log);
        return;
      }
      const done = this.o.store.transition(task.id, ['MIGRATING'], 'SUCCESS', { progress: final, owner: null, lease_until: null, finished_at: this.now(), error_code: null, error_message: null }, this.now());
      if (done) {
        const skipped = summary.skippedExpired ? `, ${summary.skippedExpired} expired keys skipped` : '';
        log.final('INFO', 'MIGRATION_SUCCESS', `imported ${summary.keys} keys (${summary.bytes} bytes read) in ${summary.seconds.toFixed(1)} s${skipped}`);
        this.o.metrics?.finished('SUCCESS', null);
        this.o.logger.info({ task_id: task.id, keys: summary.keys, bytes: summary.bytes }, 'task succeeded');
      } else {
        // A stop arrived as the import ended: the stop wins (it was asked for), data stays.
        this.finishStop(task.id, final);
      }
    } catch (e) {
      clearInterval(heartbeat);
      const err = asFerryError(e);
      if (r.controller.signal.aborted) {
        this.settleAborted(task.id, r, progress, log);
        return;
      }
      const patch = { progress, owner: null, lease_until: null, finished_at: this.now(), error_code: err.spec.dcs, error_message: err.message };
      const done = this.o.store.transition(task.id, ['MIGRATING'], 'FAILED', patch, this.now());
      if (done) {
        log.final('ERROR', err.spec.dcs, `${err.code}: ${err.message}`);
        this.o.metrics?.finished('FAILED', err.spec.dcs);
        this.o.logger.warn({ task_id: task.id, code: err.code }, 'task failed');
      } else {
        this.finishStop(task.id, progress);
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  private settleAborted(id: string, r: Running, progress: TaskProgress | null, log: TaskLogWriter): void {
    if (r.reason === 'shutdown') {
      // Leave it MIGRATING with no owner: the next start re-runs it from the beginning.
      this.o.store.transition(id, ['MIGRATING'], 'MIGRATING', { progress, owner: null, lease_until: null }, this.now());
      log.info('MIGRATION_PAUSED', 'the service is shutting down; the import will run again from the start at the next start');
      return;
    }
    this.finishStop(id, progress);
  }

  private finishStop(id: string, progress: TaskProgress | null): void {
    const patch = { owner: null, lease_until: null, finished_at: this.now(), ...(progress ? { progress } : {}) };
    const done = this.o.store.transition(id, ['TERMINATING', 'MIGRATING'], 'TERMINATED', patch, this.now());
    if (done) {
      const keys = done.progress?.keys ?? 0;
      this.o.store.appendLog({ task_id: id, created_at: this.now(), level: 'INFO', code: 'MIGRATION_TERMINATED', message: `stopped on request; ${keys} keys written before the stop were kept`, keyword: [] });
      this.o.metrics?.finished('TERMINATED', null);
    }
  }

  private plan(task: TaskRecord): ImportPlan {
    const s = task.spec;
    const bucket = this.o.buckets.find((b) => b.name === s.bucket_name);
    if (!bucket) throw new FerryError('BAD_ARGUMENT', `bucket ${JSON.stringify(s.bucket_name)} is no longer configured`, { field: 'backup_files.bucket_name' });
    const inst = this.o.registry.get(task.project_id, s.target.id);
    const target = targetFromInstance({ addrs: inst.addrs, password: inst.password, username: inst.username, tls: inst.tls });
    const plan: ImportPlan = { taskId: task.id, bucket, files: s.files.map((f) => f.file_name), target, targetType: inst.type };
    if (s.target.db !== null && s.target.db !== '') plan.targetDb = Number(s.target.db);
    return plan;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function toProgress(p: ImportProgress, prev: TaskProgress | null): TaskProgress {
  return {
    bytes_read: p.bytesRead,
    total_bytes: p.totalBytes,
    keys: p.keys,
    commands: p.commands,
    keys_per_second: p.keysPerSecond,
    bytes_per_second: p.seconds > 0 ? p.bytesRead / p.seconds : 0,
    seconds: p.seconds,
    errors: prev?.errors ?? 0,
  };
}

function fromSummary(s: ImportSummary, prev: TaskProgress | null): TaskProgress {
  return {
    bytes_read: s.bytes,
    total_bytes: prev?.total_bytes ?? s.bytes,
    keys: s.keys,
    commands: s.commands,
    keys_per_second: s.seconds > 0 ? s.keys / s.seconds : 0,
    bytes_per_second: s.seconds > 0 ? s.bytes / s.seconds : 0,
    seconds: s.seconds,
    errors: s.errors,
  };
}
