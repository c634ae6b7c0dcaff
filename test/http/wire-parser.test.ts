// The raw HTTP client's parser (test/helpers/http-wire.ts), checked on
// crafted bytes cut at every offset: the HTTP tests can only be as right as
// it is.

import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { BodyDigest, exchange, ResponseParser } from '../helpers/http-wire';

const sha = (s: string | Buffer): string => crypto.createHash('sha256').update(s).digest('hex');

/** Parses `wire` fed in pieces cut at `cuts`, answering `methods` in order. */
function parse(wire: string, methods: string[], cuts: number[] = [], clean = true): ResponseParser {
  let i = 0;
  const parser = new ResponseParser(() => methods[i++] ?? 'GET');
  const buf = Buffer.from(wire, 'latin1');
  let at = 0;
  for (const cut of [...cuts, buf.length]) {
    parser.push(buf.subarray(at, cut));
    at = cut;
  }
  parser.finish(clean);
  return parser;
}

const WIRE =
  'HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\nContent-Length: 5\r\nX-Case: KeepMe\r\n\r\nhello' +
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0a\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n' +
  'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + // a HEAD response: no body whatever it says
  'HTTP/1.1 100 Continue\r\n\r\n' +
  'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n' +
  'HTTP/1.1 204 No Content\r\n\r\n' +
  'HTTP/1.1 206 Partial Content\r\nContent-Length: 0\r\n\r\n' +
  'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end';
const METHODS = ['GET', 'GET', 'HEAD', 'GET', 'GET', 'GET', 'GET'];

function summary(p: ResponseParser): unknown {
  return p.responses.map((r) => [r.status, r.framing, r.complete, r.body.length, r.body.digest, r.trailers]);
}

describe('the raw HTTP response parser', () => {
  const expected = [
    [200, 'length', true, 5, sha('hello'), []],
    [200, 'chunked', true, 13, sha('abc0123456789'), [['X-Trailer', 't']]],
    [200, 'none', true, 0, sha(''), []],
    [304, 'none', true, 0, sha(''), []],
    [204, 'none', true, 0, sha(''), []],
    [206, 'length', true, 0, sha(''), []],
    [200, 'close', true, 13, sha('until the end'), []],
  ];

  it('frames by Content-Length, chunked, HEAD/1xx/204/304 and close; keeps headers as sent but Date', () => {
    const p = parse(WIRE, METHODS);
    expect(p.error).toBeNull();
    expect(summary(p)).toEqual(expected);
    expect(p.responses[0].headers).toEqual([
      ['Content-Length', '5'],
      ['X-Case', 'KeepMe'],
    ]);
  });

  it('gives the same answer however the bytes are cut', () => {
    for (let cut = 1; cut < WIRE.length; cut++) {
      const p = parse(WIRE, METHODS, [cut]);
      expect(p.error, `cut at ${cut}`).toBeNull();
      expect(summary(p), `cut at ${cut}`).toEqual(expected);
    }
    const bytewise = parse(
      WIRE,
      METHODS,
      Array.from({ length: WIRE.length - 1 }, (_, i) => i + 1),
    );
    expect(summary(bytewise)).toEqual(expected);
  });

  it('a body cut short is incomplete, by length, by chunks, or by an unclean close', () => {
    const short = parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello', ['GET']);
    expect(short.responses).toHaveLength(0);
    expect(short.partialResponse).toMatchObject({ complete: false, body: { length: 5, digest: sha('hello') } });
    const chunks = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', ['GET']);
    expect(chunks.responses).toHaveLength(0);
    expect(chunks.partialResponse).toMatchObject({ complete: false, body: { length: 5 } });
    const reset = parse('HTTP/1.1 200 OK\r\n\r\nsome', ['GET'], [], false);
    expect(reset.responses).toHaveLength(0);
    expect(reset.partialResponse?.complete).toBe(false);
  });

  it('refuses broken framing', () => {
    expect(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', ['GET']).error).toMatch(/chunk size/);
    expect(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXY', ['GET']).error).toMatch(/CRLF/);
    expect(parse('HTTX/1.1 200 OK\r\n\r\n', ['GET']).error).toMatch(/status line/);
  });

  it("the 'sparse' digest is exact: one changed byte, or a moved one, changes it", () => {
    const digest = (b: Buffer, piece = 4096): string => {
      const d = new BodyDigest('sparse');
      for (let i = 0; i < b.length; i += piece) d.update(b.subarray(i, i + piece));
      return d.digest();
    };
    const body = Buffer.alloc(300 * 1024);
    crypto.randomFillSync(body, 100 * 1024, 1000);
    const same = digest(body, 7777);
    expect(digest(body)).toBe(same);
    const changed = Buffer.from(body);
    changed[200 * 1024] = 1;
    expect(digest(changed)).not.toBe(same);
    const moved = Buffer.alloc(body.length);
    body.copy(moved, 64 * 1024, 0, body.length - 64 * 1024); // the island one block later
    expect(digest(moved)).not.toBe(same);
    expect(digest(body.subarray(0, body.length - 1))).not.toBe(same);
  });

  it('exchange(): pipelined requests leave in one write; a Connection: close response ends the sequence', async () => {
    const seen: string[] = [];
    const server = net.createServer((s) => {
      s.on('data', (d) => {
        seen.push(d.toString('latin1'));
        s.write(
          'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
        );
        s.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const x = await exchange(port, [{ path: '/a' }, { path: '/b' }, { path: '/c' }], { pipelined: true });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toBe(['/a', '/b', '/c'].map((p) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join(''));
      expect(x.responses.map((r) => r.body.length)).toEqual([2, 2]);
      expect(x.closedBy).toBe('server');
      expect(x.rawBytes).toBe(
        Buffer.byteLength('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') * 2 + 'Connection: close\r\n'.length,
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
