/**
 * "Does a Redis answer here?" for the embedded default. Hand-written over node:net because it is one
 * inline command and the start-up path should not pull in a client library: any RESP reply to PING
 * (+PONG, or -NOAUTH from a password-protected server) counts as an answer.
 */
import { connect } from 'node:net';

export function pingRedis(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d: Buffer) => finish(d[0] === 0x2b /* + */ || d[0] === 0x2d /* - */));
    sock.once('error', () => finish(false));
    sock.once('close', () => finish(false));
  });
}
