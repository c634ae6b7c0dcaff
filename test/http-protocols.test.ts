// HTTPS and HTTP/2 responses: the kernel cannot write their bytes (TLS
// encrypts in userspace, HTTP/2 frames every byte into its own streams), so
// they take Node's path, saying why, with the same body.

import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream } from '../dist/index.js';
import { recordTransfers } from './helpers/diag';
import { makeFile, tmpDir } from './helpers/files';
import { selfSignedCert } from './helpers/tls';

const fast = process.env.ZEROCOPY_DISABLE !== '1';
const MiB = 1024 * 1024;
let dir: string;
let file: string;
let content: Buffer;
let tls: { key: Buffer; cert: Buffer };

beforeAll(() => {
  dir = tmpDir();
  file = makeFile(dir, 'body.bin', 2 * MiB + 5);
  content = fs.readFileSync(file);
  tls = selfSignedCert(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function listen(server: net.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

describe('HTTP responses the kernel cannot write', () => {
  it('HTTPS: the normal path (TLS socket), the same body', async () => {
    const server = https.createServer(tls, (_req, res) => {
      res.setHeader('Content-Length', content.length);
      createReadStream(file).pipe(res);
    });
    const port = await listen(server);
    const rec = recordTransfers();
    const body = await new Promise<Buffer>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, agent: false }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve(Buffer.concat(parts)));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    rec.stop();
    await new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
    expect(body.equals(content)).toBe(true);
    expect(rec.messages.map((m) => m.path)).toEqual(['normal']);
    if (fast) expect(rec.messages[0].reason).toBe('TLS socket');
  });

  it('HTTP/2 (compat API): the normal path (HTTP/2 response), the same body', async () => {
    const server = http2.createServer((_req, res) => {
      res.setHeader('Content-Length', content.length);
      createReadStream(file).pipe(res);
    });
    const port = await listen(server);
    const rec = recordTransfers();
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = client.request({ ':path': '/' });
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => resolve(Buffer.concat(parts)));
      req.on('error', reject);
      req.end();
    });
    await new Promise<void>((r) => client.close(() => r()));
    rec.stop();
    await new Promise<void>((r) => server.close(() => r()));
    expect(body.equals(content)).toBe(true);
    expect(rec.messages.map((m) => m.path)).toEqual(['normal']);
    if (fast) expect(rec.messages[0].reason).toBe('HTTP/2 response');
  });
});
