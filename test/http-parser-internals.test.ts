// Groundwork for issue #17 (HTTP bodies): the server-side parser internals a
// kernel-moved request body would rely on, checked on the running Node. The
// library does not use them yet; this says whether they are where #17 expects
// them on every Node in CI (20, 22, 24, 26):
// - the socket's parser consumes its handle in C++ (`_consumed`), and has
//   `unconsume()`/`consume(handle)` to give the reads back and take them again;
// - `HTTPParser.kOnBody` names the body callback's slot;
// - with that slot emptied, executing a zero buffer as long as the body bytes
//   that went elsewhere brings the parser to message-complete: 'end',
//   `req.complete`, and the next request on the same keep-alive connection.
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { expect, it } from 'vitest';

const BODY = 100_000;

interface ParserView {
  _consumed?: boolean;
  consume(handle: unknown): void;
  unconsume(): void;
  execute(buf: Buffer): number | Error;
  [slot: number]: unknown;
  constructor: { kOnBody: number };
}

/** Reads `want` bytes from a non-blocking fd, a loop turn between tries: what the kernel move would have taken. */
async function drainFd(fd: number, want: number): Promise<number> {
  const buf = Buffer.alloc(64 * 1024);
  let got = 0;
  while (got < want) {
    try {
      got += fs.readSync(fd, buf, 0, Math.min(buf.length, want - got), null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      await new Promise((r) => setImmediate(r));
    }
  }
  return got;
}

it('a request body taken from the socket elsewhere can be skipped in the parser, and keep-alive goes on', async () => {
  const seen: string[] = [];
  let bodyWanted!: () => void;
  const bodyMaySend = new Promise<void>((r) => {
    bodyWanted = r;
  });
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      seen.push(`GET ${req.url}`);
      res.end('second');
      return;
    }
    const sock = req.socket as net.Socket & {
      parser: ParserView;
      _handle: { fd: number; readStop(): void; readStart(): void };
    };
    const parser = sock.parser;
    const kOnBody = parser.constructor.kOnBody;
    seen.push(`consumed ${parser._consumed === true}`, `kOnBody ${typeof kOnBody} ${typeof parser[kOnBody]}`);
    req.on('data', () => seen.push('data'));
    req.on('end', () => seen.push(`end complete=${req.complete}`));
    // A later turn, never inside llhttp's execute (issue #17's pointer).
    setImmediate(async () => {
      parser.unconsume();
      sock._handle.readStop();
      bodyWanted();
      const moved = await drainFd(sock._handle.fd, BODY);
      const onBody = parser[kOnBody];
      parser[kOnBody] = () => {};
      const r = parser.execute(Buffer.alloc(moved));
      parser[kOnBody] = onBody;
      seen.push(`skipped ${r}`);
      parser.consume(sock._handle);
      sock._handle.readStart();
      res.end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  let text = '';
  const responded = (tail: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (text.endsWith(tail)) {
          client.off('data', onData);
          resolve();
        }
      };
      const onData = (d: Buffer) => {
        text += d.toString('latin1');
        check();
      };
      client.on('data', onData);
      check();
    });
  client.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY}\r\n\r\n`);
  await bodyMaySend;
  client.write(Buffer.alloc(BODY, 97));
  await responded('ok');
  const first = text.split('\r\n')[0];
  text = '';
  client.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
  await responded('second');
  client.destroy();
  server.close();
  expect(first).toBe('HTTP/1.1 200 OK');
  expect(text.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
  expect(seen).toEqual([
    'consumed true',
    'kOnBody number function',
    `skipped ${BODY}`,
    'end complete=true',
    'GET /next',
  ]);
});
