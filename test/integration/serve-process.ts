/**
 * `ferry serve` as a real child process (the CLI entry through tsx), for end-to-end tests: waits for
 * the "listening" log line to learn the URL, and can be stopped with SIGTERM or killed with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
/** tsx's loader by absolute URL: the server runs in its own data directory, not in the project. */
const TSX = import.meta.resolve('tsx');

export interface ServeProcess {
  url: string;
  proc: ChildProcess;
  output: () => string;
  kill9(): Promise<void>;
  stop(): Promise<number | null>;
}

/** `configPath` null: no --config (the embedded default, or ./ferry.yaml in `cwd`). */
export async function spawnServe(configPath: string | null, cwd: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  const args = ['--import', TSX, resolve(ROOT, 'src/cli/main.ts'), 'serve', ...(configPath ? ['--config', configPath] : [])];
  const proc = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, NODE_OPTIONS: '', TSX_TSCONFIG_PATH: resolve(ROOT, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let started = false;
  // Keep only the tail: a busy server logs a line per request.
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-256 * 1024);
  };
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      // Never leave a half-started server behind.
      proc.kill('SIGKILL');
      rej(new Error(`ferry serve did not start (no "ferry serve listening" info line):\n${out}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      keep(d);
      if (started) return;
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; url?: string };
          if (j.msg === 'ferry serve listening' && j.url) {
            clearTimeout(timer);
            started = true;
            res(j.url);
            return;
          }
        } catch {
          /* a partial line */
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', keep);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`ferry serve exited with ${code}:\n${out}`));
    });
  });
  return {
    url,
    proc,
    output: () => out,
    async kill9() {
      proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
