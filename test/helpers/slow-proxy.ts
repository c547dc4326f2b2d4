/**
 * A loopback TCP proxy that forwards client-to-server bytes at a bounded rate (replies pass freely).
 *
 * Tests that stop, kill or share a running import need the import to be running when they act.
 * Imports got fast enough to finish between two polls, so the target is put behind this proxy: a
 * 9 MB import at 3 MB/s runs for ~3 s whatever the machine, and the bytes still arrive exactly.
 */
import net from 'node:net';

export interface SlowProxy {
  port: number;
  close(): Promise<void>;
}

export async function startSlowProxy(targetPort: number, bytesPerSecond: number, host = '127.0.0.1'): Promise<SlowProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    // Token bucket refilled every 10 ms; the client is paused while the bucket is empty.
    const tick = 10;
    const perTick = Math.max(1, Math.floor((bytesPerSecond * tick) / 1000));
    let budget = perTick;
    let timer: NodeJS.Timeout | null = setInterval(() => {
      budget = Math.min(perTick, budget + perTick);
      if (budget > 0 && client.isPaused()) client.resume();
    }, tick);
    const stop = (): void => {
      if (timer) clearInterval(timer);
      timer = null;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      budget -= chunk.length;
      if (budget <= 0) client.pause();
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', stop);
    upstream.on('close', stop);
    client.on('error', stop);
    upstream.on('error', stop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
