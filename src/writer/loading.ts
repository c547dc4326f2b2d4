/**
 * Waiting for a target that is still loading its dataset.
 *
 * Why: a Redis that has just started (or restarted with persistence) answers every write, PING and
 * CLUSTER command with `-LOADING Redis is loading the dataset in memory` until its RDB/AOF is in
 * memory, which for a big instance takes minutes. An import started then failed at its first command
 * (measured: `FUNCTION LOAD ... failed: LOADING`). INFO works while loading and says how far it is,
 * so an import waits for `loading:0` before its first write, saying so, for a bounded time.
 *
 * Only imports wait (probeTarget's `waitLoading`, NodeWriter.connect): the API's target checks
 * answer at once. A reconnect after a restart does not wait: a new run_id fails the import anyway
 * (keys written before the restart may be gone).
 */
import { FerryError } from '../errors/ferry-error.js';
import { ReplyError } from '../resp/decoder.js';
import type { Connection } from './connection.js';

export interface LoadingWait {
  /** Longest wait before the import fails with TARGET_LOADING. */
  timeoutMs: number;
  /** Told when the wait starts and every `noticeEveryMs` while it lasts. */
  notice?: (message: string) => void;
  /** Stops the wait (the import was stopped). */
  signal?: AbortSignal;
  pollMs?: number;
  noticeEveryMs?: number;
}

/** Default longest wait: a big instance loads for minutes. */
export const LOADING_TIMEOUT_MS = 10 * 60_000;

interface LoadingState {
  loading: boolean;
  percent: number | null;
  etaSeconds: number | null;
}

/** `INFO persistence` fields: loading, loading_loaded_perc, loading_eta_seconds. */
export function parseLoading(info: string): LoadingState {
  const field = (name: string): string | null => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? null;
  const num = (s: string | null): number | null => (s === null || !Number.isFinite(Number(s)) ? null : Number(s));
  return { loading: field('loading') === '1', percent: num(field('loading_loaded_perc')), etaSeconds: num(field('loading_eta_seconds')) };
}

/** Resolves once the node behind `c` is not loading; returns the milliseconds waited. */
export async function waitUntilLoaded(c: Connection, o: LoadingWait): Promise<number> {
  const name = `${c.addr.host}:${c.addr.port}`;
  const pollMs = o.pollMs ?? 200;
  const noticeEvery = o.noticeEveryMs ?? 5000;
  const t0 = Date.now();
  let lastNotice = -Infinity;
  for (;;) {
    const r = await c.call(['INFO', 'persistence']);
    if (r instanceof ReplyError) return Date.now() - t0; // INFO not allowed (a managed service): nothing to learn here
    const st = parseLoading(Buffer.isBuffer(r) ? r.toString('latin1') : String(r));
    const waited = Date.now() - t0;
    if (!st.loading) {
      if (lastNotice >= 0) o.notice?.(`target ${name} finished loading its dataset after ${(waited / 1000).toFixed(1)} s; importing`);
      return waited;
    }
    const how = `${st.percent === null ? '' : `${st.percent.toFixed(1)}% loaded`}${st.etaSeconds === null ? '' : `, about ${st.etaSeconds} s left`}`;
    if (waited >= o.timeoutMs) {
      throw new FerryError('TARGET_LOADING', `target ${name} was still loading its dataset after ${Math.round(waited / 1000)} s (${how || 'no progress figure'}); retry once it has loaded`, { field: 'target' });
    }
    if (waited - lastNotice >= noticeEvery) {
      lastNotice = waited;
      o.notice?.(`target ${name} is loading its dataset${how ? ` (${how})` : ''}; the import waits for it (up to ${Math.round(o.timeoutMs / 1000)} s)`);
    }
    if (o.signal?.aborted) throw new FerryError('ABORTED', `import stopped while target ${name} was loading its dataset`);
    await new Promise((res) => setTimeout(res, pollMs));
  }
}
