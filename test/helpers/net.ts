// Loopback sockets for tests: a sink that hashes what it receives.
import * as crypto from 'node:crypto';
import * as net from 'node:net';

export interface Received {
  bytes: number;
  hash: string;
  error?: Error;
}

/** A server whose connections are hashed; resolves each connection's result in order of arrival. */
export async function hashingServer(): Promise<{
  port: number;
  server: net.Server;
  next(): Promise<Received>;
  close(): Promise<void>;
}> {
  const waiting: Array<(r: Received) => void> = [];
  const done: Received[] = [];
  const server = net.createServer((s) => {
    const h = crypto.createHash('sha256');
    let bytes = 0;
    let error: Error | undefined;
    s.on('data', (d) => {
      h.update(d);
      bytes += d.length;
    });
    s.on('error', (e) => {
      error = e;
    });
    s.on('close', () => {
      const r = { bytes, hash: h.digest('hex'), error };
      const w = waiting.shift();
      if (w) w(r);
      else done.push(r);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    server,
    next: () =>
      new Promise<Received>((resolve) => {
        const r = done.shift();
        if (r) resolve(r);
        else waiting.push(resolve);
      }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c));
    c.once('error', reject);
  });
}
