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
import { CATALOGUE, type ErrorCode } from '../errors/catalogue.js';
import { asFerryError, FerryError } from '../errors/ferry-error.js';
import type { ImportProgress, ImportSummary } from '../pipeline/types.js';
import type { TaskFile, TaskProgress, TaskRecord, TaskStore } from '../store/contract.js';
import { targetFromInstance } from '../writer/target-spec.js';
import type { ImportPlan, TaskEngine } from './engine.js';
import type { InstanceRegistry } from './instances.js';
import { TaskLogWriter } from './task-log.js';

/** How often running progress is written to the store (stats read it from there). */
const PROGRESS_SAVE_MS = 1000;
/** How often running tasks' status is read back: a stop asked through another process lands within this. */
const STOP_CHECK_MS = 300;
/** How often the lead of a spread task looks at the files other workers run. */
const SPREAD_WATCH_MS = 200;
/** At most this long a stop waits for other workers to let go of a spread task's files. */
const STOP_SETTLE_MS = 5000;

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
  taskId: string;
  /** Set for the run of one file of a spread task on behalf of its lead. */
  fileIdx: number | null;
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

  /**
   * Claims work up to the concurrency: hinted ids first, then the oldest unclaimed task, then one file
   * of a spread task whose lead (another worker, or this one) has files left.
   */
  private async fill(): Promise<void> {
    while (!this.closed && this.running.size < this.o.concurrency) {
      const hint = this.hints.shift();
      const lease = this.now() + this.o.leaseMs;
      const task = hint !== undefined ? await this.o.store.claim(hint, this.o.owner, lease, this.now()) : await this.o.store.claimNext(this.o.owner, lease, this.now());
      if (task) {
        this.launch(task.id, null, (r) => this.begin(task, r));
        continue;
      }
      if (hint !== undefined) continue; // stopped, deleted, or held by a live runner
      const file = await this.o.store.claimFile(this.o.owner, lease, this.now(), this.limitFor);
      if (!file) return;
      this.launch(file.task_id, file.idx, (r) => this.helpWith(file, r));
    }
  }

  private launch(taskId: string, fileIdx: number | null, run: (r: Running) => Promise<void>): void {
    const key = fileIdx === null ? taskId : `${taskId}#${fileIdx}`;
    const r: Running = { taskId, fileIdx, controller: new AbortController(), reason: null, done: Promise.resolve() };
    this.running.set(key, r);
    r.done = run(r)
      .catch((err: unknown) => this.o.logger.error({ err, task_id: taskId, file_idx: fileIdx }, 'task runner failed'))
      .finally(() => {
        this.running.delete(key);
        this.tick();
      });
  }

  /** instances[].max_parallel_files of the target (unlimited when not set). */
  private readonly limitFor = (targetId: string): number => this.o.registry.byId(targetId)?.max_parallel_files ?? Number.MAX_SAFE_INTEGER;

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
    for (const r of this.running.values()) {
      if (r.controller.signal.aborted) continue;
      let cur: TaskRecord | null;
      try {
        cur = await this.o.store.getTaskById(r.taskId);
      } catch {
        continue; // the heartbeat reports store trouble
      }
      if (cur?.status === 'TERMINATING') {
        r.reason = 'stop';
        r.controller.abort(new FerryError('ABORTED', 'the task was stopped on request'));
      } else if (!cur || (r.fileIdx === null ? cur.owner !== this.o.owner : cur.status !== 'MIGRATING')) {
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
      let final: TaskProgress;
      let message: string;
      if (await this.spreads(task, plan)) {
        log.info('MIGRATION_START', `importing ${plan.files.length} files from bucket ${plan.bucket.name} into instance ${task.spec.target.name} (${task.spec.target.addrs}), spread over free workers, run ${task.attempt}`, plan.files);
        this.o.logger.info({ task_id: task.id, attempt: task.attempt, files: plan.files.length }, 'spread task started');
        final = await this.lead(task, r, log, (p) => {
          progress = p;
          void renew();
        });
        message = `imported ${final.keys} keys (${final.bytes_read} bytes read) from ${plan.files.length} files in ${final.seconds.toFixed(1)} s of import work`;
      } else {
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
        final = fromSummary(summary, progress);
        this.o.metrics?.progress(final.keys - lastKeys, final.bytes_read - lastBytes);
        const skipped = summary.skippedExpired ? `, ${summary.skippedExpired} expired keys skipped` : '';
        message = `imported ${summary.keys} keys (${summary.bytes} bytes read) in ${summary.seconds.toFixed(1)} s${skipped}`;
      }
      clearInterval(heartbeat);
      if (r.reason === 'stop' || r.controller.signal.aborted) {
        await this.settleAborted(task.id, r, final, log);
        return;
      }
      await log.flush();
      const done = await this.o.store.transition(task.id, ['MIGRATING'], 'SUCCESS', { progress: final, owner: null, lease_until: null, finished_at: this.now(), error_code: null, error_message: null }, this.now());
      if (done) {
        await log.final('INFO', 'MIGRATION_SUCCESS', message);
        this.o.metrics?.finished('SUCCESS', null);
        this.o.logger.info({ task_id: task.id, keys: final.keys, bytes: final.bytes_read }, 'task succeeded');
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

  /**
   * A task spreads its files over free workers when they are independent: several files, a cluster
   * target (one file per shard, disjoint keys) and RDB content only (AOF parts replay in order).
   * Once spread (file items exist), it stays spread across re-runs.
   */
  private async spreads(task: TaskRecord, plan: ImportPlan): Promise<boolean> {
    if (plan.files.length < 2) return false;
    if ((await this.o.store.listFiles(task.id)).length) return true;
    if (plan.targetType !== 'cluster') return false;
    for (const f of plan.files) {
      const kinds = await this.o.engine.fileKinds(plan.bucket, f);
      if (kinds.some((k) => k !== 'rdb')) return false;
    }
    return true;
  }

  /**
   * The worker holding a spread task: creates its file items, imports files itself while any are
   * free, and otherwise watches the items other workers run (their leases, not this one, guard them).
   * Ends when every file is DONE (summed progress), throws the first file's error (the task fails and
   * the other workers stop on their status check), or throws ABORTED when stopped or shut down.
   */
  private async lead(task: TaskRecord, r: Running, log: TaskLogWriter, onProgress: (p: TaskProgress) => void): Promise<TaskProgress> {
    await this.o.store.addFiles(task.id, task.spec.files.map((f) => f.file_name));
    // Free slots of this process claim files now, before this one starts importing (an import keeps the
    // event loop busy, which would delay the next poll).
    this.tick();
    for (;;) {
      if (r.controller.signal.aborted) throw asFerryError(r.controller.signal.reason);
      const items = await this.o.store.listFiles(task.id);
      const failed = items.find((f) => f.status === 'FAILED');
      if (failed) throw new FerryError(asCode(failed.error_code), failed.error_message ?? 'failed', { file: failed.file_name });
      const sum = sumProgress(items);
      if (items.every((f) => f.status === 'DONE')) return sum;
      onProgress(sum);
      const mine = await this.o.store.claimFile(this.o.owner, this.now() + this.o.leaseMs, this.now(), this.limitFor, task.id);
      if (mine) {
        await this.runFile(task, mine, r.controller.signal, log);
        continue;
      }
      // Other workers hold the remaining files: look again shortly (bounded by this task's lease and stop).
      await sleep(SPREAD_WATCH_MS, r.controller.signal);
    }
  }

  /** One file of a spread task claimed by a free worker on behalf of the task's lead. */
  private async helpWith(file: TaskFile, r: Running): Promise<void> {
    const task = await this.o.store.getTaskById(file.task_id);
    if (!task || task.status !== 'MIGRATING') {
      await this.o.store.finishFile(file.task_id, file.idx, this.o.owner, 'PENDING', {}, this.now());
      return;
    }
    await this.runFile(task, file, r.controller.signal, this.logWriter(task.id));
  }

  /**
   * Imports one file under its own lease (renewed with its progress). DONE on success; FAILED with the
   * error for the lead to report; released (PENDING) when stopped, shut down or the lease was lost.
   */
  private async runFile(task: TaskRecord, file: TaskFile, parent: AbortSignal, log: TaskLogWriter): Promise<void> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(parent.reason);
    if (parent.aborted) onAbort();
    parent.addEventListener('abort', onAbort, { once: true });
    let progress: TaskProgress | null = file.progress;
    let lastKeys = 0;
    let lastBytes = 0;
    const renew = async (): Promise<void> => {
      try {
        const held = await this.o.store.heartbeatFile(task.id, file.idx, this.o.owner, this.now() + this.o.leaseMs, progress, this.now());
        if (!held) controller.abort(new FerryError('ABORTED', `file ${file.file_name} is no longer held by this worker`));
      } catch (err) {
        this.o.logger.warn({ err, task_id: task.id, file_idx: file.idx }, 'file heartbeat failed');
      }
    };
    const heartbeat = setInterval(() => void renew(), Math.max(200, Math.min(PROGRESS_SAVE_MS, Math.floor(this.o.leaseMs / 3))));
    heartbeat.unref();
    try {
      if (file.attempt > this.o.maxAttempts) {
        throw new FerryError('TASK_INTERRUPTED', `file ${file.file_name} was started ${file.attempt - 1} times without finishing (tasks.max_attempts)`, { file: file.file_name });
      }
      log.info('FILE_START', `file ${file.idx + 1}/${task.spec.files.length} ${file.file_name}: run ${file.attempt} on worker ${this.o.owner}`, [file.file_name]);
      const plan = { ...this.plan(task), files: [file.file_name] };
      const summary = await this.o.engine.run(plan, {
        signal: controller.signal,
        onProgress: (p) => {
          progress = toProgress(p, progress);
          this.o.metrics?.progress(progress.keys - lastKeys, progress.bytes_read - lastBytes);
          lastKeys = progress.keys;
          lastBytes = progress.bytes_read;
        },
        log: (level, code, message) => log.fromEngine(level, code, `${file.file_name}: ${message}`),
      });
      clearInterval(heartbeat);
      const final = fromSummary(summary, progress);
      this.o.metrics?.progress(final.keys - lastKeys, final.bytes_read - lastBytes);
      if (controller.signal.aborted) throw asFerryError(controller.signal.reason);
      if (await this.o.store.finishFile(task.id, file.idx, this.o.owner, 'DONE', { progress: final }, this.now())) {
        log.info('FILE_DONE', `file ${file.file_name}: imported ${summary.keys} keys (${summary.bytes} bytes read) in ${summary.seconds.toFixed(1)} s`, [file.file_name]);
      }
    } catch (e) {
      clearInterval(heartbeat);
      const err = asFerryError(e);
      if (controller.signal.aborted) {
        await this.o.store.finishFile(task.id, file.idx, this.o.owner, 'PENDING', { progress }, this.now());
      } else {
        await this.o.store.finishFile(task.id, file.idx, this.o.owner, 'FAILED', { progress, error_code: err.code, error_message: err.message }, this.now());
        log.error(err.spec.dcs, `file ${file.file_name}: ${err.code}: ${err.message}`, [file.file_name]);
      }
    } finally {
      clearInterval(heartbeat);
      parent.removeEventListener('abort', onAbort);
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
    // A spread task: other workers stop their files on their next status check; wait (bounded) so
    // TERMINATED means nothing writes any more.
    const deadline = this.now() + STOP_SETTLE_MS;
    while (this.now() < deadline && (await this.o.store.listFiles(id)).some((f) => f.status === 'RUNNING' && (f.lease_until ?? 0) >= this.now())) {
      await sleep(STOP_CHECK_MS);
    }
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
    const target = targetFromInstance(inst);
    const plan: ImportPlan = { taskId: task.id, bucket, files: s.files.map((f) => f.file_name), target, targetType: inst.type };
    if (s.target.db !== null && s.target.db !== '') plan.targetDb = Number(s.target.db);
    // In-flight cap: this worker's share, and the target instance's own cap, whichever is smaller.
    const share = this.o.workerMaxInflightBytes ? Math.floor(this.o.workerMaxInflightBytes / this.o.concurrency) : null;
    const caps = [share, inst.max_inflight_bytes ?? null].filter((x): x is number => x !== null);
    if (caps.length) plan.maxInflightBytes = Math.min(...caps);
    return plan;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A stored error code back to the catalogue's (unknown ones read as INTERNAL). */
function asCode(code: string | null): ErrorCode {
  return code !== null && code in CATALOGUE ? (code as ErrorCode) : 'INTERNAL';
}

/** The task's progress: its files' progress added up (rates add up too: the files run side by side). */
function sumProgress(items: TaskFile[]): TaskProgress {
  const out: TaskProgress = { bytes_read: 0, total_bytes: 0, keys: 0, commands: 0, keys_per_second: 0, bytes_per_second: 0, seconds: 0, errors: 0 };
  for (const f of items) {
    const p = f.progress;
    if (!p) continue;
    out.bytes_read += p.bytes_read;
    out.total_bytes = out.total_bytes === null || p.total_bytes === null ? null : out.total_bytes + p.total_bytes;
    out.keys += p.keys;
    out.commands += p.commands;
    out.keys_per_second += p.keys_per_second;
    out.bytes_per_second += p.bytes_per_second;
    out.seconds = Math.max(out.seconds, p.seconds);
    out.errors += p.errors;
  }
  return out;
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
