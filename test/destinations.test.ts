// Each destination kind from the table, with the path it took.

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream, createWriteStream } from '../dist/index.js';
import { recordTransfers } from './helpers/diag';
import { makeFile, sha256, tmpDir } from './helpers/files';

const fast = process.env.ZEROCOPY_DISABLE !== '1';
let dir: string;
let file: string;
let hash: string;
beforeAll(() => {
  dir = tmpDir();
  file = makeFile(dir, 'src.bin', 3 * 1024 * 1024 + 5);
  hash = sha256(fs.readFileSync(file));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('destinations', () => {
  it('a Unix socket: sendfile', async () => {
    const sockPath = path.join(dir, 'unix.sock');
    let listening!: () => void;
    const ready = new Promise<void>((r) => {
      listening = r;
    });
    const got = new Promise<string>((resolve) => {
      const server = net
        .createServer((s) => {
          const h = crypto.createHash('sha256');
          s.on('data', (d) => h.update(d)).on('end', () => {
            resolve(h.digest('hex'));
            server.close();
          });
        })
        .listen(sockPath, listening);
    });
    await ready;
    const rec = recordTransfers();
    const sock = net.connect(sockPath, () => createReadStream(file).pipe(sock));
    expect(await got).toBe(hash);
    rec.stop();
    expect(rec.messages.map((m) => m.path)).toEqual([fast ? 'sendfile' : 'normal']);
  });

  it("a child's stdin", async () => {
    const rec = recordTransfers();
    const child = spawn('sha256sum', { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    createReadStream(file).pipe(child.stdin);
    await new Promise((r) => child.on('close', r));
    rec.stop();
    expect(out.split(' ')[0]).toBe(hash);
    // libuv gives children a socketpair, so this is sendfile; a FIFO is splice.
    expect(rec.messages.map((m) => m.path)).toEqual([fast ? 'sendfile' : 'normal']);
  });

  it('a FIFO opened with createWriteStream: splice', async () => {
    const fifo = path.join(dir, 'fifo');
    await new Promise<void>((resolve, reject) => {
      const p = spawn('mkfifo', [fifo]);
      p.on('close', (c) => (c === 0 ? resolve() : reject(new Error(`mkfifo ${c}`))));
    });
    const reader = spawn('sha256sum', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    reader.stdout.on('data', (d) => {
      out += d;
    });
    const rec = recordTransfers();
    createReadStream(file).pipe(createWriteStream(fifo));
    await new Promise((r) => reader.on('close', r));
    rec.stop();
    expect(out.split(' ')[0]).toBe(hash);
    expect(rec.messages.map((m) => m.path)).toEqual([fast ? 'splice' : 'normal']);
  });

  it('/dev/null (a character device) takes the normal path', async () => {
    const rec = recordTransfers();
    const dst = fs.createWriteStream('/dev/null');
    createReadStream(file).pipe(dst);
    await new Promise<void>((r) => dst.on('close', () => r()));
    rec.stop();
    expect(dst.bytesWritten).toBe(fs.statSync(file).size);
    expect(rec.messages.map((m) => m.path)).toEqual(['normal']);
  });
});
