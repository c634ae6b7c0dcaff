// The kernel never writes ahead of a chunk Node's flow still holds. Node 26's
// flowSync() takes a prefetched chunk off the source's buffer, calls _read()
// for the next one, and writes the held chunk only after _read() returns: a
// transfer started inside that _read() wrote ahead of it (wrong bytes, right
// length). These tests build that moment on purpose, then race it under CPU
// load with every byte checked, on every Node version.

import * as cp from 'node:child_process';
import * as crypto from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zc from '../dist/index.js';
import { recordTransfers } from './helpers/diag';
import { makeFile, sha256, tmpDir } from './helpers/files';
import { until } from './helpers/wait';

const fast = process.env.ZEROCOPY_DISABLE !== '1';
const MiB = 1024 * 1024;
let dir: string;
let file: string;
let content: Buffer;

beforeAll(() => {
  dir = tmpDir();
  file = makeFile(dir, 'src.bin', 4 * MiB + 777, 7);
  content = fs.readFileSync(file);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const out = (name: string): string => path.join(dir, name);

/** Resolves once the paused source holds a chunk it has not handed on. */
function whenSourceBuffers(src: fs.ReadStream): Promise<void> {
  return until(() => src.readableLength > 0 || src.destroyed);
}

/** A byte sink on loopback; resolves with the sha256 of everything one connection sent. */
async function sink(): Promise<{ port: number; received: Promise<string>; close(): void }> {
  let deliver!: (h: string) => void;
  const received = new Promise<string>((r) => {
    deliver = r;
  });
  const server = net.createServer((s) => {
    const h = crypto.createHash('sha256');
    s.on('data', (d) => h.update(d));
    s.on('end', () => deliver(h.digest('hex')));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, received, close: () => server.close() };
}

describe('a held chunk is written before the kernel takes over', () => {
  // cork() keeps the first chunk in the destination, so the paused source
  // reads the second into its buffer; uncork() then drains the destination
  // and resumes the flow with exactly one chunk buffered: the moment where
  // Node 26's flowSync() holds it during our _read().
  const cases: Array<[string, (p: string) => fs.WriteStream, boolean]> = [
    ['fs.WriteStream', (p) => fs.createWriteStream(p), false],
    ['fs.WriteStream with start', (p) => fs.createWriteStream(p, { flags: 'r+', start: 4096 }), true],
    ['zerocopy WriteStream', (p) => zc.createWriteStream(p), false],
    ['zerocopy WriteStream with start', (p) => zc.createWriteStream(p, { flags: 'r+', start: 4096 }), true],
  ];
  for (const [name, make, positional] of cases) {
    it(`into ${name}`, async () => {
      const rec = recordTransfers();
      const target = out(`held-${name.replace(/\W+/g, '-')}.bin`);
      if (positional) fs.writeFileSync(target, Buffer.alloc(4096 + content.length, 0xee));
      const src = zc.createReadStream(file);
      const dst = make(target);
      dst.cork();
      src.pipe(dst);
      await whenSourceBuffers(src);
      dst.uncork();
      await once(dst, 'close');
      rec.stop();
      const got = fs.readFileSync(target);
      expect(sha256(positional ? got.subarray(4096) : got)).toBe(sha256(content));
      if (positional) expect(got.subarray(0, 4096).every((b) => b === 0xee)).toBe(true);
      expect(dst.bytesWritten).toBe(content.length);
      const kernel = rec.messages.filter((m) => m.path !== 'normal');
      expect(kernel.map((m) => m.path)).toEqual(fast ? ['copy_file_range'] : []);
    });
  }

  it('into a socket', async () => {
    const rec = recordTransfers();
    const server = await sink();
    const sock = net.connect(server.port, '127.0.0.1');
    await once(sock, 'connect');
    const src = zc.createReadStream(file);
    sock.cork();
    src.pipe(sock);
    await whenSourceBuffers(src);
    sock.uncork();
    expect(await server.received).toBe(sha256(content));
    server.close();
    rec.stop();
    expect(rec.messages.filter((m) => m.path !== 'normal').map((m) => m.path)).toEqual(fast ? ['sendfile'] : []);
  });
});

describe('under CPU load, many copies at once', () => {
  // A busy process beside the test on these 2 cores is what exposed the race:
  // reads and writes of neighbouring chunks finish in any order.
  let busy: cp.ChildProcess;
  beforeAll(async () => {
    busy = cp.spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    await once(busy, 'spawn');
  });
  afterAll(() => {
    busy.kill('SIGKILL');
  });

  it('80 positional and whole-file copies, 16 to sockets: every byte right', async () => {
    const rec = recordTransfers();
    const SOCKETS = 16;
    const server = net.createServer();
    // A sender may finish before the server has even accepted its connection
    // (the kernel holds the bytes): count connections as they end.
    const hashes: string[] = [];
    const allReceived = new Promise<string[]>((resolve) => {
      server.on('connection', (s) => {
        const h = crypto.createHash('sha256');
        s.on('data', (d) => h.update(d));
        s.on('end', () => {
          hashes.push(h.digest('hex'));
          if (hashes.length === SOCKETS) resolve(hashes);
        });
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;

    const range = { start: 1000, end: 1000 + 2 * MiB - 1 };
    const rangeHash = sha256(content.subarray(range.start, range.end + 1));
    const wholeHash = sha256(content);
    const wrong: string[] = [];
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 80; i++) {
      const target = out(`load-${i}.bin`);
      const positional = i % 2 === 0;
      const ours = i % 4 < 2;
      if (positional) fs.writeFileSync(target, Buffer.alloc(4096 + range.end - range.start + 1));
      const dst = positional
        ? (ours ? zc.createWriteStream : fs.createWriteStream)(target, { flags: 'r+', start: 4096 })
        : (ours ? zc.createWriteStream : fs.createWriteStream)(target);
      const src = positional ? zc.createReadStream(file, range) : zc.createReadStream(file);
      jobs.push(
        new Promise((resolve) => {
          zc.pipeline(src, dst, (err) => {
            const got = fs.readFileSync(target);
            const hash = sha256(positional ? got.subarray(4096) : got);
            if (err || hash !== (positional ? rangeHash : wholeHash)) wrong.push(`${target}: ${err ?? 'wrong bytes'}`);
            resolve();
          });
        }),
      );
    }
    for (let i = 0; i < SOCKETS; i++) {
      const sock = net.connect(port, '127.0.0.1');
      jobs.push(
        new Promise((resolve, reject) => {
          zc.pipeline(zc.createReadStream(file), sock, (err) => (err ? reject(err) : resolve()));
        }),
      );
    }
    await Promise.all(jobs);
    const received = await allReceived;
    server.close();
    rec.stop();
    expect(wrong).toEqual([]);
    expect(received).toEqual(Array(SOCKETS).fill(wholeHash));
    if (fast) expect(rec.messages.filter((m) => m.path !== 'normal').length).toBe(80 + SOCKETS);
  });
});
