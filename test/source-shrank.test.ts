// A file truncated below bytes already handed to the kernel. sendfile queues
// the file's page-cache pages by reference, and a truncation zeroes the cut
// part of a page still queued: the peer would read zeros, or stale bytes, for
// the file's bytes, and then a clean end (an HTTP body of the promised
// length). Node's own path copied those bytes when it read them. So, once the
// transfer sees the file shorter than the offset it reached, the destination
// is reset with ERR_ZEROCOPY_SOURCE_SHRANK: the peer gets an error, never a
// clean end. A file that shrank before the kernel reached the cut ends early
// and cleanly, as a read loop would. Found by the fault soak
// (docs/reliability.md, "Fault soak").

import * as fs from 'node:fs';
import { createServer as httpCreateServer } from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream, pipeline, transferStats } from '../dist/index.js';
import { native } from '../dist/native.js';
import { recordTransfers } from './helpers/diag';
import { makeFile, tmpDir } from './helpers/files';
import { until } from './helpers/wait';

const fast = process.env.ZEROCOPY_DISABLE !== '1' && native !== null;
const MiB = 1024 * 1024;
const SIZE = 32 * MiB;
let dir: string;

beforeAll(() => {
  dir = tmpDir();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Client {
  bytes: number;
  prefix: number;
  ended: 'end' | 'error';
  code?: string;
}

/**
 * A client that reads nothing until `go()`: the server's sendfile fills the
 * socket and waits in the event loop. Then it reads everything and says how
 * it ended, and how many leading bytes matched `expected` (for an HTTP
 * `request`, of the body after the response head).
 */
function lazyClient(port: number, request: string | null, expected: Buffer): { go(): void; done: Promise<Client> } {
  const sock = net.connect(port, '127.0.0.1');
  sock.pause();
  if (request) sock.write(request);
  const chunks: Buffer[] = [];
  const done = new Promise<Client>((resolve) => {
    const finish = (ended: Client['ended'], code?: string): void => {
      let all = Buffer.concat(chunks);
      if (request) all = all.subarray(all.indexOf('\r\n\r\n') + 4);
      let prefix = 0;
      while (prefix < all.length && all[prefix] === expected[prefix]) prefix++;
      resolve({ bytes: all.length, prefix, ended, code });
    };
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('end', () => finish('end'));
    sock.on('error', (e: NodeJS.ErrnoException) => finish('error', e.code));
  });
  return { go: () => sock.resume(), done };
}

// Resolves once the (only) transfer waits for its full socket in the event
// loop: every byte up to rs.bytesRead is then queued in the kernel.
async function waitingOnFullSocket(rs: fs.ReadStream): Promise<number> {
  await until(() => transferStats().waiting === 1);
  return rs.bytesRead;
}

interface Served {
  reached: number;
  result: Promise<NodeJS.ErrnoException | null>;
  client: ReturnType<typeof lazyClient>;
  close(): void;
}

/**
 * One transfer of `file` to a lazy client, through a TCP server (or, with
 * `http`, an HTTP response with its Content-Length); resolves once the kernel
 * has queued all it can (`reached`), the client not yet reading.
 */
async function serveToLazyClient(file: string, http = false): Promise<Served> {
  const original = fs.readFileSync(file);
  let result!: Promise<NodeJS.ErrnoException | null>;
  let queued!: Promise<number>;
  const serve = (rs: fs.ReadStream, dst: NodeJS.WritableStream): void => {
    result = new Promise((resolve) => pipeline(rs, dst, (err) => resolve(err ?? null)));
    queued = waitingOnFullSocket(rs);
  };
  const server: net.Server & { closeAllConnections?(): void } = http
    ? httpCreateServer((_req, res) => {
        res.setHeader('Content-Length', original.length);
        serve(createReadStream(file), res);
      })
    : net.createServer((s) => serve(createReadStream(file), s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = lazyClient(
    (server.address() as net.AddressInfo).port,
    http ? 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' : null,
    original,
  );
  await until(() => queued !== undefined);
  const reached = await queued;
  return {
    reached,
    result,
    client,
    close: () => {
      server.closeAllConnections?.();
      server.close();
    },
  };
}

describe.skipIf(!fast)('a source file that shrinks under the kernel', () => {
  it('file → TCP: cut below the bytes queued: pipeline fails with ERR_ZEROCOPY_SOURCE_SHRANK, the peer gets a reset', async () => {
    const file = makeFile(dir, 'tcp.bin', SIZE, 11);
    const rec = recordTransfers();
    const { reached, result, client, close } = await serveToLazyClient(file);
    const cut = Math.floor(reached / 3);
    fs.truncateSync(file, cut);
    client.go();
    const [err, got] = await Promise.all([result, client.done]);
    rec.stop();
    close();
    expect(err?.code).toBe('ERR_ZEROCOPY_SOURCE_SHRANK');
    // Never a clean end: the peer knows the stream is not the file.
    expect(got.ended).toBe('error');
    expect(got.code).toBe('ECONNRESET');
    expect(got.prefix).toBeGreaterThanOrEqual(Math.min(cut, got.bytes));
    expect(rec.messages.some((m) => m.reason === 'source shrank below the bytes sent' && m.path === 'sendfile')).toBe(
      true,
    );
  });

  it('HTTP, Content-Length: cut below the bytes queued: the response never completes', async () => {
    const file = makeFile(dir, 'http.bin', SIZE, 12);
    const rec = recordTransfers();
    const { reached, result, client, close } = await serveToLazyClient(file, true);
    fs.truncateSync(file, Math.floor(reached / 2));
    client.go();
    const [err, got] = await Promise.all([result, client.done]);
    rec.stop();
    close();
    expect(err).not.toBeNull(); // the response closed before its end, as after any failed write
    expect(got.ended).toBe('error');
    expect(got.bytes).toBeLessThan(SIZE);
    const shrank = rec.messages.find((m) => m.reason === 'source shrank below the bytes sent');
    expect((shrank?.error as NodeJS.ErrnoException | undefined)?.code).toBe('ERR_ZEROCOPY_SOURCE_SHRANK');
  });

  it('cut past the bytes queued: the kernel reaches the new end, and the stream ends there cleanly, byte-exact', async () => {
    const file = makeFile(dir, 'later.bin', SIZE, 13);
    const { reached, result, client, close } = await serveToLazyClient(file);
    const cut = reached + 3 * MiB + 5;
    fs.truncateSync(file, cut);
    client.go();
    const [err, got] = await Promise.all([result, client.done]);
    close();
    expect(err).toBeNull();
    expect(got).toEqual({ bytes: cut, prefix: cut, ended: 'end', code: undefined });
  });
});
