// What request loggers see is the same whether the body went by sendfile or
// by Node's writes: morgan (on-finished, response headers, and a token that
// reads socket.bytesWritten, as byte-counting loggers do) and pino-http
// (status, headers). The same express app runs twice in this process, once
// piping Node's fs.ReadStream and once ours, and the log lines must match,
// timings aside. A chunked body is framed differently on the wire (one chunk
// of ours for what the kernel moves, where Node writes one per 64 KiB read),
// so there the byte count must equal what the client received instead.

import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import morgan from 'morgan';
import pino from 'pino';
import pinoHttp from 'pino-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream } from '../dist/index.js';
import { recordTransfers } from './helpers/diag';
import { makeFile, tmpDir } from './helpers/files';

const fast = process.env.ZEROCOPY_DISABLE !== '1';
const MiB = 1024 * 1024;
let dir: string;
let file: string;

beforeAll(() => {
  dir = tmpDir();
  file = makeFile(dir, 'body.bin', 3 * MiB + 11);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Open = (f: string) => NodeJS.ReadableStream;

function lines(): { sink: Writable; out: string[] } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { sink, out };
}

async function run(open: Open): Promise<{ morgan: string[]; pino: unknown[]; bodies: number[]; received: number[] }> {
  const m = lines();
  const p = lines();
  morgan.token('written', (req) => String(req.socket.bytesWritten));
  const app = express();
  app.use(
    morgan(':method :url :status :res[content-length] :res[transfer-encoding] written=:written', { stream: m.sink }),
  );
  app.use(pinoHttp({ logger: pino({ base: null, timestamp: false }, p.sink) }));
  // After the loggers' own listeners, so they have logged when this fires.
  let closed = 0;
  let allClosed!: () => void;
  const three = new Promise<void>((r) => {
    allClosed = r;
  });
  app.use((_req, res, next) => {
    res.on('close', () => {
      if (++closed === 3) allClosed();
    });
    next();
  });
  app.get('/cl', (_req, res) => {
    res.setHeader('Content-Length', fs.statSync(file).size);
    open(file).pipe(res);
  });
  app.get('/chunked', (_req, res) => {
    open(file).pipe(res);
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const bodies: number[] = [];
  const received: number[] = []; // the client socket's bytesRead at each response's end
  for (const route of ['/cl', '/chunked', '/cl']) {
    bodies.push(
      await new Promise<number>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: route, agent }, (res) => {
            let n = 0;
            const sock = res.socket; // the agent takes it back before 'end'
            res.on('data', (d: Buffer) => {
              n += d.length;
            });
            res.on('end', () => {
              received.push(sock.bytesRead);
              resolve(n);
            });
          })
          .on('error', reject);
      }),
    );
  }
  // pino-http logs on the response's 'close', which may follow the client's 'end'.
  await three;
  agent.destroy();
  await new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  const pinoRecords = p.out.map((l) => {
    const rec = JSON.parse(l);
    delete rec.responseTime;
    delete rec.req.remotePort;
    delete rec.req.headers.host;
    delete rec.res.headers.date;
    return rec;
  });
  return { morgan: m.out, pino: pinoRecords, bodies, received };
}

describe('HTTP request loggers', () => {
  it("morgan and pino-http log the same lines for our ReadStream as for Node's", async () => {
    const stock = await run((f) => fs.createReadStream(f));
    const rec = recordTransfers();
    const ours = await run((f) => createReadStream(f));
    rec.stop();
    const size = fs.statSync(file).size;
    expect(stock.bodies).toEqual([size, size, size]);
    expect(ours.bodies).toEqual(stock.bodies);
    for (const r of [stock, ours]) {
      expect(r.morgan.map((l) => Number(/written=(\d+)/.exec(l)![1]))).toEqual(r.received);
    }
    expect(ours.morgan[0]).toBe(stock.morgan[0]); // Content-Length: the same bytes on the wire
    const unframed = (l: string): string => l.replace(/written=\d+/, '');
    expect(ours.morgan.map(unframed)).toEqual(stock.morgan.map(unframed));
    expect(ours.pino).toHaveLength(3);
    expect(ours.pino).toEqual(stock.pino);
    const kernel = rec.messages.filter((m) => m.path === 'sendfile').reduce((a, m) => a + m.bytes, 0);
    expect(kernel).toBe(fast ? 3 * size : 0);
  });
});
