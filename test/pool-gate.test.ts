// Many transfers at once leave the threadpool to the program: at most
// MAX_POOL_JOBS of our chunks are on it at any moment, so an fs or dns
// request waits behind no more than those (docs/reliability.md, "Threadpool
// fairness": with a chunk queued per transfer, 1000 transfers made a 4 KiB
// fs.readFile take 14.8 s). What that buys in latency is measured by the
// benchmark; here, the bound itself.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream, createWriteStream, transferStats } from '../dist/index.js';
import { MAX_POOL_JOBS, native } from '../dist/internal.js';
import { fileHash, makeFile, tmpDir } from './helpers/files';
import { connect, hashingServer } from './helpers/net';
import { until } from './helpers/wait';

const fast = process.env.ZEROCOPY_DISABLE !== '1' && native !== null;
const MiB = 1024 * 1024;
let dir: string;
let src: string;
let srcHash: string;

type Copy = NonNullable<typeof native>['copy'];
type Relay = NonNullable<typeof native>['relay'];
let realCopy: Copy;
let realRelay: Relay;
let inFlight = 0;
let maxInFlight = 0;

beforeAll(async () => {
  dir = tmpDir();
  src = makeFile(dir, 'src.bin', 17 * MiB + 3); // three 8 MiB chunks into a file
  srcHash = await fileHash(src);
  if (!native) return;
  // Counts our jobs on the pool: the gate calls native.copy when a job starts.
  realCopy = native.copy;
  native.copy = ((op, inFd, outFd, inOff, outOff, len, cb) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    realCopy.call(native, op, inFd, outFd, inOff, outOff, len, (errno, n) => {
      inFlight--;
      cb(errno, n);
    });
  }) as Copy;
  // Socket → file jobs go through the same gate.
  realRelay = native.relay;
  native.relay = ((...args: Parameters<Relay>) => {
    const cb = args[9];
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    args[9] = (errno, side, received, delivered) => {
      inFlight--;
      cb(errno, side, received, delivered);
    };
    realRelay.apply(native, args);
  }) as Relay;
});
afterAll(() => {
  if (native && realCopy) native.copy = realCopy;
  if (native && realRelay) native.relay = realRelay;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!fast)('the threadpool gate', () => {
  it('12 file → file copies: never more than MAX_POOL_JOBS chunks on the pool, every copy exact', async () => {
    maxInFlight = 0;
    const copies = Array.from({ length: 12 }, (_, i) =>
      pipeline(createReadStream(src), createWriteStream(path.join(dir, `out${i}`))),
    );
    await Promise.all(copies);
    expect(maxInFlight).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThanOrEqual(MAX_POOL_JOBS);
    for (let i = 0; i < 12; i++) expect(await fileHash(path.join(dir, `out${i}`))).toBe(srcHash);
  });

  it('16 file → socket sends: the same bound, every byte received', async () => {
    maxInFlight = 0;
    const sink = await hashingServer();
    const sends = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const sock = await connect(sink.port);
        return pipeline(createReadStream(src), sock);
      }),
    );
    await Promise.all(sends);
    const got = await Promise.all(Array.from({ length: 16 }, () => sink.next()));
    await sink.close();
    expect(maxInFlight).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThanOrEqual(MAX_POOL_JOBS);
    for (const r of got) expect(r.hash).toBe(srcHash);
  });

  it('12 socket → file uploads: relay jobs under the same bound, every file exact', async () => {
    maxInFlight = 0;
    const server = net.createServer((c) => fs.createReadStream(src).pipe(c));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const sock = await connect(port);
        await pipeline(sock, createWriteStream(path.join(dir, `up${i}`)));
      }),
    );
    await new Promise((r) => server.close(r));
    expect(maxInFlight).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThanOrEqual(MAX_POOL_JOBS);
    for (let i = 0; i < 12; i++) expect(await fileHash(path.join(dir, `up${i}`))).toBe(srcHash);
  });

  it('destroy() of transfers whose chunks wait for their turn: each closes, with what Node gives a destroyed write', async () => {
    const flows = Array.from({ length: 6 }, (_, i) => {
      const r = createReadStream(src);
      const w = createWriteStream(path.join(dir, `cut${i}`));
      const errors: string[] = [];
      r.on('error', (e: NodeJS.ErrnoException) => errors.push(`src ${e.code}`));
      w.on('error', (e: NodeJS.ErrnoException) => errors.push(`dst ${e.code}`));
      r.pipe(w);
      return { r, w, errors };
    });
    await until(() => transferStats().queued > 0);
    const closed = flows.map(({ r, w }) =>
      Promise.all([
        new Promise<void>((res) => r.on('close', () => res())),
        new Promise<void>((res) => w.on('close', () => res())),
      ]),
    );
    for (const { r, w } of flows) {
      r.destroy();
      w.destroy();
    }
    await Promise.all(closed);
    await until(() => transferStats().running === 0);
    expect(transferStats()).toEqual({ running: 0, waiting: 0, onPool: 0, queued: 0 });
    // A write in flight or waiting its turn is failed as Node fails it.
    for (const f of flows) for (const e of f.errors) expect(e).toBe('dst ERR_STREAM_DESTROYED');
  });
});
