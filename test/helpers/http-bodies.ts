// Scenarios for HTTP bodies as sources (issue #17): one run with Node's own
// fs.WriteStream, one with ours, in this process; each records what an
// application could observe — events of the request, the response, the file
// stream, in one sequence; the bytes that landed; the wire as the peer saw
// it (Date removed) — and the zerocopy:transfer messages of its run.
import * as crypto from 'node:crypto';
import type { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as zc from '../../dist/index.js';
import type { TransferMessage } from '../../src/diagnostics';
import { recordTransfers } from './diag';

export type Impl = 'node' | 'zerocopy';
export const IMPLS: Impl[] = ['node', 'zerocopy'];
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const fastPathOff = process.env.ZEROCOPY_DISABLE === '1';

export function writeStreamOf(impl: Impl): typeof fs.createWriteStream {
  return impl === 'node' ? fs.createWriteStream : (zc.createWriteStream as typeof fs.createWriteStream);
}

/** A recorder of events on several emitters, in one sequence: `label event`. */
export class Log {
  readonly lines: string[] = [];
  watch<T extends EventEmitter>(label: string, e: T, events: string[]): T {
    for (const name of events) {
      e.on(name, (arg?: unknown) => {
        const err = arg as NodeJS.ErrnoException | undefined;
        this.lines.push(name === 'error' ? `${label} error ${err?.code ?? err?.message}` : `${label} ${name}`);
      });
    }
    return e;
  }
  add(line: string): void {
    this.lines.push(line);
  }
  /**
   * Each label's own sequence: the order Node guarantees within a stream.
   * Across streams it guarantees little (a request's 'close' and its file's
   * 'finish' race through nextTicks on Node's own path), so a test names
   * the cross-stream orders it compares with before().
   */
  byLabel(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const l of this.lines) {
      const label = l.split(' ')[0];
      const list = out[label] ?? [];
      list.push(l.slice(label.length + 1));
      out[label] = list;
    }
    return out;
  }
  /** Whether line `a` came before line `b` ('missing' if either never came). */
  before(a: string, b: string): boolean | 'missing' {
    const i = this.lines.indexOf(a);
    const j = this.lines.indexOf(b);
    return i < 0 || j < 0 ? 'missing' : i < j;
  }
}

export const REQ_EVENTS = ['end', 'aborted', 'error', 'close'];
export const WS_EVENTS = ['finish', 'error', 'close'];

export function sha(buf: Buffer): string {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

export function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** What a file holds: its size and hash, or 'missing'. */
export function fileFacts(file: string): string {
  try {
    const b = fs.readFileSync(file);
    return `${b.length} ${sha(b).slice(0, 16)}`;
  } catch {
    return 'missing';
  }
}

/** The wire without the Date header (the only line that differs between runs). */
export function withoutDate(text: string): string {
  return text.replace(/\r\nDate: [^\r]*/g, '');
}

/** A server in this process; `handle` decides what each request does. */
export async function startServer(
  handle: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void,
  options: http.ServerOptions = {},
): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  let n = 0;
  const server = http.createServer(options, (req, res) => handle(req, res, n++));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A raw client: writes `parts` in order (a function part runs when reached) and gathers what comes back until the server closes. */
export async function rawExchange(
  port: number,
  parts: Array<Buffer | string | ((sock: net.Socket, received: () => string) => Promise<void> | void)>,
): Promise<{ text: string; error?: string }> {
  const sock = net.connect(port, '127.0.0.1');
  let text = '';
  let error: string | undefined;
  sock.on('data', (d) => {
    text += d.toString('latin1');
  });
  sock.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code;
  });
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  await new Promise<void>((r, j) => {
    sock.once('connect', r);
    sock.once('error', j);
  });
  for (const part of parts) {
    if (typeof part === 'function') await part(sock, () => text);
    else if (!sock.destroyed) sock.write(part);
  }
  await closed;
  return { text: withoutDate(text), error };
}

/** Resolves once the text received so far satisfies `cond` (checked at every chunk). */
export function receivedUntil(sock: net.Socket, received: () => string, cond: (t: string) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (cond(received())) {
        sock.off('data', check);
        sock.off('close', check);
        resolve();
      }
    };
    sock.on('data', () => setImmediate(check));
    sock.on('close', check);
    check();
  });
}

export function putHead(pathname: string, length: number, extra = ''): string {
  return `PUT ${pathname} HTTP/1.1\r\nHost: t\r\nContent-Length: ${length}\r\n${extra}\r\n`;
}

/** Runs a scenario in both implementations, each with its own directory and transfer record. */
export async function runBoth<T>(
  base: string,
  scenario: (impl: Impl, dir: string) => Promise<T>,
): Promise<Record<Impl, { result: T; transfers: TransferMessage[] }>> {
  const out = {} as Record<Impl, { result: T; transfers: TransferMessage[] }>;
  for (const impl of IMPLS) {
    const dir = fs.mkdtempSync(path.join(base, `${impl}-`));
    const rec = recordTransfers();
    try {
      out[impl] = { result: await scenario(impl, dir), transfers: rec.messages };
    } finally {
      rec.stop();
    }
  }
  return out;
}

/** Bytes the kernel moved in a run, by the transfer messages. */
export function splicedBytes(transfers: TransferMessage[]): number {
  return transfers.filter((t) => t.path === 'splice').reduce((a, t) => a + t.bytes, 0);
}

export function declineReasons(transfers: TransferMessage[]): string[] {
  return transfers.filter((t) => t.path === 'normal').map((t) => t.reason);
}
