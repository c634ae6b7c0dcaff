// Every private field of Node's that the fast path reads is found on the
// running Node. Each access is guarded (a missing field means "decline", not
// a crash), so a Node release that moves one would otherwise only show up as
// a fast path quietly not taken: this says which field moved.

import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeInternals, nodeWrites } from '../dist/internal.js';

const internals = { ...nodeInternals, ...nodeWrites };

import { tmpDir } from './helpers/files';

let dir: string;
let server: net.Server;
let client: net.Socket;
let peer: net.Socket;

beforeAll(async () => {
  dir = tmpDir();
  server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  [peer] = (await accepted) as [net.Socket];
});
afterAll(async () => {
  client.destroy();
  peer.destroy();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe(`Node ${process.version}: the private state the fast path reads is there`, () => {
  it("a socket's fd and write queue", () => {
    expect(internals.socketFd(client)).toBeGreaterThanOrEqual(0);
    expect(internals.socketQueuedBytes(client)).toBe(0);
    const handle = (client as unknown as { _handle: { writeQueueSize: unknown } })._handle;
    expect(typeof handle.writeQueueSize).toBe('number');
  });

  it('bytesWritten and bytesRead can count bytes moved by the kernel', () => {
    const written = client.bytesWritten;
    const read = client.bytesRead;
    internals.addSocketBytesWritten(client, 10);
    internals.addSocketBytesRead(client, 7);
    expect(client.bytesWritten).toBe(written + 10);
    expect(client.bytesRead).toBe(read + 7);
  });

  it('the idle timer can be refreshed', () => {
    expect(typeof (client as unknown as { _unrefTimer: unknown })._unrefTimer).toBe('function');
    expect(() => internals.touchSocketTimer(client)).not.toThrow();
  });

  it('reading can be stopped and handed back', async () => {
    expect(internals.stopSocketReading(peer)).toBe(true);
    internals.resumeSocketReading(peer);
    const got = once(peer, 'data');
    client.write('x');
    expect(String((await got)[0])).toBe('x');
  });

  it('a socket made with onread is recognised', async () => {
    const port = (server.address() as net.AddressInfo).port;
    const s = net.connect({ port, host: '127.0.0.1', onread: { buffer: Buffer.alloc(16), callback: () => true } });
    await once(s, 'connect');
    expect(internals.socketHasUserBuffer(s)).toBe(true);
    expect(internals.socketHasUserBuffer(client)).toBe(false);
    s.destroy();
  });

  it("a TLS socket is told by its 'encrypted' flag, and by its TLSWrap handle without it", () => {
    // A TLS socket's handle has the TCP socket's fd, and ciphertext on it: the
    // check must hold even for a socket that lost its flag.
    const a = new tls.TLSSocket(new net.Socket());
    expect((a as unknown as { encrypted: unknown }).encrypted).toBe(true);
    expect(internals.isTlsSocket(a)).toBe(true);
    const b = new tls.TLSSocket(new net.Socket());
    (b as unknown as { encrypted: unknown }).encrypted = undefined;
    expect(internals.isTlsSocket(b)).toBe(true);
    expect(internals.isTlsSocket(client)).toBe(false);
    a.destroy();
    b.destroy();
  });

  it("an fs stream's fs methods (custom fs, FileHandle)", async () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'abc');
    const handle = await fs.promises.open(file);
    const plain = fs.createReadStream(file);
    const custom = fs.createReadStream(file, { fs: { ...fs } as never });
    const viaHandle = fs.createReadStream('', { fd: handle as never });
    // Listening from the start: 'ready' must not come before we wait for it.
    await Promise.all([once(plain, 'ready'), once(custom, 'ready')]);
    expect(internals.hasCustomFs(plain)).toBe(false);
    expect(internals.hasCustomFs(custom)).toBe(true);
    expect(internals.hasCustomFs(viaHandle)).toBe(false);
    plain.destroy();
    custom.destroy();
    viaHandle.destroy();
    await once(viaHandle, 'close');
  });

  it("a Readable's pipes, flow and data-emitted state", () => {
    const r = new Readable({ read() {} });
    const st = internals.readableState(r);
    expect(st).not.toBeNull();
    expect(Array.isArray(st!.pipes)).toBe(true);
    expect(r.readableDidRead).toBe(false);
    internals.markDataEmitted(r);
    expect(r.readableDidRead).toBe(true);
  });
});
