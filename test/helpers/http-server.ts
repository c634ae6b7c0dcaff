// The static-file server fixture (test/fixtures/http-server.js) as a child
// process, run stock or with the register hook, and its IPC requests.
import { type ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';

export type Mode = 'stock' | 'zerocopy';
export const MODES: Mode[] = ['stock', 'zerocopy'];

export type Framework =
  | 'plain'
  | 'plain-chunked'
  | 'express'
  | 'express-sendfile'
  | 'express-compression'
  | 'fastify'
  | 'koa-send'
  | 'koa-static'
  | 'sirv'
  | 'serve-handler';

export interface ServerOptions {
  timeout?: number;
  keepAliveTimeout?: number;
}

export interface Stats {
  sendfileBytes: number;
  byPath: Record<string, number>;
  counts: Record<string, number>;
  reasons: Record<string, number>;
}
export interface Fds {
  total: number;
  sockets: number;
  pipes: number;
  files: number;
  running: number;
}
export interface RequestRecord {
  method: string;
  url: string;
  connection: number;
  status: number;
  events: string[];
  headersSent: boolean;
  writableFinished: boolean;
  writableEnded: boolean;
  transfers: Array<{ path: string; reason: string; bytes: number }>;
}
export interface ConnectionRecord {
  id: number;
  bytesWritten: number;
  bytesRead: number;
  /** Socket 'timeout' events, and at each: socket.bytesWritten, kernel transfers running and waiting for room, libuv's write queue. */
  timeouts: number;
  timeoutAt: Array<{ bytesWritten: number; running: number; waiting: number; queued: number }>;
}
export interface ServerLog {
  requests: RequestRecord[];
  connections: ConnectionRecord[];
}

const root = path.join(__dirname, '..', '..');
const fixture = path.join(root, 'test', 'fixtures', 'http-server.js');
const register = path.join(root, 'dist', 'register.js');

export class Server {
  private nextId = 0;
  private pending = new Map<number, { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private exited: Promise<void>;

  private constructor(
    readonly mode: Mode,
    readonly framework: Framework,
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r();
      else child.once('exit', () => r());
    });
    child.on('message', (m: { id?: number }) => {
      const cb = m.id !== undefined ? this.pending.get(m.id) : undefined;
      if (cb) {
        this.pending.delete(m.id!);
        cb.resolve(m as Record<string, unknown>);
      }
    });
    // A server that dies fails what waits on it, instead of hanging the test.
    child.on('exit', (code, signal) => {
      for (const { reject } of this.pending.values())
        reject(new Error(`${framework} (${mode}) exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  static start(mode: Mode, framework: Framework, dir: string, options: ServerOptions = {}): Promise<Server> {
    const child = fork(fixture, [framework, dir, JSON.stringify(options)], {
      execArgv: mode === 'zerocopy' ? ['--require', register] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`${framework} (${mode}) exited with ${code} before listening`));
      child.once('exit', onExit);
      child.once('error', reject);
      child.once('message', (m: { type?: string; port?: number; zerocopy?: boolean }) => {
        child.removeListener('exit', onExit);
        if (m.type !== 'listening' || m.zerocopy !== (mode === 'zerocopy')) {
          child.kill();
          reject(new Error(`${framework} (${mode}): unexpected first message ${JSON.stringify(m)}`));
          return;
        }
        resolve(new Server(mode, framework, child, m.port!));
      });
    });
  }

  request<T>(type: string, extra: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error(`${this.framework} (${this.mode}) is gone`));
        return;
      }
      this.pending.set(id, { resolve: resolve as (m: Record<string, unknown>) => void, reject });
      this.child.send({ ...extra, id, type });
    });
  }

  /** server.setTimeout / server.keepAliveTimeout, for the connections to come. */
  configure(options: ServerOptions): Promise<void> {
    return this.request('configure', { ...options });
  }

  stats(): Promise<Stats> {
    return this.request('stats');
  }
  reset(): Promise<void> {
    return this.request('reset');
  }
  fds(): Promise<Fds> {
    return this.request('fds');
  }
  log(): Promise<ServerLog> {
    return this.request('log');
  }

  /**
   * Resolves once the kernel has refused the server bytes (a write queued in
   * libuv, or a kernel transfer waiting for the peer): it has hit EAGAIN.
   * Asks over IPC, each answer being an event; false after `tries` answers.
   */
  async blocked(tries = 20_000): Promise<boolean> {
    for (let i = 0; i < tries; i++) {
      if ((await this.request<{ blocked: number }>('pressure')).blocked > 0) return true;
    }
    return false;
  }

  /** Waits until the log holds `n` closed connections (the server sees a close a little after the client). */
  async logWith(connections: number, requests = 0, tries = 20_000): Promise<ServerLog> {
    let log = await this.log();
    for (let i = 0; i < tries && (log.connections.length < connections || log.requests.length < requests); i++) {
      await new Promise((r) => setImmediate(r));
      log = await this.log();
    }
    return log;
  }

  /** Polls the fd count until `done(fds)` or `tries` answers have come; returns the last count. */
  async fdsUntil(done: (f: Fds) => boolean, tries = 20_000): Promise<Fds> {
    let f = await this.fds();
    for (let i = 0; i < tries && !done(f); i++) {
      await new Promise((r) => setImmediate(r));
      f = await this.fds();
    }
    return f;
  }

  /** Asks the fixture to close and exit (it does on disconnect too), and waits until it has. */
  async close(): Promise<void> {
    // The fixture disconnects once it has closed its server, then calls
    // process.exit(). A Node 26 CI run once saw one not exit. No handle of
    // the library's can hold up process.exit() (that the loop empties by
    // itself is the natural-exit test in edge-cases); Node's exit can hang by
    // itself (test/helpers/child-line.ts: nodejs/node#54918, caught by gdb
    // on a stock Node 26 process). Once it has let go of the channel there
    // is nothing left to wait for.
    this.child.once('disconnect', () => this.kill());
    if (this.child.connected) this.child.send({ id: -1, type: 'close' });
    else this.kill();
    await this.exited;
  }

  /**
   * Closes the server (server.close(), closeAllConnections()) and the channel
   * without telling the fixture to exit: resolves with its exit code once
   * the process has exited by itself, with nothing left in its loop. A
   * handle the library left behind keeps this pending.
   */
  async closeNaturally(): Promise<number | string | null> {
    const code = new Promise<number | string | null>((r) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        r(this.child.exitCode ?? this.child.signalCode);
      else this.child.once('exit', (c, s) => r(c ?? s));
    });
    this.child.send({ id: -1, type: 'close', natural: true });
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** One server of each mode on the same root. */
export interface Pair {
  stock: Server;
  zerocopy: Server;
}

export async function startPair(framework: Framework, dir: string, options: ServerOptions = {}): Promise<Pair> {
  const [stock, zerocopy] = await Promise.allSettled(MODES.map((m) => Server.start(m, framework, dir, options)));
  if (stock.status === 'rejected' || zerocopy.status === 'rejected') {
    for (const s of [stock, zerocopy]) if (s.status === 'fulfilled') s.value.kill();
    throw stock.status === 'rejected' ? stock.reason : (zerocopy as PromiseRejectedResult).reason;
  }
  return { stock: stock.value, zerocopy: zerocopy.value };
}

export async function closePair(pair: Pair | undefined): Promise<void> {
  if (!pair) return;
  await Promise.all([pair.stock.close(), pair.zerocopy.close()]);
}
