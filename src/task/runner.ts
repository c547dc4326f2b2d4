/**
 * Runs tasks like BullMQ's worker: a bounded number at once, each claimed with a lease that a
 * heartbeat renews, each with its own AbortController. Several processes can share one store: idle
 * runners poll it for unclaimed tasks (`claimNext`, FOR UPDATE SKIP LOCKED on PostgreSQL), so a task
 * created through any process's API runs on whichever worker is free, and exactly one at a time holds
 * it. Every status change is conditional in the store, so a stop racing an ending import resolves to
 * exactly one final state; a stop asked through another process is seen by the status check here.
 * A task whose runner died (lease expired) is claimed again: TERMINATING ones become TERMINATED,
 * MIGRATING ones are re-run from the start (RESTORE REPLACE / DEL-then-rebuild make the replay exact)
 * or marked FAILED once attempts run out.
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
/** How often running tasks' status is read back: a stop asked through another process lands within this. */
const STOP_CHECK_MS = 300;

export interface TaskMetrics {
  progress(deltaKeys: number, deltaBytes: number): void;
  finished(status: 'SUCCESS' | 'FAILED' | 'TERMINATED', errorCode: string | null): void;
}

export interface RunnerOptions {
  store: TaskStore;
  engine: TaskEngine;
  registry: InstanceRegistry;
  buckets: readonly BucketConfig[];
  /** Tasks this process runs at once. */
  concurrency: number;
  leaseMs: number;
  maxAttempts: number;
  onRestart: 'rerun' | 'fail';
  /** Identifies this process in leases: `host:pid:random` (dead local owners are detected by pid). */
  owner: string;
  logger: Logger;
  metrics?: TaskMetrics;
  now?: () => number;
  /** How often an idle runner looks for unclaimed tasks (tasks created elsewhere, leases expired); default half the lease. */
  pollMs?: number;
  /** Bytes in flight to targets across this process's imports, split evenly over `concurrency`. */
  workerMaxInflightBytes?: number | null;
}

interface Running {
  controller: AbortController;
  /** Why the controller fired: a user stop, or this process shutting down / losing the lease. */
  reason: 'stop' | 'shutdown' | null;
  done: Promise<void>;
}

export class TaskRunner {
  private readonly running = new Map<string, Running>();
  /** Ids to try first (created through this process's API); others are found by polling. */
  private readonly hints: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopCheck: NodeJS.Timeout | null = null;
  private closed = false;
  /** The sweep/claim pass in progress (one at a time); close() waits for it. */
  private ticking: Promise<void> | null = null;
  private again = false;
  private readonly now: () => number;

