// Sockets and pipes as sources: proxies, uploads to files, stdin — spliced,
// byte-exact, and behaving as Node's own pipe() does.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWriteStream, pipeline } from '../dist/index.js';
import { recordTransfers } from './helpers/diag';
import { fileHash, makeFile, sha256, tmpDir } from './helpers/files';
import { fixture, runTraced } from './helpers/strace';
import { lightVolume } from './helpers/volume';
import { until } from './helpers/wait';

const fast = process.env.ZEROCOPY_DISABLE !== '1';
const GiB = 1024 * 1024 * 1024;
// Each way through the proxy (see helpers/volume.ts).
const MiB = 1024 * 1024;
const PROXY_BYTES = lightVolume ? GiB / 8 : GiB;
// The one-way uploads below: what they prove is the path, not the volume.
const UPLOAD_BYTES = lightVolume ? 64 * MiB : 256 * MiB;
let dir: string;
beforeAll(() => {
  dir = tmpDir();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function listen(server: net.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

function hashSocket(sock: net.Socket): Promise<{ bytes: number; hash: string }> {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    sock.on('data', (d: Buffer) => {
      h.update(d);
      bytes += d.length;
    });
    sock.on('end', () => resolve({ bytes, hash: h.digest('hex') }));
    sock.on('error', reject);
  });
}

describe.skipIf(!fast)('spliced, under strace', () => {
  it(`${PROXY_BYTES / GiB === 1 ? '1 GiB' : `${PROXY_BYTES / 2 ** 20} MiB`} each way through a TCP proxy at once, byte-exact, ≥ 99% by splice`, async () => {
    const file = makeFile(dir, 'gib.bin', PROXY_BYTES, 3);
    const hash = await fileHash(file);
    // The sink sends its own GiB back while it receives the client's.
    let sinkGot: Promise<{ bytes: number; hash: string }> | null = null;
    const sink = net.createServer({ allowHalfOpen: true }, (s) => {
      sinkGot = hashSocket(s);
      fs.createReadStream(file).pipe(s);
    });
    const sinkPort = await listen(sink);
    let proxyPort = 0;
    let done!: ReturnType<typeof runTraced>;
    await new Promise<void>((resolve) => {
      done = runTraced(process.execPath, [fixture('proxy.js'), String(sinkPort)], dir, (d) => {
        proxyPort = Number(String(d).trim());
        resolve();
      });
    });
    const client = net.connect({ port: proxyPort, host: '127.0.0.1', allowHalfOpen: true });
    const clientGot = hashSocket(client);
    fs.createReadStream(file).pipe(client);
    const [back, traced] = await Promise.all([clientGot, done]);
    const there = await sinkGot!;
    sink.close();
    expect(traced.code, traced.stderr).toBe(0);
    expect(there).toEqual({ bytes: PROXY_BYTES, hash });
    expect(back).toEqual({ bytes: PROXY_BYTES, hash });
    // Each byte is spliced twice: socket → pipe, pipe → socket.
    expect(traced.moved.splice).toBeGreaterThanOrEqual(0.99 * 2 * 2 * PROXY_BYTES);
    fs.rmSync(file);
  });

  it('socket → our WriteStream: splice, byte-exact', async () => {
    const file = makeFile(dir, 'upload.bin', UPLOAD_BYTES, 4);
    const out = path.join(dir, 'uploaded.bin');
    let port = 0;
    let done!: ReturnType<typeof runTraced>;
    await new Promise<void>((resolve) => {
      done = runTraced(process.execPath, [fixture('socket-to-file.js'), out], dir, (d) => {
        port = Number(String(d).trim());
        resolve();
      });
    });
    const sock = net.connect(port, '127.0.0.1');
    fs.createReadStream(file).pipe(sock);
    const traced = await done;
    expect(traced.code, traced.stderr).toBe(0);
    expect(await fileHash(out)).toBe(await fileHash(file));
    expect(traced.moved.splice).toBeGreaterThanOrEqual(0.99 * 2 * UPLOAD_BYTES);
    fs.rmSync(file);
    fs.rmSync(out);
  });

  it('stdin (a pipe) → our WriteStream: splice straight from the pipe, byte-exact', async () => {
    const file = makeFile(dir, 'stdin.bin', UPLOAD_BYTES, 5);
    const out = path.join(dir, 'stdin-out.bin');
    const script = `cat ${JSON.stringify(file)} | ${JSON.stringify(process.execPath)} ${JSON.stringify(fixture('to-file.js'))} ${JSON.stringify(out)}`;
    const traced = await runTraced('bash', ['-o', 'pipefail', '-c', script], dir);
    expect(traced.code, traced.stderr).toBe(0);
    expect(await fileHash(out)).toBe(await fileHash(file));
    // cat itself may splice or not; node's share is one splice per byte.
    expect(traced.moved.splice).toBeGreaterThanOrEqual(0.99 * UPLOAD_BYTES);
    fs.rmSync(file);
    fs.rmSync(out);
  });
});

describe('socket sources behave as Node', () => {
  it('bytes already buffered when pipe() is called go first, in order', async () => {
    const payload = crypto.randomBytes(8 * MiB);
    const rec = recordTransfers();
    const server = net.createServer((s) => {
      s.end(payload);
    });
    const port = await listen(server);
    const sock = net.connect(port, '127.0.0.1');
    // Let some bytes land in the socket's buffer before piping.
    await new Promise<void>((r) => sock.once('readable', () => r()));
    const out = path.join(dir, 'buffered.bin');
    const dst = createWriteStream(out);
    sock.pipe(dst);
    await new Promise<void>((r) => dst.on('close', () => r()));
    server.close();
    rec.stop();
    expect(sha256(fs.readFileSync(out))).toBe(sha256(payload));
    expect(sock.bytesRead).toBe(payload.length);
    expect(dst.bytesWritten).toBe(payload.length);
    if (fast) expect(rec.messages.map((m) => m.path)).toContain('splice');
  });

  it('unpipe() mid-stream: nothing lost, the rest is readable from the socket', async () => {
    const payload = crypto.randomBytes(32 * MiB);
    const server = net.createServer((s) => {
      s.write(payload.subarray(0, 4 * MiB));
      setTimeout(() => s.end(payload.subarray(4 * MiB)), 100);
    });
    const port = await listen(server);
    const sock = net.connect(port, '127.0.0.1');
    const out = path.join(dir, 'unpiped.bin');
    const dst = createWriteStream(out);
    sock.pipe(dst);
    await new Promise((r) => setTimeout(r, 50));
    sock.unpipe(dst);
    const rest: Buffer[] = [];
    for await (const c of sock) rest.push(c as Buffer);
    await new Promise<void>((r) => dst.end(r));
    server.close();
    const head = fs.readFileSync(out);
    expect(sha256(Buffer.concat([head, ...rest]))).toBe(sha256(payload));
  });

  it('{ end: false } leaves the destination open', async () => {
    const server = net.createServer((s) => s.end(Buffer.alloc(2 * MiB, 7)));
    const port = await listen(server);
    const sock = net.connect(port, '127.0.0.1');
    const out = path.join(dir, 'endfalse.bin');
    const dst = createWriteStream(out);
    sock.pipe(dst, { end: false });
    await new Promise<void>((r) => sock.on('end', () => r()));
    expect(dst.writableEnded).toBe(false);
    await new Promise<void>((r) => dst.end('tail', () => r()));
    server.close();
    expect(fs.readFileSync(out).length).toBe(2 * MiB + 4);
  });

  it('a peer reset errors the source as a read would', async () => {
    // The reset comes once the file holds all that was sent, so it finds the
    // socket with nothing left to read (else libuv may report the hang-up as
    // end of file, Node's own race; see socket-source-trace.test.ts).
    const out = path.join(dir, 'reset.bin');
    const size = (): number => {
      try {
        return fs.statSync(out).size;
      } catch {
        return 0;
      }
    };
    const server = net.createServer((s) => {
      s.write(Buffer.alloc(MiB));
      void until(() => size() >= MiB).then(() => s.resetAndDestroy());
    });
    const port = await listen(server);
    const sock = net.connect(port, '127.0.0.1');
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      pipeline(sock, createWriteStream(out), (e) => resolve(e as NodeJS.ErrnoException));
    });
    server.close();
    expect(err).toMatchObject({ code: 'ECONNRESET', syscall: 'read', message: 'read ECONNRESET' });
  });

  it('a destination that resets errors the destination as a write would', async () => {
    const upstream = net.createServer((s) => {
      s.once('data', () => s.resetAndDestroy());
    });
    const upPort = await listen(upstream);
    const source = net.createServer((s) => {
      s.on('error', () => undefined);
      s.write(Buffer.alloc(16 * MiB));
    });
    const srcPort = await listen(source);
    const a = net.connect(srcPort, '127.0.0.1');
    const b = net.connect(upPort, '127.0.0.1');
    const err = await new Promise<NodeJS.ErrnoException>((resolve) =>
      pipeline(a, b, (e) => resolve(e as NodeJS.ErrnoException)),
    );
    upstream.close();
    source.close();
    expect(['ECONNRESET', 'EPIPE']).toContain(err.code);
    expect(['write', 'read']).toContain(err.syscall);
  });

  it('a spliced flow counts as activity for setTimeout', async () => {
    let timer: NodeJS.Timeout | undefined;
    const server = net.createServer((s) => {
      timer = setInterval(() => s.write(Buffer.alloc(64 * 1024)), 10);
      s.on('error', () => undefined);
    });
    const port = await listen(server);
    const sock = net.connect(port, '127.0.0.1');
    const dst = createWriteStream(path.join(dir, 'active.bin'));
    sock.pipe(dst);
    let timedOut = false;
    // Margins for a loaded 2-core machine: bytes every 10 ms, idle after 500.
    sock.setTimeout(500, () => {
      timedOut = true;
    });
    await new Promise((r) => setTimeout(r, 1200));
    clearInterval(timer);
    expect(timedOut).toBe(false);
    expect(dst.bytesWritten).toBeGreaterThan(0);
    sock.destroy();
    server.close();
  });

  it('setTimeout on the source fires when the spliced flow goes idle', async () => {
    let peer: net.Socket | null = null;
    const server = net.createServer((s) => {
      peer = s;
      s.write(Buffer.alloc(MiB));
    });
    const port = await listen(server);
    const sock = net.connect(port, '127.0.0.1');
    const dst = createWriteStream(path.join(dir, 'timeout.bin'));
    sock.pipe(dst);
    const fired = await new Promise<number>((resolve) => {
      const t0 = Date.now();
      sock.setTimeout(200, () => resolve(Date.now() - t0));
    });
    expect(fired).toBeGreaterThanOrEqual(150);
    sock.destroy();
    peer!.destroy();
    server.close();
  });
});
