/**
 * Loopback TCP proxies for fault and timing tests: one forwarding mechanism, with per-connection
 * behaviour for the client-to-server direction (replies always pass straight through).
 */
import net from 'node:net';

export interface ProxyConn {
  client: net.Socket;
  upstream: net.Socket;
  /** Destroys both sockets (a cut connection). */
  destroy(): void;
}

export interface ConnBehaviour {
  /** Handles a chunk from the client; without it chunks are forwarded as they come. */
  onData?(chunk: Buffer): void;
  /** Runs once when the connection ends. */
  onClose?(): void;
}

export interface Proxy {
  port: number;
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:<port> to `targetPort`; `behaviour` is asked once per accepted connection. */
export async function startProxy(targetPort: number, behaviour: (c: ProxyConn) => ConnBehaviour = () => ({})): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let closed = false;
    const conn: ProxyConn = {
      client,
      upstream,
      destroy: () => {
        client.destroy();
        upstream.destroy();
      },
    };
    const b = behaviour(conn);
    const end = (): void => {
      conn.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      if (!closed) {
        closed = true;
        b.onClose?.();
      }
    };
    client.on('data', b.onData ? (d: Buffer) => b.onData!(d) : (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => client.write(d));
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * Client-to-server bytes at a bounded rate. Tests that stop, kill or share a running import put
 * the target behind this: imports got fast enough to finish between two polls, and a 9 MB import
 * at 3 MB/s runs for ~3 s whatever the machine, its bytes still arriving exactly.
 */
export function startSlowProxy(targetPort: number, bytesPerSecond: number): Promise<Proxy> {
  // Token bucket refilled every 10 ms; the client is paused while it is empty.
  const tick = 10;
  const perTick = Math.max(1, Math.floor((bytesPerSecond * tick) / 1000));
  return startProxy(targetPort, ({ client, upstream }) => {
    let budget = perTick;
    const timer = setInterval(() => {
      budget = Math.min(perTick, budget + perTick);
      if (budget > 0 && client.isPaused()) client.resume();
    }, tick);
    return {
      onData(d) {
        upstream.write(d);
        budget -= d.length;
        if (budget <= 0) client.pause();
      },
      onClose: () => clearInterval(timer),
    };
  });
}