  constructor(private readonly o: RunnerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Recovers what a previous process left, then keeps polling for work and expired leases. */
  start(): void {
    this.tick();
    const every = this.o.pollMs ?? Math.max(500, Math.floor(this.o.leaseMs / 2));
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
    this.stopCheck = setInterval(() => void this.checkRunning(), STOP_CHECK_MS);
    this.stopCheck.unref();
  }

  enqueue(id: string): void {
    if (this.closed || this.running.has(id) || this.hints.includes(id)) return;
    this.hints.push(id);
    this.tick();
  }

  isRunningHere(id: string): boolean {
    return this.running.has(id);
  }

  /** After the store moved the task to TERMINATING: abort it here, or finish the stop if nobody runs it. */
  async stop(id: string): Promise<void> {
    const r = this.running.get(id);
    if (r) {
      r.reason = 'stop';
      r.controller.abort(new FerryError('ABORTED', 'the task was stopped on request'));
      return;
    }
    const hi = this.hints.indexOf(id);
    if (hi >= 0) this.hints.splice(hi, 1);
    const t = await this.o.store.getTaskById(id);
    if (t && t.status === 'TERMINATING' && (t.owner === null || (t.lease_until ?? 0) < this.now() || t.owner === this.o.owner)) {
      await this.finishStop(t.id, null);
    }
    // Otherwise a live runner elsewhere holds it: its status check sees TERMINATING and stops it.
  }

  /** Resolves when the task is no longer running in this process (bounded by the caller). */
  async settled(id: string): Promise<void> {
    await this.running.get(id)?.done;
  }

  /**
   * Graceful shutdown: stop taking work, abort running imports and release their leases so another
   * worker (or the next start) re-runs them (a shutdown is not a user stop, so they stay MIGRATING).
   */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.stopCheck) clearInterval(this.stopCheck);
    await this.ticking;
    this.closed = true;
    this.hints.length = 0;
    for (const r of this.running.values()) {
      if (!r.reason) r.reason = 'shutdown';
      r.controller.abort(new FerryError('ABORTED', 'the service is shutting down'));
    }
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** One sweep + claim pass at a time; a request during a pass runs one more pass after it. */
  private tick(): void {
    if (this.closed) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        try {
          await this.sweep();
          await this.fill();
        } catch (err) {
          this.o.logger.error({ err }, 'task runner could not read the store');
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.ticking = null;
    });
  }

  /** Tasks left TERMINATING by a dead runner end TERMINATED (MIGRATING ones are claimed by fill()). */
  private async sweep(): Promise<void> {
    await this.expireDeadLocalOwners();
    for (const t of await this.o.store.orphans(this.now())) {
      if (t.status === 'TERMINATING' && !this.running.has(t.id)) await this.finishStop(t.id, null);
    }
  }

  /** Claims work up to the concurrency: hinted ids first, then the oldest unclaimed task. */
  private async fill(): Promise<void> {
    while (!this.closed && this.running.size < this.o.concurrency) {
      const hint = this.hints.shift();
      const lease = this.now() + this.o.leaseMs;
      const task = hint !== undefined ? await this.o.store.claim(hint, this.o.owner, lease, this.now()) : await this.o.store.claimNext(this.o.owner, lease, this.now());
      if (!task) {
        if (hint !== undefined) continue; // stopped, deleted, or held by a live runner
        return;
      }
      const r: Running = { controller: new AbortController(), reason: null, done: Promise.resolve() };
      this.running.set(task.id, r);
      r.done = this.begin(task, r)
        .catch((err: unknown) => this.o.logger.error({ err, task_id: task.id }, 'task runner failed'))
        .finally(() => {
          this.running.delete(task.id);
          this.tick();
        });
    }
  }

  /** A re-claimed task whose previous holder died: re-run it, or fail it when tasks.on_restart / max_attempts say so. */
  private async begin(task: TaskRecord, r: Running): Promise<void> {
    const log = this.logWriter(task.id);
    if (task.attempt > 1) {
      const claims = await this.o.store.claims(task.id);
      const interrupted = claims.at(-1)?.prev_owner != null;
      const runs = task.attempt - 1;
      if (interrupted && (this.o.onRestart === 'fail' || runs >= this.o.maxAttempts)) {
        const why =
          this.o.onRestart === 'fail'
            ? 'the service stopped while the task was running (tasks.on_restart is "fail"); data written so far was kept'
            : `the service stopped while the task was running, and ${runs} runs were started (tasks.max_attempts); data written so far was kept`;
        const err = new FerryError('TASK_INTERRUPTED', why);
        const done = await this.o.store.transition(task.id, ['MIGRATING'], 'FAILED', { error_code: err.spec.dcs, error_message: err.message, owner: null, lease_until: null, finished_at: this.now() }, this.now());
        if (done) {
          await log.final('ERROR', err.spec.dcs, err.message);
          this.o.metrics?.finished('FAILED', err.spec.dcs);
        }
        return;
      }
      if (interrupted) log.info('MIGRATION_RESUMED', `the worker running the task stopped; re-running the import from the start (run ${task.attempt} of at most ${this.o.maxAttempts})`);
    }
    await this.execute(task, r, log);
  }

  /**
   * A runner on this host whose process is gone (kill -9, OOM) cannot renew its lease, but waiting
   * for the lease to lapse would leave its tasks MIGRATING for that long after a restart: expire
   * those leases now. Owners on other hosts are left to their lease.
   */
  private async expireDeadLocalOwners(): Promise<void> {
    for (const t of await this.o.store.orphans(Number.MAX_SAFE_INTEGER)) {
      if (!t.owner || t.owner === this.o.owner || (t.lease_until ?? 0) < this.now()) continue;
      const [host, pid] = t.owner.split(':');
      if (host !== hostname() || !pid || !/^\d+$/.test(pid)) continue;
      // Our own pid under another owner string is an earlier incarnation (a container's pid 1).
      if (Number(pid) !== process.pid && processAlive(Number(pid))) continue;
      await this.o.store.transition(t.id, [t.status], t.status, { lease_until: 0 }, this.now());
    }
  }

  /** Reads back the status of tasks running here: a stop asked through another process, or a lost lease. */
  private async checkRunning(): Promise<void> {
    for (const [id, r] of this.running) {
      if (r.controller.signal.aborted) continue;
      let cur: TaskRecord | null;
      try {
        cur = await this.o.store.getTaskById(id);
      } catch {
        continue; // the heartbeat reports store trouble
      }
      if (cur?.status === 'TERMINATING') {
        r.reason = 'stop';
        r.controller.abort(new FerryError('ABORTED', 'the task was stopped on request'));
      } else if (!cur || cur.owner !== this.o.owner) {
        r.reason = 'shutdown';
        r.controller.abort(new FerryError('ABORTED', 'the task is no longer held by this runner'));
      }
    }
  }

  private logWriter(id: string): TaskLogWriter {
    return new TaskLogWriter(this.o.store, id, this.now, (err) => this.o.logger.warn({ err, task_id: id }, 'task log not stored'));
  }

  private async execute(task: TaskRecord, r: Running, log: TaskLogWriter): Promise<void> {
    let progress: TaskProgress | null = task.progress;
    let lastKeys = 0;
    let lastBytes = 0;
    let lastSaved = 0;
    let saving = false;
    const renew = async (): Promise<void> => {
      if (saving) return;
      saving = true;
      try {
        const held = await this.o.store.heartbeat(task.id, this.o.owner, this.now() + this.o.leaseMs, progress, this.now());
        if (!held && !r.controller.signal.aborted) {
          const cur = await this.o.store.getTaskById(task.id);
          r.reason = cur?.status === 'TERMINATING' ? 'stop' : 'shutdown';
          r.controller.abort(new FerryError('ABORTED', 'the task is no longer held by this runner'));
        }
      } catch (err) {
        this.o.logger.warn({ err, task_id: task.id }, 'heartbeat failed');
      } finally {
        saving = false;
      }
    };
    const heartbeat = setInterval(() => void renew(), Math.max(200, Math.floor(this.o.leaseMs / 3)));
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
            void renew();
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
        await this.settleAborted(task.id, r, final, log);
        return;
      }
      await log.flush();
      const done = await this.o.store.transition(task.id, ['MIGRATING'], 'SUCCESS', { progress: final, owner: null, lease_until: null, finished_at: this.now(), error_code: null, error_message: null }, this.now());
      if (done) {
        const skipped = summary.skippedExpired ? `, ${summary.skippedExpired} expired keys skipped` : '';
        await log.final('INFO', 'MIGRATION_SUCCESS', `imported ${summary.keys} keys (${summary.bytes} bytes read) in ${summary.seconds.toFixed(1)} s${skipped}`);
        this.o.metrics?.finished('SUCCESS', null);
        this.o.logger.info({ task_id: task.id, keys: summary.keys, bytes: summary.bytes }, 'task succeeded');
      } else {
        // A stop arrived as the import ended: the stop wins (it was asked for), data stays.
        await this.finishStop(task.id, final);
      }
    } catch (e) {
      clearInterval(heartbeat);
      const err = asFerryError(e);
      if (r.controller.signal.aborted) {
        await this.settleAborted(task.id, r, progress, log);
        return;
      }
      await log.flush();
      const patch = { progress, owner: null, lease_until: null, finished_at: this.now(), error_code: err.spec.dcs, error_message: err.message };
      const done = await this.o.store.transition(task.id, ['MIGRATING'], 'FAILED', patch, this.now());
      if (done) {
        await log.final('ERROR', err.spec.dcs, `${err.code}: ${err.message}`);
        this.o.metrics?.finished('FAILED', err.spec.dcs);
        this.o.logger.warn({ task_id: task.id, code: err.code }, 'task failed');
      } else {
        await this.finishStop(task.id, progress);
      }
    } finally {
      clearInterval(heartbeat);
      await log.flush();
    }
  }

  private async settleAborted(id: string, r: Running, progress: TaskProgress | null, log: TaskLogWriter): Promise<void> {
    await log.flush();
    if (r.reason === 'shutdown') {
      // Release it (still MIGRATING) only if it is still ours: another worker or the next start re-runs it.
      const cur = await this.o.store.getTaskById(id);
      if (cur?.owner !== this.o.owner) return;
      await this.o.store.transition(id, ['MIGRATING'], 'MIGRATING', { progress, owner: null, lease_until: null }, this.now());
      await log.final('INFO', 'MIGRATION_PAUSED', 'the worker is shutting down; the import will run again from the start on the next free worker');
      return;
    }
    await this.finishStop(id, progress);
  }

  private async finishStop(id: string, progress: TaskProgress | null): Promise<void> {
    const patch = { owner: null, lease_until: null, finished_at: this.now(), ...(progress ? { progress } : {}) };
    const done = await this.o.store.transition(id, ['TERMINATING', 'MIGRATING'], 'TERMINATED', patch, this.now());
    if (done) {
      const keys = done.progress?.keys ?? 0;
      await this.o.store.appendLog({ task_id: id, created_at: this.now(), level: 'INFO', code: 'MIGRATION_TERMINATED', message: `stopped on request; ${keys} keys written before the stop were kept`, keyword: [] });
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
    // In-flight cap: this worker's share, and the target instance's own cap, whichever is smaller.
    const share = this.o.workerMaxInflightBytes ? Math.floor(this.o.workerMaxInflightBytes / this.o.concurrency) : null;
    const caps = [share, inst.max_inflight_bytes ?? null].filter((x): x is number => x !== null);
    if (caps.length) plan.maxInflightBytes = Math.min(...caps);
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
