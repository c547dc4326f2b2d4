/**
 * Progress on stderr: a bar (cli-progress) when stderr is a terminal, JSON lines otherwise, at most
 * a few times a second. Callers report bytes read; the bar shows bytes of total, rate and ETA.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  add(bytes: number, extra?: Record<string, number>): void;
  stop(): void;
}

export function startProgress(label: string, total: number | null, opts: { enabled: boolean }): Progress {
  if (!opts.enabled) return { add() {}, stop() {} };
  let done = 0;
  const started = Date.now();
  if (process.stderr.isTTY && total) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: `${label} [{bar}] {percentage}% | {mb}/{totalMb} MB | {rate} MB/s | ETA {eta}s`, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { mb: '0', totalMb: (total / 1e6).toFixed(1), rate: '0' });
    return {
      add(n) {
        done += n;
        const secs = Math.max(0.001, (Date.now() - started) / 1000);
        bar.update(done, { mb: (done / 1e6).toFixed(1), rate: (done / 1e6 / secs).toFixed(1) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let last = 0;
  const line = (final: boolean, extra?: Record<string, number>) => {
    const secs = (Date.now() - started) / 1000;
    process.stderr.write(JSON.stringify({ progress: label, bytes: done, total, percent: total ? Math.floor((done / total) * 100) : null, seconds: Number(secs.toFixed(1)), final, ...extra }) + '\n');
  };
  return {
    add(n, extra) {
      done += n;
      const now = Date.now();
      if (now - last >= 1000) {
        last = now;
        line(false, extra);
      }
    },
    stop() {
      line(true);
    },
  };
}
