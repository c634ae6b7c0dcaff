// The destination's end() while a file transfer waits on its full socket.
// A socket (allowHalfOpen false, as every net.connect() socket) whose peer
// closed reads an end of file and Node calls its end(). On Node's path a full
// socket holds a write still pending, and end() waits for it: once the peer
// has gone that write fails, and pipeline() reports `write EPIPE`. The kernel
// transfer waiting for that socket to drain is that write; stopped at once,
// the socket shut down and closed with no error, and pipeline() reported
// ERR_STREAM_PREMATURE_CLOSE instead (the fault soak, file → Unix socket under
// `reset`: docs/reliability.md, "Fault soak").

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as stream from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream, pipeline } from '../dist/index.js';
import { native, transferOf } from '../dist/internal.js';
import { makeFile, tmpDir } from './helpers/files';
import { until } from './helpers/wait';

const fast = process.env.ZEROCOPY_DISABLE !== '1' && native !== null;
const SIZE = 16 * 1024 * 1024;
let dir: string;
let file: string;
let seq = 0;

beforeAll(() => {
  dir = tmpDir();
  file = makeFile(dir, 'src.bin', SIZE, 21);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Pipeline = (
  src: NodeJS.ReadableStream,
  dst: NodeJS.WritableStream,
  cb: (err: NodeJS.ErrnoException | null) => void,
) => void;

/**
 * file → Unix socket through `pipe`; the peer reads nothing, so the socket
 * fills. Once `full()` holds, the peer half-closes (our socket reads its end
 * of file and Node calls end()); at that 'end' the peer goes away. Resolves
 * with what pipeline() reported, as `code/syscall`.
 */
async function peerLeavesWhileFull(
  rs: fs.ReadStream,
  pipe: Pipeline,
  full: (sock: net.Socket) => boolean,
): Promise<string> {
  const sockPath = path.join(dir, `s${seq++}.sock`);
  let peer: net.Socket | null = null;
  const server = net.createServer((s) => {
    peer = s;
    s.pause();
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(sockPath, r));
  const sock = net.connect(sockPath);
  sock.on('error', () => {}); // reported through pipeline()
  const result = new Promise<NodeJS.ErrnoException | null>((resolve) => pipe(rs, sock, (err) => resolve(err ?? null)));
  await until(() => peer !== null && full(sock));
  const other = peer as unknown as net.Socket;
  sock.once('end', () => other.destroy());
  other.end();
  const err = await result;
  await new Promise<void>((r) => server.close(() => r()));
  return err ? `${err.code}/${err.syscall}` : 'no error';
}

describe.skipIf(!fast)('the destination ended while a transfer waits on its full socket', () => {
  it("file → Unix socket, the peer gone after the socket read its end: write EPIPE, as on Node's path", async () => {
    // Node's path: a write is pending once the socket is full.
    const node = await peerLeavesWhileFull(
      fs.createReadStream(file),
      stream.pipeline as unknown as Pipeline,
      (sock) => sock.writableNeedDrain,
    );
    // Ours: the kernel transfer waits for the socket to drain.
    const ours = await peerLeavesWhileFull(
      createReadStream(file),
      pipeline as unknown as Pipeline,
      (sock) => transferOf(sock)?.waitingInLoop === true,
    );
    expect(node).toMatch(/^(EPIPE|ECONNRESET)\/write$/);
    expect(ours).toBe(node);
  });
});
