// The private state of Node's HTTP layer that a kernel-moved body relies on
// (src/facts/http-body.ts, src/paths/from-http-body.ts), checked on the
// running Node — CI runs this on 20, 22, 24 and 26. Each read in the library
// is guarded (a missing field declines the flow): this says which one moved.
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeInternals, nodeWrites } from '../dist/internal.js';
import { native as maybeNative } from '../src/native';
import { until } from './helpers/wait';

// The test that uses it is skipped without the addon.
const native = maybeNative as NonNullable<typeof maybeNative>;

let server: http.Server;
let port: number;
let onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => {};

beforeAll(async () => {
  server = http.createServer((req, res) => onRequest(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function nextRequest(): Promise<[http.IncomingMessage, http.ServerResponse]> {
  return new Promise((resolve) => {
    onRequest = (req, res) => resolve([req, res]);
  });
}

/** The body callback Node runs for each body slice, called as the C++ side would. */
function bodyCallback(req: http.IncomingMessage): (b: Buffer) => void {
  const facts = nodeInternals.httpParserOf(req.socket);
  if (!facts) throw new Error('no parser facts');
  const cb = facts.parser[facts.kOnBody] as (b: Buffer) => void;
  return (b) => cb.call(facts.parser, b);
}

describe(`Node ${process.version}: the HTTP state a kernel-moved body reads is there`, () => {
  it("a server request: its socket's parser consumes the handle, reads the message, has a body slot", async () => {
    const got = nextRequest();
    const client = net.connect(port, '127.0.0.1');
    client.write('PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n');
    const [req, res] = await got;
    const facts = nodeInternals.httpParserOf(req.socket);
    expect(facts?.consumed).toBe(true);
    expect(facts?.parser.incoming).toBe(req);
    expect(typeof facts?.kOnBody).toBe('number');
    expect(nodeInternals.socketHandle(req.socket)).not.toBeNull();
    expect(nodeInternals.socketPausedByServer(req.socket)).toBe(false);
    expect(nodeInternals.dataEmitted(req)).toBe(false);
    expect(nodeInternals.messageDumped(req)).toBe(false);
    expect(nodeInternals.continueSent(res)).toBe(false);
    expect(nodeInternals.socketCurrentResponse(req.socket)).toBe(res);
    expect((res as unknown as { req: unknown }).req).toBe(req);
    expect(nodeInternals.lenientParser(req.socket, req)).toBe(false);
    client.destroy();
  });

  it("'Expect: 100-continue' answered by Node shows on the response", async () => {
    const got = nextRequest();
    const client = net.connect(port, '127.0.0.1');
    client.write('PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n');
    const [, res] = await got;
    expect(nodeInternals.continueSent(res)).toBe(true);
    client.destroy();
  });

  it("the body callback pushes into the message with push(), and drops a dumped message's slices", async () => {
    const got = nextRequest();
    const client = net.connect(port, '127.0.0.1');
    client.write('PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n');
    const [req] = await got;
    const pushed: number[] = [];
    const push = req.push;
    req.push = function (this: http.IncomingMessage, chunk: unknown, enc?: BufferEncoding) {
      if (chunk) pushed.push((chunk as Buffer).length);
      return push.call(this, chunk, enc);
    };
    const onBody = bodyCallback(req);
    onBody(Buffer.alloc(3));
    const m = req as unknown as { _dumped: boolean };
    m._dumped = true;
    onBody(Buffer.alloc(4));
    m._dumped = false;
    expect(pushed).toEqual([3]);
    client.destroy();
  });

  it('a client response: its parser is fed from the socket, reads the message, has a body slot', async () => {
    onRequest = (_req, res) => {
      res.setHeader('content-length', 5);
      res.write('ab');
    };
    const res = await new Promise<http.IncomingMessage>((resolve) =>
      http.get({ port, host: '127.0.0.1', agent: false }, resolve),
    );
    const facts = nodeInternals.httpParserOf(res.socket);
    expect(facts?.consumed).toBe(false);
    expect(facts?.parser.incoming).toBe(res);
    expect((res as unknown as { req: { method: string } }).req.method).toBe('GET');
    res.destroy();
  });

  it.skipIf(!maybeNative)(
    "a held socket's reads stay stopped through the server's pause and resume, and come back after",
    async () => {
      const got = nextRequest();
      const client = net.connect(port, '127.0.0.1');
      client.write('PUT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n');
      const [req, res] = await got;
      const sock = req.socket;
      const letGo = nodeWrites.holdSocketReads(sock);
      expect(letGo).not.toBeNull();
      // Node's own backpressure cycle on a consumed socket: 'pause' stops, 'resume' restarts the handle.
      sock.pause();
      sock.resume();
      await new Promise((r) => setImmediate(r));
      let arrived = 0;
      req.on('data', (d: Buffer) => {
        arrived += d.length;
      });
      client.write(Buffer.alloc(100000));
      // Nothing reaches the parser while held: the kernel keeps all of it.
      const fd = nodeInternals.socketFd(sock);
      await until(() => native.bytesReadable(fd) >= 100000);
      expect(arrived).toBe(0);
      letGo?.();
      nodeWrites.resumeSocketReading(sock);
      await once(req, 'end');
      expect(arrived).toBe(100000);
      res.end();
      client.destroy();
    },
  );
});
