// Many transfers at once, some destroyed at random moments: every completed
// receiver gets exactly its own file, and no fd is left behind.

import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream, transferStats } from '../dist/index.js';
import { recordTransfers } from './helpers/diag';
import { fileHash, makeFile, openFdCount, tmpDir } from './helpers/files';
import { until } from './helpers/wait';

const FILES = 8;
const SIZE = 4 * 1024 * 1024;
let dir: string;
const files: string[] = [];
const hashes = new Map<string, string>();

beforeAll(async () => {
  dir = tmpDir();
  for (let i = 0; i < FILES; i++) {
    const f = makeFile(dir, `f${i}.bin`, SIZE + i * 4099, i + 1);
    files.push(f);
    hashes.set(f, await fileHash(f));
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const fast = process.env.ZEROCOPY_DISABLE !== '1';

describe('200 concurrent file→socket transfers', () => {
  it('deliver exact bytes to every completed receiver and leak no fd, with a fifth destroyed', async () => {
    const rec = recordTransfers();
    const fdsBefore = openFdCount();
    // The receiver reads the file's identity first (a 1-byte tag line) so a
    // misdirected byte would show as a wrong hash for that tag.
    const results: Array<{ tag: number; bytes: number; hash: string }> = [];
    const crypto = await import('node:crypto');
    const server = net.createServer((s) => {
      let tag = -1;
      let bytes = 0;
      const h = crypto.createHash('sha256');
      s.on('data', (d: Buffer) => {
        if (tag < 0) {
          tag = d[0];
          d = d.subarray(1);
        }
        bytes += d.length;
        h.update(d);
      });
      s.on('error', () => undefined);
      s.on('close', () => results.push({ tag, bytes, hash: h.digest('hex') }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;

    const N = 200;
    let destroyed = 0;
    const jobs: Promise<'done' | 'destroyed'>[] = [];
    for (let i = 0; i < N; i++) {
      const file = files[i % FILES];
      const kill = i % 5 === 0;
      jobs.push(
        new Promise((resolve) => {
          // Done when both have closed: a read stream closes its fd on the
          // threadpool after its 'end', and the socket can close first.
          let open = 2;
          const closed = (): void => {
            if (--open === 0) resolve(kill ? 'destroyed' : 'done');
          };
          const sock = net.connect(port, '127.0.0.1', () => {
            sock.write(Buffer.from([i % FILES]));
            const src = createReadStream(file);
            src.on('close', closed);
            src.pipe(sock);
            sock.on('error', () => undefined);
            src.on('error', () => undefined);
            if (kill) {
              setTimeout(() => {
                destroyed++;
                // Either side first; plain pipe() never closes the source for
                // us (Node's rule), so the test does.
                if (i % 10 === 0) {
                  src.destroy();
                  sock.destroy();
                } else {
                  sock.destroy();
                  src.destroy();
                }
              }, Math.random() * 40);
            }
            sock.on('close', closed);
          });
          sock.on('error', () => undefined);
        }),
      );
    }
    await Promise.all(jobs); // every socket and every read stream closed
    await until(() => results.length === N); // every receiver saw its connection close
    await new Promise<void>((r) => server.close(() => r()));
    rec.stop();

    expect(destroyed).toBe(N / 5);
    let complete = 0;
    for (const r of results) {
      const file = files[r.tag];
      const expectedSize = fs.statSync(file).size;
      if (r.bytes === expectedSize) {
        complete++;
        expect(r.hash).toBe(hashes.get(file));
      } else {
        // A destroyed transfer delivers a prefix, never anything else.
        expect(r.bytes).toBeLessThan(expectedSize);
      }
    }
    expect(complete).toBeGreaterThanOrEqual(N - N / 5);
    if (process.env.ZEROCOPY_DISABLE !== '1') {
      expect(rec.messages.filter((m) => m.path === 'sendfile').length).toBeGreaterThan(N / 2);
    }
    // The native side closes its duplicates when a transfer ends: none is left.
    expect(transferStats().running).toBe(0);
    expect(openFdCount()).toBe(fdsBefore);
  });
});

describe('event loop and threadpool stay free', () => {
  // More stalled transfers than the threadpool has threads (4), to receivers
  // that read nothing: if a transfer parked a pool thread on its full socket,
  // or blocked the loop, the fs and dns work below could never finish while
  // they stall. No timing is measured: the work must simply complete while
  // every transfer is still waiting.
  it('fs.readFile, dns.lookup and timers complete while 6 transfers wait on full sockets', async () => {
    const SIZE_STALLED = 64 * 1024 * 1024; // far more than loopback socket buffers hold
    const big = `${dir}/sparse-64m.bin`;
    const fd = fs.openSync(big, 'w');
    fs.ftruncateSync(fd, SIZE_STALLED);
    fs.closeSync(fd);

    const STALLED = 6;
    const peers: net.Socket[] = [];
    const received: Promise<number>[] = [];
    const server = net.createServer((s) => {
      s.pause(); // reads nothing until released
      peers.push(s);
      received.push(
        new Promise((resolve) => {
          let got = 0;
          s.on('data', (d: Buffer) => {
            got += d.length;
          });
          s.on('end', () => resolve(got));
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;

    const sent: Promise<void>[] = [];
    for (let i = 0; i < STALLED; i++) {
      const sock = net.connect(port, '127.0.0.1');
      sent.push(
        new Promise((resolve, reject) => {
          sock.on('connect', () => createReadStream(big).pipe(sock).on('finish', resolve).on('error', reject));
        }),
      );
    }
    if (fast) await until(() => transferStats().waiting === STALLED);

    const small = files[0];
    const work = [
      ...Array.from({ length: 12 }, () => fs.promises.readFile(small).then((b) => b.length)),
      ...Array.from({ length: 6 }, () => dns.promises.lookup('localhost').then(() => 1)),
      new Promise<number>((r) => setTimeout(() => r(1), 1)),
      new Promise<number>((r) => setImmediate(() => r(1))),
    ];
    await Promise.all(work);
    // Still stalled: the work above finished while every transfer waited.
    if (fast) expect(transferStats()).toMatchObject({ running: STALLED, waiting: STALLED });
    await until(() => peers.length === STALLED); // all accepted (the kernel queues bytes before accept)

    for (const p of peers) p.resume();
    await Promise.all(sent);
    expect(await Promise.all(received)).toEqual(Array(STALLED).fill(SIZE_STALLED));
    expect(transferStats().running).toBe(0);
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(big);
  });
});
